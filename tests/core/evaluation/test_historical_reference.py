"""The historical-reference saving estimator (Norrköping, DESIGN.md 2.1)."""

from __future__ import annotations

import numpy as np
import pytest

from utfall.core.evaluation.historical_reference import (
    CostPanel,
    bootstrap_counts,
    historical_reference,
)
from utfall.errors import EvaluationError, SpecInvalid


def cells(rows):
    """A panel from (unit, month, cost[, price]) tuples."""
    units, months, costs, prices = [], [], [], []
    for row in rows:
        units.append(row[0])
        months.append(row[1])
        costs.append(row[2])
        prices.append(row[3] if len(row) > 3 else 1.0)
    return units, months, costs, prices


def by_hand_panels(with_prices=False):
    # Reference: r(0) = (100 + 80) / 2 = 90, r(1) = (60 + 40) / 2 = 50.
    reference = cells(
        [("r1", 0, 100, 1.0), ("r1", 1, 60, 1.0), ("r2", 0, 80, 1.0), ("r2", 1, 40, 1.0)]
    )
    # Included: month 0 costs 200 in total (2 children), month 1 costs 50 (one child left).
    included = cells([("a", 0, 120, 1.1), ("b", 0, 80, 1.1), ("a", 1, 50, 1.2)])
    ref = CostPanel.from_arrays(*reference[:3], price=reference[3] if with_prices else None)
    obs = CostPanel.from_arrays(*included[:3], price=included[3] if with_prices else None)
    return ref, obs


def test_saving_by_hand():
    ref, obs = by_hand_panels()
    e = historical_reference(ref, obs, ci_method="analytic")
    assert e.extras["reference_cost_by_month"] == pytest.approx([90, 50])
    assert e.extras["expected_by_month"] == pytest.approx([180, 50])
    assert e.extras["observed_by_month"] == pytest.approx([200, 50])
    assert e.extras["saving_by_month"] == pytest.approx([-20, 0])
    assert e.extras["cumulative_by_month"] == pytest.approx([-20, -20])
    assert e.estimate == pytest.approx(-20)
    assert e.extras["break_even_month"] is None
    assert e.extras["included_by_month"] == [2, 1]
    assert (e.n_treated, e.n_control) == (2, 2)


def test_price_index_reprices_the_reference_to_each_month():
    ref, obs = by_hand_panels(with_prices=True)
    e = historical_reference(ref, obs, ci_method="analytic")
    # Expected nominal cost: r(0)·(1.1 + 1.1) = 198, r(1)·1.2 = 60.
    assert e.extras["expected_by_month"] == pytest.approx([198, 60])
    assert e.estimate == pytest.approx((198 - 200) + (60 - 50))
    assert e.extras["price_indexed"] is True


def test_linear_trend_is_the_least_squares_line():
    rng = np.random.default_rng(1)
    units = np.repeat(np.arange(40), 10)
    months = np.tile(np.arange(10), 40)
    costs = 1000 - 30 * months + rng.normal(0, 50, size=400)
    keep = rng.random(400) > 0.2  # unbalanced
    ref = CostPanel.from_arrays(units[keep], months[keep], costs[keep])
    obs = CostPanel.from_arrays(np.repeat(["x"], 10), np.arange(10), np.full(10, 700.0))
    e = historical_reference(ref, obs, trend="linear", ci_method="analytic")
    slope, intercept = np.polyfit(months[keep], costs[keep], 1)
    assert e.extras["trend_slope"] == pytest.approx(slope)
    assert e.extras["trend_intercept"] == pytest.approx(intercept)
    assert e.extras["reference_cost_by_month"] == pytest.approx(intercept + slope * np.arange(10))


def test_break_even_and_first_saving_month():
    reference = CostPanel.from_arrays(["r"] * 6 + ["s"] * 6, list(range(6)) * 2, [100.0] * 12)
    # Saving per month: -30, -20, +10, +20, +30, +40 → cumulative -30 -50 -40 -20 +10 +50.
    included = CostPanel.from_arrays(
        ["a"] * 6, list(range(6)), [130.0, 120.0, 90.0, 80.0, 70.0, 60.0]
    )
    e = historical_reference(reference, included, ci_method="analytic")
    assert e.extras["saving_by_month"] == pytest.approx([-30, -20, 10, 20, 30, 40])
    assert e.extras["first_saving_month"] == 2
    assert e.extras["break_even_month"] == 4
    assert e.extras["cumulative_saving"] == pytest.approx(50)
    short = historical_reference(reference, included, horizon=3, ci_method="analytic")
    assert short.estimate == pytest.approx(-20) and short.extras["break_even_month"] is None
    later = historical_reference(reference, included, start_month=2, ci_method="analytic")
    assert later.extras["months"] == [2, 3, 4, 5]
    assert later.extras["break_even_month"] == 2


