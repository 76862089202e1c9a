"""Reads for organisations and API tokens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from utfall.platform.organisations.models import ApiToken, Organisation
from utfall.platform.organisations.services import TOKEN_PREFIX, token_digest, token_touch
from utfall.platform.permissions import membership_lookups

__all__ = ["api_token_list", "organisation_list_for_user", "user_for_api_token"]


def organisation_list_for_user(*, user: AbstractBaseUser) -> QuerySet[Organisation]:
    """The organisations the user belongs to (through an API token: since before the
    token was issued, decision 0602)."""
    return Organisation.objects.filter(**membership_lookups(user, "")).order_by("name")


def api_token_list(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """The user's tokens (active and revoked)."""
    return ApiToken.objects.filter(user=user)


def user_for_api_token(token: str) -> AbstractBaseUser | None:
    """The active user owning an active token, or None (records the time of use)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = token_digest(token)
    record = (
        ApiToken.objects.filter(digest=digest, revoked_at__isnull=True, user__is_active=True)
        .select_related("user")
        .first()
    )
    if record is None:
        return None
    token_touch(record)
    user: AbstractBaseUser = record.user
    assert isinstance(user, get_user_model())
    # The token carries the roles its owner had when it was issued, never later ones
    # (decision 0602): roles_of counts parties and memberships older than the token.
    user._utfall_roles_as_of = record.created_at  # type: ignore[attr-defined]
    return user
