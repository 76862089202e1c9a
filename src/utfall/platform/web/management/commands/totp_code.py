"""``manage totp_code USER``: print a demo user's current TOTP code (development only)."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Print the current two-factor (TOTP) code of a user (DEBUG/demo only)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        # The demo runs with DEBUG off (real error pages) but is still the demo.
        if not (settings.DEBUG or getattr(settings, "UTFALL_DEMO", False)):
            raise CommandError("totp_code is for the demo (DEBUG settings) only")
        from allauth.mfa.models import Authenticator
        from allauth.mfa.totp.internal.auth import (
            format_hotp_value,
            hotp_value,
            yield_hotp_counters_from_time,
        )
        from allauth.mfa.utils import decrypt

        user = get_user_model().objects.filter(username=username).first()
        authenticator = Authenticator.objects.filter(
            user=user, type=Authenticator.Type.TOTP
        ).first()
        if authenticator is None:
            raise CommandError(f"{username} has no TOTP authenticator")
        secret = decrypt(authenticator.data["secret"])
        counter = next(iter(yield_hotp_counters_from_time()))
        self.stdout.write(format_hotp_value(hotp_value(secret, counter)))
