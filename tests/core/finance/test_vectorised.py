"""The vectorised evaluator agrees with the exact Decimal engine, to the öre, scenario by scenario."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utfall.core.contracts import parse_contract
from utfall.core.finance.vectorised import (
    Fixed,
    VectorisationError,
    check_agreement,
    fixed_from_floats,
    settle_vectorised,
)

ROOT = Path(__file__).resolve().parents[3]


def load(name: str):
    path = ROOT / "examples/contracts" / f"{name}.yaml"
    return parse_contract(path.read_text(encoding="utf-8"), source=str(path))


NORRKOPING = load("norrkoping-placed-children")

ore = st.integers(min_value=-3_000_000_000, max_value=3_000_000_000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.integers(min_value=-100, max_value=2_000_000_000), ore, st.booleans()),
        min_size=1,
        max_size=40,
    ),
    reading=st.sampled_from(["A", "B"]),
    guarantee=st.integers(min_value=0, max_value=10_000).map(lambda n: Decimal(n).scaleb(-4)),
    premium_cap=st.integers(min_value=0, max_value=300_000_000).map(
        lambda n: Decimal(n).scaleb(-2)
    ),
)
def test_norrkoping_agrees_with_the_exact_engine(rows, reading, guarantee, premium_cap):
    invested, savings, school = (np.array(column) for column in zip(*rows, strict=True))
    overrides = {
        "reading": reading,
        "guarantee_share": str(guarantee),
        "premium_cap_sek": str(premium_cap),
    }
    result = settle_vectorised(
        NORRKOPING,
        {
            "invested_sek": Fixed(invested, 2),
            "net_savings_sek": Fixed(savings, 2),
            "school_results_met": school,
            "school_did_met": False,
            "delivered_as_agreed": True,
        },
        size=len(rows),
        overrides=overrides,
    )
    assert check_agreement(result, range(len(rows)), overrides=overrides) == []
    # A negative investment is refused by both engines (the input's minimum is 0).
    assert result.valid.tolist() == [i >= 0 for i in invested.tolist()]


KITCHEN_SINK = """\
id: kitchen-sink
title: Every construct of the formula language
version: "1"
rounding: {rounding}
parties:
  - {{id: a, name: A, role: commissioner}}
  - {{id: b, name: B, role: financier}}
parameters:
  rate: {{type: ratio, default: "0.1234"}}
  weights: {{type: series, of: number, length: 3, default: ["0.5", "0.25", "0.25"]}}
  plan: {{type: choice, choices: [x, y], default: x}}
inputs:
  amount: {{type: money}}
  other: {{type: money}}
  divisor: {{type: number}}
  share: {{type: ratio, min: 0, max: 1}}
  flag: {{type: boolean}}
  pick: {{type: number}}
  series: {{type: series, of: money, length: 3}}
  mode: {{type: choice, choices: [low, high]}}
outputs:
  quotient:
    type: number
    formula: "if divisor == 0 then 0 else amount / divisor"
  quotient_rounded:
    type: money
    formula: "if divisor == 0 then 0 else round(amount / divisor)"
  approx_rounded:
    type: money
    formula: "if divisor == 0 then 0 else round(amount / divisor * share) + round(amount / 8, 1) * 0"
  ratio_rounded:
    type: ratio
    formula: "if other == 0 then 0 else round(amount / other, 4)"
  share_of_amount:
    type: money
    formula: "round(share * amount * rate, 0) + round(amount * rate, -2) + round(-amount * rate)"
  bounded:
    type: money
    formula: "clamp(amount - other, -1000, 250000.5) * 2 + abs(other) - abs(amount)"
  weighted:
    type: money
    formula: "round(sum(series * weights))"
  extremes:
    type: money
    formula: "max(series) - min(series) + min(amount, other, 0) + max(amount, other, 0) + max(series, 0)[2] - min(series * rate, amount)[1]"
  element:
    type: money
    formula: "if pick >= 1 and pick <= 3 and not (pick > 3) then series[pick] else series[len(series)]"
  branch:
    type: money
    formula: |
      if (flag or mode == "high") and plan == "x"
        then round(amount * share)
        else if mode != "low" then other else -other
  payable:
    type: money
    formula: "max(approx_rounded + quotient_rounded + share_of_amount + bounded + weighted + extremes + element + branch, 0)"
