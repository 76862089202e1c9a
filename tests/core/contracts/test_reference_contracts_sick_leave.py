"""The Botkyrka and Örnsköldsvik sick-leave contracts (DESIGN.md 2.2, seeds 003 and 004).

The settlement on each facts file is checked against an independent computation with
exact fractions: S_e = Σ reference_days_per_employee·SLT_i/SLT_ref, S_n = Σ observed_days_per_employee,
saving = max((S_e − S_n)·value·employees, 0) rounded to öre half-up,
outcome = min(round(share·saving), contract value − activity part).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.core.contracts import Contract, parse_contract, run_contract_tests, settle
from utfall.core.contracts.yamlio import read_yaml

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
MUNICIPALITIES = ["botkyrka", "ornskoldsvik"]
ORE = D("0.01")


@cache
def contract(name: str) -> Contract:
    path = EXAMPLES / "contracts" / f"sick-leave-{name}.yaml"
    return parse_contract(path.read_text(encoding="utf-8"), source=str(path))


def facts(name: str) -> dict[str, Any]:
    path = EXAMPLES / "facts" / f"sick-leave-{name}.yaml"
    data: dict[str, Any] = read_yaml(path.read_text(encoding="utf-8"), source=str(path)).data
    return data


def to_ore(value: Fraction) -> D:
    """Exact fraction → Decimal rounded half-up to öre (independent of the engine)."""
    exact = D(value.numerator) / D(value.denominator)  # 28 digits are plenty for a check
    return exact.quantize(ORE, rounding=ROUND_HALF_UP)


def expected_settlement(name: str, given: dict[str, Any]) -> dict[str, D]:
    terms = contract(name).parameters
    value = Fraction(terms["contract_value_sek"].default)
    activity_share = Fraction(terms["activity_share"].default)
    outcome_share = Fraction(terms["outcome_share_of_saving"].default)
    expected_days = sum(
        Fraction(days) * Fraction(index) / Fraction(reference)
        for days, index, reference in zip(
            given["reference_days_per_employee"], given["slt"], given["slt_reference"], strict=True
        )
    )
    observed = sum(Fraction(days) for days in given["observed_days_per_employee"])
    saving = max(
        to_ore(
            (expected_days - observed)
            * Fraction(terms["value_per_sick_day_sek"].default)
            * given["employees"]
        ),
        D(0),
    )
    activity = to_ore(value * activity_share)
    cap = D(terms["contract_value_sek"].default) - activity
    outcome = min(to_ore(outcome_share * Fraction(saving)), cap)
    return {"saving_sek": saving, "activity_pay_sek": activity, "outcome_pay_sek": outcome}


@pytest.mark.parametrize("name", MUNICIPALITIES)
def test_contract_is_valid_and_its_cases_pass(name: str) -> None:
    results = run_contract_tests(contract(name))
    assert len(results) >= 8
    failed = [(r.name, r.mismatches, r.error) for r in results if not r.passed]
    assert not failed


@pytest.mark.parametrize(
    ("name", "activity_share", "commissioner"),
    [
        ("botkyrka", D("0.50"), "Botkyrka kommun"),
        ("ornskoldsvik", D("0.25"), "Örnsköldsviks kommun"),
    ],
)
def test_activity_share_follows_seed_003(name: str, activity_share: D, commissioner: str) -> None:
    # Seed 003: "50 procent respektive 25 procent" after "Botkyrka och Örnsköldsvik".
    document = contract(name)
    assert document.parameters["activity_share"].default == activity_share
    assert [p.name for p in document.parties if p.role == "commissioner"] == [commissioner]


@pytest.mark.parametrize("name", MUNICIPALITIES)
def test_settle_facts_matches_exact_computation(name: str) -> None:
    given_facts = facts(name)
    assert all(
        isinstance(v, D) for v in given_facts["observed_days_per_employee"]
    )  # read exactly, no floats
    result = settle(contract(name), given_facts)
    wanted = expected_settlement(name, given_facts)
    for output, amount in wanted.items():
        assert result.outputs[output] == amount, output
    payments = {p.id: p.amount for p in result.payments}
    assert payments == {
        "activity": wanted["activity_pay_sek"],
        "outcome": wanted["outcome_pay_sek"],
    }
    assert payments["activity"] + payments["outcome"] <= D("20000000")


def test_facts_figures_by_hand() -> None:
    # Botkyrka facts: S_n = 16.0171 net days per employee (sum of the 36 observed months);
    # S_e − S_n ≈ 0.78887 days × 2 150 SEK × 10 000 employees ≈ 16.96 MSEK; half of it,
    # 8.48 MSEK, is below the 10 MSEK outcome cap.
    result = settle(contract("botkyrka"), facts("botkyrka"))
    assert result.outputs["observed_days_total"] == D("16.0171")
    assert result.outputs["saving_sek"] == D("16960605.88")
    assert result.outputs["outcome_pay_sek"] == D("8480302.94")
    assert result.outputs["supplier_total_sek"] == D("18480302.94")
    # Örnsköldsvik: activity part 25 % of 20 MSEK = 5 MSEK; outcome cap 15 MSEK not reached.
    result = settle(contract("ornskoldsvik"), facts("ornskoldsvik"))
    assert result.outputs["activity_pay_sek"] == D("5000000.00")
    assert result.outputs["outcome_cap_sek"] == D("15000000.00")
    assert result.outputs["saving_sek"] == D("11134969.98")
    assert result.outputs["outcome_pay_sek"] == D("5567484.99")


def decimals(low: str, high: str, places: int) -> st.SearchStrategy[D]:
    return st.decimals(
        min_value=D(low), max_value=D(high), places=places, allow_nan=False, allow_infinity=False
    )


def months(low: str, high: str, places: int) -> st.SearchStrategy[list[D]]:
    return st.lists(decimals(low, high, places), min_size=36, max_size=36)


situation = st.fixed_dictionaries(
    {
        "slt": months("50", "150", 1),
        "slt_reference": months("50", "150", 1),
        "reference_days_per_employee": months("0", "2", 4),
        "observed_days_per_employee": months("0", "2", 4),
        "employees": st.integers(min_value=0, max_value=20_000),
    }
)
# The value of a sick day is agreed in the contract (a parameter): varied as a what-if.
day_value = decimals("0", "5000", 2)


@pytest.mark.parametrize("name", MUNICIPALITIES)
@settings(max_examples=60, deadline=None)
@given(base=situation, extra=months("0", "0.5", 4), value=day_value)
def test_saving_is_never_negative_and_never_grows_with_observed_days(
    name: str, base: dict[str, Any], extra: list[D], value: D
) -> None:
    more_sick = dict(
        base,
        observed_days_per_employee=[
            a + b for a, b in zip(base["observed_days_per_employee"], extra, strict=True)
        ],
    )
    what_if = {"value_per_sick_day_sek": value}
    before = settle(contract(name), base, overrides=what_if).outputs
    after = settle(contract(name), more_sick, overrides=what_if).outputs
    assert before["saving_sek"] >= 0
    assert after["saving_sek"] >= 0
    assert after["saving_sek"] <= before["saving_sek"]
    assert after["outcome_pay_sek"] <= before["outcome_pay_sek"]
    if before["reduction_days"] <= 0:
        assert before["saving_sek"] == 0


@pytest.mark.parametrize("name", MUNICIPALITIES)
@settings(max_examples=60, deadline=None)
@given(
    base=situation,
    value=decimals("0", "100000000", 2),
    activity_share=decimals("0", "1", 2),
    outcome_share=decimals("0", "1", 2),
    per_day=day_value,
)
def test_activity_and_outcome_pay_never_exceed_the_contract_value(
    name: str, base: dict[str, Any], value: D, activity_share: D, outcome_share: D, per_day: D
) -> None:
    overrides = {
        "contract_value_sek": value,
        "activity_share": activity_share,
        "outcome_share_of_saving": outcome_share,
        "value_per_sick_day_sek": per_day,
    }
    result = settle(contract(name), base, overrides=overrides)
    payments = {p.id: p.amount for p in result.payments}
    assert all(amount >= 0 and amount == amount.quantize(ORE) for amount in payments.values())
    assert payments["activity"] + payments["outcome"] <= value
    assert payments["outcome"] <= result.outputs["saving_sek"]
    assert result.outputs["saving_kept_sek"] >= 0
