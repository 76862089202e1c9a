"""Reads for organisations and API tokens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from utfall.platform.organisations.models import ApiToken, Organisation
from utfall.platform.organisations.services import TOKEN_PREFIX, token_digest

__all__ = ["api_token_list", "organisation_list_for_user", "user_for_api_token"]


def organisation_list_for_user(*, user: AbstractBaseUser) -> QuerySet[Organisation]:
    """The organisations the user belongs to."""
    return Organisation.objects.filter(memberships__user=user).order_by("name")


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
    # A usage time stamp, not an audited change: written directly.
    ApiToken.objects.filter(pk=record.pk).update(last_used_at=timezone.now())
    user: AbstractBaseUser = record.user
    assert isinstance(user, get_user_model())
    return user
