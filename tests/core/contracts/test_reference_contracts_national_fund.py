"""The national outcomes fund's payment to a constellation (DESIGN.md 2.4, seed 003).

Rate-card value = Σ price·units (each rounded down to öre); due = min(value, 50 % of the
reported costs, rounded down); payment = max(due − paid before, 0).
"""

from __future__ import annotations

from decimal import ROUND_DOWN
from decimal import Decimal as D
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.core.contracts import Contract, parse_contract, run_contract_tests, settle
from utfall.core.contracts.yamlio import read_yaml

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NAME = "national-fund-constellation"
ORE = D("0.01")
INDICATORS = [
    "parenting_capacity",
    "language_development",
    "school_absence",
    "upper_secondary_eligibility",
    "work_or_studies",
    "criminal_group_inflow",
    "risk_zone",
]


@cache
def contract() -> Contract:
    path = EXAMPLES / "contracts" / f"{NAME}.yaml"
    return parse_contract(path.read_text(encoding="utf-8"), source=str(path))


def facts() -> dict[str, Any]:
    path = EXAMPLES / "facts" / f"{NAME}.yaml"
    data: dict[str, Any] = read_yaml(path.read_text(encoding="utf-8"), source=str(path)).data
    return data


def test_contract_is_valid_and_its_cases_pass() -> None:
    results = run_contract_tests(contract())
    assert len(results) >= 8
    failed = [(r.name, r.mismatches, r.error) for r in results if not r.passed]
    assert not failed


def test_the_fund_pays_the_lead_municipality() -> None:
    document = contract()
    roles = {p.id: p.role for p in document.parties}
    (payment,) = document.payments
    assert roles[payment.payer] == "fund_administrator"
    assert roles[payment.payee] == "commissioner"
    assert document.parameters["max_share_of_costs"].default == D("0.50")  # seed 003 p. 11
    assert {f"price_{name}_sek" for name in INDICATORS} <= set(document.parameters)


def test_settle_facts_by_hand() -> None:
    # 140·15 000 + 95·20 000 + 160·10 000 + 42·50 000 + 35·60 000 + 7.5·300 000 + 52·40 000
    # = 2.1 + 1.9 + 1.6 + 2.1 + 2.1 + 2.25 + 2.08 MSEK = 14.13 MSEK, under the ceiling
    # 0.5 · 34 MSEK = 17 MSEK; 9.4 MSEK paid before → 4.73 MSEK now.
    result = settle(contract(), facts())
    assert result.outputs["rate_card_value_sek"] == D("14130000")
    assert result.outputs["cost_ceiling_sek"] == D("17000000")
    assert result.outputs["ceiling_binding"] is False
    assert [p.amount for p in result.payments] == [D("4730000")]
    assert result.outputs["constellation_own_financing_sek"] == D("19870000")


def test_settle_facts_matches_rate_card_computed_here() -> None:
    given_facts = facts()
    parameters = contract().parameters
    value = sum(
        (
            (parameters[f"price_{name}_sek"].default * given_facts[f"{name}_units"]).quantize(
                ORE, rounding=ROUND_DOWN
            )
            for name in INDICATORS
        ),
        D(0),
    )
    ceiling = (D("0.5") * given_facts["reported_costs_sek"]).quantize(ORE, rounding=ROUND_DOWN)
    due = min(value, ceiling)
    result = settle(contract(), given_facts)
    assert result.outputs["rate_card_value_sek"] == value
    assert result.outputs["outcome_payment_sek"] == max(due - given_facts["paid_before_sek"], 0)


def decimals(low: str, high: str, places: int) -> st.SearchStrategy[D]:
    return st.decimals(
        min_value=D(low), max_value=D(high), places=places, allow_nan=False, allow_infinity=False
    )


units = st.fixed_dictionaries({f"{name}_units": decimals("0", "500", 3) for name in INDICATORS})
costs = decimals("0", "60000000", 2)
paid_before = decimals("0", "40000000", 2)


@settings(max_examples=200, deadline=None)
@given(units=units, costs=costs, paid=paid_before, share=decimals("0", "1", 2))
def test_outcome_payment_never_above_the_share_of_reported_costs(
    units: dict[str, D], costs: D, paid: D, share: D
) -> None:
    given_facts = dict(units, reported_costs_sek=costs, paid_before_sek=paid)
    default = settle(contract(), given_facts).outputs
    assert 0 <= default["outcome_payment_sek"] <= default["outcome_due_sek"]
    assert default["outcome_due_sek"] <= costs / 2
    # Together with what the earlier reports paid (as far as it was due), never above 50 %.
    assert default["outcome_payment_sek"] + min(paid, default["outcome_due_sek"]) <= costs / 2
    assert default["constellation_own_financing_sek"] >= costs / 2
    assert default["state_share_of_costs"] <= D("0.5")
    if default["ceiling_binding"]:
        assert default["outcome_due_sek"] == default["cost_ceiling_sek"]
    else:
        assert default["outcome_due_sek"] == default["rate_card_value_sek"]

    what_if = settle(contract(), given_facts, overrides={"max_share_of_costs": share}).outputs
    assert 0 <= what_if["outcome_payment_sek"] <= share * costs
    assert what_if["outcome_payment_sek"] == what_if["outcome_payment_sek"].quantize(ORE)


@settings(max_examples=150, deadline=None)
@given(
    units=units,
    costs=costs,
    paid=paid_before,
    indicator=st.sampled_from(INDICATORS),
    more=decimals("0", "100", 3),
)
def test_more_verified_outcomes_never_lower_the_payment(
    units: dict[str, D], costs: D, paid: D, indicator: str, more: D
) -> None:
    given_facts = dict(units, reported_costs_sek=costs, paid_before_sek=paid)
    better = dict(given_facts)
    better[f"{indicator}_units"] += more
    before = settle(contract(), given_facts).outputs
    after = settle(contract(), better).outputs
    assert after["rate_card_value_sek"] >= before["rate_card_value_sek"]
    assert after["outcome_payment_sek"] >= before["outcome_payment_sek"]
