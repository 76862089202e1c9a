"""Writes for contracts: upload, new versions, entry into force, parties.

Parties join by invitation (decision 0601): ``contract_party_invite`` names an
organisation and a role, a member of that organisation accepts
(``contract_invitation_accept``) and only then is it a party. The evaluator is
appointed by the commissioner(s) and the financier(s) together: each of their
organisations approves (``contract_invitation_approve``), and the evaluator holds
no other role on the contract. Every step is an audit event (``party.*``), and the
history goes into every settlement bundle signed later.

(Settlement statements: ``utfall.platform.settlements.services``.)

Each function checks the permission rule, writes inside one transaction and
appends the audit event in that same transaction. A contract whose document does not
compile is refused with every problem located (file, line, field); a new version
that would leave stored rows unreadable is refused by the rule of
``core.contracts.data.declaration_changes`` (decision 0206).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from utfall.core.contracts import parse_contract, run_contract_tests
from utfall.core.contracts.data import declaration_changes
from utfall.core.contracts.yamlio import read_yaml
from utfall.errors import ContractInvalid, Finding, UserError
from utfall.platform.audit.services import audit_record
from utfall.platform.contracts.models import (
    Contract,
    ContractInvitation,
    ContractParty,
    ContractStatus,
    ContractVersion,
    InvitationStatus,
    Role,
)
from utfall.platform.organisations.models import Organisation
from utfall.platform.permissions import (
    Action,
    forget_roles,
    membership_lookups,
    require,
    roles_of,
)
from utfall.platform.settlements.ledger import ledger_contract_version

__all__ = [
    "APPOINTING_ROLES",
    "contract_create",
    "contract_invitation_accept",
    "contract_invitation_approve",
    "contract_invitation_decline",
    "contract_party_add_agreed",
    "contract_party_invite",
    "contract_party_remove",
    "contract_party_set",
    "contract_put_in_force",
    "contract_version_upload",
    "decode_contract_upload",
    "missing_approvals",
]


def decode_contract_upload(data: bytes, *, file_name: str) -> str:
    """The text of an uploaded contract file; raises ContractInvalid if it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ContractInvalid(
            f"{file_name} is not a UTF-8 text file",
            [
                Finding(
                    code="not-utf8",
                    message=f"byte 0x{data[error.start]:02X} is not UTF-8; save the file as UTF-8",
                    file=file_name,
                    line=line,
                )
            ],
        ) from error


def _test_results(document: Any) -> list[dict[str, Any]]:
    return [case.as_dict() for case in run_contract_tests(document)]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@transaction.atomic
def contract_create(
    *, text: str, organisation: Organisation, actor: AbstractBaseUser, file_name: str
) -> Contract:
    """Create a contract from its YAML; the actor's organisation becomes the commissioner."""
    if not organisation.memberships.filter(user=actor).exists():
        raise PermissionDenied("you can only create contracts for your own organisation")
    document = parse_contract(text, source=file_name)
    if Contract.objects.filter(identifier=document.id).exists():
        raise ContractInvalid(
            f"a contract with the id {document.id!r} exists already",
            [
                Finding(
                    code="duplicate-contract-id",
                    message=(
                        f"the id {document.id!r} is taken; upload the file as a new version "
                        "of that contract instead"
                    ),
                    file=file_name,
                    path="id",
                )
            ],
        )
    contract = Contract.objects.create(
        identifier=document.id, title=document.title, created_by=actor
    )
    version = ContractVersion.objects.create(
        contract=contract,
        number=1,
        text=text,
        sha256=_sha256(text),
        declared_version=str(document.version or ""),
        uploaded_by=actor,
        test_results=_test_results(document),
    )
    party = ContractParty.objects.create(
        contract=contract, organisation=organisation, role=Role.COMMISSIONER
    )
    # The creator's own role dates from the contract: a token that created the contract
    # may use it (decision 0602); a later change of role sets a new time.
    ContractParty.objects.filter(pk=party.pk).update(added_at=contract.created_at)
    forget_roles(actor)
    audit_record(
        actor=actor,
        action="contract.created",
        contract=contract,
        version=version.number,
        sha256=version.sha256,
        commissioner=organisation.name,
    )
    ledger_contract_version(version=version, actor=actor)
    return contract


