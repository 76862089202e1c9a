"""The trend-adjusted sick-leave estimator (DESIGN.md 2.2) on hand-made numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from utfall.core.evaluation.trend_adjusted import (
    SickLeaveMonths,
    bootstrap_means,
    score_weights,
    trend_adjusted,
)
from utfall.errors import EvaluationError, SpecInvalid


def panel(rng, employees=400, months=6, effect=0.1):
    """Employee × month days for both periods, the SLT index and the monthly totals."""
    propensity = rng.gamma(2.0, 0.5, size=employees)
    slt_ref = rng.uniform(90, 110, size=months)
    slt_con = slt_ref * rng.uniform(0.9, 1.3, size=months)
    ref = rng.poisson(propensity[:, None] * slt_ref[None, :] / 100)
    con = rng.poisson(propensity[:, None] * slt_con[None, :] / 100 * (1 - effect))
    return ref, con, slt_ref, slt_con


def months_of(ref, con, slt_ref, slt_con):
    n = ref.shape[0]
    return SickLeaveMonths.from_arrays(
        month=np.arange(1, ref.shape[1] + 1),
        reference_days=ref.sum(axis=0),
        reference_headcount=np.full(ref.shape[1], n),
        contract_days=con.sum(axis=0),
        contract_headcount=np.full(ref.shape[1], n),
        reference_index=slt_ref,
        contract_index=slt_con,
    )


def scores_of(ref, con, months):
    reference_weight, contract_weight = score_weights(months)
    return ref @ reference_weight - con @ contract_weight


def test_the_contract_formula_by_hand():
    # Two employees, two matching months.
    ref = np.array([[2, 0], [1, 3]])
    con = np.array([[1, 0], [0, 1]])
    slt_ref = np.array([100.0, 80.0])
    slt_con = np.array([110.0, 100.0])
    months = months_of(ref, con, slt_ref, slt_con)
    # S_e per employee = (3/2)·1.1 + (3/2)·1.25 = 3.525; S_n = 1/2 + 1/2 = 1.
    e = trend_adjusted(months, ci_method=None, day_value=1000.0)
    assert e.extras["expected_days_per_employee"] == pytest.approx(3.525)
    assert e.extras["observed_days_per_employee"] == pytest.approx(1.0)
    # max((S_e − S_n) · value · employees, 0) = 2.525 · 1000 · 2
    assert e.estimate == pytest.approx(5050.0)
    assert e.extras["saving_sek"] == pytest.approx(5050.0)
    assert e.extras["saving_days"] == pytest.approx(5.05)
    per = trend_adjusted(months, ci_method=None, day_value=1000.0, scale="per_employee")
    assert per.estimate == pytest.approx(2525.0)
    stated = trend_adjusted(months, ci_method=None, day_value=1000.0, employees=10_000)
    assert stated.estimate == pytest.approx(2.525 * 1000 * 10_000)
    days = trend_adjusted(months, ci_method=None)
    assert days.estimate == pytest.approx(5.05) and days.extras["saving_sek"] is None
    assert e.extras["monthly"]["trend_weight"] == pytest.approx([1.1, 1.25])


def test_saving_is_floored_at_zero_unless_told_otherwise():
    ref = np.array([[1, 1], [0, 1], [2, 0]])
    con = np.array([[3, 2], [2, 2], [2, 1]])
    months = months_of(ref, con, np.array([100.0, 100.0]), np.array([100.0, 100.0]))
    scores = scores_of(ref, con, months)
    floored = trend_adjusted(months, scores=scores, ci_method="analytic", day_value=500.0)
    assert floored.estimate == 0.0
    assert floored.ci_low == 0.0 and floored.ci_high == 0.0
    raw = trend_adjusted(months, scores=scores, ci_method="analytic", day_value=500.0, floor=False)
    assert raw.estimate == pytest.approx((5 / 3 - 4) * 500 * 3)
    assert raw.ci_low < raw.estimate < raw.ci_high < 0
    assert raw.std_error == floored.std_error


def test_headcounts_per_month_handle_joiners_and_leavers():
    months = SickLeaveMonths.from_arrays(
        month=[1, 2],
        reference_days=[10.0, 20.0],
        reference_headcount=[10, 20],
        contract_days=[5.0, 5.0],
        contract_headcount=[10, 5],
        reference_index=[100.0, 100.0],
        contract_index=[100.0, 100.0],
    )
    e = trend_adjusted(months, ci_method=None, scale="per_employee")
    assert e.extras["expected_days_per_employee"] == pytest.approx(1.0 + 1.0)
    assert e.extras["observed_days_per_employee"] == pytest.approx(0.5 + 1.0)
    assert e.extras["employees"] == pytest.approx(7.5)  # mean contract head count


def test_scores_must_add_up_to_the_monthly_totals():
    rng = np.random.default_rng(1)
    ref, con, slt_ref, slt_con = panel(rng, employees=50)
    months = months_of(ref, con, slt_ref, slt_con)
    scores = scores_of(ref, con, months)
    assert scores.sum() == pytest.approx(
        months.expected_per_employee.sum() - months.observed_per_employee.sum()
    )
    with pytest.raises(EvaluationError, match="do not add up"):
        trend_adjusted(months, scores=scores[:-1], ci_method="analytic")


def test_analytic_interval_is_the_normal_interval_of_the_mean_difference():
    rng = np.random.default_rng(2)
    ref, con, slt_ref, slt_con = panel(rng)
    months = months_of(ref, con, slt_ref, slt_con)
    e = trend_adjusted(
        months, scores=scores_of(ref, con, months), ci_method="analytic", scale="per_employee"
    )
    diff = ref @ (slt_con / slt_ref) - con.sum(axis=1)  # per-employee S_e − S_n
    assert e.estimate == pytest.approx(diff.mean())
    assert e.std_error == pytest.approx(stats.sem(diff))
    half = stats.norm.ppf(0.975) * stats.sem(diff)
    assert e.ci_low == pytest.approx(diff.mean() - half)
    assert e.ci_high == pytest.approx(diff.mean() + half)


def test_bootstrap_is_seeded_and_agrees_with_the_analytic_error():
    rng = np.random.default_rng(3)
    ref, con, slt_ref, slt_con = panel(rng, employees=2000)
    months = months_of(ref, con, slt_ref, slt_con)
    scores = scores_of(ref, con, months)
    a = trend_adjusted(months, scores=scores, ci_method="bootstrap", reps=999, seed=5)
    b = trend_adjusted(months, scores=scores, ci_method="bootstrap", reps=999, seed=5)
    c = trend_adjusted(months, scores=scores, ci_method="bootstrap", reps=999, seed=6)
    analytic = trend_adjusted(months, scores=scores, ci_method="analytic")
    assert (a.ci_low, a.ci_high, a.std_error) == (b.ci_low, b.ci_high, b.std_error)
    assert a.ci_low != c.ci_low
    assert a.seed == 5 and a.ci_method == "bootstrap-percentile"
    assert a.std_error == pytest.approx(analytic.std_error, rel=0.1)
    assert a.ci_low < a.estimate < a.ci_high


def test_bootstrap_means_in_batches_equal_one_batch(monkeypatch):
    import utfall.core.evaluation.trend_adjusted as module

    values = np.random.default_rng(4).normal(size=500)
    whole = bootstrap_means(values, 200, seed=9)
    monkeypatch.setattr(module, "BATCH_CELLS", 1000)  # two replicates per batch
    batched = bootstrap_means(values, 200, seed=9)
    assert np.array_equal(whole, batched)
    assert whole.std() == pytest.approx(values.std() / math.sqrt(500), rel=0.2)


def test_interval_covers_the_planted_saving():
    """Coverage of the analytic 95 % interval over repeated synthetic workforces."""
    rng = np.random.default_rng(5)
    covered = 0
    runs = 200
    for _ in range(runs):
        employees, n_months, effect = 300, 6, 0.15
        propensity = rng.gamma(2.0, 0.5, size=employees)
        slt_ref = rng.uniform(90, 110, size=n_months)
        slt_con = slt_ref * rng.uniform(0.9, 1.3, size=n_months)
        ref = rng.poisson(propensity[:, None] * slt_ref / 100)
        con = rng.poisson(propensity[:, None] * slt_con / 100 * (1 - effect))
        truth = propensity.mean() * (slt_con / 100 * effect).sum()  # days per employee
        months = months_of(ref, con, slt_ref, slt_con)
        e = trend_adjusted(
            months,
            scores=scores_of(ref, con, months),
            ci_method="analytic",
            scale="per_employee",
        )
        covered += e.ci_low <= truth <= e.ci_high
    assert 0.90 <= covered / runs <= 0.99


def test_subgroups_split_the_total():
    rng = np.random.default_rng(6)
    ref, con, slt_ref, slt_con = panel(rng, employees=300)
    months = months_of(ref, con, slt_ref, slt_con)
    scores = scores_of(ref, con, months)
    groups = np.where(np.arange(300) < 100, "a", "b")
    e = trend_adjusted(
        months, scores=scores, groups=groups, ci_method="analytic", floor=False, day_value=10.0
    )
    assert [s.label for s in e.subgroups] == ["a", "b"]
    assert sum(s.estimate for s in e.subgroups) == pytest.approx(e.estimate)
    diff = ref @ (slt_con / slt_ref) - con.sum(axis=1)
    a = e.subgroups[0]
    assert a.estimate == pytest.approx(diff[:100].sum() * 10.0)
    assert a.std_error == pytest.approx(stats.sem(diff[:100]) * 100 * 10.0)
    assert a.extras["employees"] == pytest.approx(100)


@settings(max_examples=60, deadline=None)
@given(
    ref=st.lists(st.integers(0, 20), min_size=2, max_size=6),
    con=st.lists(st.integers(0, 20), min_size=2, max_size=6),
    value=st.floats(0, 5000, allow_nan=False),
    ratio=st.floats(0.5, 2.0),
)
def test_floored_saving_is_never_negative_and_scales_with_the_day_value(ref, con, value, ratio):
    k = min(len(ref), len(con))
    months = SickLeaveMonths.from_arrays(
        month=list(range(k)),
        reference_days=ref[:k],
        reference_headcount=[3] * k,
        contract_days=con[:k],
        contract_headcount=[3] * k,
        reference_index=[100.0] * k,
        contract_index=[100.0 * ratio] * k,
    )
    e = trend_adjusted(months, ci_method=None, day_value=value)
    days = trend_adjusted(months, ci_method=None, floor=False)
    assert e.estimate >= 0
    assert e.estimate == pytest.approx(max(days.estimate, 0.0) * value, rel=1e-9, abs=1e-9)


def test_refuses_what_it_cannot_do():
    months = months_of(np.ones((3, 2)), np.ones((3, 2)), np.ones(2) * 100, np.ones(2) * 100)
    with pytest.raises(SpecInvalid, match="permutation"):
        trend_adjusted(months, scores=np.zeros(3), ci_method="permutation")
    with pytest.raises(SpecInvalid, match="scale"):
        trend_adjusted(months, ci_method=None, scale="per_month")
    with pytest.raises(SpecInvalid, match="day_value"):
        trend_adjusted(months, ci_method=None, day_value=-1.0)
    with pytest.raises(EvaluationError, match="per-employee scores"):
        trend_adjusted(months, ci_method="analytic")
    with pytest.raises(EvaluationError, match="no employees in the contract"):
        SickLeaveMonths.from_arrays(
            month=[1, 2],
            reference_days=[1, 1],
            reference_headcount=[1, 1],
            contract_days=[1, 0],
            contract_headcount=[1, 0],
            reference_index=[100, 100],
            contract_index=[100, 100],
        )
