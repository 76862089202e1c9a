"""The Norrköping contract (DESIGN.md 2.1): hand-computed cases and properties.

Hand computations, invested I, savings S, guarantee G = 0.4·I:
reading A: repay = max(G, min(S, I)); reading B: repay = G + min(max(S, 0), I − G);
premium = min(max(S − I, 0), 0.2·I, 2 MSEK) if school results are met, else 0.
"""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.core.contracts import settle

CAP = D("10000000")


def facts(invested, savings, school, delivered=True):
    """The contract's inputs; ``school`` decides both school conditions, so either basis
    gives the same decision."""
    return {
        "invested_sek": invested,
        "net_savings_sek": savings,
        "school_results_met": school,
        "school_did_met": school,
        "delivered_as_agreed": delivered,
    }


def pay(contract, invested, savings, school, reading="B", **overrides):
    result = settle(
        contract, facts(invested, savings, school), overrides={"reading": reading, **overrides}
    )
    return result.outputs


@pytest.mark.parametrize(
    ("reading", "invested", "savings", "school", "repayment", "premium"),
    [
        # reading B: the guarantee plus savings up to the part at risk
        ("B", "10000000", "0", False, "4000000.00", "0.00"),
        ("B", "10000000", "2500000", False, "6500000.00", "0.00"),
        ("B", "10000000", "-1", True, "4000000.00", "0.00"),
        ("B", "10000000", "5999999.99", True, "9999999.99", "0.00"),
        ("B", "10000000", "10000000.01", True, "10000000.00", "0.01"),
        ("B", "10000000", "12000000", True, "10000000.00", "2000000.00"),
        ("B", "10000000", "12000000.01", True, "10000000.00", "2000000.00"),
        ("B", "5000000", "9000000", True, "5000000.00", "1000000.00"),
        ("B", "5000000", "5400000", True, "5000000.00", "400000.00"),
        # reading A: the guarantee is a floor, savings replace it once larger
        ("A", "10000000", "0", False, "4000000.00", "0.00"),
        ("A", "10000000", "2500000", False, "4000000.00", "0.00"),
        ("A", "10000000", "4000000.01", False, "4000000.01", "0.00"),
        ("A", "10000000", "7500000", True, "7500000.00", "0.00"),
        ("A", "10000000", "13000000", True, "10000000.00", "2000000.00"),
        ("A", "10000000", "13000000", False, "10000000.00", "0.00"),
        ("A", "5000000", "9000000", True, "5000000.00", "1000000.00"),
    ],
)
def test_hand_computed_cases(norrkoping, reading, invested, savings, school, repayment, premium):
    outputs = pay(norrkoping, D(invested), D(savings), school, reading)
    assert outputs["repayment_sek"] == D(repayment)
    assert outputs["premium_sek"] == D(premium)
    assert outputs["total_paid_to_financier_sek"] == D(repayment) + D(premium)


money = st.decimals(min_value=0, max_value=CAP, places=2, allow_nan=False, allow_infinity=False)
savings = st.decimals(
    min_value=-20_000_000, max_value=40_000_000, places=2, allow_nan=False, allow_infinity=False
)
readings = st.sampled_from(["A", "B"])


@settings(max_examples=200, deadline=None)
@given(invested=money, saved=savings, school=st.booleans(), reading=readings)
def test_financier_gets_between_guarantee_and_invested_plus_premium(
    norrkoping, invested, saved, school, reading
):
    out = pay(norrkoping, invested, saved, school, reading)
    total = out["total_paid_to_financier_sek"]
    assert total >= out["guaranteed_sek"]
    # 0.2·I rounded to öre half-up can exceed 0.2·I by at most half an öre.
    assert total <= invested * D("1.2") + D("0.005")
    assert total <= invested + D("2000000")
    assert out["repayment_sek"] <= invested


@settings(max_examples=200, deadline=None)
@given(
    invested=money,
    saved=savings,
    more=st.decimals(min_value=0, max_value=5_000_000, places=2),
    school=st.booleans(),
    reading=readings,
)
def test_payments_never_decrease_when_savings_grow(
    norrkoping, invested, saved, more, school, reading
):
    low = pay(norrkoping, invested, saved, school, reading)
    high = pay(norrkoping, invested, saved + more, school, reading)
    assert high["repayment_sek"] >= low["repayment_sek"]
    assert high["premium_sek"] >= low["premium_sek"]
    assert high["total_paid_to_financier_sek"] >= low["total_paid_to_financier_sek"]


@settings(max_examples=200, deadline=None)
@given(invested=money, saved=savings, reading=readings)
def test_no_premium_without_school_results(norrkoping, invested, saved, reading):
    assert pay(norrkoping, invested, saved, False, reading)["premium_sek"] == 0


@settings(max_examples=200, deadline=None)
@given(invested=money, saved=savings, school=st.booleans(), reading=readings)
def test_premium_only_from_savings_beyond_investment(norrkoping, invested, saved, school, reading):
    out = pay(norrkoping, invested, saved, school, reading)
    assert out["premium_sek"] <= max(saved - invested, D(0))
    assert out["premium_sek"] <= D("2000000")


@settings(max_examples=200, deadline=None)
@given(invested=money, saved=savings, school=st.booleans())
def test_reading_b_never_pays_less_than_reading_a(norrkoping, invested, saved, school):
    a = pay(norrkoping, invested, saved, school, "A")["repayment_sek"]
    b = pay(norrkoping, invested, saved, school, "B")["repayment_sek"]
    assert b >= a


@settings(max_examples=200, deadline=None)
@given(invested=money, saved=savings, school=st.booleans(), reading=readings)
def test_payments_conserve_the_outputs(norrkoping, invested, saved, school, reading):
    result = settle(
        norrkoping,
        facts(invested, saved, school),
        overrides={"reading": reading},
    )
    paid = sum((p.amount for p in result.payments), D(0))
    assert paid == result.outputs["total_paid_to_financier_sek"]
    for line in result.payments:
        assert line.amount >= 0
        assert line.amount == line.amount.quantize(D("0.01"))
