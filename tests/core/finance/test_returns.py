"""IRR, multiple and break-even against hand-computed cash flows."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
import pyxirr
from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.core.finance.montecarlo import Schedule, irr_vector
from utfall.core.finance.returns import (
    break_even,
    irr,
    monthly_positions,
    multiple,
    stays_non_negative_from,
)

T0 = date(2021, 1, 1)


def years(k: float) -> date:
    """k years of 365 days after T0 (XIRR counts actual days / 365)."""
    return T0 + timedelta(days=round(365 * k))


def test_minus_100_then_plus_110_a_year_later_is_10_percent():
    assert irr([(T0, Decimal(-100)), (years(1), Decimal(110))]) == pytest.approx(0.10, abs=1e-12)


def test_a_leap_year_is_366_days():
    # 2020 has 29 February: 110 after 366 days is a little less than 10 % a year.
    rate = irr([(date(2020, 1, 1), Decimal(-100)), (date(2021, 1, 1), Decimal(110))])
    assert rate == pytest.approx(1.1 ** (365 / 366) - 1, abs=1e-12)


def test_a_bond_bought_at_par_yields_its_coupon():
    flows = [(T0, Decimal(-1000))] + [(years(k), Decimal(50)) for k in (1, 2, 3)]
    flows[-1] = (years(3), Decimal(1050))
    assert irr(flows) == pytest.approx(0.05, abs=1e-12)


@pytest.mark.parametrize(("rate", "periods"), [(0.07, 5), (0.015, 12), (0.25, 3)])
def test_an_annuity_recovers_the_rate_of_its_closed_form(rate, periods):
    """Payment A = P r / (1 - (1 + r)^-n) repays P over n years at rate r."""
    principal = 1_000_000.0
    payment = principal * rate / (1 - (1 + rate) ** -periods)
    flows = [(T0, Decimal(-principal))] + [
        (years(k), Decimal(repr(payment))) for k in range(1, periods + 1)
    ]
    assert irr(flows) == pytest.approx(rate, abs=1e-9)


def test_nothing_back_is_minus_100_percent_and_no_outlay_has_no_irr():
    assert irr([(T0, Decimal(-100)), (years(1), Decimal(0))]) == -1.0
    assert irr([(T0, Decimal(100)), (years(1), Decimal(10))]) is None
    assert irr([]) is None


def test_multiple():
    assert multiple(Decimal("10000000"), Decimal("10850000")) == Decimal("1.085")
    assert multiple(Decimal(0), Decimal(5)) is None


def test_monthly_positions_and_break_even():
    start = date(2016, 2, 15)
    flows = [
        (date(2016, 2, 20), Decimal(-300)),  # month 1
        (date(2016, 4, 1), Decimal(200)),  # month 3: cumulative -100
        (date(2016, 5, 31), Decimal(150)),  # month 4: +50
        (date(2016, 7, 1), Decimal(-100)),  # month 6: -50, dips again
        (date(2016, 9, 1), Decimal(60)),  # month 8: +10 and stays
    ]
    positions = monthly_positions(flows, start=start, end=date(2016, 12, 31))
    assert [p.month for p in positions] == list(range(1, 12))
    assert positions[0].start == date(2016, 2, 1)
    assert [p.cumulative for p in positions][:8] == [-300, -300, -100, 50, 50, -50, -50, 10]
    found = break_even(positions)
    assert found is not None and (found.month, found.start) == (8, date(2016, 9, 1))
    assert break_even(monthly_positions(flows[:4], start=start)) is None
    assert break_even(monthly_positions([(start, Decimal(5))], start=start)).month == 1


def test_stays_non_negative_from():
    assert stays_non_negative_from([]) is None
    assert stays_non_negative_from([0, 1, 2]) == 0
    assert stays_non_negative_from([-1, 2, -1, 0, 3]) == 3
    assert stays_non_negative_from([-1, 2, -1]) is None
    assert stays_non_negative_from([-1.5, 0.0, 2.0], [7, 8, 9]) == 8
    assert stays_non_negative_from([Decimal("-0.01"), Decimal(0)], ["a", "b"]) == "b"
    assert stays_non_negative_from([1.0, float("nan"), 2.0]) is None
    with pytest.raises(ValueError, match="2 labels for 3 values"):
        stays_non_negative_from([1, 2, 3], [1, 2])


@given(st.lists(st.integers(min_value=-5, max_value=5), max_size=30))
def test_stays_non_negative_from_is_the_first_index_of_a_non_negative_tail(values):
    """Checked against the definition, written out: the smallest i with every value from i on
    at or above zero (None when there is none, the empty tail not counting)."""
    candidates = [i for i in range(len(values)) if all(v >= 0 for v in values[i:])]
    expected = candidates[0] if candidates else None
    assert stays_non_negative_from(values) == expected
    months = [f"m{i + 1}" for i in range(len(values))]
    assert stays_non_negative_from(values, months) == (
        None if expected is None else months[expected]
    )


QUARTERS = tuple(date(2016, 3, 31) + timedelta(days=91 * k) for k in range(20))
PAYDAY = date(2022, 3, 31)


def test_vectorised_irr_matches_pyxirr_on_one_payment_date():
    schedule = Schedule(QUARTERS, (0.05,) * 20, settlement_date=PAYDAY)
    rng = np.random.default_rng(5)
    invested = rng.uniform(1e6, 2e7, 300)
    received = invested * rng.uniform(0.05, 1.6, 300)
    rates = irr_vector(invested, {PAYDAY: received}, schedule)
    for i in range(300):
        flows = [-invested[i] * 0.05] * 20 + [received[i]]
        expected = pyxirr.xirr([*QUARTERS, PAYDAY], flows)
        assert rates[i] == pytest.approx(expected, abs=1e-7)
    edge = irr_vector(
        np.array([1e7, 1e7, 0.0, 1e7]), {PAYDAY: np.array([0.0, 1e7, 5.0, 1.2e7])}, schedule
    )
    assert edge[0] == -1.0 and edge[1] == 0.0 and np.isnan(edge[2])
    assert edge[3] == pytest.approx(
        pyxirr.xirr([*QUARTERS, PAYDAY], [-5e5] * 20 + [1.2e7]), abs=1e-7
    )


@settings(max_examples=20, deadline=None)
@given(
    shares=st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=1, max_size=6),
    multiples=st.lists(st.floats(min_value=0.3, max_value=3.0), min_size=2, max_size=2),
    split=st.floats(min_value=0.05, max_value=0.95),
)
def test_vectorised_irr_on_several_payment_dates_matches_pyxirr(shares, multiples, split):
    total = sum(shares)
    schedule = Schedule(
        QUARTERS[: len(shares)], tuple(s / total for s in shares), settlement_date=PAYDAY
    )
    later = date(2023, 3, 31)
    invested = np.array([1e7, 1e7])
    amounts = invested * np.array(multiples)
    rates = irr_vector(invested, {PAYDAY: amounts * split, later: amounts * (1 - split)}, schedule)
    for i in range(2):
        flows = [-1e7 * s / total for s in shares] + [amounts[i] * split, amounts[i] * (1 - split)]
        expected = pyxirr.xirr([*QUARTERS[: len(shares)], PAYDAY, later], flows)
        assert rates[i] == pytest.approx(expected, abs=1e-8)


def test_the_seed_s_5_to_8_percent_is_the_premium_case():
    """Seed 000 p. 10: 'the return potential is nominally 5–8 % a year'. With 10 MSEK drawn
    quarterly over 2016–2020 and the full 20 % premium paid in 2021–2022, the IRR lands there."""
    schedule = Schedule(QUARTERS, (0.05,) * 20, settlement_date=PAYDAY)
    full = irr_vector(np.array([1e7]), {date(2021, 6, 30): np.array([1.2e7])}, schedule)[0]
    late = irr_vector(np.array([1e7]), {PAYDAY: np.array([1.2e7])}, schedule)[0]
    assert 0.05 <= late < full <= 0.08