def simulate(rng, n_ref=200, n_obs=60, months=24, saving=300.0):
    """A reference cohort and an included group whose costs are ``saving`` lower per month."""

    def cohort(n, shift, prefix):
        level = rng.gamma(4.0, 0.25, size=n)  # individual frailty, mean 1
        m = np.arange(months)
        mean = level[:, None] * (8000 - 150 * m)[None, :] - shift
        cost = rng.gamma(2.0, np.maximum(mean, 1.0) / 2.0)
        units = np.repeat([f"{prefix}{i}" for i in range(n)], months)
        return CostPanel.from_arrays(units, np.tile(m, n), cost.reshape(-1))

    return cohort(n_ref, 0.0, "r"), cohort(n_obs, saving, "i"), saving * n_obs * months


def test_bootstrap_is_seeded_and_matches_the_delta_method():
    rng = np.random.default_rng(2)
    ref, obs, _ = simulate(rng)
    a = historical_reference(ref, obs, reps=999, seed=4)
    b = historical_reference(ref, obs, reps=999, seed=4)
    analytic = historical_reference(ref, obs, ci_method="analytic")
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert a.seed == 4 and a.ci_method == "bootstrap-percentile"
    assert a.std_error == pytest.approx(analytic.std_error, rel=0.12)
    assert a.estimate == analytic.estimate
    low, high = (np.inf if v is None else v for v in a.extras["break_even_month_ci"])
    point = a.extras["break_even_month"]
    assert low <= (np.inf if point is None else point) <= high


@pytest.mark.parametrize("trend", ["empirical", "linear"])
def test_analytic_interval_covers_the_planted_saving(trend):
    rng = np.random.default_rng(3)
    covered, runs = 0, 150
    for _ in range(runs):
        ref, obs, truth = simulate(rng, n_ref=120, n_obs=40, months=12)
        e = historical_reference(ref, obs, trend=trend, ci_method="analytic")
        covered += e.ci_low <= truth <= e.ci_high
    assert 0.89 <= covered / runs <= 0.99


def test_bootstrap_counts_draw_each_unit_n_times_per_replicate():
    counts = bootstrap_counts(np.random.default_rng(5), 7, 1000)
    assert counts.shape == (1000, 7)
    assert (counts.sum(axis=1) == 7).all()
    assert counts.mean() == pytest.approx(1.0, abs=0.05)


def test_subgroups_matched_and_pooled():
    rng = np.random.default_rng(6)
    ref, obs, _ = simulate(rng, n_ref=100, n_obs=40, months=6)

    def parity(units):
        return np.array(["even" if int(str(u)[1:]) % 2 == 0 else "odd" for u in units])

    ref_groups, obs_groups = parity(ref.unit), parity(obs.unit)
    ref_g = CostPanel.from_arrays(ref.unit, ref.month, ref.cost, group=ref_groups)
    obs_g = CostPanel.from_arrays(obs.unit, obs.month, obs.cost, group=obs_groups)
    matched = historical_reference(ref_g, obs_g, ci_method="analytic")
    pooled = historical_reference(ref_g, obs_g, ci_method="analytic", subgroup_reference="pooled")
    assert [s.label for s in matched.subgroups] == ["even", "odd"]
    # Pooled subgroups share the reference curve, so their savings add up to the total.
    assert sum(s.estimate for s in pooled.subgroups) == pytest.approx(pooled.estimate)
    # Matched: each level against its own reference individuals.
    even = historical_reference(
        ref.subset(ref_groups == "even"), obs.subset(obs_groups == "even"), ci_method="analytic"
    )
    assert matched.subgroups[0].estimate == pytest.approx(even.estimate)


def test_errors_name_the_problem():
    reference = CostPanel.from_arrays(["r"] * 2, [0, 1], [10.0, 10.0])
    included = CostPanel.from_arrays(["a"] * 3, [0, 1, 2], [5.0, 5.0, 5.0])
    with pytest.raises(EvaluationError, match="month"):
        historical_reference(reference, included, ci_method="analytic")
    # A linear trend extrapolates to month 2.
    e = historical_reference(reference, included, trend="linear", ci_method="analytic")
    assert e.extras["reference_cost_by_month"] == pytest.approx([10, 10, 10])
    with pytest.raises(SpecInvalid, match="permutation"):
        historical_reference(reference, included, ci_method="permutation")
    with pytest.raises(SpecInvalid, match="trend"):
        historical_reference(reference, included, trend="quadratic")
    with pytest.raises(EvaluationError, match="price"):
        CostPanel.from_arrays(["a"], [0], [1.0], price=[0.0])
    with pytest.raises(EvaluationError, match="whole"):
        CostPanel.from_arrays(["a"], [0.5], [1.0])
    with pytest.raises(SpecInvalid, match="matched"):
        historical_reference(
            reference,
            CostPanel.from_arrays(["a"], [0], [1.0], group=["x"]),
            ci_method="analytic",
        )
