"""Payment risk by simulating the evaluation: the draws, their power and reproducibility."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from utfall.core.design import design, design_spec_validate, draw_frame, payment_risk
from utfall.core.evaluation import did, difference_in_means
from utfall.errors import SpecInvalid

COLUMNS = {"outcome": "y", "treatment": "treated", "post": "post", "unit": "unit"}


def _pay_if_significant(estimate):
    # A contract paying 1,000 SEK when the interval's lower end is above zero.
    return {"bonus": Decimal("1000.00") if estimate.ci_low > 0 else Decimal("0.00")}


def test_did_draws_have_the_planned_power():
    plan = design_spec_validate({"method": "did", "effect": 5, "sd": 10, "autocorrelation": 0.5})
    figures = design(plan)
    risk = payment_risk(
        plan,
        n_per_group=figures.n_per_group,
        columns=COLUMNS,
        evaluate=lambda frame: did(
            frame, outcome="y", treatment="treated", post="post", unit="unit"
        ),
        pay=_pay_if_significant,
        effects=[0.0, 5.0],
        reps=300,
        seed=7,
        design_effect=5.0,
    )
    # One-sided payment rule at the two-sided 5 % level: at no effect paid ≈ 2.5 % of the
    # time; at the design effect ≈ the planned 80 % (300 draws: ± 7 points at 3 SE).
    assert risk.payer_risk["bonus"] < 0.07
    assert risk.investor_risk["bonus"] == pytest.approx(0.20, abs=0.07)
    bonus = next(r for r in risk.rows if r["effect"] == 5.0)
    assert bonus["estimate_mean"] == pytest.approx(5.0, abs=0.5)
    assert bonus["p05_sek"] == "0.00" and bonus["p95_sek"] == "1000.00"


def test_same_seed_same_figures():
    plan = design_spec_validate({"method": "difference_in_means", "effect": 1, "sd": 2})

    def run(seed):
        return payment_risk(
            plan,
            n_per_group=40,
            columns=COLUMNS,
            evaluate=lambda frame: difference_in_means(frame, outcome="y", treatment="treated"),
            pay=_pay_if_significant,
            effects=[0.0, 1.0],
            reps=20,
            seed=seed,
        ).as_dict()

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_clustered_draws_keep_arms_apart():
    plan = design_spec_validate(
        {"method": "difference_in_means", "effect": 1, "sd": 2, "cluster_size": 10, "icc": 0.2}
    )
    frame = draw_frame(plan, 1.0, 40, COLUMNS, np.random.default_rng(1))
    assert frame.groupby("unit")["treated"].nunique().max() == 1
    assert frame["unit"].nunique() == 8


def test_proportion_draws_are_zero_one():
    plan = design_spec_validate({"method": "proportions", "p_control": 0.3, "p_treated": 0.4})
    frame = draw_frame(plan, 0.1, 50, COLUMNS, np.random.default_rng(1))
    assert set(frame["y"].unique()) <= {0.0, 1.0}
    with pytest.raises(SpecInvalid, match="not a proportion"):
        draw_frame(plan, 0.8, 50, COLUMNS, np.random.default_rng(1))


def test_data_methods_are_simulated_too():
    """Since decision 0723 the historical reference and the trend-adjusted saving are
    drawn as well (tests in test_payment_risk_reference_trend.py)."""
    plan = design_spec_validate({"method": "historical_reference", "effect": 1, "sd": 2})
    columns = {**COLUMNS, "time": "month"}
    frame = draw_frame(plan, 1.0, 10, columns, np.random.default_rng(1))
    assert set(frame.columns) == {"y", "treated", "unit", "month"}


def test_twfe_draws_have_the_planned_power_and_equal_the_did_draws():
    """twfe on the drawn two-period panel: the planned power at the design effect, and on
    a balanced two-period panel its estimate is the DiD of the same draw."""
    from utfall.core.evaluation import twfe

    plan = design_spec_validate({"method": "twfe", "effect": 5, "sd": 10, "autocorrelation": 0.5})
    figures = design(plan)
    columns = {"outcome": "y", "treatment": "d", "time": "period", "unit": "unit"}

    def run(frame):
        return twfe(frame, outcome="y", treatment="d", unit="unit", time="period")

    risk = payment_risk(
        plan,
        n_per_group=figures.n_per_group,
        columns=columns,
        evaluate=run,
        pay=_pay_if_significant,
        effects=[0.0, 5.0],
        reps=200,
        seed=7,
        design_effect=5.0,
    )
    assert risk.payer_risk["bonus"] < 0.08
    assert risk.investor_risk["bonus"] == pytest.approx(0.20, abs=0.09)
    frame = draw_frame(plan, 5.0, 30, columns, np.random.default_rng(3))
    as_did = frame.assign(treated=frame.groupby("unit")["d"].transform("max"))
    expected = did(as_did, outcome="y", treatment="treated", post="period", unit="unit")
    assert run(frame).estimate == pytest.approx(expected.estimate, abs=1e-9)


def test_twfe_payment_risk_refuses_clusters():
    plan = design_spec_validate(
        {"method": "twfe", "effect": 5, "sd": 10, "cluster_size": 5, "icc": 0.1}
    )
    columns = {"outcome": "y", "treatment": "d", "time": "period", "unit": "unit"}
    with pytest.raises(SpecInvalid, match="plan clusters of units as did"):
        draw_frame(plan, 5.0, 30, columns, np.random.default_rng(1))
