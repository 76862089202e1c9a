"""Writes for contracts: upload, new versions, entry into force, parties.

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
    ContractParty,
    ContractStatus,
    ContractVersion,
    Role,
)
from utfall.platform.organisations.models import Organisation
from utfall.platform.permissions import Action, forget_roles, require
from utfall.platform.settlements.ledger import ledger_contract_version

__all__ = [
    "contract_create",
    "contract_party_remove",
    "contract_party_set",
    "contract_put_in_force",
    "contract_version_upload",
    "decode_contract_upload",
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
    ContractParty.objects.create(
        contract=contract, organisation=organisation, role=Role.COMMISSIONER
    )
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


@transaction.atomic
def contract_party_set(
    *, contract: Contract, organisation: Organisation, role: Role | str, actor: AbstractBaseUser
) -> ContractParty:
    """Give an organisation a role in the contract (or change its role)."""
    require(actor, Action.MANAGE_PARTIES, contract)
    role = Role(role)
    party = (
        ContractParty.objects.select_for_update()
        .filter(contract=contract, organisation=organisation)
        .first()
    )
    old_role = party.role if party else None
    if party is not None and old_role == Role.COMMISSIONER and role != Role.COMMISSIONER:
        _ensure_other_commissioner(contract, party)
    if party is None:
        party = ContractParty.objects.create(
            contract=contract, organisation=organisation, role=role
        )
    elif old_role != role:
        party.role = role
        party.save(update_fields=["role"])
    else:
        return party
    forget_roles(actor)
    audit_record(
        actor=actor,
        action="party.role_set",
        contract=contract,
        organisation=organisation.name,
        old_role=old_role,
        new_role=role.value,
    )
    return party


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
    """Remove an organisation from the contract."""
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
