"""Writes for the intervention council: record a meeting (freezing the dashboard),
add decisions and recommendations, follow them up at a later meeting.

Each service checks :attr:`Action.RECORD_COUNCIL_MEETING`, runs in one
transaction and writes its audit event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from utfall.core.ledger.canonical import canonical_sha256
from utfall.errors import UserError
from utfall.platform.audit.services import audit_record
from utfall.platform.contracts.models import Contract
from utfall.platform.council.models import (
    CouncilDecision,
    CouncilMeeting,
    DecisionKind,
    DecisionStatus,
)
from utfall.platform.council.selectors import dashboard_compute
from utfall.platform.permissions import Action, require

__all__ = ["decision_add", "decision_follow_up", "meeting_record"]


def meeting_record(
    *,
    contract: Contract,
    actor: AbstractBaseUser,
    held_on: dt.date,
    as_of: dt.date,
    title: str,
    agenda: str = "",
    minutes: str = "",
) -> CouncilMeeting:
    """Record a meeting with the dashboard for ``as_of`` frozen into it."""
    require(actor, Action.RECORD_COUNCIL_MEETING, contract)
    if as_of > held_on:
        raise UserError("the data a meeting looks at cannot be later than the meeting")
    if not title.strip():
        raise UserError("a meeting needs a title")
    # Computed before the transaction: the bootstrap takes seconds, and SQLite would hold
    # its write lock all that time.
    snapshot: dict[str, Any] = dashboard_compute(contract=contract, as_of=as_of)
    with transaction.atomic():
        return _meeting_create(
            contract=contract,
            actor=actor,
            held_on=held_on,
            as_of=as_of,
            title=title,
            agenda=agenda,
            minutes=minutes,
            snapshot=snapshot,
        )


def _meeting_create(
    *,
    contract: Contract,
    actor: AbstractBaseUser,
    held_on: dt.date,
    as_of: dt.date,
    title: str,
    agenda: str,
    minutes: str,
    snapshot: dict[str, Any],
) -> CouncilMeeting:
    meeting = CouncilMeeting.objects.create(
        contract=contract,
        held_on=held_on,
        as_of=as_of,
        title=title.strip(),
        agenda=agenda.strip(),
        minutes=minutes.strip(),
        snapshot=snapshot,
        snapshot_sha256=canonical_sha256(snapshot),
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="council_meeting_recorded",
        contract=contract,
        meeting=meeting.pk,
        held_on=held_on.isoformat(),
        as_of=as_of.isoformat(),
        snapshot_sha256=meeting.snapshot_sha256,
    )
    return meeting


@transaction.atomic
def decision_add(
    *,
    meeting: CouncilMeeting,
    actor: AbstractBaseUser,
    text: str,
    owner: str,
    due_on: dt.date,
    kind: str = DecisionKind.DECISION,
) -> CouncilDecision:
    """Add a decision or recommendation, with who owns it and when it is due."""
    require(actor, Action.RECORD_COUNCIL_MEETING, meeting.contract)
    if not text.strip() or not owner.strip():
        raise UserError("a decision needs a text and an owner")
    if kind not in DecisionKind.values:
        raise UserError(f"{kind!r} is not a decision or a recommendation")
    decision = CouncilDecision.objects.create(
        meeting=meeting, kind=kind, text=text.strip(), owner=owner.strip(), due_on=due_on
    )
    audit_record(
        actor=actor,
        action="council_decision_added",
        contract=meeting.contract,
        meeting=meeting.pk,
        decision=decision.pk,
        kind=kind,
        due_on=due_on.isoformat(),
    )
    return decision


@transaction.atomic
def decision_follow_up(
    *,
    decision: CouncilDecision,
    at_meeting: CouncilMeeting,
    actor: AbstractBaseUser,
    status: str,
    note: str = "",
) -> CouncilDecision:
    """Follow a decision up at a later meeting of the same contract."""
    contract = decision.meeting.contract
    require(actor, Action.RECORD_COUNCIL_MEETING, contract)
    if at_meeting.contract_id != contract.pk:
        raise UserError("a decision is followed up in its own contract's council")
    if at_meeting.held_on < decision.meeting.held_on or at_meeting.pk == decision.meeting_id:
        raise UserError("a decision is followed up at a later meeting")
    if status not in DecisionStatus.values:
        raise UserError(f"{status!r} is not a decision status")
    decision.status = status
    decision.follow_up = note.strip()
    decision.followed_up_at = at_meeting
    decision.save(update_fields=["status", "follow_up", "followed_up_at"])
    audit_record(
        actor=actor,
        action="council_decision_followed_up",
        contract=contract,
        decision=decision.pk,
        meeting=at_meeting.pk,
        status=status,
    )
    return decision
