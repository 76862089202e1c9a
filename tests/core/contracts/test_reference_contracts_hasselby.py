"""The Hässelby-Vällingby contract: civil society contracted for flexible early support
(DESIGN.md 2.3, seeds 003 and 004).

Per actor with budget b: activity part a = round(0.5·b), process part p = round(0.3·b),
pot contribution b − a − p; pay = round(a·delivered) + round(p·attained) + (b − a − p if the
joint outcomes are reached, else 0).
"""

from __future__ import annotations

from decimal import Decimal as D
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.core.contracts import Contract, parse_contract, run_contract_tests, settle
from utfall.core.contracts.yamlio import read_yaml

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NAME = "hasselby-vallingby-early-support"
ORE = D("0.01")


@cache
def contract() -> Contract:
    path = EXAMPLES / "contracts" / f"{NAME}.yaml"
    return parse_contract(path.read_text(encoding="utf-8"), source=str(path))


def facts() -> dict[str, Any]:
    path = EXAMPLES / "facts" / f"{NAME}.yaml"
    data: dict[str, Any] = read_yaml(path.read_text(encoding="utf-8"), source=str(path)).data
    return data


def payments(result: Any) -> list[D]:
    return [p.amount for p in result.payments]


def test_contract_is_valid_and_its_cases_pass() -> None:
    results = run_contract_tests(contract())
    assert len(results) >= 8
    failed = [(r.name, r.mismatches, r.error) for r in results if not r.passed]
    assert not failed


def test_five_actors_each_paid_by_the_district() -> None:
    document = contract()
    providers = [p.id for p in document.parties if p.role == "provider"]
    assert providers == [f"actor-{i}" for i in range(1, 6)]
    assert [(p.payer, p.payee) for p in document.payments] == [
        ("hasselby-vallingby", actor) for actor in providers
    ]
    # Seed 003: 50 % activity, 30 % process outcomes, the remaining 20 % a joint pot.
    assert document.parameters["activity_share"].default == D("0.50")
    assert document.parameters["process_share"].default == D("0.30")


def test_settle_facts_by_hand() -> None:
    # Budgets 1 MSEK each: activity part 500 000, process part 300 000, pot 200 000.
    # activity [1, .95, 1, .9, .85] → 500 000, 475 000, 500 000, 450 000, 425 000
    # process [.9, .75, 1, .6, .8]  → 270 000, 225 000, 300 000, 180 000, 240 000
    # joint outcomes 0.8 < threshold 1 → no pot.
    result = settle(contract(), facts())
    assert result.outputs["pot_released"] is False
    assert payments(result) == [D(x) for x in ("770000", "700000", "800000", "630000", "665000")]
    assert result.outputs["total_pay_sek"] == D("3565000")
    assert result.outputs["withheld_sek"] == D("1435000")
    # With a threshold of 80 % the same facts release the pot: 200 000 more to each actor.
    released = settle(contract(), facts(), overrides={"joint_outcomes_threshold": "0.8"})
    assert released.outputs["pot_released"] is True
    assert payments(released) == [a + D("200000") for a in payments(result)]


def decimals(low: str, high: str, places: int) -> st.SearchStrategy[D]:
    return st.decimals(
        min_value=D(low), max_value=D(high), places=places, allow_nan=False, allow_infinity=False
    )


def five(strategy: st.SearchStrategy[D]) -> st.SearchStrategy[list[D]]:
    return st.lists(strategy, min_size=5, max_size=5)


budgets = five(decimals("0", "5000000", 2))
shares = five(decimals("0", "1", 3))


@settings(max_examples=150, deadline=None)
@given(
    budget=budgets,
    activity_share=decimals("0", "1", 2),
    process_share=decimals("0", "1", 2),
    delivered=shares,
    attained=shares,
    joint=decimals("0", "1", 2),
    threshold=decimals("0", "1", 2),
)
def test_parts_sum_to_budget_and_pot_is_paid_only_on_joint_outcomes(
    budget: list[D],
    activity_share: D,
    process_share: D,
    delivered: list[D],
    attained: list[D],
    joint: D,
    threshold: D,
) -> None:
    overrides = {
        "actor_budgets_sek": budget,
        "activity_share": activity_share,
        "process_share": process_share,
        "joint_outcomes_threshold": threshold,
    }
    given_facts = {
        "activity_delivered": delivered,
        "process_outcomes_attained": attained,
        "joint_outcomes_attained": joint,
    }
    result = settle(contract(), given_facts, overrides=overrides)
    out = result.outputs
    for i in range(5):
        parts = (
            out["activity_max_sek"][i] + out["process_max_sek"][i] + out["pot_contribution_sek"][i]
        )
        assert parts == budget[i]
        assert out["pot_contribution_sek"][i] >= 0
    assert out["joint_pot_sek"] == sum(out["pot_contribution_sek"], D(0))
    assert out["pot_released"] is (joint >= threshold)
    if out["pot_released"]:
        assert out["pot_pay_sek"] == out["pot_contribution_sek"]
    else:
        assert all(x == 0 for x in out["pot_pay_sek"])
    paid = payments(result)
    assert paid == list(out["actor_pay_sek"])
    for i in range(5):
        assert 0 <= paid[i] <= budget[i]
        assert paid[i] == paid[i].quantize(ORE)
    assert out["total_pay_sek"] + out["withheld_sek"] == sum(budget, D(0))
    assert out["withheld_sek"] >= 0


@settings(max_examples=100, deadline=None)
@given(budget=budgets, activity_share=decimals("0", "1", 2), process_share=decimals("0", "1", 2))
def test_full_delivery_and_joint_outcomes_pay_exactly_the_budgets(
    budget: list[D], activity_share: D, process_share: D
) -> None:
    overrides = {
        "actor_budgets_sek": budget,
        "activity_share": activity_share,
        "process_share": process_share,
    }
    full = {
        "activity_delivered": [1] * 5,
        "process_outcomes_attained": [1] * 5,
        "joint_outcomes_attained": 1,
    }
    result = settle(contract(), full, overrides=overrides)
    assert payments(result) == budget
    assert result.outputs["withheld_sek"] == 0


@settings(max_examples=100, deadline=None)
@given(
    delivered=shares,
    attained=shares,
    joint=decimals("0", "1", 2),
    actor=st.integers(min_value=0, max_value=4),
    more=decimals("0", "1", 3),
)
def test_an_actor_never_earns_less_by_delivering_more(
    delivered: list[D], attained: list[D], joint: D, actor: int, more: D
) -> None:
    base = {
        "activity_delivered": delivered,
        "process_outcomes_attained": attained,
        "joint_outcomes_attained": joint,
    }
    better = list(delivered)
    better[actor] = max(better[actor], more)
    before = payments(settle(contract(), base))
    after = payments(settle(contract(), dict(base, activity_delivered=better)))
    assert after[actor] >= before[actor]
    assert [a for i, a in enumerate(after) if i != actor] == [
        b for i, b in enumerate(before) if i != actor
    ]
