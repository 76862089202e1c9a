"""Demo council meetings, recorded through the same services a person uses.

For every contract with imported participants: two quarterly meetings a third of the
way into its data, the first making a recommendation and a decision, the second
following them up. The agenda lists the contract's own evaluations (their declared
labels); nothing here names a contract.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from utfall.errors import UserError
from utfall.platform.contracts.models import Contract, Role
from utfall.platform.council import services
from utfall.platform.council.models import DecisionKind, DecisionStatus
from utfall.services.council.releases import quarter_end

__all__ = ["record_demo_meeting"]


def _span(contract: Contract) -> tuple[dt.date, dt.date] | None:
    """When the council meets: from the start of the contract's own period (the latest
    period to start: a reference period or a comparison cohort lies before it) or the first
    inclusion, whichever is later, to the last day with data of the stored rows."""
    import pyarrow.compute as pc

    from utfall.platform.contracts.selectors import latest_version, parsed_version
    from utfall.platform.tables import StoredTables

    tables = StoredTables(contract)
    if not tables.has("participants"):
        return None
    declared = tables.declaration.participants
    assert declared is not None
    first = pc.min(tables.table("participants").column(declared.date)).as_py()
    starts = [period.start for period in parsed_version(latest_version(contract)).periods.values()]
    if starts:
        first = max(first, max(starts))
    last = first
    for name in tables.names():
        value = pc.max(tables.table(name).column(tables.declaration.table(name).date)).as_py()
        last = max(last, value)
    return first, last


def _agenda(contract: Contract) -> str:
    from utfall.platform.contracts.selectors import latest_version, parsed_version

    version = latest_version(contract)
    document = parsed_version(version) if version else None
    items = ["Status per inkluderad deltagare (pseudonymer)"]
    if document is not None:
        for name, evaluation in document.document.evaluations.items():
            items.append(evaluation.label.sv if evaluation.label else name)
    items.append("Rekommendationer och beslut")
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, start=1))


def _record(contract: Contract, actor: Any, log: Any) -> None:
    span = _span(contract)
    if span is None:
        return
    first, last = span
    third = first + (last - first) / 3
    as_of = quarter_end(third)
    if as_of >= last:
        as_of = last
    held = as_of + dt.timedelta(days=12)
    meeting = services.meeting_record(
        contract=contract,
        actor=actor,
        held_on=held,
        as_of=as_of,
        title=f"Insatsråd kvartal {(as_of.month - 1) // 3 + 1} {as_of.year}",
        agenda=_agenda(contract),
        minutes="Rådet gick igenom utfallen hittills mot det kontraktet förväntar sig.",
    )
    services.decision_add(
        meeting=meeting,
        actor=actor,
        kind=DecisionKind.RECOMMENDATION,
        text="Gå igenom deltagare utan nya registreringar det senaste kvartalet.",
        owner="Utföraren",
        due_on=held + dt.timedelta(days=60),
    )
    services.decision_add(
        meeting=meeting,
        actor=actor,
        kind=DecisionKind.DECISION,
        text="Komplettera underlaget för de utfall som ännu saknar underlag.",
        owner="Beställaren",
        due_on=held + dt.timedelta(days=75),
    )
    next_as_of = quarter_end(as_of + dt.timedelta(days=1))
    second = services.meeting_record(
        contract=contract,
        actor=actor,
        held_on=min(next_as_of + dt.timedelta(days=12), dt.date.today()),
        as_of=min(next_as_of, last),
        title=f"Insatsråd kvartal {(next_as_of.month - 1) // 3 + 1} {next_as_of.year}",
        agenda="1. Uppföljning av beslut\n2. Utfallen hittills\n3. Kvartalsrapport",
    )
    for decision in meeting.decisions.all():
        services.decision_follow_up(
            decision=decision,
            at_meeting=second,
            actor=actor,
            status=DecisionStatus.DONE,
            note="Genomfört; följs upp i nästa kvartals siffror.",
        )
    log(
        f"  recorded council meetings {meeting.held_on} and {second.held_on} for "
        f"{contract.identifier}"
    )


def record_demo_meeting(*, log: Any = print) -> None:
    """Record the demo council meetings of every contract with imported participants, once."""
    actor = get_user_model().objects.filter(username=Role.COMMISSIONER.value).first()
    if actor is None:
        return
    for contract in Contract.objects.order_by("pk"):
        if contract.council_meetings.exists():
            continue
        try:
            _record(contract, actor, log)
        except (PermissionDenied, UserError) as error:
            log(f"  no demo council meetings for {contract.identifier}: {error}")
