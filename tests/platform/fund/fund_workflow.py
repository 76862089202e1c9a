"""Helpers of the fund tests: the evaluator's part of the settlement workflow."""

from __future__ import annotations


def totp_code(user) -> str:
    """The user's current TOTP code (the used-code cache is cleared: tests sign often)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )
    from allauth.mfa.utils import decrypt
    from django.core.cache import cache

    cache.clear()
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    secret = decrypt(authenticator.data["secret"])
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def evaluate_and_sign(w, report):
    """The evaluator evaluates the report, sends the draft for review and signs it off."""
    from utfall.platform.fund import services
    from utfall.platform.settlements.services import settlement_review_start, settlement_sign

    draft = services.report_evaluate(report=report, actor=w.evaluator)
    settlement_review_start(settlement=draft, actor=w.evaluator)
    return settlement_sign(settlement=draft, actor=w.evaluator, totp_code=totp_code(w.evaluator))
