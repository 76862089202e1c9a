"""Payment risk of the historical-reference comparison and the trend-adjusted saving, by
simulating the contract's own evaluation (decision 0723).

The two small contracts in examples/design pay a bonus when the lower end of the saving's
95 % interval is above zero: a one-sided test at 2.5 %, so at no true effect the payer's
risk must be close to 0.025, and at a large effect the bonus must be paid almost always.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from utfall.adapters.files import contract_read
from utfall.core.design import design_spec_validate, draw_frame, trend_index_frame
from utfall.core.evaluation.historical_reference import CostPanel, historical_reference
from utfall.services.contracts import Facts, contract_settle
from utfall.services.design import contract_payment_risk

ROOT = Path(__file__).parents[3]
SAVING = ROOT / "examples/design/saving-bonus.yaml"
SICK_LEAVE = ROOT / "examples/design/sick-leave-bonus.yaml"

REFERENCE = {
    "method": "historical_reference",
    "effect": 20000,
    "sd": 40000,
    "n_per_group": 40,
    "n_reference": 80,
    "autocorrelation": 0.3,
    "reference_mean": 3000,
    "trend": -30,
}
EMPLOYEES = {
    "method": "trend_adjusted",
    "effect": 0.1,
    "sd": 0.8,
    "n_per_group": 40,
    "months": 12,
    "autocorrelation": 0.4,
    "reference_mean": 0.9,
    "trend_ratio": 1.05,
}


def _rows(risk, payment):
    return {row["effect"]: row for row in risk.rows if row["payment"] == payment}


def test_reference_draws_follow_the_cohorts_variance():
    plan = design_spec_validate({**REFERENCE, "months": 12, "n_per_group": 2000})
    columns = {"outcome": "y", "treatment": "t", "unit": "u", "time": "m"}
    frame = draw_frame(plan, 12000.0, 2000, columns, np.random.default_rng(3))
    assert sorted(frame["m"].unique()) == list(range(12))
    totals = frame.groupby(["u", "t"])["y"].sum().reset_index()
    reference = totals[totals["t"] == 0]["y"]
    included = totals[totals["t"] == 1]["y"]
    assert len(reference) == 80 and len(included) == 2000
    # σ is the SD of an individual's total over the follow-up; the included are 12 000 lower.
    assert included.std() == pytest.approx(40000, rel=0.05)
    level = sum(3000 - 30 * m for m in range(12))
    assert included.mean() == pytest.approx(level - 12000, abs=3 * 40000 / np.sqrt(2000))


def test_historical_reference_payer_risk_is_alpha_and_large_effects_pay():
    contract = contract_read(SAVING)
    plan = design_spec_validate(REFERENCE)
    _, risk = contract_payment_risk(
        contract,
        "costs",
        plan,
        facts={"invested_sek": 1_000_000},
        effects=[0.0],
        reps=500,
        seed=20261202,
    )
    bonus = _rows(risk, "bonus")
    # One-sided 2.5 %; 500 draws: SE 0.007, so ± 0.021 is three of them.
    assert bonus[0.0]["probability_triggered"] == pytest.approx(0.025, abs=0.021)
    assert risk.payer_risk["bonus"] == bonus[0.0]["probability_triggered"]
    assert risk.failures == 0
    _, large = contract_payment_risk(
        contract,
        "costs",
        plan,
        facts={"invested_sek": 1_000_000},
        effects=[60000.0],
        reps=40,
        seed=2,
    )
    paid = _rows(large, "bonus")[60000.0]
    assert paid["probability_triggered"] > 0.97
    # The estimate is the contract's cumulative saving: 40 individuals × 60 000 each.
    assert paid["estimate_mean"] == pytest.approx(40 * 60000, rel=0.05)


def test_trend_adjusted_payer_risk_is_alpha_and_large_effects_pay():
    contract = contract_read(SICK_LEAVE)
    plan = design_spec_validate(EMPLOYEES)
    _, risk = contract_payment_risk(
        contract, "sick_leave", plan, effects=[0.0], reps=250, seed=7, facts={}
    )
    bonus = _rows(risk, "bonus")
    # 250 draws: SE 0.0099 at 2.5 %.
    assert bonus[0.0]["probability_triggered"] == pytest.approx(0.025, abs=0.03)
    # The trend (5 % more expected days) is taken out by the contract's own formula.
    assert abs(bonus[0.0]["estimate_mean"]) < 3 * bonus[0.0]["estimate_sd"] / np.sqrt(250)
    _, large = contract_payment_risk(
        contract, "sick_leave", plan, effects=[0.4], reps=20, seed=8, facts={}
    )
    paid = _rows(large, "bonus")[0.4]
    assert paid["probability_triggered"] == 1.0
    # 0.4 days × 12 months × 40 employees, in saved days.
    assert paid["estimate_mean"] == pytest.approx(0.4 * 12 * 40, rel=0.1)


def test_the_simulated_payment_is_the_settlements_on_the_same_drawn_data():
    """Redraw the same frames from the seed, estimate them with the core estimator
    directly and settle the contract on the figures: the same amounts."""
    contract = contract_read(SAVING)
    plan = design_spec_validate(REFERENCE)
    seed, reps, effect = 11, 12, 15000.0
    _, risk = contract_payment_risk(
        contract,
        "costs",
        plan,
        facts={"invested_sek": 1_000_000},
        effects=[effect],
        reps=reps,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    columns = {"outcome": "amount", "treatment": "treated", "unit": "participant", "time": "m"}
    spec = plan.model_copy(update={"months": 12})  # the contract's horizon 11: months 0–11
    amounts: dict[str, list[Decimal]] = {"repayment": [], "bonus": []}
    for _ in range(reps):
        frame = draw_frame(spec, effect, 40, columns, rng)
        rows = {flag: frame[frame["treated"] == flag] for flag in (0, 1)}
        panels = {
            flag: CostPanel.from_arrays(part["participant"], part["m"], part["amount"])
            for flag, part in rows.items()
        }
        estimate = historical_reference(panels[0], panels[1], ci_method="analytic")
        facts = {
            "invested_sek": 1_000_000,
            "saving_sek": Decimal(repr(estimate.extras["cumulative_saving"])).quantize(
                Decimal("0.01")
            ),
            "saving_shown": estimate.ci_low >= 0,
        }
        run = contract_settle(contract, facts=Facts(values=facts))
        for line in run.settlement.payments:
            amounts[line.id].append(line.amount)
    for payment, paid in amounts.items():
        row = _rows(risk, payment)[effect]
        mean = (sum(paid, Decimal(0)) / len(paid)).quantize(Decimal("0.01"))
        assert row["mean_sek"] == str(mean)
        assert row["probability_triggered"] == sum(1 for a in paid if a > 0) / len(paid)


def test_trend_index_is_one_then_the_ratio():
    plan = design_spec_validate(EMPLOYEES)
    index = trend_index_frame(plan, {"period": "p", "time": "t", "value": "v"})
    assert len(index) == 24
    assert set(index[index["p"] == "contract"]["v"]) == {1.05}
    assert set(index[index["p"] == "reference"]["v"]) == {1.0}


def test_norrkoping_costs_evaluation_is_simulated_over_its_horizon():
    """The real contract's bootstrap evaluation (months 0–23, price index left out)."""
    contract = contract_read(ROOT / "examples/contracts/norrkoping-placed-children.yaml")
    plan = design_spec_validate({**REFERENCE, "effect": 300000, "sd": 600000})
    _, risk = contract_payment_risk(
        contract,
        "costs",
        plan,
        facts={
            "invested_sek": 10_000_000,
            "school_results_met": False,
            "school_did_met": False,
            "delivered_as_agreed": True,
        },
        effects=[0.0],
        reps=10,
        seed=1,
    )
    repayment = _rows(risk, "repayment")[0.0]
    assert repayment["draws"] == 10 and risk.failures == 0
    # The guarantee (40 % of the investment) is paid whatever the saving.
    assert Decimal(repayment["p05_sek"]) >= Decimal("4000000.00")