payments:
  - {{id: pay, from: a, to: b, label: Pay, amount: payable}}
"""

ROUNDINGS = ["half_up", "half_even", "half_down", "up", "down", "ceiling", "floor"]
SINKS = {
    mode: parse_contract(KITCHEN_SINK.format(rounding=mode), source=f"sink-{mode}")
    for mode in ROUNDINGS
}

small_ore = st.integers(min_value=-50_000_000, max_value=50_000_000)


@st.composite
def sink_rows(draw):
    size = draw(st.integers(min_value=1, max_value=25))
    # Money often on exact half-öre boundaries after a share is taken.
    amount = draw(
        st.lists(
            st.one_of(small_ore, st.sampled_from([0, 5, -5, 50, 125, -125])),
            min_size=size,
            max_size=size,
        )
    )
    other = draw(st.lists(st.one_of(small_ore, st.just(0)), min_size=size, max_size=size))
    divisor = draw(
        st.lists(st.integers(min_value=-400, max_value=400), min_size=size, max_size=size)
    )
    share = draw(st.lists(st.integers(min_value=0, max_value=10_000), min_size=size, max_size=size))
    flag = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    pick = draw(st.lists(st.integers(min_value=0, max_value=4), min_size=size, max_size=size))
    series = draw(
        st.lists(st.lists(small_ore, min_size=3, max_size=3), min_size=size, max_size=size)
    )
    mode = draw(st.lists(st.sampled_from(["low", "high"]), min_size=size, max_size=size))
    return size, {
        "amount": Fixed(np.array(amount), 2),
        "other": Fixed(np.array(other), 2),
        "divisor": Fixed(np.array(divisor), 1),
        "share": Fixed(np.array(share), 4),
        "flag": np.array(flag),
        "pick": Fixed(np.array(pick), 0),
        "series": Fixed(np.array(series), 2),
        "mode": np.array(mode),
    }


@pytest.mark.parametrize("mode", ROUNDINGS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=sink_rows(), plan=st.sampled_from(["x", "y"]))
def test_every_construct_and_rounding_rule_agrees(mode, case, plan):
    size, inputs = case
    overrides = {"plan": plan}
    result = settle_vectorised(SINKS[mode], inputs, size=size, overrides=overrides)
    assert check_agreement(result, range(size), overrides=overrides) == []


def test_errors_are_those_of_the_exact_engine_and_only_in_the_branch_taken():
    contract = parse_contract(
        """\
id: errors
title: Errors
version: "1"
parties:
  - {id: a, name: A, role: commissioner}
  - {id: b, name: B, role: financier}
inputs:
  x: {type: money}
  d: {type: number}
outputs:
  guarded: {type: money, formula: "if d == 0 then 0 else round(x / d)"}
  unguarded: {type: money, formula: "round(x / d)"}
  unrounded: {type: money, formula: "x * d"}
payments:
  - {id: p, from: a, to: b, label: P, amount: "if d == 0 then 1 else guarded - 1"}
