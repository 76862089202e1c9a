"""The council's slow steps as background jobs: a dashboard's first computation for a day
(seconds: the bootstrap) and the quarterly report's PDF (charts and WeasyPrint).

A job's state lives in the shared cache (the file cache the web and worker processes of
a host share): ``state`` is ``queued``, ``running``, ``done``, ``busy`` (another
dashboard of the contract was being computed) or ``failed``. The page starts a job,
shows its progress (``web/_task_progress.html``, polled with htmx) and shows the result
when it is done. With django-tasks' immediate backend (the tests) the job has run when
its start returns, and the page shows the result at once.

A dashboard job is named by what it computes (the data state's key and whether a
release), so two people opening the same new day start one job; the dashboard itself
stays in the cache and the release table (:mod:`utfall.platform.council.selectors`).
A report job is one person's: its PDF is served only to the user who asked for it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache

from utfall.platform.council.models import CouncilMeeting
from utfall.platform.council.selectors import NotComputed

__all__ = [
    "JOB_SECONDS",
    "dashboard_job",
    "dashboard_job_run",
    "dashboard_job_start",
    "report_job",
    "report_job_run",
    "report_job_start",
    "report_pdf_get",
]

JOB_SECONDS = 3600
"""How long a job's state (and a report's PDF) is kept."""
STALE_SECONDS = 600
"""A job still queued or running after this long is started again (its worker died)."""

_log = logging.getLogger(__name__)


def _key(kind: str, job: str) -> str:
    return f"council-job:{kind}:{job}"


def _get(kind: str, job: str) -> dict[str, Any] | None:
    found = cache.get(_key(kind, job))
    return found if isinstance(found, dict) else None


def _set(kind: str, job: str, **values: Any) -> dict[str, Any]:
    state = _get(kind, job) or {}
    state.update(values)
    cache.set(_key(kind, job), state, JOB_SECONDS)
    return state


def _under_way(state: dict[str, Any] | None) -> bool:
    return (
        state is not None
        and state.get("state") in ("queued", "running")
        and time.time() - float(state.get("started", 0)) < STALE_SECONDS
    )


# --- dashboards --------------------------------------------------------------------------


def _dashboard_job_id(pending: NotComputed) -> str:
    return pending.key + (":release" if pending.release else "")


def dashboard_job(pending: NotComputed) -> dict[str, Any] | None:
    """The state of the job computing what ``pending`` names (None: none started)."""
    return _get("dashboard", _dashboard_job_id(pending))


def dashboard_job_start(pending: NotComputed) -> dict[str, Any]:
    """Start computing the dashboard ``pending`` names, unless a job for it is under way;
    returns the job's state (``done`` already with the immediate backend)."""
    from utfall.platform.council.tasks import compute_dashboard

    job = _dashboard_job_id(pending)
    state = {"state": "queued", "started": time.time(), "as_of": pending.as_of.isoformat()}
    if not cache.add(_key("dashboard", job), state, JOB_SECONDS):
        found = _get("dashboard", job)
        if _under_way(found):
            assert found is not None
            return found
        cache.set(_key("dashboard", job), state, JOB_SECONDS)
    compute_dashboard.enqueue(pending.contract.pk, pending.as_of.isoformat(), pending.release, job)
    return _get("dashboard", job) or state


def dashboard_job_run(*, contract_id: int, as_of: str, release: bool, job: str) -> str:
    """Compute one dashboard into the cache (or the release table); the job's end state."""
    from utfall.platform.contracts.models import Contract
    from utfall.platform.council import selectors

    _set("dashboard", job, state="running", running_since=time.time())
    try:
        contract = Contract.objects.get(pk=contract_id)
        day = dt.date.fromisoformat(as_of)
        if release:
            selectors.release_get(contract=contract, as_of=day)
        else:
            selectors.dashboard_compute(contract=contract, as_of=day)
    except selectors.DashboardBusy:
        _set("dashboard", job, state="busy")
        return "busy"
    except Exception:  # the job's end is what the page shows; the cause goes to the log
        _log.exception("computing the council dashboard of contract %s on %s", contract_id, as_of)
        _set("dashboard", job, state="failed")
        return "failed"
    _set("dashboard", job, state="done", finished=time.time())
    return "done"


# --- the quarterly report's PDF ----------------------------------------------------------


def report_job_start(*, meeting: CouncilMeeting, user: AbstractBaseUser, language: str) -> str:
    """Start rendering a meeting's report as PDF for ``user``; the job's id."""
    from utfall.platform.council.tasks import render_report_pdf

    job = uuid.uuid4().hex
    _set(
        "report",
        job,
        state="queued",
        started=time.time(),
        meeting=meeting.pk,
        user=user.pk,
        language=language,
    )
    render_report_pdf.enqueue(job)
    return job


def report_job(job: str, *, user: AbstractBaseUser, meeting: CouncilMeeting) -> dict[str, Any]:
    """The state of a report job of this user and meeting (``KeyError`` for any other)."""
    state = _get("report", job)
    if state is None or state.get("user") != user.pk or state.get("meeting") != meeting.pk:
        raise KeyError(job)
    return state


def report_job_run(*, job: str) -> str:
    """Render the report a job names; the PDF goes to the cache next to the job's state."""
    from utfall.platform.council.report import report_pdf

    state = _get("report", job)
    if state is None:
        return "failed"
    _set("report", job, state="running", running_since=time.time())
    try:
        meeting = CouncilMeeting.objects.select_related("contract").get(pk=state["meeting"])
        user = get_user_model().objects.get(pk=state["user"])
        pdf = report_pdf(meeting, user=user, language=state["language"])
    except Exception:  # the job's end is what the page shows; the cause goes to the log
        _log.exception("rendering the council report of meeting %s", state.get("meeting"))
        _set("report", job, state="failed")
        return "failed"
    cache.set(_key("report-pdf", job), pdf, JOB_SECONDS)
    _set("report", job, state="done", finished=time.time())
    return "done"


def report_pdf_get(job: str) -> bytes | None:
    """The PDF a finished report job rendered (None once expired)."""
    found = cache.get(_key("report-pdf", job))
    return found if isinstance(found, bytes) else None
