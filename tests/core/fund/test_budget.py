"""The fund's budget (seed 003 table 11), commitments, payments and forecast."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.core.fund import (
    MSEK,
    PILOT_BUDGET,
    PILOT_OUTCOME_PAYMENT_CEILING,
    BudgetExceeded,
    Commitment,
    FundState,
    Payment,
    PaymentKind,
    forecast,
)

SEED_003_TABLE_11_TOTALS = {2023: 16, 2024: 42, 2025: 34, 2026: 54, 2027: 84, 2028: 135}


def test_pilot_budget_matches_seed_003_table_11():
    assert PILOT_BUDGET.by_year() == {y: v * MSEK for y, v in SEED_003_TABLE_11_TOTALS.items()}
    assert PILOT_BUDGET.total == 365 * MSEK
    # Table 11 row sums.
    assert PILOT_BUDGET.for_category("operations") == 24 * MSEK
    assert PILOT_BUDGET.for_category("agencies") == 60 * MSEK
    assert PILOT_BUDGET.for_category("phase_implementation") == 250 * MSEK
    assert PILOT_BUDGET.for_category("phase_dissemination") == 21 * MSEK
    assert PILOT_OUTCOME_PAYMENT_CEILING == 170 * MSEK


def test_payment_reduces_remaining_and_over_budget_is_refused():
    state = FundState(PILOT_BUDGET)
    state = state.with_payment(Payment("K-01", 2025, Decimal("30000000")))
    assert state.remaining(2025) == Decimal("4000000.00")
    with pytest.raises(BudgetExceeded, match="2025"):
        state.with_payment(Payment("K-02", 2025, Decimal("4000000.01")))
    state.with_payment(Payment("K-02", 2025, Decimal("4000000.00")))


def test_commitment_of_another_constellation_is_respected():
    state = FundState(PILOT_BUDGET).with_commitment(Commitment("K-01", 2025, 30 * MSEK))
    assert state.available_for(year=2025, constellation="K-02") == 4 * MSEK
    assert state.available_for(year=2025, constellation="K-01") == 34 * MSEK
    with pytest.raises(BudgetExceeded):
        state.with_payment(Payment("K-02", 2025, 5 * MSEK))
    with pytest.raises(BudgetExceeded, match="commitments for 2025"):
        state.with_commitment(Commitment("K-02", 2025, 5 * MSEK))


def test_year_outside_the_budget_is_refused():
    with pytest.raises(BudgetExceeded, match="2031"):
        FundState(PILOT_BUDGET).with_payment(Payment("K-01", 2031, Decimal(1)))


def test_outcome_payment_ceiling_of_the_fund():
    state = FundState(PILOT_BUDGET)
    state = state.with_payment(Payment("K-01", 2028, 100 * MSEK))
    state = state.with_payment(Payment("K-02", 2027, 70 * MSEK))
    with pytest.raises(BudgetExceeded, match="ceiling"):
        state.with_payment(Payment("K-03", 2028, Decimal(1)))
    # Operations are not outcome payments and are not held by that ceiling.
    state.with_payment(Payment("delegation", 2028, 4 * MSEK, kind=PaymentKind.OPERATIONS))


def test_money_must_be_whole_ore_and_non_negative():
    with pytest.raises(ValueError, match="öre"):
        Payment("K-01", 2025, Decimal("1.001"))
    with pytest.raises(ValueError, match="negative"):
        Commitment("K-01", 2025, Decimal("-1"))


def test_forecast_past_years_are_actuals_future_years_add_outstanding_commitments():
    state = (
        FundState(PILOT_BUDGET)
        .with_commitment(Commitment("K-01", 2025, 10 * MSEK))
        .with_commitment(Commitment("K-01", 2026, 12 * MSEK))
        .with_payment(Payment("K-01", 2025, 3 * MSEK))
        .with_payment(Payment("K-01", 2026, 2 * MSEK))
    )
    rows = {row.year: row for row in forecast(state, today=date(2026, 3, 1))}
    assert rows[2025].is_past and rows[2025].forecast == 3 * MSEK
    assert rows[2026].forecast == 12 * MSEK
    assert rows[2026].outstanding == 10 * MSEK
    assert rows[2026].headroom == 42 * MSEK
    planned = [Payment("delegation", 2027, 14 * MSEK, kind=PaymentKind.OPERATIONS)]
    rows = {row.year: row for row in forecast(state, today=date(2026, 3, 1), planned=planned)}
    assert rows[2027].forecast == 14 * MSEK and not rows[2027].over_budget


amounts = st.integers(min_value=0, max_value=60_000_000_00).map(lambda o: Decimal(o) / 100)
years = st.sampled_from(sorted(SEED_003_TABLE_11_TOTALS))
constellations = st.sampled_from(["K-01", "K-02", "K-03"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(constellations, years, amounts, st.booleans()), max_size=25))
def test_no_sequence_of_recorded_payments_and_commitments_exceeds_a_year(operations):
    """Whatever is attempted, what is recorded never exceeds a year's budget nor the
    outcome-payment ceiling, and refused operations leave the state unchanged."""
    state = FundState(PILOT_BUDGET)
    for constellation, year, amount, is_commitment in operations:
        before = state
        try:
            if is_commitment:
                state = state.with_commitment(Commitment(constellation, year, amount))
            else:
                state = state.with_payment(Payment(constellation, year, amount))
        except BudgetExceeded:
            assert state is before
    for year in PILOT_BUDGET.years:
        assert state.paid(year=year) <= PILOT_BUDGET.for_year(year)
        assert state.remaining(year) >= 0
    assert state.paid(kind=PaymentKind.OUTCOME_PAYMENT) <= PILOT_OUTCOME_PAYMENT_CEILING
    rows = forecast(state, today=date(2023, 1, 1))
    assert sum(r.budget for r in rows) == 365 * MSEK
    for row in rows:
        assert row.forecast >= row.paid
