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
    PILOT_ACTOR_BUDGET, ActorBudget  seed 003 table 12: the budget by actor (state, SKR+RISE,
                                     constellations); money to constellations only from theirs
    budget_by_actor(state, today=)   per actor and year: budget, committed, paid, headroom, lapsed
    CostShareCap, TopUp              funding modes: the 50 % cap, or a share of a commissioner's
    decide_payment(state, mode=, …)  outcome payments (Life Chances Fund ~32 %)
    fairness.fairness_rule(…)        seed 003 appendix 2: what a terminated constellation returns
"""

from __future__ import annotations

from utfall.core.fund.actors import ActorYear, budget_by_actor
from utfall.core.fund.budget import (
    MSEK,
    PILOT_ACTOR_BUDGET,
    PILOT_BUDGET,
    PILOT_OUTCOME_PAYMENT_CEILING,
    TO_CONSTELLATIONS,
    Actor,
    ActorBudget,
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
from utfall.core.fund.modes import (
    TOP_UP_PARAMETER,
    CostShareCap,
    FundingMode,
    TopUp,
    decide_payment,
    funding_mode,
    top_up_limit,
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
    "PILOT_ACTOR_BUDGET",
    "PILOT_BUDGET",
    "PILOT_OUTCOME_PAYMENT_CEILING",
    "TOP_UP_PARAMETER",
    "TO_CONSTELLATIONS",
    "Actor",
    "ActorBudget",
    "ActorYear",
    "BudgetExceeded",
    "BudgetLine",
    "Commitment",
    "CostShareCap",
    "FundBudget",
    "FundState",
    "FundingMode",
    "Limit",
    "OutcomePaymentDecision",
    "Payment",
    "PaymentKind",
    "TopUp",
    "YearForecast",
    "budget_by_actor",
    "decide_outcome_payment",
    "decide_payment",
    "forecast",
    "funding_mode",
    "outcome_payment_limit",
    "top_up_limit",
]
