"""The Botkyrka and Örnsköldsvik sick-leave contracts (DESIGN.md 2.2, seeds 003 and 004).

The settlement on each facts file is checked against an independent computation with
exact fractions, in seed 004's reading A (issue 17): S_e = Σ reference_days_per_employee,
S_n = Σ observed_days_per_employee·SLT_ref/SLT_i ("Sn = Σ SLT_r · s_i / SLT_i", seed 004
slide 22), and in the alternative reading B S_e = Σ reference_days_per_employee·SLT_i/SLT_ref,
S_n = Σ observed_days_per_employee; saving = max((S_e − S_n)·value·employees, 0) rounded to
öre half-up, the value of a sick day calculated from its parameters,
outcome = min(round(share·saving), contract value − activity part).
"""

from __future__ import annotations

from collections.abc import Callable
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


def day_value(name: str) -> D:
    """Seed 004: the salary level, a cost model and the qualifying day's weight (defaults)."""
    terms = {k: Fraction(v.default) for k, v in contract(name).parameters.items() if k != "reading"}
    day = (
        terms["monthly_salary_reference_sek"]
        * 12
        / terms["salary_days_per_year"]
        * (1 + terms["employer_contributions_rate"])
    )
    loss, share = terms["production_loss_share"], terms["qualifying_day_share"]
    return to_ore(share * day * loss + (1 - share) * day * (terms["sick_pay_rate"] + loss))


def expected_settlement(
    name: str, given: dict[str, Any], reading: str, days: Callable[..., tuple[Fraction, Fraction]]
) -> dict[str, D]:
    terms = contract(name).parameters
    value = Fraction(terms["contract_value_sek"].default)
    activity_share = Fraction(terms["activity_share"].default)
    outcome_share = Fraction(terms["outcome_share_of_saving"].default)
    expected_days, observed = days(given, reading)
    saving = max(
        to_ore((expected_days - observed) * Fraction(day_value(name)) * given["employees"]),
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


@pytest.mark.parametrize("reading", ["A", "B"])
@pytest.mark.parametrize("name", MUNICIPALITIES)
def test_settle_facts_matches_exact_computation(
    name: str, reading: str, sick_leave_days: Callable[..., tuple[Fraction, Fraction]]
) -> None:
    given_facts = facts(name)
    assert all(
        isinstance(v, D) for v in given_facts["observed_days_per_employee"]
    )  # read exactly, no floats
    result = settle(contract(name), given_facts, overrides={"reading": reading})
    wanted = expected_settlement(name, given_facts, reading, sick_leave_days)
    for output, amount in wanted.items():
        assert result.outputs[output] == amount, output
    payments = {p.id: p.amount for p in result.payments}
    assert payments == {
        "activity": wanted["activity_pay_sek"],
        "outcome": wanted["outcome_pay_sek"],
    }
    assert payments["activity"] + payments["outcome"] <= D("20000000")


def test_facts_figures_by_hand() -> None:
    """Seed 004: S_e "baserat på referensperioden" = 16.50 reference days per employee; the
    observed 16.0171 days put on the reference basis ("SLT_r · s_i / SLT_i") ≈ 15.7271;
    0.77290 days × 2 167.07 SEK (960 SEK a day × 1.39 × (1 + 0.78 · 0.8)) × 10 000 employees
    ≈ 16.75 MSEK (16.96 MSEK with 2 150 SEK and the reference days scaled up, before issue 17);
    half of it, 8.37 MSEK, is below the 10 MSEK outcome cap."""
    result = settle(contract("botkyrka"), facts("botkyrka"))
    assert result.outputs["value_per_sick_day_sek"] == D("2167.07")
    assert result.outputs["expected_days"] == D("16.5")
    assert result.outputs["observed_days_unadjusted"] == D("16.0171")
    assert round(result.outputs["observed_days_total"], 4) == D("15.7271")
    assert round(result.outputs["relative_reduction"], 4) == D("0.0468")
    assert result.outputs["saving_sek"] == D("16749361.03")
    assert result.outputs["outcome_pay_sek"] == D("8374680.52")
    assert result.outputs["supplier_total_sek"] == D("18374680.52")
    # The alternative reading on the same facts and the same value of a sick day.
    other = settle(contract("botkyrka"), facts("botkyrka"), overrides={"reading": "B"})
    assert other.outputs["saving_sek"] == D("17095265.21")
    # Örnsköldsvik: activity part 25 % of 20 MSEK = 5 MSEK; outcome cap 15 MSEK not reached.
    result = settle(contract("ornskoldsvik"), facts("ornskoldsvik"))
    assert result.outputs["value_per_sick_day_sek"] == D("2106.35")
    assert result.outputs["activity_pay_sek"] == D("5000000.00")
    assert result.outputs["outcome_cap_sek"] == D("15000000.00")
    assert result.outputs["saving_sek"] == D("11423330.32")
    assert result.outputs["outcome_pay_sek"] == D("5711665.16")


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
# The value of a sick day is calculated from the salary level (a parameter): varied as a what-if.
salary = decimals("0", "60000", 2)
readings = st.sampled_from(["A", "B"])


@pytest.mark.parametrize("name", MUNICIPALITIES)
@settings(max_examples=60, deadline=None)
@given(base=situation, extra=months("0", "0.5", 4), value=salary, reading=readings)
def test_saving_is_never_negative_and_never_grows_with_observed_days(
    name: str, base: dict[str, Any], extra: list[D], value: D, reading: str
) -> None:
    more_sick = dict(
        base,
        observed_days_per_employee=[
            a + b for a, b in zip(base["observed_days_per_employee"], extra, strict=True)
        ],
    )
    what_if = {"monthly_salary_reference_sek": value, "reading": reading}
    before = settle(contract(name), base, overrides=what_if).outputs
    after = settle(contract(name), more_sick, overrides=what_if).outputs
    assert before["saving_sek"] >= 0
    assert after["saving_sek"] >= 0
    assert after["saving_sek"] <= before["saving_sek"]
    assert after["outcome_pay_sek"] <= before["outcome_pay_sek"]
    assert 0 <= before["relative_reduction"] <= 1
    if before["reduction_days"] <= 0:
        assert before["saving_sek"] == 0
        assert before["relative_reduction"] == 0


@pytest.mark.parametrize("name", MUNICIPALITIES)
@settings(max_examples=60, deadline=None)
@given(
    base=situation,
    value=decimals("0", "100000000", 2),
    activity_share=decimals("0", "1", 2),
    outcome_share=decimals("0", "1", 2),
    per_month=salary,
    reading=readings,
)
def test_activity_and_outcome_pay_never_exceed_the_contract_value(
    name: str,
    base: dict[str, Any],
    value: D,
    activity_share: D,
    outcome_share: D,
    per_month: D,
    reading: str,
) -> None:
    overrides = {
        "contract_value_sek": value,
        "activity_share": activity_share,
        "outcome_share_of_saving": outcome_share,
        "monthly_salary_reference_sek": per_month,
        "reading": reading,
    }
    result = settle(contract(name), base, overrides=overrides)
    payments = {p.id: p.amount for p in result.payments}
    assert all(amount >= 0 and amount == amount.quantize(ORE) for amount in payments.values())
    assert payments["activity"] + payments["outcome"] <= value
    assert payments["outcome"] <= result.outputs["saving_sek"]
    assert result.outputs["saving_kept_sek"] >= 0
