"""Reads for the intervention council: the dashboard as a user may see it, meetings.

The dashboard itself is computed by :mod:`utfall.services.council` from the
contract's imported data; this module loads that data, caches the result per
data state and removes what the user's role may not see (the individual status
list, :attr:`Action.VIEW_INDIVIDUAL_STATUS`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import Max, QuerySet
from django.utils import timezone

from utfall.platform.contracts.models import Contract
from utfall.platform.contracts.selectors import latest_version, parsed_version
from utfall.platform.council.models import CouncilDecision, CouncilMeeting, DecisionStatus
from utfall.platform.imports.models import DataRecord
from utfall.platform.permissions import Action, can, require
from utfall.services.council import DashboardInput, dashboard_build

__all__ = [
    "FACTS_DIR",
    "dashboard_compute",
    "dashboard_for",
    "default_as_of",
    "individual_status",
    "meeting_get",
    "meeting_list",
    "open_decisions",
    "viewer_copy",
]

# The reference contracts' example facts: inputs no imported data covers (a trend index,
# the value of a sick day, a collective-impact contract's reported attainment).
FACTS_DIR = Path(__file__).resolve().parents[4] / "examples" / "facts"
CACHE_SECONDS = 3600

PARTICIPANT_COLUMNS = ["unit", "pseudonym", "included_on", "group", "cohort", "left_on"]
RECORD_COLUMNS = ["unit", "kind", "date", "category", "point", "quantity", "amount"]


def default_as_of(contract: Contract) -> dt.date:
    """Today, or the last month with data if the data ends earlier (its last day)."""
    today = timezone.localdate()
    last = DataRecord.objects.filter(contract=contract).aggregate(last=Max("date"))["last"]
    if last is None or last >= today:
        return today
    following = dt.date(last.year + last.month // 12, last.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _facts(identifier: str) -> tuple[dict[str, Any], str | None]:
    from utfall.services.contracts import facts_load

    path = FACTS_DIR / f"{identifier}.yaml"
    if not path.is_file():
        return {}, None
    return facts_load(path), f"examples/facts/{path.name}"


def _frames(contract: Contract) -> tuple[pd.DataFrame, pd.DataFrame]:
    participants = pd.DataFrame.from_records(
        list(
            contract.participants.values_list(
                "pk", "pseudonym", "included_on", "group", "cohort", "left_on"
            )
        ),
        columns=PARTICIPANT_COLUMNS,
    )
    records = pd.DataFrame.from_records(
        list(
            DataRecord.objects.filter(contract=contract).values_list(
                "participant_id", "kind", "date", "category", "point", "quantity", "amount"
            )
        ),
        columns=RECORD_COLUMNS,
    )
    records["quantity"] = pd.to_numeric(records["quantity"], errors="coerce").astype(float)
    return participants, records


def _state_key(contract: Contract, as_of: dt.date) -> str:
    version = latest_version(contract)
    last_record = DataRecord.objects.filter(contract=contract).aggregate(m=Max("pk"))["m"]
    state = (
        f"{contract.pk}:{version.sha256 if version else ''}:{last_record}:"
        f"{contract.participants.count()}:{as_of.isoformat()}"
    )
    return "council-dashboard:" + hashlib.sha256(state.encode()).hexdigest()


def dashboard_compute(*, contract: Contract, as_of: dt.date) -> dict[str, Any]:
    """The whole dashboard for ``as_of`` (cached per data state); no permission check.

    Callers are :func:`dashboard_for` and the meeting service, which check rights.
    """
    key = _state_key(contract, as_of)
    cached = cache.get(key)
    if cached is not None:
        return cached
    version = latest_version(contract)
    if version is None:
        return {"contract": contract.identifier, "kind": None, "notes": ["no_version"]}
    participants, records = _frames(contract)
    facts, source = _facts(contract.identifier)
    dashboard = dashboard_build(
        DashboardInput(
            contract=parsed_version(version),
            participants=participants,
            records=records,
            as_of=as_of,
            facts=facts,
            facts_source=source,
        )
    )
    cache.set(key, dashboard, CACHE_SECONDS)
    return dashboard


def viewer_copy(
    dashboard: dict[str, Any], *, user: AbstractBaseUser | AnonymousUser, contract: Contract
) -> dict[str, Any]:
    """The dashboard without what the user's role may not see."""
    shown = dict(dashboard)
    if not can(user, Action.VIEW_INDIVIDUAL_STATUS, contract):
        shown.pop("individuals", None)
    return shown


def dashboard_for(
    *, user: AbstractBaseUser | AnonymousUser, contract: Contract, as_of: dt.date | None = None
) -> dict[str, Any]:
    """The dashboard as this user may see it."""
    require(user, Action.VIEW_CONTRACT, contract)
    as_of = as_of or default_as_of(contract)
    return viewer_copy(
        dashboard_compute(contract=contract, as_of=as_of), user=user, contract=contract
    )


def individual_status(
    *, user: AbstractBaseUser | AnonymousUser, contract: Contract, as_of: dt.date | None = None
) -> list[dict[str, Any]]:
    """Status per included individual, by pseudonym (not for the financier)."""
    require(user, Action.VIEW_INDIVIDUAL_STATUS, contract)
    as_of = as_of or default_as_of(contract)
    return list(dashboard_compute(contract=contract, as_of=as_of).get("individuals", []))


def meeting_list(
    *, user: AbstractBaseUser | AnonymousUser, contract: Contract
) -> QuerySet[CouncilMeeting]:
    """The contract's council meetings, newest first."""
    require(user, Action.VIEW_CONTRACT, contract)
    return contract.council_meetings.select_related("created_by").prefetch_related("decisions")


def meeting_get(
    *, user: AbstractBaseUser | AnonymousUser, contract: Contract, pk: int
) -> CouncilMeeting:
    """One meeting of the contract (CouncilMeeting.DoesNotExist otherwise)."""
    return meeting_list(user=user, contract=contract).get(pk=pk)


def open_decisions(*, meeting: CouncilMeeting) -> QuerySet[CouncilDecision]:
    """Decisions of earlier meetings of the same contract that are still open: the follow-up."""
    return (
        CouncilDecision.objects.filter(
            meeting__contract=meeting.contract, meeting__held_on__lt=meeting.held_on
        )
        .filter(status=DecisionStatus.OPEN)
        .select_related("meeting")
        | CouncilDecision.objects.filter(followed_up_at=meeting).select_related("meeting")
    ).distinct()