@transaction.atomic
def contract_version_upload(
    *,
    contract: Contract,
    text: str,
    actor: AbstractBaseUser,
    file_name: str,
    amendment_reason: str = "",
) -> ContractVersion:
    """Add a new version; a contract in force needs a stated reason for the amendment."""
    require(actor, Action.UPLOAD_VERSION, contract)
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    document = parse_contract(text, source=file_name)
    findings: list[Finding] = []
    if document.id != contract.identifier:
        findings.append(
            Finding(
                code="contract-id-changed",
                message=f"the id is {document.id!r}, this contract is {contract.identifier!r}",
                file=file_name,
                path="id",
            )
        )
    latest = contract.versions.order_by("-number").first()
    sha = _sha256(text)
    if latest is not None and latest.sha256 == sha:
        findings.append(
            Finding(
                code="unchanged",
                message=f"the text is identical to version {latest.number}",
                file=file_name,
            )
        )
    if latest is not None:
        findings += _stored_rows_kept(contract, latest, document, text, file_name)
    reason = amendment_reason.strip()
    if contract.status == ContractStatus.IN_FORCE and not reason:
        findings.append(
            Finding(
                code="amendment-reason-missing",
                message="the contract is in force: an amendment needs a stated reason",
                file=file_name,
            )
        )
    if findings:
        raise ContractInvalid("the new version was not saved", findings)
    version = ContractVersion.objects.create(
        contract=contract,
        number=(latest.number if latest else 0) + 1,
        text=text,
        sha256=sha,
        declared_version=str(document.version or ""),
        uploaded_by=actor,
        amendment_reason=reason,
        test_results=_test_results(document),
    )
    Contract.objects.filter(pk=contract.pk).update(title=document.title)
    audit_record(
        actor=actor,
        action=(
            "contract.amended"
            if contract.status == ContractStatus.IN_FORCE
            else "contract.version_uploaded"
        ),
        contract=contract,
        version=version.number,
        sha256=sha,
        reason=reason,
    )
    ledger_contract_version(version=version, actor=actor)
    return version


def _stored_rows_kept(
    contract: Contract, latest: ContractVersion, document: Any, text: str, file_name: str
) -> list[Finding]:
    """Why the new declaration would leave the rows stored so far unreadable (decision 0206)."""
    from utfall.platform.contracts.selectors import parsed_version
    from utfall.platform.tables import stored_row_counts

    stored = stored_row_counts(contract)
    if not any(stored.values()):
        return []
    yaml_doc = read_yaml(text, source=file_name, what="the contract")
    return declaration_changes(parsed_version(latest).data, document.data, stored, yaml_doc)


@transaction.atomic
def contract_put_in_force(*, contract: Contract, actor: AbstractBaseUser) -> Contract:
    """Put a draft contract in force; its embedded tests must pass."""
    require(actor, Action.PUT_IN_FORCE, contract)
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status == ContractStatus.IN_FORCE:
        raise UserError("the contract is already in force")
    latest = contract.versions.order_by("-number").first()
    if latest is None or latest.tests_failed:
        raise UserError("a contract whose embedded tests fail cannot be put in force")
    contract.status = ContractStatus.IN_FORCE
    contract.in_force_since = timezone.now()
    contract.save(update_fields=["status", "in_force_since"])
    audit_record(actor=actor, action="contract.in_force", contract=contract, version=latest.number)
    return contract


# --- Parties: by invitation (decision 0601) ------------------------------------------

# Who appoints the evaluator: every organisation holding one of these roles approves.
APPOINTING_ROLES = (Role.COMMISSIONER, Role.FINANCIER)


def _is_member(user: AbstractBaseUser, organisation: Organisation) -> bool:
    """A member (through an API token: since before the token was issued, decision 0602)."""
    return Organisation.objects.filter(pk=organisation.pk, **membership_lookups(user, "")).exists()


def _appointing_organisations(contract: Contract) -> list[Organisation]:
    """The organisations that must approve an evaluator (commissioners and financiers)."""
    return [
        party.organisation
        for party in ContractParty.objects.filter(contract=contract, role__in=APPOINTING_ROLES)
        .select_related("organisation")
        .order_by("organisation__name")
    ]


