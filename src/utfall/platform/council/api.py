"""Council endpoints of the REST API (a django-ninja router added to ``platform.api``).

The same dashboard dict the pages show: small cells are suppressed in it, and the
individual status list is removed for a role without ``view_individual_status``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError

from utfall.platform.api_schemas import ERRORS, ErrorOut
from utfall.platform.contracts import selectors as contract_selectors
from utfall.platform.council import selectors

__all__ = ["router"]

router = Router(tags=["council"])


def _decision(decision: Any) -> dict[str, Any]:
    return {
        "id": decision.pk,
        "kind": decision.kind,
        "text": decision.text,
        "owner": decision.owner,
        "due_on": decision.due_on.isoformat(),
        "status": decision.status,
        "follow_up": decision.follow_up,
        "followed_up_at": decision.followed_up_at_id,
    }


@router.get(
    "/contracts/{identifier}/council/dashboard",
    response={200: dict[str, Any], **ERRORS, 503: ErrorOut},
)
def council_dashboard(
    request: HttpRequest, identifier: str, as_of: dt.date | None = None
) -> dict[str, Any]:
    """The contract's council dashboard for ``as_of`` (default: the last month with data).

    A role that sees aggregates only gets the release of the reporting date on or before
    ``as_of`` (its ``as_of`` says which; ``reporting_dates`` lists them all); a day before
    the first is answered 404."""
    contract = contract_selectors.contract_get(user=request.user, identifier=identifier)
    try:
        return selectors.dashboard_for(user=request.user, contract=contract, as_of=as_of)
    except selectors.NoReportingDate as error:
        raise HttpError(404, error.message) from None
    except selectors.DashboardBusy as error:
        raise HttpError(503, error.message) from None


@router.get(
    "/contracts/{identifier}/council/meetings", response={200: list[dict[str, Any]], **ERRORS}
)
def council_meetings(request: HttpRequest, identifier: str) -> list[dict[str, Any]]:
    """The council's meetings, newest first, with their decisions."""
    contract = contract_selectors.contract_get(user=request.user, identifier=identifier)
    return [
        {
            "id": meeting.pk,
            "held_on": meeting.held_on.isoformat(),
            "as_of": meeting.as_of.isoformat(),
            "title": meeting.title,
            "snapshot_sha256": meeting.snapshot_sha256,
            "decisions": [_decision(d) for d in meeting.decisions.all()],
        }
        for meeting in selectors.meeting_list(user=request.user, contract=contract)
    ]


@router.get(
    "/contracts/{identifier}/council/meetings/{pk}", response={200: dict[str, Any], **ERRORS}
)
def council_meeting(request: HttpRequest, identifier: str, pk: int) -> dict[str, Any]:
    """One meeting: agenda, minutes, decisions and the frozen dashboard it looked at."""
    contract = contract_selectors.contract_get(user=request.user, identifier=identifier)
    meeting = selectors.meeting_get(user=request.user, contract=contract, pk=pk)
    return {
        "id": meeting.pk,
        "held_on": meeting.held_on.isoformat(),
        "as_of": meeting.as_of.isoformat(),
        "title": meeting.title,
        "agenda": meeting.agenda,
        "minutes": meeting.minutes,
        "snapshot_sha256": meeting.snapshot_sha256,
        "decisions": [_decision(d) for d in meeting.decisions.all()],
        "dashboard": selectors.viewer_copy(meeting.snapshot, user=request.user, contract=contract),
    }
