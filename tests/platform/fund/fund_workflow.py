"""Helpers of the fund tests: the evaluator's part of the settlement workflow."""

from __future__ import annotations

from platform_helpers import totp_code


def evaluate_and_sign(w, report):
    """The evaluator evaluates the report, sends the draft for review and signs it off."""
    from utfall.platform.fund import services
    from utfall.platform.settlements.services import settlement_review_start, settlement_sign

    draft = services.report_evaluate(report=report, actor=w.evaluator)
    settlement_review_start(settlement=draft, actor=w.evaluator)
    return settlement_sign(settlement=draft, actor=w.evaluator, totp_code=totp_code(w.evaluator))
