"""Every access rule of the platform, in one place.

A person acts through the organisations they belong to; an organisation takes
one role in a contract. ``RULES`` says which roles may take each action; pages,
the API, services and selectors all ask :func:`can` / :func:`require`, so the
rules are written once (tests/platform/test_platform_permissions.py checks every
role against every action, allowed and denied).

Who may import a table is not a rule of the platform but a term of the contract:
each declared table names its ``import:`` roles, and :func:`can_import` /
:func:`require_import` ask the declaration. So is who sees the anonymised individual
status (:attr:`Action.VIEW_INDIVIDUAL_STATUS`): ``RULES`` gives every role it, narrowed by
the contract's ``council: individual_status`` term (:func:`individual_status_roles`;
decision 0940).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet

from utfall.platform.contracts.models import Contract, ContractParty, Role

__all__ = [
    "RULES",
    "Action",
    "allowed_actions",
    "can",
    "can_import",
    "can_publish",
    "can_record_results",
    "individual_status_roles",
    "is_fund_administrator",
    "membership_lookups",
    "parties_of",
    "require",
    "require_fund_administrator",
    "require_import",
    "roles_of",
    "user_requires_two_factor",
]


class Action(StrEnum):
    """Everything a party can do to a contract."""

    VIEW_CONTRACT = "view_contract"
    UPLOAD_VERSION = "upload_contract_version"
    PUT_IN_FORCE = "put_contract_in_force"
    MANAGE_PARTIES = "manage_parties"
    VIEW_PARTICIPANTS = "view_participants"
    VIEW_IMPORTS = "view_imports"
    VIEW_AUDIT = "view_audit"
    VIEW_SETTLEMENTS = "view_settlements"
    PREPARE_SETTLEMENT = "prepare_settlement"
    SIGN_SETTLEMENT = "sign_settlement"
    COMMENT_SETTLEMENT = "comment_settlement"
    VIEW_INDIVIDUAL_STATUS = "view_individual_status"
    RECORD_COUNCIL_MEETING = "record_council_meeting"


C, F, P, N, E = (
    Role.COMMISSIONER,
    Role.FINANCIER,
    Role.PROVIDER,
    Role.INTERMEDIARY,
    Role.EVALUATOR,
)
ALL_ROLES = frozenset(Role)

RULES: dict[Action, frozenset[Role]] = {
    Action.VIEW_CONTRACT: ALL_ROLES,
    Action.UPLOAD_VERSION: frozenset({C}),
    Action.PUT_IN_FORCE: frozenset({C}),
    Action.MANAGE_PARTIES: frozenset({C}),
    # The financier follows aggregates only; individual (pseudonymised) rows are
    # for those who work with the people or evaluate.
    Action.VIEW_PARTICIPANTS: frozenset({C, P, N, E}),
    Action.VIEW_IMPORTS: frozenset({C, P, N, E}),
    Action.VIEW_AUDIT: ALL_ROLES,
    Action.VIEW_SETTLEMENTS: ALL_ROLES,
    Action.PREPARE_SETTLEMENT: frozenset({E}),
    Action.SIGN_SETTLEMENT: frozenset({E}),
    # Every party reviews a draft statement.
    Action.COMMENT_SETTLEMENT: ALL_ROLES,
    # The intervention council: who sees the status list per (pseudonymised) individual is
    # the contract's term (council.individual_status, every role without it), applied in
    # can(); the commissioner and the intermediary keep the council's records.
    Action.VIEW_INDIVIDUAL_STATUS: ALL_ROLES,
    Action.RECORD_COUNCIL_MEETING: frozenset({C, N}),
}


def membership_lookups(user: AbstractBaseUser | AnonymousUser, prefix: str) -> dict[str, Any]:
    """The lookups for "a member of the organisation at ``prefix``" (one join).

    A request authenticated by an API token counts only memberships older than the
    token (decision 0602): a token issued before its owner joined an organisation, or
    before that organisation took a role, does not carry the new rights.
    """
    lookups: dict[str, Any] = {f"{prefix}memberships__user": user}
    as_of = getattr(user, "_utfall_roles_as_of", None)
    if as_of is not None:
        lookups[f"{prefix}memberships__created_at__lte"] = as_of
    return lookups


def parties_of(user: AbstractBaseUser | AnonymousUser) -> QuerySet[ContractParty]:
    """The contract parties the user acts for (as of the token, for an API request)."""
    if not user.is_authenticated or not user.is_active:
        return ContractParty.objects.none()
    parties = ContractParty.objects.filter(**membership_lookups(user, "organisation__"))
    as_of = getattr(user, "_utfall_roles_as_of", None)
    if as_of is not None:
        # Older than the token; or the commissioner role of a contract the user created
        # (with this token, say), unchanged since: nobody else granted that one.
        parties = parties.filter(
            Q(added_at__lte=as_of)
            | Q(
                role=Role.COMMISSIONER,
                contract__created_by=user,
                added_at=models.F("contract__created_at"),
            )
        )
    return parties


def roles_of(user: AbstractBaseUser | AnonymousUser, contract: Contract) -> frozenset[Role]:
    """The roles the user's organisations hold in the contract."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cache = getattr(user, "_utfall_roles", None)
    if cache is None:
        cache = {}
        user._utfall_roles = cache  # type: ignore[union-attr]
    if contract.pk not in cache:
        cache[contract.pk] = frozenset(
            Role(role)
            for role in parties_of(user).filter(contract=contract).values_list("role", flat=True)
        )
    return cache[contract.pk]


