"""django-allauth adapter: accounts are created by administrators, not by sign-up."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Closes public sign-up."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
