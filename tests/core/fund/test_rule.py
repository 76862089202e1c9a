"""The budget rule: never above 50 % of reported costs nor the year's remaining budget."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.core.fund import (
    MSEK,
    PILOT_BUDGET,
    FundState,
    Payment,
    decide_outcome_payment,
    outcome_payment_limit,
)

ORE = Decimal("0.01")
money = st.integers(min_value=0, max_value=80_000_000_00).map(lambda o: Decimal(o) / 100)
shares = st.integers(min_value=0, max_value=100).map(lambda p: Decimal(p) / 100)


def test_reference_contract_cases():
    """The same figures as examples/contracts/national-fund-constellation.yaml."""
    plenty = 100 * MSEK
    first = outcome_payment_limit(
        outcome_value=Decimal("6900000"),
        reported_costs=34 * MSEK,
        paid_before=Decimal(0),
        year_available=plenty,
    )
    assert first.payment == Decimal("6900000.00") and first.binding == "outcomes"
    capped = outcome_payment_limit(
        outcome_value=Decimal("31300000"),
        reported_costs=34 * MSEK,
        paid_before=Decimal(0),
        year_available=plenty,
    )
    assert capped.payment == 17 * MSEK and capped.binding == "cost_share"
    later = outcome_payment_limit(
        outcome_value=Decimal("31300000"),
        reported_costs=20 * MSEK,
        paid_before=Decimal("6500000"),
        year_available=plenty,
    )
    assert later.payment == Decimal("3500000.00")
    half_ore = outcome_payment_limit(
        outcome_value=Decimal("9000000"),
        reported_costs=Decimal("12345678.91"),
        paid_before=Decimal(0),
        year_available=plenty,
    )
    assert half_ore.payment == Decimal("6172839.45")


def test_year_budget_binds_and_the_rest_stays_due():
    decision = outcome_payment_limit(
        outcome_value=20 * MSEK,
        reported_costs=34 * MSEK,
        paid_before=Decimal(0),
        year_available=5 * MSEK,
    )
    assert decision.payment == 5 * MSEK
    assert decision.binding == "year_budget"
    assert decision.cut_by_budget == 12 * MSEK
    assert "year's budget" in decision.explanation()[-1]
    # The next report (figures to date) pays what was cut, if the year has room.
    next_report = outcome_payment_limit(
        outcome_value=20 * MSEK,
        reported_costs=34 * MSEK,
        paid_before=5 * MSEK,
        year_available=50 * MSEK,
    )
    assert next_report.payment == 12 * MSEK and next_report.binding == "cost_share"


def test_bad_amounts_are_refused():
    with pytest.raises(ValueError, match="öre"):
        outcome_payment_limit(
            outcome_value=Decimal("1.001"),
            reported_costs=Decimal(1),
            paid_before=Decimal(0),
            year_available=Decimal(1),
        )
    with pytest.raises(ValueError, match="non-negative"):
        outcome_payment_limit(
            outcome_value=Decimal(1),
            reported_costs=Decimal(-1),
            paid_before=Decimal(0),
            year_available=Decimal(1),
        )


@settings(max_examples=500, deadline=None)
@given(value=money, costs=money, paid_before=money, available=money, share=shares)
def test_payment_never_exceeds_any_limit_and_equals_the_binding_one(
    value, costs, paid_before, available, share
):
    decision = outcome_payment_limit(
        outcome_value=value,
        reported_costs=costs,
        paid_before=paid_before,
        year_available=available,
        max_share=share,
    )
    ceiling = (share * costs).quantize(ORE, rounding=ROUND_FLOOR)
    assert decision.payment >= 0
    assert decision.payment == decision.payment.quantize(ORE)
    assert decision.payment <= available
    assert decision.payment <= max(value - paid_before, 0)
    assert decision.payment <= max(ceiling - paid_before, 0)
    # The state's payments to date never exceed its share of the costs (unless
    # earlier payments already did, when nothing more is paid).
    if paid_before <= ceiling:
        assert paid_before + decision.payment <= share * costs
    else:
        assert decision.payment == 0
    # The payment is exactly the binding limit, and that limit is the smallest.
    assert decision.payment == decision.limit(decision.binding).amount
    assert all(decision.payment <= limit.amount for limit in decision.limits)
    assert decision.cut_by_budget >= 0
    assert decision.explanation()[-1].startswith(f"payment {decision.payment} SEK")


@settings(max_examples=200, deadline=None)
@given(
    reports=st.lists(st.tuples(money, money), min_size=1, max_size=10),
    year_index=st.lists(st.integers(min_value=0, max_value=5), min_size=10, max_size=10),
)
def test_a_series_of_reports_keeps_every_bound(reports, year_index):
    """Six-monthly reports with growing figures: total paid never exceeds 50 % of the
    latest costs, the outcome value, nor any year's budget."""
    state = FundState(PILOT_BUDGET)
    value = costs = Decimal(0)
    for (more_value, more_costs), index in zip(reports, year_index, strict=False):
        value += more_value
        costs += more_costs
        year = PILOT_BUDGET.years[index]
        decision = decide_outcome_payment(
            state, constellation="K-01", year=year, outcome_value=value, reported_costs=costs
        )
        state = state.with_payment(Payment("K-01", year, decision.payment))
        paid = state.paid(constellation="K-01")
        assert paid <= costs / 2
        assert paid <= value
        for y in PILOT_BUDGET.years:
            assert state.paid(year=y) <= PILOT_BUDGET.for_year(y)
