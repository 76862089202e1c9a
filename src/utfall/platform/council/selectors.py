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

A role that sees aggregates only (without that action: a role the contract's
``council: individual_status`` term does not list, decision 0940) is shown
**releases** instead (decision 0610): the dashboard on the council's reporting dates only
(any other day is snapped to the reporting date before it), each stored once as a
:class:`~utfall.platform.council.models.CouncilRelease` and suppressed against every
release stored before it (:mod:`utfall.services.council.releases`), so no difference of
two releases describes 1–4 people. A meeting's frozen snapshot is shown to such a role as
the release of the meeting's reporting date.

What one request can trigger is bounded (decision 0611): at most one dashboard of a
contract is computed at a time (a lock in the shared cache); a request that finds another
computation under way waits up to :data:`COMPUTE_WAIT_SECONDS` for it and is then told to
try again (:class:`DashboardBusy`, HTTP 503 with ``Retry-After``). Aggregate-only roles can
only cause the computation of a reporting date, once per state of the data.

The page does not compute in the request (issue 15): it asks with ``compute=False``,
which returns what is cached or stored and otherwise raises :class:`NotComputed` naming
what to compute; the page then starts a background task
(:func:`utfall.platform.council.services.dashboard_job_start`) and shows its progress.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from utfall.errors import UserError
from utfall.platform.contracts.models import Contract, Settlement
from utfall.platform.contracts.selectors import latest_version, parsed_version
from utfall.platform.council.models import (
    CouncilDecision,
    CouncilMeeting,
    CouncilRelease,
    DecisionStatus,
)
from utfall.platform.permissions import Action, can, require
from utfall.services.contracts import Facts
from utfall.services.council import dashboard_build, releases

__all__ = [
    "COMPUTE_WAIT_SECONDS",
    "DashboardBusy",
    "NoReportingDate",
    "NotComputed",
    "aggregate_only",
    "dashboard_compute",
    "dashboard_for",
    "dashboard_key",
    "default_as_of",
    "individual_status",
    "meeting_get",
    "meeting_list",
    "open_decisions",
    "release_get",
    "reporting_date",
    "reporting_dates",
    "viewer_copy",
]

CACHE_SECONDS = 24 * 3600
_MEMO_ENTRIES = 32
COMPUTE_WAIT_SECONDS = 20.0
"""How long a request waits for another computation of the same contract's dashboard."""
COMPUTE_LOCK_SECONDS = 300
"""The lock of a computation expires after this long (a process killed while holding it)."""
RETRY_AFTER_SECONDS = 30
"""What a refused request is told to wait before trying again."""


class DashboardBusy(UserError):
    """Another dashboard of the contract is being computed: try again shortly."""

    retry_after = RETRY_AFTER_SECONDS

    def __init__(self, contract: str) -> None:
        super().__init__(
            f"another council dashboard of contract {contract} is being computed; "
            f"try again in {RETRY_AFTER_SECONDS} seconds"
        )


class NoReportingDate(UserError):
    """The day asked for lies before the council's first reporting date."""


class NotComputed(Exception):
    """The dashboard asked for with ``compute=False`` is neither cached nor stored: what to
    compute (the contract, the day, whether as a release) and the data state's ``key``."""

    def __init__(self, contract: Contract, as_of: dt.date, *, release: bool, key: str) -> None:
        super().__init__(f"the dashboard of {contract.identifier} on {as_of} is not computed")
        self.contract = contract
        self.as_of = as_of
        self.release = release
        self.key = key


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


