"""Writes for organisations, memberships and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from utfall.platform.audit.services import audit_record
from utfall.platform.contracts.models import ContractParty, Role
from utfall.platform.organisations.models import (
    ApiToken,
    Membership,
    Organisation,
    SecondFactorCodeUse,
)

__all__ = [
    "TOKEN_PREFIX",
    "api_token_create",
    "api_token_revoke",
    "membership_add",
    "membership_remove",
    "organisation_create",
    "organisation_evaluates",
    "second_factor_code_spend",
    "token_digest",
    "token_touch",
]

TOKEN_PREFIX = "utf_"


def token_digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def organisation_create(
    *, name: str, organisation_number: str = "", actor: AbstractBaseUser | None
) -> Organisation:
    """Create an organisation."""
    organisation = Organisation.objects.create(
        name=name.strip(), organisation_number=organisation_number.strip()
    )
    audit_record(
        actor=actor,
        action="organisation.created",
        organisation=organisation.name,
        organisation_id=organisation.pk,
    )
    return organisation


def organisation_evaluates(organisation: Organisation) -> bool:
    """Whether the organisation is the evaluator of some contract (its members sign)."""
    return ContractParty.objects.filter(organisation=organisation, role=Role.EVALUATOR).exists()


@transaction.atomic
def membership_add(
    *, user: AbstractBaseUser, organisation: Organisation, actor: AbstractBaseUser | None
) -> Membership:
    """Make the user a member of the organisation (idempotent).

    A member of an evaluating organisation can sign settlement statements, so only
    that organisation's own members (or the operator on the server, ``actor=None``)
    add one; an administrator in the admin cannot (decision 0600).
    """
    if (
        actor is not None
        and organisation_evaluates(organisation)
        and not Membership.objects.filter(user=actor, organisation=organisation).exists()
    ):
        raise PermissionDenied(
            f"{organisation.name} evaluates a contract: only its own members add members"
        )
    membership, created = Membership.objects.get_or_create(user=user, organisation=organisation)
    if created:
        audit_record(
            actor=actor,
            action="membership.added",
            user=user.get_username(),
            organisation=organisation.name,
        )
    return membership


@transaction.atomic
def membership_remove(
    *, user: AbstractBaseUser, organisation: Organisation, actor: AbstractBaseUser | None
) -> None:
    """Remove the user from the organisation."""
    deleted, _ = Membership.objects.filter(user=user, organisation=organisation).delete()
    if deleted:
        audit_record(
            actor=actor,
            action="membership.removed",
            user=user.get_username(),
            organisation=organisation.name,
        )


@transaction.atomic
def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """Create a personal API token; the clear token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken.objects.create(
        user=user, name=name.strip() or "API", prefix=token[:12], digest=token_digest(token)
    )
    audit_record(actor=user, action="api_token.created", name=record.name, prefix=record.prefix)
    return record, token


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: AbstractBaseUser) -> None:
    """Revoke a token (its owner only)."""
    if token.user_id != actor.pk:
        raise PermissionError("only the owner can revoke a token")
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    audit_record(actor=actor, action="api_token.revoked", name=token.name, prefix=token.prefix)


# A used code is remembered longer than any TOTP code stays valid (period × tolerance).
_SPENT_CODE_KEPT = timedelta(minutes=10)


def second_factor_code_spend(*, user: AbstractBaseUser, code: str) -> bool:
    """Mark a (valid) TOTP code of the user as spent; False if it was spent already.

    One INSERT against a unique constraint decides, so of any number of concurrent
    requests with the same code exactly one wins, in every server process
    (allauth's own check uses the cache, which is not shared atomically).
    """
    now = timezone.now()
    SecondFactorCodeUse.objects.filter(used_at__lt=now - _SPENT_CODE_KEPT).delete()
    digest = hashlib.sha256(f"{user.pk}:{code}".encode()).hexdigest()
    try:
        with transaction.atomic():
            SecondFactorCodeUse.objects.create(user=user, digest=digest, used_at=now)
    except IntegrityError:
        return False
    return True


# The time of a token's last use is written at most this often (one write a minute,
# not one per API call: on SQLite a write waits for a running import).
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def token_touch(token: ApiToken) -> None:
    """Record that the token was used, if its last recorded use is older than a minute."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < TOKEN_TOUCH_INTERVAL:
        return
    # A usage time stamp, not an audited change: written directly.
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