def _refuse_conflicting_role(contract: Contract, organisation: Organisation, role: Role) -> None:
    """The evaluator holds no other role on the contract, and no party becomes evaluator
    beside another role of its own."""
    current = (
        ContractParty.objects.filter(contract=contract, organisation=organisation)
        .values_list("role", flat=True)
        .first()
    )
    if current is None or current == role:
        return
    if role == Role.EVALUATOR:
        raise UserError(
            f"{organisation.name} is the contract's {Role(current).label}: the evaluator "
            "cannot be a party in another role on the same contract"
        )
    if current == Role.EVALUATOR:
        raise UserError(
            f"{organisation.name} evaluates this contract: the evaluator cannot take "
            "another role on the same contract"
        )


def _approve(invitation: ContractInvitation, actor: AbstractBaseUser) -> list[str]:
    """Record the approval of each appointing organisation the actor is a member of."""
    approved = {entry["organisation_id"] for entry in invitation.approvals}
    added = []
    for organisation in _appointing_organisations(invitation.contract):
        if organisation.pk in approved or not _is_member(actor, organisation):
            continue
        invitation.approvals.append(
            {
                "organisation_id": organisation.pk,
                "organisation": organisation.name,
                "user": actor.get_username(),
                "at": timezone.now().isoformat(),
            }
        )
        added.append(organisation.name)
    return added


def missing_approvals(invitation: ContractInvitation) -> list[str]:
    """The appointing organisations that have not approved an evaluator yet."""
    if invitation.role != Role.EVALUATOR:
        return []
    approved = {entry["organisation_id"] for entry in invitation.approvals}
    return [
        organisation.name
        for organisation in _appointing_organisations(invitation.contract)
        if organisation.pk not in approved
    ]


@transaction.atomic
def contract_party_invite(
    *, contract: Contract, organisation: Organisation, role: Role | str, actor: AbstractBaseUser
) -> ContractInvitation:
    """Invite an organisation to take a role (or a new role) in the contract.

    The commissioner invites; an evaluator is proposed by a commissioner or a
    financier, whose organisation's approval is recorded with the invitation.
    """
    role = Role(role)
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if role == Role.EVALUATOR:
        if not roles_of(actor, contract) & set(APPOINTING_ROLES):
            raise PermissionDenied("the evaluator is appointed by the commissioner and financier")
    else:
        require(actor, Action.MANAGE_PARTIES, contract)
    _refuse_conflicting_role(contract, organisation, role)
    party = ContractParty.objects.filter(contract=contract, organisation=organisation).first()
    if party is not None and party.role == role:
        raise UserError(f"{organisation.name} is already the contract's {role.label}")
    if party is not None and party.role == Role.COMMISSIONER:
        _ensure_other_commissioner(contract, party)
    if contract.invitations.filter(
        organisation=organisation, status=InvitationStatus.PENDING
    ).exists():
        raise UserError(
            f"{organisation.name} has an invitation to this contract waiting for an answer; "
            "withdraw it first"
        )
    invitation = ContractInvitation.objects.create(
        contract=contract, organisation=organisation, role=role, invited_by=actor
    )
    approved = _approve(invitation, actor) if role == Role.EVALUATOR else []
    if approved:
        invitation.save(update_fields=["approvals"])
    audit_record(
        actor=actor,
        action="party.invited",
        contract=contract,
        invitation=invitation.pk,
        organisation=organisation.name,
        role=role.value,
        old_role=party.role if party else None,
        approved_by=approved,
    )
    return invitation


def _audit_invitation(
    invitation: ContractInvitation, actor: AbstractBaseUser, action: str, **details: Any
) -> None:
    """One audit event of an invitation's step, with what every step records."""
    audit_record(
        actor=actor,
        action=action,
        contract=invitation.contract,
        invitation=invitation.pk,
        organisation=invitation.organisation.name,
        role=invitation.role,
        **details,
    )


