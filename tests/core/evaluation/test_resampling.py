"""Bootstrap and permutation inference: definitions, calibration, reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from utfall.core.evaluation import did, difference_in_means, ipw, matching, pre_post, twfe
from utfall.core.evaluation.inference import Inference, permutation_linear
from utfall.errors import SpecInvalid


def _trial(rng: np.random.Generator, n: int = 30, effect: float = 0.0) -> pd.DataFrame:
    d = np.repeat([0, 1], n)
    y = rng.normal(size=2 * n) + effect * d + 0.5 * d * rng.normal(size=2 * n)
    return pd.DataFrame({"y": y, "d": d})


def test_permutation_p_value_has_the_plus_one_correction():
    frame = _trial(np.random.default_rng(1), effect=10.0)
    estimate = difference_in_means(
        frame, outcome="y", treatment="d", inference=Inference("permutation", reps=199, seed=3)
    )
    # No re-drawn assignment comes near a 10-SD effect: p = (1 + 0) / (1 + 199).
    assert estimate.p_value == pytest.approx(1 / 200)
    assert estimate.ci_method == "permutation"


def test_permutation_p_value_counts_replicates_at_least_as_extreme():
    draws = iter([(0.5, 0.0), (-2.0, 0.0), (1.0, 0.0), (3.0, 0.0)])
    result = permutation_linear(
        lambda rng: next(draws), 1.0, Inference("permutation", level=0.5, reps=4, seed=0), 1.0
    )
    # |T*| >= |T| = 1 for -2, 1 and 3: p = (1 + 3) / (1 + 4).
    assert result.p_value == pytest.approx(4 / 5)


def test_permutation_test_is_calibrated_under_the_null():
    rng = np.random.default_rng(7)
    p_values = [
        difference_in_means(
            _trial(rng, n=15),
            outcome="y",
            treatment="d",
            inference=Inference("permutation", reps=99, seed=int(rng.integers(1 << 31))),
        ).p_value
        for _ in range(200)
    ]
    rejected = np.mean(np.array(p_values) <= 0.05)
    assert 0.01 <= rejected <= 0.10


def test_permutation_interval_inverts_the_test_and_is_close_to_the_analytic_one():
    frame = _trial(np.random.default_rng(2), n=200, effect=0.4)
    analytic = difference_in_means(frame, outcome="y", treatment="d")
    permuted = difference_in_means(
        frame, outcome="y", treatment="d", inference=Inference("permutation", reps=999, seed=5)
    )
    assert permuted.ci_low < permuted.estimate < permuted.ci_high
    width, analytic_width = permuted.ci_high - permuted.ci_low, analytic.ci_high - analytic.ci_low
    assert width == pytest.approx(analytic_width, rel=0.15)
    # Shifting the treated outcomes by the lower bound makes the test just not reject.
    shifted = frame.assign(y=frame.y - permuted.ci_low * frame.d)
    at_bound = difference_in_means(
        shifted, outcome="y", treatment="d", inference=Inference("permutation", reps=999, seed=5)
    )
    assert at_bound.p_value > 0.05
    beyond = frame.assign(y=frame.y - (permuted.ci_low - 0.05) * frame.d)
    outside = difference_in_means(
        beyond, outcome="y", treatment="d", inference=Inference("permutation", reps=999, seed=5)
    )
    assert outside.p_value <= 0.05


@pytest.mark.parametrize("interval", ["percentile", "bca"])
def test_bootstrap_interval_covers_a_known_effect(interval):
    rng = np.random.default_rng(11)
    covered = 0
    sims = 60
    for _ in range(sims):
        estimate = difference_in_means(
            _trial(rng, n=40, effect=1.0),
            outcome="y",
            treatment="d",
            inference=Inference(
                "bootstrap", reps=199, seed=int(rng.integers(1 << 31)), interval=interval
            ),
        )
        covered += estimate.ci_low <= 1.0 <= estimate.ci_high
    assert covered / sims >= 0.85


def test_bootstrap_standard_error_is_close_to_the_analytic_one():
    frame = _trial(np.random.default_rng(4), n=150, effect=0.5)
    analytic = difference_in_means(frame, outcome="y", treatment="d")
    boot = difference_in_means(
        frame, outcome="y", treatment="d", inference=Inference("bootstrap", reps=999, seed=1)
    )
    assert boot.std_error == pytest.approx(analytic.std_error, rel=0.1)
    assert boot.extras["analytic_std_error"] == pytest.approx(analytic.std_error)
    assert boot.ci_method == "bootstrap-bca"


def test_cluster_bootstrap_resamples_whole_units():
    """With a strong unit effect the unit bootstrap SE tracks CR1, not the iid SE."""
    rng = np.random.default_rng(6)
    units = np.repeat(np.arange(40), 10)
    d = (units % 2).astype(float)
    y = 3 * rng.normal(size=40)[units] + d + rng.normal(size=400)
    frame = pd.DataFrame({"y": y, "d": d, "school": units})
    clustered = difference_in_means(frame, outcome="y", treatment="d", cluster="school")
    naive = difference_in_means(frame, outcome="y", treatment="d")
    boot = difference_in_means(
        frame,
        outcome="y",
        treatment="d",
        cluster="school",
        inference=Inference("bootstrap", reps=499, seed=2, interval="percentile"),
    )
    assert boot.std_error == pytest.approx(clustered.std_error, rel=0.2)
    assert boot.std_error > 2 * naive.std_error


def test_ipw_mestimation_standard_error_agrees_with_the_bootstrap():
    rng = np.random.default_rng(13)
    x = rng.normal(size=800)
    d = (rng.random(800) < 1 / (1 + np.exp(-x))).astype(int)
    frame = pd.DataFrame({"y": 2 * x + d * (1 + x) + rng.normal(size=800), "d": d, "x": x})
    for estimand in ("ATE", "ATT"):
        analytic = ipw(frame, outcome="y", treatment="d", covariates=["x"], estimand=estimand)
        boot = ipw(
            frame,
            outcome="y",
            treatment="d",
            covariates=["x"],
            estimand=estimand,
            inference=Inference("bootstrap", reps=300, seed=9, interval="percentile"),
        )
        assert analytic.std_error == pytest.approx(boot.std_error, rel=0.2)


def test_same_seed_same_numbers_and_a_drawn_seed_is_recorded():
    frame = _trial(np.random.default_rng(3), effect=0.3)
    first = difference_in_means(
        frame, outcome="y", treatment="d", inference=Inference("bootstrap", reps=199, seed=42)
    )
    again = difference_in_means(
        frame, outcome="y", treatment="d", inference=Inference("bootstrap", reps=199, seed=42)
    )
    other = difference_in_means(
        frame, outcome="y", treatment="d", inference=Inference("bootstrap", reps=199, seed=43)
    )
    assert first.as_dict() == again.as_dict()
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    drawn = difference_in_means(
        frame, outcome="y", treatment="d", inference=Inference("permutation", reps=199)
    )
    assert isinstance(drawn.seed, int)
    replay = difference_in_means(
        frame,
        outcome="y",
        treatment="d",
        inference=Inference("permutation", reps=199, seed=drawn.seed),
    )
    assert replay.p_value == drawn.p_value and replay.ci_low == drawn.ci_low


def test_panel_permutation_swaps_whole_units():
    rng = np.random.default_rng(21)
    units = np.repeat(np.arange(24), 4)
    t = np.tile(np.arange(4), 24)
    treated = units < 8
    D = (treated & (t >= 2)).astype(int)
    y = rng.normal(size=24)[units] + 0.3 * t + 2.0 * D + rng.normal(size=96)
    frame = pd.DataFrame(
        {
            "y": y,
            "D": D,
            "g": treated.astype(int),
            "post": (t >= 2).astype(int),
            "id": units,
            "t": t,
        }
    )
    by_twfe = twfe(
        frame,
        outcome="y",
        treatment="D",
        unit="id",
        time="t",
        inference=Inference("permutation", reps=199, seed=1),
    )
    by_did = did(
        frame,
        outcome="y",
        treatment="g",
        post="post",
        unit="id",
        inference=Inference("permutation", reps=199, seed=1),
    )
    assert by_twfe.p_value == pytest.approx(1 / 200)
    assert by_did.ci_low < 2.0 < by_did.ci_high
    assert by_twfe.ci_low < by_twfe.estimate < by_twfe.ci_high


def test_pre_post_sign_flip_permutation():
    rng = np.random.default_rng(5)
    rows = [
        {"id": i, "wave": w, "score": rng.normal() + 0.0 * w} for i in range(30) for w in (1, 2)
    ]
    estimate = pre_post(
        pd.DataFrame(rows),
        outcome="score",
        unit="id",
        time="wave",
        inference=Inference("permutation", reps=499, seed=4),
    )
    assert 0.05 < estimate.p_value <= 1.0
    assert estimate.ci_low < 0 < estimate.ci_high


def test_inference_that_does_not_fit_the_method_is_refused():
    frame = _trial(np.random.default_rng(1)).assign(x=lambda f: np.arange(len(f)) % 3)
    with pytest.raises(SpecInvalid, match="invalid for nearest-neighbour matching"):
        matching(
            frame,
            outcome="y",
            treatment="d",
            covariates=["x"],
            inference=Inference("bootstrap", reps=99),
        )
    with pytest.raises(SpecInvalid, match="ignores the covariates"):
        ipw(
            frame,
            outcome="y",
            treatment="d",
            covariates=["x"],
            inference=Inference("permutation", reps=99),
        )
    panel = frame.assign(post=np.arange(len(frame)) % 2)
    with pytest.raises(SpecInvalid, match="needs a unit column"):
        did(
            panel,
            outcome="y",
            treatment="d",
            post="post",
            inference=Inference("permutation", reps=99),
        )


def test_too_few_replications_for_the_level_are_refused():
    with pytest.raises(SpecInvalid, match="at least 20"):
        Inference("bootstrap", level=0.95, reps=10)
    with pytest.raises(SpecInvalid, match=r"ci\.level"):
        Inference(level=1.5)
