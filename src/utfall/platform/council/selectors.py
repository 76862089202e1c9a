"""Reads for the intervention council: the dashboard as a user may see it, meetings.

The dashboard is computed by :func:`utfall.services.council.dashboard_build` from the
contract's stored rows (:class:`~utfall.platform.tables.StoredTables`) as of a day —
the one pipeline a statement for a period ending that day goes through. The inputs
no evaluation gives come from the newest statement (the values it settled on); the
break-even month is the finance view's, under the newest finance plan. This module
caches the result by data state — the stored rows and newest version
(``StoredTables.state_key()``), the day, the statement and the plan — so a repeated
request recomputes nothing, and removes what the user's role may not see (the
individual status list, :attr:`Action.VIEW_INDIVIDUAL_STATUS`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from utfall.errors import UserError
from utfall.platform.contracts.models import Contract, Settlement
from utfall.platform.contracts.selectors import latest_version, parsed_version
from utfall.platform.council.models import CouncilDecision, CouncilMeeting, DecisionStatus
from utfall.platform.permissions import Action, can, require
from utfall.services.contracts import Facts
from utfall.services.council import dashboard_build

__all__ = [
    "dashboard_compute",
    "dashboard_for",
    "dashboard_key",
    "default_as_of",
    "individual_status",
    "meeting_get",
    "meeting_list",
    "open_decisions",
    "viewer_copy",
]

CACHE_SECONDS = 24 * 3600
_MEMO_ENTRIES = 32


class _Memo:
    """The last dashboards computed in this process, by key (least recently used first out):
    a repeated request is served without reading the shared cache."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > _MEMO_ENTRIES:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_MEMO = _Memo()


def _tables(contract: Contract) -> Any:
    from utfall.platform.tables import StoredTables

    return StoredTables(contract)


def _newest_statement(contract: Contract) -> Settlement | None:
    return contract.settlements.order_by("-created_at", "-pk").first()


def _statement_facts(statement: Settlement | None, document: Any) -> Facts:
    """The values the newest statement settled on, for the inputs no evaluation gives."""
    if statement is None:
        return Facts()
    unbound = {name for name, term in document.inputs.items() if not term.evaluate}
    recorded = statement.facts if isinstance(statement.facts, dict) else {}
    entered = statement.manual_inputs if isinstance(statement.manual_inputs, dict) else {}
    values: dict[str, Any] = {}
    for name in sorted(unbound):
        if name in recorded:
            values[name] = recorded[name]
        elif isinstance(entered.get(name), dict) and "value" in entered[name]:
            values[name] = entered[name]["value"]
    if not values:
        return Facts()
    period = (
        f", period {statement.period_start} – {statement.period_end}"
        if statement.period_end
        else ""
    )
    return Facts(values=values, source=f"statement {statement.pk} ({statement.status}{period})")


def _finance_plan(contract: Contract, document: Any) -> tuple[Any, dict[str, Any] | None]:
    """The newest finance plan, parsed against the contract (None without one); a plan that
    no longer reads is a note, not an error."""
    plan = contract.finance_plans.first()
    if plan is None:
        return None, None
    from utfall.services.finance import finance_plan_parse

    try:
        return (
            finance_plan_parse(plan.text, source=f"finance plan {plan.pk}", contract=document),
            None,
        )
    except UserError as error:
        return None, {"code": "finance_plan_unreadable", "detail": error.message}


def dashboard_key(contract: Contract, as_of: dt.date, tables: Any = None) -> str:
    """The cache key of the dashboard for ``as_of``: it changes exactly when what the
    dashboard is computed from does (stored rows, newest version, newest statement,
    finance plan, the day)."""
    tables = tables or _tables(contract)
    version = latest_version(contract)
    statement = _newest_statement(contract)
    plan = contract.finance_plans.first()
    state = ":".join(
        [
            str(contract.pk),
            version.sha256 if version else "",
            tables.state_key() if version else "",
            as_of.isoformat(),
            f"{statement.pk}-{statement.sha256}" if statement else "",
            f"{plan.pk}-{plan.sha256}" if plan else "",
        ]
    )
    return "council-dashboard:" + hashlib.sha256(state.encode()).hexdigest()


def _last_day_with_data(contract: Contract) -> dt.date | None:
    """The latest date in any stored table (each table's declared date column)."""
    tables = _tables(contract)
    key = "council-last-day:" + tables.state_key()
    cached = _MEMO.get(key)
    if cached is not None:
        return cached or None
    import pyarrow.compute as pc

    last: dt.date | None = None
    for name in tables.names():
        declared = tables.declaration.table(name)
        value = pc.max(tables.table(name).column(declared.date)).as_py()
        if value is not None and (last is None or value > last):
            last = value
    _MEMO.put(key, last or False)
    return last


def default_as_of(contract: Contract) -> dt.date:
    """Today, or the last day of the last month with data if the data ends earlier."""
    today = timezone.localdate()
    if latest_version(contract) is None:
        return today
    last = _last_day_with_data(contract)
    if last is None or last >= today:
        return today
    following = dt.date(last.year + last.month // 12, last.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def dashboard_compute(*, contract: Contract, as_of: dt.date) -> dict[str, Any]:
    """The whole dashboard for ``as_of`` (cached by data state); no permission check.

    Callers are :func:`dashboard_for` and the meeting service, which check rights.
    """
    version = latest_version(contract)
    if version is None:
        return {
            "contract": contract.identifier,
            "as_of": as_of.isoformat(),
            "notes": [{"code": "no_version"}],
            "panels": [],
        }
    tables = _tables(contract)
    key = dashboard_key(contract, as_of, tables)
    found = _MEMO.get(key)
    if found is not None:
        return found
    found = cache.get(key)
    if found is not None:
        _MEMO.put(key, found)
        return found
    document = parsed_version(version)
    facts = _statement_facts(_newest_statement(contract), document)
    plan, plan_note = _finance_plan(contract, document)
    dashboard = dashboard_build(document, tables, as_of=as_of, facts=facts, finance_plan=plan)
    if plan_note is not None:
        dashboard["notes"].append(plan_note)
    dashboard["key"] = key
    cache.set(key, dashboard, CACHE_SECONDS)
    _MEMO.put(key, dashboard)
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
    individuals = dashboard_compute(contract=contract, as_of=as_of).get("individuals") or {}
    return list(individuals.get("rows", []))


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