def _pending(invitation: ContractInvitation) -> ContractInvitation:
    locked = (
        ContractInvitation.objects.select_for_update()
        .select_related("contract", "organisation")
        .get(pk=invitation.pk)
    )
    if locked.status != InvitationStatus.PENDING:
        raise UserError(
            f"this invitation was {locked.get_status_display().lower()} already; "
            "nothing was changed"
        )
    return locked


@transaction.atomic
def contract_invitation_accept(
    *, invitation: ContractInvitation, actor: AbstractBaseUser
) -> ContractInvitation:
    """A member of the invited organisation accepts: it becomes a party once every
    approval an evaluator needs is there."""
    invitation = _pending(invitation)
    if not _is_member(actor, invitation.organisation):
        raise PermissionDenied(f"only members of {invitation.organisation.name} can accept")
    if invitation.role == Role.EVALUATOR and roles_of(actor, invitation.contract):
        # Someone acting for another party would accept their own evaluator.
        raise PermissionDenied(
            "you act for another party of this contract: a member of the evaluator who "
            "is not must accept"
        )
    forget_roles(actor)  # the check above must not stay cached: roles change below
    if invitation.accepted_by_id is not None:
        raise UserError("the invitation was accepted already; it waits for approvals")
    invitation.accepted_by = actor
    invitation.save(update_fields=["accepted_by"])
    _audit_invitation(invitation, actor, "party.invitation_accepted")
    return _complete_if_agreed(invitation, actor)


@transaction.atomic
def contract_invitation_approve(
    *, invitation: ContractInvitation, actor: AbstractBaseUser
) -> ContractInvitation:
    """A commissioner's or financier's member approves the appointment of an evaluator."""
    invitation = _pending(invitation)
    if invitation.role != Role.EVALUATOR:
        raise UserError("only the appointment of an evaluator needs approvals")
    approved = _approve(invitation, actor)
    if not approved:
        raise PermissionDenied(
            "only members of the contract's commissioner or financier approve an evaluator, "
            "once per organisation"
        )
    invitation.save(update_fields=["approvals"])
    _audit_invitation(invitation, actor, "party.appointment_approved", approved_by=approved)
    return _complete_if_agreed(invitation, actor)


@transaction.atomic
def contract_invitation_decline(
    *, invitation: ContractInvitation, actor: AbstractBaseUser
) -> ContractInvitation:
    """The invited organisation declines, or a party that may invite withdraws it."""
    invitation = _pending(invitation)
    contract = invitation.contract
    if _is_member(actor, invitation.organisation):
        status, action = InvitationStatus.DECLINED, "party.invitation_declined"
    elif roles_of(actor, contract) & (
        set(APPOINTING_ROLES) if invitation.role == Role.EVALUATOR else {Role.COMMISSIONER}
    ):
        status, action = InvitationStatus.WITHDRAWN, "party.invitation_withdrawn"
    else:
        raise PermissionDenied("not your invitation to decline or withdraw")
    invitation.status = status
    invitation.decided_at = timezone.now()
    invitation.save(update_fields=["status", "decided_at"])
    _audit_invitation(invitation, actor, action)
    return invitation


def _complete_if_agreed(
    invitation: ContractInvitation, actor: AbstractBaseUser
) -> ContractInvitation:
    """Write the party once the organisation accepted and every approval is in."""
    if invitation.accepted_by_id is None or missing_approvals(invitation):
        return invitation
    contract, organisation = invitation.contract, invitation.organisation
    role = Role(invitation.role)
    # Parties may have changed since the invitation: the rules hold at the moment of joining.
    _refuse_conflicting_role(contract, organisation, role)
    party = _party_write(contract, organisation, role)
    invitation.status = InvitationStatus.ACCEPTED
    invitation.decided_at = timezone.now()
    invitation.save(update_fields=["status", "decided_at"])
    forget_roles(actor)
    audit_record(
        actor=actor,
        action="party.role_set",
        contract=contract,
        invitation=invitation.pk,
        organisation=organisation.name,
        old_role=party.old_role,
        new_role=role.value,
        invited_by=invitation.invited_by.get_username(),
        accepted_by=invitation.accepted_by.get_username() if invitation.accepted_by else None,
        approved_by=[entry["organisation"] for entry in invitation.approvals],
    )
    return invitation