def forget_roles(user: AbstractBaseUser) -> None:
    """Drop the per-request role cache (after parties change)."""
    if hasattr(user, "_utfall_roles"):
        del user._utfall_roles


def individual_status_roles(contract: Contract) -> frozenset[Role]:
    """The roles that see the anonymised individual status: the newest version's
    ``council: individual_status`` term (its default without a declaration; the default
    without a version). A version that no longer reads grants it to nobody."""
    from utfall.core.contracts.schema import INDIVIDUAL_STATUS_ROLES
    from utfall.errors import UserError
    from utfall.platform.contracts.selectors import latest_version, parsed_version

    version = latest_version(contract)
    if version is None:
        return frozenset(Role(role) for role in INDIVIDUAL_STATUS_ROLES)
    try:
        document = parsed_version(version).document
    except UserError:
        return frozenset()
    return frozenset(Role(role) for role in document.council.individual_status)


def _permitted(action: Action, contract: Contract) -> frozenset[Role]:
    if action is Action.VIEW_INDIVIDUAL_STATUS:
        return RULES[action] & individual_status_roles(contract)
    return RULES[action]


def can(user: AbstractBaseUser | AnonymousUser, action: Action, contract: Contract) -> bool:
    """Whether the user may take the action on the contract."""
    return bool(roles_of(user, contract) & _permitted(action, contract))


def allowed_actions(user: AbstractBaseUser | AnonymousUser, contract: Contract) -> set[str]:
    """The values of every action the user may take on the contract (for pages and the API)."""
    return {action.value for action in Action if can(user, action, contract)}


def require(user: AbstractBaseUser | AnonymousUser, action: Action, contract: Contract) -> None:
    """Raise PermissionDenied unless the user may take the action on the contract."""
    if not can(user, action, contract):
        raise PermissionDenied(f"{action.value} is not allowed for this user on this contract")


def can_import(user: AbstractBaseUser | AnonymousUser, contract: Contract, table: Any) -> bool:
    """Whether one of the user's roles in the contract is among the declared table's
    ``import:`` roles (``table`` is a ``core.contracts.data.Table``)."""
    return bool({role.value for role in roles_of(user, contract)} & set(table.import_roles))


def require_import(user: AbstractBaseUser | AnonymousUser, contract: Contract, table: Any) -> None:
    """Raise PermissionDenied unless the user may import the declared table."""
    if not can_import(user, contract, table):
        raise PermissionDenied(
            f"importing {table.name} is for the contract's "
            f"{' and '.join(table.import_roles)} (the table's declared import roles)"
        )


def user_requires_two_factor(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Administrators and members of an organisation that evaluates a contract need TOTP."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return ContractParty.objects.filter(
        role=Role.EVALUATOR, organisation__memberships__user=user
    ).exists()


# The knowledge platform and the national outcomes fund (utfall.platform.knowledge, .fund).
# Their rules are not contract roles, so they stand beside RULES rather than in it.


def can_publish(user: AbstractBaseUser | AnonymousUser, contract: Contract) -> bool:
    """A commissioner of the contract decides what the knowledge platform publishes of it."""
    return Role.COMMISSIONER in roles_of(user, contract)


def is_fund_administrator(user: AbstractBaseUser | AnonymousUser, fund: object = None) -> bool:
    """A member of the organisation that administers the fund (any fund if ``fund`` is None)."""
    if not user.is_authenticated or not user.is_active:
        return False
    from utfall.platform.fund.models import Fund

    funds = Fund.objects.filter(**membership_lookups(user, "administrator__"))
    if fund is not None:
        funds = funds.filter(pk=getattr(fund, "pk", None))
    return funds.exists()


def can_record_results(user: AbstractBaseUser | AnonymousUser, contract: Contract) -> bool:
    """A commissioner, or an administrator of a fund that pays under the contract, records
    aggregated results of it for the knowledge platform."""
    if can_publish(user, contract):
        return True
    if not user.is_authenticated or not user.is_active:
        return False
    from utfall.platform.fund.models import Fund

    return Fund.objects.filter(
        contract=contract, **membership_lookups(user, "administrator__")
    ).exists()


def require_fund_administrator(user: AbstractBaseUser | AnonymousUser, fund: object = None) -> None:
    """Raise PermissionDenied unless the user administers the fund."""
    if not is_fund_administrator(user, fund):
        raise PermissionDenied("only the fund's administrators may do this")