""",
        source="errors",
    )
    inputs = {
        # d = 0 (division by zero in 'unguarded' only), 100.01 × 0.3 (fractions of an öre),
        # a clean row, and 0.50 / 1 - 1 (a negative payment).
        "x": Fixed(np.array([10000, 10001, 10000, 50]), 2),
        "d": Fixed(np.array([0, 3, 2, 10]), 1),
    }
    result = settle_vectorised(contract, inputs, size=4)
    assert result.valid.tolist() == [False, False, True, False]
    assert result.errors == {
        "division by zero: d is 0": 1,
        "output 'unrounded' is money but has fractions of an öre; say where to round with round(…)": 1,
        "payment 'p' is negative (a payment cannot be negative)": 1,
    }
    assert check_agreement(result, range(4)) == []


def sick_leave_scenarios(name: str, size: int, seed: int):
    from utfall.services.contracts import facts_parse

    contract = load(name)
    path = ROOT / "examples/facts" / f"{name}.yaml"
    facts = facts_parse(path.read_text(encoding="utf-8"), source=str(path)).values
    rng = np.random.default_rng(seed)
    inputs = dict(facts)
    observed = np.array([float(v) for v in facts["observed_days_per_employee"]])
    noisy = observed[None, :] * rng.uniform(0.8, 1.2, (size, observed.size))
    inputs["observed_days_per_employee"] = Fixed(np.rint(noisy * 1e4).astype(np.int64), 4)
    return contract, inputs


def test_divisions_without_rounding_stay_within_their_error_bound_or_fall_back():
    """Sick leave: sum(observed × SLT_ref / SLT) (seed 004's reading, issue 17) and the day's
    labour cost (salary × 12 / 365) are floats with an error bound; the value of a sick day
    and the saving are rounded from them, and scenarios too close to a half öre are settled
    exactly."""
    contract, inputs = sick_leave_scenarios("sick-leave-botkyrka", 4000, seed=7)
    result = settle_vectorised(contract, inputs, size=4000)
    assert result.approximate == (
        "day_labour_cost_sek",
        "cost_qualifying_day_sek",
        "cost_day_2_14_sek",
        "observed_days_total",
        "reduction_days",
        "relative_reduction",
    )
    assert result.valid.all()
    assert check_agreement(result, range(0, 4000, 7)) == []
    assert check_agreement(result, sorted(result.fallback)) == []
    bounds = np.broadcast_to(result.outputs["reduction_days"].err, (4000,))
    assert float(bounds.max()) < 1e-11  # days: far below anything that matters


def test_one_million_norrkoping_scenarios_at_once_agree_with_the_exact_engine():
    # How fast: benchmarks/simulate_bench.py (the vectorised evaluator against the exact loop).
    size = 1_000_000
    rng = np.random.default_rng(1)
    savings, _ = fixed_from_floats(rng.normal(8e6, 5e6, size), 2)
    result = settle_vectorised(
        NORRKOPING,
        {
            "invested_sek": Decimal("10000000"),
            "net_savings_sek": savings,
            "school_results_met": rng.random(size) < 0.6,
            "school_did_met": False,
            "delivered_as_agreed": True,
        },
        size=size,
    )
    assert result.valid.all() and not result.fallback
    premium = result.ore("premium")
    assert premium.max() == 200_000_000 and premium.min() == 0
    assert check_agreement(result, range(0, size, 9973)) == []


def test_inputs_are_checked_like_the_facts():
    with pytest.raises(VectorisationError, match="no values for delivered_as_agreed"):
        settle_vectorised(NORRKOPING, {"invested_sek": 1, "net_savings_sek": 1}, size=1)
    with pytest.raises(VectorisationError, match="has 3 values for 2 scenarios"):
        settle_vectorised(
            NORRKOPING,
            {
                "invested_sek": 1,
                "net_savings_sek": Fixed(np.array([1, 2, 3]), 2),
                "school_results_met": True,
                "school_did_met": True,
                "delivered_as_agreed": True,
            },
            size=2,
        )
    result = settle_vectorised(
        NORRKOPING,
        {
            "invested_sek": Fixed(np.array([1, 10]), 3),
            "net_savings_sek": 0,
            "school_results_met": True,
            "school_did_met": True,
            "delivered_as_agreed": True,
        },
        size=2,
    )
    assert result.valid.tolist() == [False, True]
    assert result.errors == {"input 'invested_sek': money has at most two decimals (whole öre)": 1}


@pytest.mark.parametrize("mode", ROUNDINGS)
def test_ties_at_half_an_ore_are_settled_exactly(mode):
    """Amounts, divisors and shares chosen so that unrounded quotients often land exactly
    on half an öre: those scenarios must go to the exact engine and agree with it."""
    rng = np.random.default_rng(0)
    size = 3000
    inputs = {
        "amount": Fixed(rng.choice([5, -5, 50, 125, -125, 1, 3, 7], size), 2),
        "other": Fixed(rng.integers(-1000, 1000, size), 2),
        "divisor": Fixed(rng.choice([1, 2, 4, 5, 8, 10, 20, 25, 40, -4], size), 1),
        "share": Fixed(rng.choice([5000, 2500, 1250, 3333, 10000], size), 4),
        "flag": rng.random(size) < 0.5,
        "pick": Fixed(rng.integers(0, 5, size), 0),
        "series": Fixed(rng.integers(-1000, 1000, (size, 3)), 2),
        "mode": rng.choice(["low", "high"], size),
    }
    result = settle_vectorised(SINKS[mode], inputs, size=size)
    assert len(result.fallback) > 100
    rows = sorted(set(range(0, size, 15)) | set(list(result.fallback)[:100]))
    assert check_agreement(result, rows) == []
