"""Writes for organisations, memberships and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from utfall.platform.audit.services import audit_record
from utfall.platform.organisations.models import ApiToken, Membership, Organisation

__all__ = [
    "TOKEN_PREFIX",
    "api_token_create",
    "api_token_revoke",
    "membership_add",
    "membership_remove",
    "organisation_create",
    "token_digest",
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


@transaction.atomic
def membership_add(
    *, user: AbstractBaseUser, organisation: Organisation, actor: AbstractBaseUser | None
) -> Membership:
    """Make the user a member of the organisation (idempotent)."""
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