class _Written:
    def __init__(self, party: ContractParty, old_role: str | None):
        self.party, self.old_role = party, old_role


def _party_write(contract: Contract, organisation: Organisation, role: Role) -> _Written:
    party = (
        ContractParty.objects.select_for_update()
        .filter(contract=contract, organisation=organisation)
        .first()
    )
    if party is None:
        return _Written(
            ContractParty.objects.create(contract=contract, organisation=organisation, role=role),
            None,
        )
    old_role = party.role
    if old_role == Role.COMMISSIONER and role != Role.COMMISSIONER:
        _ensure_other_commissioner(contract, party)
    party.role = role
    # The role is new from now: tokens issued before do not carry it (decision 0602).
    party.added_at = timezone.now()
    party.save(update_fields=["role", "added_at"])
    return _Written(party, old_role)


@transaction.atomic
def contract_party_set(
    *,
    contract: Contract,
    organisation: Organisation,
    role: Role | str,
    actor: AbstractBaseUser,
    accepted_by: AbstractBaseUser,
    approved_by: tuple[AbstractBaseUser, ...] | list[AbstractBaseUser] = (),
) -> ContractParty:
    """Invite, accept and (for an evaluator) approve in one go, each step by its own
    person and under its own rule: for the demo, the fund and set-ups where every
    party agrees at once. Returns the party."""
    invitation = contract_party_invite(
        contract=contract, organisation=organisation, role=role, actor=actor
    )
    invitation = contract_invitation_accept(invitation=invitation, actor=accepted_by)
    for approver in approved_by:
        if invitation.status == InvitationStatus.PENDING:
            invitation = contract_invitation_approve(invitation=invitation, actor=approver)
    for person in (actor, accepted_by, *approved_by):
        forget_roles(person)
    if invitation.status != InvitationStatus.ACCEPTED:
        raise UserError(
            f"{organisation.name} is not a party yet: approvals are missing from "
            + ", ".join(missing_approvals(invitation))
        )
    return ContractParty.objects.get(contract=contract, organisation=organisation)


@transaction.atomic
def contract_party_add_agreed(
    *,
    contract: Contract,
    organisation: Organisation,
    role: Role | str,
    actor: AbstractBaseUser,
    basis: str,
) -> ContractParty:
    """Add a party whose consent was given in another audited procedure, named in
    ``basis`` (the outcomes fund: the lead organisation applied to the call; the
    fund's evaluator agreed to evaluate the fund). The commissioner adds it, the
    conflicting-role rule holds, and the event is audited with its basis."""
    role = Role(role)
    require(actor, Action.MANAGE_PARTIES, contract)
    if not basis.strip():
        raise UserError("name the procedure in which the organisation agreed")
    _refuse_conflicting_role(contract, organisation, role)
    written = _party_write(contract, organisation, role)
    forget_roles(actor)
    audit_record(
        actor=actor,
        action="party.role_set",
        contract=contract,
        organisation=organisation.name,
        old_role=written.old_role,
        new_role=role.value,
        basis=basis.strip(),
    )
    return written.party


def _ensure_other_commissioner(contract: Contract, party: ContractParty) -> None:
    others = ContractParty.objects.filter(contract=contract, role=Role.COMMISSIONER).exclude(
        pk=party.pk
    )
    if not others.exists():
        raise UserError("a contract must keep a commissioner; add another one first")


@transaction.atomic
def contract_party_remove(
    *, contract: Contract, organisation: Organisation, actor: AbstractBaseUser
) -> None:
    """Remove an organisation from the contract (the commissioner; or the organisation
    itself leaves)."""
    if not _is_member(actor, organisation):
        require(actor, Action.MANAGE_PARTIES, contract)
    party = ContractParty.objects.filter(contract=contract, organisation=organisation).first()
    if party is None:
        return
    if party.role == Role.COMMISSIONER:
        _ensure_other_commissioner(contract, party)
    party.delete()
    forget_roles(actor)
    audit_record(
        actor=actor,
        action="party.removed",
        contract=contract,
        organisation=organisation.name,
        old_role=party.role,
    )