def _linked_values(document: Any, *, exclude: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs ``document`` takes from other contracts, from each upstream contract's
    newest signed statement (linked to its settlement); none while one is not signed."""
    from utfall.errors import UtfallError
    from utfall.platform.settlements.layered import upstream_statements
    from utfall.services.layered import facts_linked

    links = {n: link for n, link in document.upstream_links().items() if n not in exclude}
    if not links:
        return {}
    try:
        upstreams = {key: pair[1] for key, pair in upstream_statements(document).items()}
        linked = facts_linked(document, None, upstreams, missing_hint="sign off its statement")
    except UtfallError:  # an upstream statement not signed yet: the input stays missing
        return {}
    return {name: linked.values[name] for name in links if name in linked.values}


def _statement_facts(statement: Settlement | None, document: Any) -> Facts:
    """The values the newest statement settled on, for the inputs no evaluation gives;
    those taken from other contracts from the upstream contracts' signed statements."""
    if statement is None:
        values = _linked_values(document, exclude={})
        return Facts(values=values, source="upstream statements") if values else Facts()
    unbound = {name for name, term in document.inputs.items() if not term.evaluate}
    recorded = statement.facts if isinstance(statement.facts, dict) else {}
    entered = statement.manual_inputs if isinstance(statement.manual_inputs, dict) else {}
    values: dict[str, Any] = {}
    for name in sorted(unbound):
        if name in recorded:
            values[name] = recorded[name]
        elif isinstance(entered.get(name), dict) and "value" in entered[name]:
            values[name] = entered[name]["value"]
    values.update(_linked_values(document, exclude=values))
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


def _days_with_data(contract: Contract) -> tuple[dt.date, dt.date] | None:
    """The earliest and the latest date in any stored table (each table's declared date
    column); None without rows."""
    tables = _tables(contract)
    key = "council-days:" + tables.state_key()
    cached = _MEMO.get(key)
    if cached is not None:
        return cached or None
    import pyarrow.compute as pc

    first: dt.date | None = None
    last: dt.date | None = None
    for name in tables.names():
        declared = tables.declaration.table(name)
        column = tables.table(name).column(declared.date)
        low, high = pc.min(column).as_py(), pc.max(column).as_py()
        if low is not None and (first is None or low < first):
            first = low
        if high is not None and (last is None or high > last):
            last = high
    found = (first, last) if first is not None and last is not None else None
    _MEMO.put(key, found or False)
    return found


def _last_day_with_data(contract: Contract) -> dt.date | None:
    """The latest date in any stored table (each table's declared date column)."""
    days = _days_with_data(contract)
    return days[1] if days else None


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


def dashboard_compute(
    *, contract: Contract, as_of: dt.date, compute: bool = True, release: bool = False
) -> dict[str, Any]:
    """The whole dashboard for ``as_of`` (cached by data state); no permission check.

    Callers are :func:`dashboard_for` and the meeting service, which check rights. With
    ``compute`` False, :class:`NotComputed` instead of computing (``release`` is passed on
    to it: what the caller will make of the result).
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
    if not compute:
        raise NotComputed(contract, as_of, release=release, key=key)
    with _computing(contract, key) as done:
        if done is not None:
            _MEMO.put(key, done)
            return done
        return _dashboard_build(contract, version, tables, as_of, key)


@contextmanager
def _computing(contract: Contract, key: str) -> Iterator[dict[str, Any] | None]:
    """Hold the contract's computation lock (yielding None), or — when another request
    computed ``key`` while this one waited — yield its result; :class:`DashboardBusy` when
    the lock stays taken for :data:`COMPUTE_WAIT_SECONDS`."""
    lock = f"council-computing:{contract.pk}"
    deadline = time.monotonic() + COMPUTE_WAIT_SECONDS
    while not cache.add(lock, key, COMPUTE_LOCK_SECONDS):
        found = cache.get(key)
        if found is not None:
            yield found
            return
        if time.monotonic() >= deadline:
            raise DashboardBusy(contract.identifier)
        time.sleep(0.25)
    try:
        yield None
    finally:
        cache.delete(lock)


def _dashboard_build(
    contract: Contract, version: Any, tables: Any, as_of: dt.date, key: str
) -> dict[str, Any]:
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


def aggregate_only(user: AbstractBaseUser | AnonymousUser, contract: Contract) -> bool:
    """Whether the user's role sees aggregates only (not the individual status list): it is
    shown releases on the reporting dates (decision 0610)."""
    return not can(user, Action.VIEW_INDIVIDUAL_STATUS, contract)


def reporting_dates(contract: Contract) -> list[dt.date]:
    """The council's reporting dates: the quarter ends from the start of the contract's own
    period (the latest of its periods to start; without periods, the first day with data)
    to the end of its last, up to the latest day with data (and today)."""
    version = latest_version(contract)
    if version is None:
        return []
    periods = list(parsed_version(version).periods.values())
    days = _days_with_data(contract)
    if days is None:
        return []
    first, last = days
    return releases.reporting_dates(
        # The contract's own period is the latest to start: a reference period lies before.
        # A contract without periods reports from its first data.
        start=max(p.start for p in periods) if periods else first,
        end=max(p.end for p in periods) if periods else last,
        last=min(last, timezone.localdate()),
    )


def reporting_date(contract: Contract, as_of: dt.date | None) -> dt.date | None:
    """The reporting date shown for ``as_of``: the latest one on or before it (the latest of
    all without a day); None when there is none yet. :class:`NoReportingDate` when the day
    lies before the first."""
    return _reporting_date_in(reporting_dates(contract), as_of)


def _reporting_date_in(dates: list[dt.date], as_of: dt.date | None) -> dt.date | None:
    if not dates:
        return None
    if as_of is None:
        return dates[-1]
    earlier = [day for day in dates if day <= as_of]
    if not earlier:
        raise NoReportingDate(
            f"there is no reporting date on or before {as_of.isoformat()}: "
            f"the first is {dates[0].isoformat()}"
        )
    return earlier[-1]


def release_get(*, contract: Contract, as_of: dt.date, compute: bool = True) -> dict[str, Any]:
    """The release of the dashboard on the reporting date ``as_of`` for the data as it is:
    the stored one, or computed, suppressed against every earlier release and stored. No
    permission check (callers check). With ``compute`` False, :class:`NotComputed` when
    the dashboard behind it is not cached yet."""
    key = dashboard_key(contract, as_of)
    stored = CouncilRelease.objects.filter(contract=contract, key=key).first()
    if stored is not None:
        return dict(stored.dashboard)
    small = releases.suppress_small(
        dashboard_compute(contract=contract, as_of=as_of, compute=compute, release=True)
    )
    try:
        with transaction.atomic():
            # One release of a contract at a time: each is compared with all stored before.
            Contract.objects.select_for_update().filter(pk=contract.pk).first()
            stored = CouncilRelease.objects.filter(contract=contract, key=key).first()
            if stored is not None:
                return dict(stored.dashboard)
            earlier = CouncilRelease.objects.filter(contract=contract).values_list(
                "cells", flat=True
            )
            shown, cells = releases.suppress_differences(small, list(earlier))
            CouncilRelease.objects.create(
                contract=contract, as_of=as_of, key=key, dashboard=shown, cells=cells
            )
    except IntegrityError:  # stored by a concurrent request in between
        return dict(CouncilRelease.objects.get(contract=contract, key=key).dashboard)
    return shown


def _no_release(contract: Contract) -> dict[str, Any]:
    return {
        "contract": contract.identifier,
        "as_of": None,
        "notes": [{"code": "no_reporting_date"}],
        "panels": [],
    }


def _release_for(
    contract: Contract, as_of: dt.date | None, *, compute: bool = True
) -> dict[str, Any]:
    dates = reporting_dates(contract)
    day = _reporting_date_in(dates, as_of)
    shown = (
        _no_release(contract)
        if day is None
        else release_get(contract=contract, as_of=day, compute=compute)
    )
    shown["reporting_dates"] = [d.isoformat() for d in dates]
    shown["requested_as_of"] = as_of.isoformat() if as_of else None
    return shown


def viewer_copy(
    dashboard: dict[str, Any], *, user: AbstractBaseUser | AnonymousUser, contract: Contract
) -> dict[str, Any]:
    """A dashboard (a meeting's frozen snapshot) as the user's role may see it: without the
    individual status list, and for a role that sees aggregates only, the release of the
    reporting date on or before the snapshot's day instead (decision 0610)."""
    if aggregate_only(user, contract):
        day = dt.date.fromisoformat(str(dashboard["as_of"])) if dashboard.get("as_of") else None
        try:
            return _release_for(contract, day)
        except NoReportingDate:
            return {**_no_release(contract), "reporting_dates": []}
    return dict(dashboard)


def dashboard_for(
    *,
    user: AbstractBaseUser | AnonymousUser,
    contract: Contract,
    as_of: dt.date | None = None,
    compute: bool = True,
) -> dict[str, Any]:
    """The dashboard as this user may see it: for a role that sees aggregates only, the
    release of the reporting date on or before ``as_of`` (:class:`NoReportingDate` before
    the first). With ``compute`` False, :class:`NotComputed` rather than computing it."""
    require(user, Action.VIEW_CONTRACT, contract)
    if aggregate_only(user, contract):
        return _release_for(contract, as_of, compute=compute)
    as_of = as_of or default_as_of(contract)
    return dict(dashboard_compute(contract=contract, as_of=as_of, compute=compute))


def individual_status(
    *, user: AbstractBaseUser | AnonymousUser, contract: Contract, as_of: dt.date | None = None
) -> list[dict[str, Any]]:
    """Status per included individual, by pseudonym (for the roles the contract's
    ``council: individual_status`` term lists)."""
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
