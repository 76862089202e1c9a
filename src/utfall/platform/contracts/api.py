"""Party endpoints of the REST API (a django-ninja router added to ``platform.api``).

Parties join by invitation (decision 0601): a commissioner invites (a commissioner
or financier proposes the evaluator), a member of the invited organisation accepts,
and every commissioner and financier approves an evaluator. The same services as
the parties page, so the same rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status

from utfall.platform.api_schemas import ERRORS
from utfall.platform.contracts import selectors, services
from utfall.platform.contracts.models import Contract, ContractInvitation, Role
from utfall.platform.organisations.models import Organisation

__all__ = ["router"]

router = Router(tags=["parties"])


class InvitationIn(Schema):
    organisation: str
    role: Role


class ApprovalOut(Schema):
    organisation: str
    user: str
    at: str


class InvitationOut(Schema):
    id: int
    contract: str
    organisation: str
    role: str
    status: str
    invited_by: str
    invited_at: datetime
    accepted_by: str | None
    approvals: list[ApprovalOut]
    missing_approvals: list[str]


class PartyHistoryOut(Schema):
    at: str
    action: str
    by: str | None
    details: dict[str, Any]


def _out(invitation: ContractInvitation) -> dict[str, Any]:
    return {
        "id": invitation.pk,
        "contract": invitation.contract.identifier,
        "organisation": invitation.organisation.name,
        "role": invitation.role,
        "status": invitation.status,
        "invited_by": invitation.invited_by.get_username(),
        "invited_at": invitation.invited_at,
        "accepted_by": invitation.accepted_by.get_username() if invitation.accepted_by else None,
        "approvals": [
            {"organisation": a["organisation"], "user": a["user"], "at": a["at"]}
            for a in invitation.approvals
        ],
        "missing_approvals": services.missing_approvals(invitation),
    }


def _contract(request: HttpRequest, identifier: str) -> Contract:
    try:
        return selectors.contract_get(user=request.user, identifier=identifier)
    except Contract.DoesNotExist:
        raise Http404 from None


def _pending(queryset: Any, invitation_id: int) -> ContractInvitation:
    if not 0 < invitation_id < 2**63:  # no such id (and beyond SQLite's integers)
        raise Http404
    invitation = queryset.filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404
    return invitation


@router.get("/invitations", response={**ERRORS, 200: list[InvitationOut]})
def invitations(request: HttpRequest) -> list[dict[str, Any]]:
    """Invitations to your organisations that wait for your answer."""
    return [_out(i) for i in selectors.invitations_for_user(user=request.user)]


@router.post("/invitations/{invitation_id}/accept", response={**ERRORS, 200: InvitationOut})
def invitation_accept(request: HttpRequest, invitation_id: int) -> dict[str, Any]:
    """Accept for your organisation: it joins once an evaluator's approvals are in."""
    invitation = _pending(selectors.invitations_for_user(user=request.user), invitation_id)
    return _out(services.contract_invitation_accept(invitation=invitation, actor=request.user))


@router.post("/invitations/{invitation_id}/decline", response={**ERRORS, 200: InvitationOut})
def invitation_decline(request: HttpRequest, invitation_id: int) -> dict[str, Any]:
    """Decline for your organisation."""
    invitation = _pending(selectors.invitations_for_user(user=request.user), invitation_id)
    return _out(services.contract_invitation_decline(invitation=invitation, actor=request.user))


@router.get("/contracts/{identifier}/invitations", response={**ERRORS, 200: list[InvitationOut]})
def contract_invitations(request: HttpRequest, identifier: str) -> list[dict[str, Any]]:
    """The contract's invitations waiting for an answer or for approvals."""
    contract = _contract(request, identifier)
    return [_out(i) for i in selectors.contract_invitations(contract=contract)]


@router.post("/contracts/{identifier}/invitations", response={**ERRORS, 201: InvitationOut})
def contract_invite(request: HttpRequest, identifier: str, body: InvitationIn) -> Status:
    """Invite an organisation (by name) to take a role in the contract."""
    contract = _contract(request, identifier)
    organisation = Organisation.objects.filter(name=body.organisation).first()
    if organisation is None:
        raise Http404
    invitation = services.contract_party_invite(
        contract=contract, organisation=organisation, role=body.role, actor=request.user
    )
    return Status(201, _out(invitation))


@router.post(
    "/contracts/{identifier}/invitations/{invitation_id}/approve",
    response={**ERRORS, 200: InvitationOut},
)
def contract_invitation_approve(
    request: HttpRequest, identifier: str, invitation_id: int
) -> dict[str, Any]:
    """Approve the appointment of an evaluator (a commissioner's or financier's member)."""
    contract = _contract(request, identifier)
    invitation = _pending(selectors.contract_invitations(contract=contract), invitation_id)
    return _out(services.contract_invitation_approve(invitation=invitation, actor=request.user))


@router.post(
    "/contracts/{identifier}/invitations/{invitation_id}/withdraw",
    response={**ERRORS, 200: InvitationOut},
)
def contract_invitation_withdraw(
    request: HttpRequest, identifier: str, invitation_id: int
) -> dict[str, Any]:
    """Withdraw an invitation (whoever may make it)."""
    contract = _contract(request, identifier)
    invitation = _pending(selectors.contract_invitations(contract=contract), invitation_id)
    return _out(services.contract_invitation_decline(invitation=invitation, actor=request.user))


@router.get(
    "/contracts/{identifier}/parties/history", response={**ERRORS, 200: list[PartyHistoryOut]}
)
def party_history(request: HttpRequest, identifier: str) -> list[dict[str, Any]]:
    """Every change of the parties, oldest first (as in the settlement bundles)."""
    contract = _contract(request, identifier)
    return [
        {
            "at": entry["at"],
            "action": entry["action"],
            "by": entry.get("by"),
            "details": {k: v for k, v in entry.items() if k not in ("at", "action", "by")},
        }
        for entry in selectors.contract_party_history(contract=contract)
    ]
