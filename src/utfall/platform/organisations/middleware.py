"""Two-factor authentication is required for evaluators and administrators."""

from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from utfall.platform.permissions import user_requires_two_factor

# Pages a person must still reach to set up TOTP (or leave).
_OPEN_PREFIXES = ("/accounts/", "/i18n/", "/static/", "/api/")


class RequireTwoFactorMiddleware:
    """Send an evaluator or administrator without TOTP to the TOTP set-up page.

    The API is left out here: API tokens can only be created on a page, which a
    person needing two-factor reaches only after setting it up.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and user_requires_two_factor(user)
            and not is_mfa_enabled(user)
        ):
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
