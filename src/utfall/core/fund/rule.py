"""The budget rule of an outcome payment, and which limit bound it.

A six-monthly report is settled on figures to date (as the reference contract
``national-fund-constellation`` does): the outcomes verified so far are worth
``outcome_value`` on the rate card; the state may pay at most ``max_share``
(50 %) of the constellation's reported costs to date; what earlier reports paid
counts against both. The payment is the smallest of three limits::

    outcomes     outcome_value − paid_before          what the outcomes earned and is unpaid
    cost share   ⌊max_share × reported_costs⌋ − paid_before   the 50 % ceiling (rounded down to öre)
    year budget  what the year's budget can still pay this constellation

never below 0. When the year's budget binds, the part cut off is not lost: it
stays due and a later report (settled on figures to date) pays it if a later
year has room. Ties are reported in the order above (cost share before year
budget) so the explanation names the limit the contract itself sets first.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from utfall.core.fund.budget import FundState

__all__ = [
    "MAX_SHARE_OF_COSTS",
    "Limit",
    "OutcomePaymentDecision",
    "decide_outcome_payment",
    "outcome_payment_limit",
]

MAX_SHARE_OF_COSTS = Decimal("0.50")
ORE = Decimal("0.01")
ZERO = Decimal("0.00")

OUTCOMES = "outcomes"
COST_SHARE = "cost_share"
YEAR_BUDGET = "year_budget"
TOP_UP = "top_up"
_ORDER = (OUTCOMES, COST_SHARE, YEAR_BUDGET)


@dataclass(frozen=True)
class Limit:
    """One of the three limits: its amount (what it would allow now) and how it is computed."""

    name: str
    amount: Decimal
    computation: str


@dataclass(frozen=True)
class OutcomePaymentDecision:
    """The payment, every limit, the one that bound, and a plain explanation."""

    payment: Decimal
    binding: str
    limits: tuple[Limit, ...]
    outcome_value: Decimal
    reported_costs: Decimal
    paid_before: Decimal
    cost_ceiling: Decimal
    year_available: Decimal
    cut_by_budget: Decimal

    def limit(self, name: str) -> Limit:
        """The limit called ``name`` (outcomes, cost_share, year_budget)."""
        return next(limit for limit in self.limits if limit.name == name)

    def explanation(self) -> list[str]:
        """One line per limit and a last line saying which bound (English)."""
        lines = [f"{limit.name}: {limit.amount} SEK ({limit.computation})" for limit in self.limits]
        reason = {
            OUTCOMES: "the verified outcomes: everything they earned and is unpaid is paid",
            COST_SHARE: "the ceiling of the state's share of the constellation's reported costs",
            YEAR_BUDGET: "what is left of the year's budget; the rest stays due for a later report",
            TOP_UP: "the fund's declared share of the commissioner's outcome payments",
        }[self.binding]
        lines.append(f"payment {self.payment} SEK, bound by {reason}")
        return lines


def checked_amount(value: Decimal, what: str) -> Decimal:
    """``value`` as a non-negative amount in whole öre (ValueError naming ``what`` if not)."""
    if not value.is_finite() or value < 0:
        raise ValueError(f"{what} must be a non-negative amount, got {value}")
    if value != value.quantize(ORE):
        raise ValueError(f"{what} has fractions of an öre: {value}")
    return value.quantize(ORE)


def binding_limit(limits: tuple[Limit, ...]) -> tuple[Decimal, str]:
    """The payment (the smallest limit) and the name of the limit that binds (the earlier
    one on a tie)."""
    payment = min(limit.amount for limit in limits)
    return payment, next(limit.name for limit in limits if limit.amount == payment)


def year_room(state: FundState, *, constellation: str, year: int) -> tuple[Decimal, Decimal]:
    """What the fund paid the constellation in outcome payments before (in any year) and
    what the year can still pay it, within the fund's ceiling for outcome payments."""
    paid_before = state.paid(constellation=constellation, kind="outcome_payment")
    available = state.available_for(year=year, constellation=constellation)
    ceiling = state.budget.outcome_payment_ceiling
    if ceiling is not None:
        available = min(available, max(ceiling - state.paid(kind="outcome_payment"), ZERO))
    return paid_before, available


def outcome_payment_limit(
    *,
    outcome_value: Decimal,
    reported_costs: Decimal,
    paid_before: Decimal,
    year_available: Decimal,
    max_share: Decimal = MAX_SHARE_OF_COSTS,
) -> OutcomePaymentDecision:
    """This report's outcome payment under the three limits (all amounts to date, in SEK).

    ``year_available`` is what the year's budget can still pay the constellation
    (see :meth:`FundState.available_for`).
    """
    outcome_value = checked_amount(outcome_value, "outcome value")
    reported_costs = checked_amount(reported_costs, "reported costs")
    paid_before = checked_amount(paid_before, "paid before")
    year_available = checked_amount(year_available, "year available")
    if not (0 <= max_share <= 1):
        raise ValueError(f"max share of costs must be between 0 and 1, got {max_share}")
    # Rounded down so that rounding can never take the state above its share.
    ceiling = (max_share * reported_costs).quantize(ORE, rounding=ROUND_FLOOR)
    limits = (
        Limit(
            OUTCOMES,
            max(outcome_value - paid_before, ZERO),
            f"outcome value to date {outcome_value} − paid before {paid_before}",
        ),
        Limit(
            COST_SHARE,
            max(ceiling - paid_before, ZERO),
            f"{max_share:%} of reported costs {reported_costs} = {ceiling} − paid before "
            f"{paid_before}",
        ),
        Limit(YEAR_BUDGET, year_available, "remaining in the year's budget for this constellation"),
    )
    payment, binding = binding_limit(limits)
    due = min(limits[0].amount, limits[1].amount)
    return OutcomePaymentDecision(
        payment=payment,
        binding=binding,
        limits=limits,
        outcome_value=outcome_value,
        reported_costs=reported_costs,
        paid_before=paid_before,
        cost_ceiling=ceiling,
        year_available=year_available,
        cut_by_budget=due - payment,
    )


def decide_outcome_payment(
    state: FundState,
    *,
    constellation: str,
    year: int,
    outcome_value: Decimal,
    reported_costs: Decimal,
    max_share: Decimal = MAX_SHARE_OF_COSTS,
) -> OutcomePaymentDecision:
    """The outcome payment for a constellation's report paid in ``year``, against the fund.

    ``paid_before`` is every outcome payment the fund made to the constellation
    in any year; the year's limit also respects the fund's ceiling for outcome
    payments in total.
    """
    paid_before, available = year_room(state, constellation=constellation, year=year)
    return outcome_payment_limit(
        outcome_value=outcome_value,
        reported_costs=reported_costs,
        paid_before=paid_before,
        year_available=available,
        max_share=max_share,
    )
