"""The national outcomes fund: budget by year, commitments, payments, forecast, budget rule.

Pure (no Django, no clock: "today" is a parameter). Money is ``Decimal`` in
whole öre. Public surface::

    PILOT_BUDGET                     seed 003 table 11: 16/42/34/54/84/135 MSEK = 365 MSEK
    FundBudget, BudgetLine           budget lines per year and category
    FundState                        budget + commitments + payments (immutable; with_payment())
    Commitment, Payment              what is promised / paid to a constellation in a year
    forecast(state, today=)          per year: budget, paid, committed, forecast, headroom
    outcome_payment_limit(...)       min(outcomes, 50 % of costs, year budget) with the binding limit
    decide_outcome_payment(state,…)  the same against a FundState
    BudgetExceeded                   (a UserError) a payment that does not fit the budget
"""

from __future__ import annotations

from utfall.core.fund.budget import (
    MSEK,
    PILOT_BUDGET,
    PILOT_OUTCOME_PAYMENT_CEILING,
    BudgetExceeded,
    BudgetLine,
    Commitment,
    FundBudget,
    FundState,
    Payment,
    PaymentKind,
    YearForecast,
    forecast,
)
from utfall.core.fund.rule import (
    MAX_SHARE_OF_COSTS,
    Limit,
    OutcomePaymentDecision,
    decide_outcome_payment,
    outcome_payment_limit,
)

__all__ = [
    "MAX_SHARE_OF_COSTS",
    "MSEK",
    "PILOT_BUDGET",
    "PILOT_OUTCOME_PAYMENT_CEILING",
    "BudgetExceeded",
    "BudgetLine",
    "Commitment",
    "FundBudget",
    "FundState",
    "Limit",
    "OutcomePaymentDecision",
    "Payment",
    "PaymentKind",
    "YearForecast",
    "decide_outcome_payment",
    "forecast",
    "outcome_payment_limit",
]
