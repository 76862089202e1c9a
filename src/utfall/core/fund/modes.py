"""How the fund pays: the 50 % cap on a constellation's costs, or a top-up of a commissioner's
outcome payments.

Seed 003 names both. Its proposal: "den statliga utfallsersättningen [kan] motsvara högst
50 procent av konstellationens kostnader" (:class:`CostShareCap`, the budget rule of
:mod:`utfall.core.fund.rule`). And the UK Life Chances Fund, where local commissioners are
the majority payers and the fund tops up: "finansiering i genomsnitt cirka 32 procent av
resultatbetalningar" (:class:`TopUp`). Under a top-up the fund pays a declared share of
what the commissioner has paid in outcome payments to date, less what the fund paid
before, rounded down to öre so the fund never pays above its share; the year's budget
(the constellations' line) still limits it, and what it cuts stays due for a later report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from utfall.core.fund.budget import FundState
from utfall.core.fund.rule import (
    MAX_SHARE_OF_COSTS,
    TOP_UP,
    YEAR_BUDGET,
    Limit,
    OutcomePaymentDecision,
    binding_limit,
    checked_amount,
    decide_outcome_payment,
    year_room,
)

__all__ = [
    "TOP_UP",
    "TOP_UP_PARAMETER",
    "CostShareCap",
    "FundingMode",
    "TopUp",
    "decide_payment",
    "funding_mode",
    "top_up_limit",
]

ORE = Decimal("0.01")
ZERO = Decimal("0.00")
TOP_UP_PARAMETER = "fund_top_up_share"
"""A fund contract that declares this parameter (a ratio) is paid as a top-up: its value
output is then the commissioner's outcome payments to date."""


@dataclass(frozen=True)
class CostShareCap:
    """The fund pays the outcomes' value, at most ``max_share`` of the reported costs."""

    max_share: Decimal = MAX_SHARE_OF_COSTS
    name: str = "cost_share_cap"


@dataclass(frozen=True)
class TopUp:
    """The fund pays ``share`` of the commissioner's outcome payments."""

    share: Decimal
    name: str = TOP_UP

    def __post_init__(self) -> None:
        if not (0 < self.share <= 1):
            raise ValueError(f"a top-up share must be above 0 and at most 1, got {self.share}")


FundingMode = CostShareCap | TopUp


def funding_mode(parameters: Mapping[str, object], *, max_share: Decimal) -> FundingMode:
    """The mode a contract's parameter values declare: a top-up when ``fund_top_up_share``
    is set (above 0), otherwise the cap at ``max_share`` of the costs."""
    share = parameters.get(TOP_UP_PARAMETER)
    if share is not None and Decimal(str(share)) > 0:
        return TopUp(Decimal(str(share)))
    return CostShareCap(max_share)


def top_up_limit(
    *,
    commissioner_payments: Decimal,
    paid_before: Decimal,
    year_available: Decimal,
    share: Decimal,
) -> OutcomePaymentDecision:
    """This report's top-up (amounts to date, in SEK): ``share`` of the commissioner's
    outcome payments, rounded down to öre, less what the fund paid before, never below 0,
    and at most what the year can still pay."""
    commissioner_payments = checked_amount(commissioner_payments, "commissioner's outcome payments")
    paid_before = checked_amount(paid_before, "paid before")
    year_available = checked_amount(year_available, "year available")
    mode = TopUp(share)
    due = (mode.share * commissioner_payments).quantize(ORE, rounding=ROUND_FLOOR)
    limits = (
        Limit(
            TOP_UP,
            max(due - paid_before, ZERO),
            f"{mode.share:%} of the commissioner's outcome payments {commissioner_payments} "
            f"= {due} − paid before {paid_before}",
        ),
        Limit(YEAR_BUDGET, year_available, "remaining in the year's budget for this constellation"),
    )
    payment, binding = binding_limit(limits)
    return OutcomePaymentDecision(
        payment=payment,
        binding=binding,
        limits=limits,
        outcome_value=commissioner_payments,
        reported_costs=ZERO,
        paid_before=paid_before,
        cost_ceiling=due,
        year_available=year_available,
        cut_by_budget=limits[0].amount - payment,
    )


def decide_payment(
    state: FundState,
    *,
    mode: FundingMode,
    constellation: str,
    year: int,
    outcome_value: Decimal,
    reported_costs: Decimal,
) -> OutcomePaymentDecision:
    """The fund's payment on a report under ``mode``. Under a top-up ``outcome_value`` is the
    commissioner's outcome payments to date and the reported costs do not enter."""
    if isinstance(mode, CostShareCap):
        return decide_outcome_payment(
            state,
            constellation=constellation,
            year=year,
            outcome_value=outcome_value,
            reported_costs=reported_costs,
            max_share=mode.max_share,
        )
    paid_before, available = year_room(state, constellation=constellation, year=year)
    return top_up_limit(
        commissioner_payments=outcome_value,
        paid_before=paid_before,
        year_available=available,
        share=mode.share,
    )
