"""Reads for contracts: what a user may see, and a readable rendering of a version."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from utfall.core.contracts import describe_formula, format_value, parse_contract
from utfall.platform.contracts.models import (
    Contract,
    ContractInvitation,
    ContractParty,
    ContractVersion,
    InvitationStatus,
    Settlement,
)
from utfall.platform.permissions import Action, membership_lookups, parties_of, require
from utfall.services import labels as contract_labels

__all__ = [
    "ContractView",
    "contract_get",
    "contract_invitations",
    "contract_list",
    "contract_parties",
    "contract_party_history",
    "contract_render",
    "contract_versions",
    "invitations_for_user",
    "latest_version",
    "parsed_version",
    "plain_formula",
    "settlement_list",
    "term_names",
]


def contract_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Contract]:
    """The contracts one of the user's organisations is a party to."""
    if not user.is_authenticated:
        return Contract.objects.none()
    return Contract.objects.filter(pk__in=parties_of(user).values("contract_id")).order_by("title")


def contract_get(
    *,
    user: AbstractBaseUser | AnonymousUser,
    identifier: str,
    action: Action = Action.VIEW_CONTRACT,
) -> Contract:
    """One contract by identifier; Contract.DoesNotExist when the user is not a party.

    A contract the user cannot see is reported as missing, so its existence does not
    leak; an action the user's role does not allow raises PermissionDenied.
    """
    contract = contract_list(user=user).get(identifier=identifier)
    require(user, action, contract)
    return contract


def latest_version(contract: Contract) -> ContractVersion | None:
    """The newest version."""
    return contract.versions.order_by("-number").select_related("uploaded_by").first()


def contract_versions(*, contract: Contract) -> QuerySet[ContractVersion]:
    """Every version, newest first."""
    return contract.versions.order_by("-number").select_related("uploaded_by")


def contract_parties(*, contract: Contract) -> QuerySet[ContractParty]:
    """The parties with their organisations."""
    return contract.parties.select_related("organisation").order_by("role", "organisation__name")


def contract_invitations(*, contract: Contract) -> QuerySet[ContractInvitation]:
    """The contract's invitations waiting for an answer or for approvals."""
    return contract.invitations.filter(status=InvitationStatus.PENDING).select_related(
        "organisation", "invited_by", "accepted_by"
    )


def invitations_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[ContractInvitation]:
    """Invitations to the user's organisations that wait for their answer."""
    if not user.is_authenticated:
        return ContractInvitation.objects.none()
    return ContractInvitation.objects.filter(
        status=InvitationStatus.PENDING,
        accepted_by__isnull=True,
        **membership_lookups(user, "organisation__"),
    ).select_related("contract", "organisation", "invited_by")


# The audit actions that change or propose a change of the parties.
PARTY_ACTIONS = ("contract.created",)


def contract_party_history(*, contract: Contract) -> list[dict[str, Any]]:
    """Every change of the contract's parties, oldest first, as the audit trail has it:
    who was invited, who accepted and approved, who joined, changed role or left."""
    from utfall.platform.audit.models import AuditEvent

    events = (
        AuditEvent.objects.filter(contract=contract)
        .filter(Q(action__startswith="party.") | Q(action__in=PARTY_ACTIONS))
        .select_related("actor")
        .order_by("at", "pk")
    )
    history = []
    for event in events:
        details = dict(event.details)
        if event.action == "contract.created":
            details = {"organisation": details.get("commissioner"), "new_role": "commissioner"}
        history.append(
            {
                "at": event.at.isoformat(),
                "action": event.action,
                "by": event.actor.get_username() if event.actor else None,
                **{key: value for key, value in details.items() if value not in (None, [], "")},
            }
        )
    return history


@lru_cache(maxsize=64)
def _parse_cached(sha256: str, text: str, source: str) -> Any:
    return parse_contract(text, source=source)


def parsed_version(version: ContractVersion) -> Any:
    """The core Contract of a stored version (cached by content hash)."""
    return _parse_cached(version.sha256, version.text, f"{version.contract.identifier}.yaml")


@dataclass
class ContractView:
    """What the contract page shows: the document in readable form."""

    document: Any
    parameters: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    tests: list[dict[str, Any]] = field(default_factory=list)


def _in_sentence(label: str) -> str:
    """A label as a word inside a sentence: ``Garanterad andel`` → ``garanterad andel``
    (an abbreviation such as ``SLT-index`` stays as it is)."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def _describe(formula: str, lang: str, labels: dict[str, str] | None = None) -> str:
    try:
        return describe_formula(formula, lang=lang, labels=labels)
    except Exception:  # a rendering aid only; the formula itself is shown as well
        return ""


def term_names(document: Any, lang: str) -> dict[str, str]:
    """Each parameter, input and output by its label in the active language, as a word
    inside a sentence (what the plain-language formulas name them by)."""
    names = {
        **{n: contract_labels.label(document, "parameter", n, lang) for n in document.parameters},
        **{n: contract_labels.label(document, "input", n, lang) for n in document.inputs},
        **{n: contract_labels.label(document, "output", n, lang) for n in document.outputs},
    }
    return {n: _in_sentence(text) for n, text in names.items()}


def plain_formula(document: Any, formula: str, lang: str) -> str:
    """A formula in words by the labels of its terms ("" where it cannot be said)."""
    lang = "sv" if lang.startswith("sv") else "en"
    return _describe(formula, lang, term_names(document, lang)) if formula else ""


def contract_render(*, version: ContractVersion, lang: str) -> ContractView:
    """A readable rendering: terms with units, formulas in plain language, test status."""
    document = parsed_version(version)
    lang = "sv" if lang.startswith("sv") else "en"
    view = ContractView(document=document)
    # The plain-language formulas name terms, inputs and outputs by their labels.
    names = term_names(document, lang)
    for parameter in document.parameters.values():
        view.parameters.append(
            {
                "name": parameter.name,
                "value": format_value(parameter.default, parameter.type, parameter.of),
                "unit": parameter.unit or "",
                "description": parameter.description or "",
                "source": parameter.source or "",
            }
        )
    for item in document.inputs.values():
        view.inputs.append(
            {
                "name": item.name,
                "type": item.type,
                "unit": item.unit or "",
                "description": item.description or "",
            }
        )
    for output in document.outputs.values():
        view.outputs.append(
            {
                "name": output.name,
                "formula": output.formula,
                "plain": _describe(output.formula, lang, names),
                "description": output.description or "",
            }
        )
    for payment in document.payments:
        view.payments.append(
            {
                "id": payment.id,
                "payer": payment.payer,
                "payee": payment.payee,
                "label": payment.label,
                "formula": payment.formula,
                "plain": _describe(payment.formula, lang, names),
                "description": payment.description or "",
            }
        )
    view.tests = list(version.test_results)
    return view


def settlement_list(*, user: AbstractBaseUser, contract: Contract) -> QuerySet[Settlement]:
    """The contract's settlement statements, newest first."""
    require(user, Action.VIEW_SETTLEMENTS, contract)
    return contract.settlements.select_related("created_by", "signed_by", "version")
