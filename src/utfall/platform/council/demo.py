"""Demo council meetings for Norrköping, recorded through the same services a person uses.

Two quarterly meetings a year into the contract: the first looks at the data up to
September 2017 (costs still above the reference, as the seeds report for the first
months) and makes decisions; the second follows them up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model

from utfall.platform.contracts.models import Contract, Role
from utfall.platform.council import services
from utfall.platform.council.models import DecisionKind, DecisionStatus

__all__ = ["record_demo_meeting"]

IDENTIFIER = "norrkoping-placed-children"


def record_demo_meeting(*, log: Any = print) -> None:
    """Record the demo council meetings of Norrköping once (needs its demo data)."""
    contract = Contract.objects.filter(identifier=IDENTIFIER).first()
    if contract is None or not contract.participants.exists():
        return
    if contract.council_meetings.exists():
        return
    actor = get_user_model().objects.get(username=Role.COMMISSIONER.value)
    first = services.meeting_record(
        contract=contract,
        actor=actor,
        held_on=dt.date(2017, 10, 12),
        as_of=dt.date(2017, 9, 30),
        title="Insatsråd kvartal 3 2017",
        agenda=(
            "1. Status per inkluderat barn (pseudonymer)\n"
            "2. Kostnadsutveckling mot historisk referens\n"
            "3. Sociala utfall vid mätpunkterna\n"
            "4. Rekommendationer och beslut"
        ),
        minutes=(
            "Kostnaderna ligger ännu över referensen för de senast inkluderade barnen; "
            "fler placeringsdygn under de första månaderna, som väntat."
        ),
    )
    services.decision_add(
        meeting=first,
        actor=actor,
        kind=DecisionKind.RECOMMENDATION,
        text="Tidigarelägg läxhjälpen för barn som placeras på HVB långt från hemkommunen.",
        owner="Utföraren (teamets specialpedagog)",
        due_on=dt.date(2017, 12, 31),
    )
    services.decision_add(
        meeting=first,
        actor=actor,
        kind=DecisionKind.DECISION,
        text="Följ upp hemgångsplaner för barn placerade mer än sex månader.",
        owner="Socialtjänsten (beställaren)",
        due_on=dt.date(2018, 1, 15),
    )
    second = services.meeting_record(
        contract=contract,
        actor=actor,
        held_on=dt.date(2018, 1, 18),
        as_of=dt.date(2017, 12, 31),
        title="Insatsråd kvartal 4 2017",
        agenda="1. Uppföljning av beslut\n2. Kostnadsutveckling\n3. Kvartalsrapport",
    )
    for decision in first.decisions.all():
        services.decision_follow_up(
            decision=decision,
            at_meeting=second,
            actor=actor,
            status=DecisionStatus.DONE,
            note="Genomfört; effekten följs i nästa kvartals kostnader.",
        )
    log(f"  recorded council meetings {first.held_on} and {second.held_on} for {IDENTIFIER}")
