"""The admin behind the platform's own login, second factor and rate limits (decision 0600).

Django's admin has a login form of its own that checks the password only: no
TOTP and no rate limit. Here the admin has no login of its own. Its login URL
sends the person to allauth's login (rate limited, with the TOTP step), and an
admin page is shown only to active staff whose session passed a second factor
(allauth records each authentication step in the session). Someone logged in
with a password alone, e.g. a staff member who has only just set up TOTP, is
sent to confirm a TOTP code first.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

__all__ = ["PlatformAdminSite", "session_passed_second_factor"]


def session_passed_second_factor(request: HttpRequest) -> bool:
    """Whether the session's user passed a second factor (TOTP or a recovery code)."""
    from allauth.account.authentication import get_authentication_records

    records = get_authentication_records(request, getattr(request, "user", None))
    return any(record.get("method") == "mfa" for record in records)


class PlatformAdminSite(admin.AdminSite):
    """The admin site: staff with a session that passed the second factor, nobody else."""

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(super().has_permission(request) and session_passed_second_factor(request))

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """No password form here: allauth's login (or TOTP confirmation) instead."""
        target = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = ""
        target = target or reverse("admin:index", current_app=self.name)
        user = request.user
        if user.is_authenticated and not session_passed_second_factor(request):
            return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': target})}")
        if user.is_authenticated:
            # Logged in with both factors but not staff: the admin is not for them.
            return redirect("web:home")
        return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")
