"""Seed 003's fairness rule (appendix 2) for ending a constellation's financing.

Pure: what a terminated constellation returns, and why, from the effort the delegation
found, the support paid and used and the outcome payments made. Money is ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from utfall.errors import UserError

__all__ = ["DID_ALL", "EFFORTS", "INSUFFICIENT", "FairnessOutcome", "fairness_rule"]

DID_ALL = "did_all"
"""The constellation did everything it could (and still did not reach the result)."""
INSUFFICIENT = "insufficient"
"""The constellation's effort was insufficient under the agreement."""
EFFORTS = (DID_ALL, INSUFFICIENT)
ORE = Decimal("0.01")


@dataclass(frozen=True)
class FairnessOutcome:
    """What a terminated constellation returns, and why."""

    unused_returned: Decimal
    repayment: Decimal
    explanation: tuple[str, ...]

    @property
    def total(self) -> Decimal:
        return self.unused_returned + self.repayment


def fairness_rule(
    *,
    effort: str,
    support_paid: Decimal,
    support_used: Decimal,
    outcome_paid: Decimal,
    repayment: Decimal,
) -> FairnessOutcome:
    """Seed 003 bilaga 2: "kommuner/regioner … ska slippa återbetalning … om man gjort allt
    man förmår men trots det inte nått önskat resultat, men återföra medel som inte använts
    eller om man inte gjort en tillräcklig ansträngning enligt avtal."

    Unused support is always returned. A constellation that did everything it could
    repays nothing more (``repayment`` must be 0); one whose effort was insufficient repays
    the ``repayment`` the delegation decides: more than 0 and at most what the fund paid it
    and it used (support used and outcome payments)."""
    if effort not in EFFORTS:
        raise UserError(f"unknown effort {effort!r}")
    if support_used < 0 or support_used > support_paid:
        raise UserError(
            f"the support used must be between 0 and the support paid ({support_paid} SEK)"
        )
    if repayment < 0:
        raise UserError("a repayment cannot be negative")
    unused = (support_paid - support_used).quantize(ORE)
    lines = [f"support paid {support_paid} SEK, used {support_used} SEK: {unused} SEK unused"]
    if unused:
        lines.append(f"unused funds are returned: {unused} SEK")
    if effort == DID_ALL:
        if repayment:
            raise UserError(
                "a constellation that did everything it could repays nothing (fairness rule)"
            )
        lines.append("did everything it could: no repayment")
    else:
        most = (support_used + outcome_paid).quantize(ORE)
        if not 0 < repayment <= most:
            raise UserError(
                f"for an insufficient effort the repayment is more than 0 and at most what "
                f"was paid and used ({most} SEK)"
            )
        lines.append(f"insufficient effort under the agreement: repayment {repayment} SEK")
    return FairnessOutcome(unused, repayment.quantize(ORE), tuple(lines))
