"""Each estimator on small data whose answer can be worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from utfall.core.evaluation import (
    by_subgroup,
    did,
    difference_in_means,
    ipw,
    matching,
    pre_post,
    reliable_change,
    synthetic_control,
    twfe,
)
from utfall.core.evaluation.inference import Inference
from utfall.errors import DataInvalid, SpecInvalid

# --- difference in means -------------------------------------------------------------


def test_difference_in_means_by_hand():
    frame = pd.DataFrame({"y": [1, 2, 3, 4, 5, 6], "d": [0, 0, 0, 1, 1, 1]})
    classical = difference_in_means(frame, outcome="y", treatment="d", se="classical")
    # 5 - 2; both group variances are 1, so the pooled SE is sqrt(1/3 + 1/3).
    assert classical.estimate == 3.0
    assert classical.std_error == pytest.approx(math.sqrt(2 / 3))
    assert classical.extras["df"] == 4
    half = stats.t.ppf(0.975, 4) * math.sqrt(2 / 3)
    assert (classical.ci_low, classical.ci_high) == pytest.approx((3 - half, 3 + half))
    hc2 = difference_in_means(frame, outcome="y", treatment="d")
    # Equal sizes and variances: the unequal-variance SE and Welch df coincide.
    assert hc2.std_error == pytest.approx(math.sqrt(2 / 3))
    assert hc2.extras["df"] == pytest.approx(4)


def test_difference_in_means_hc2_is_welch(nsw):
    treated, control = nsw.loc[nsw.treat == 1, "re78"], nsw.loc[nsw.treat == 0, "re78"]
    welch = stats.ttest_ind(treated, control, equal_var=False)
    estimate = difference_in_means(nsw, outcome="re78", treatment="treat")
    assert estimate.p_value == pytest.approx(welch.pvalue, rel=1e-10)
    assert estimate.estimate / estimate.std_error == pytest.approx(welch.statistic, rel=1e-10)


def test_difference_in_means_cluster_robust_by_formula():
    rng = np.random.default_rng(3)
    clusters = np.repeat(np.arange(12), 5)
    d = (clusters % 2).astype(float)
    y = 1.5 * d + rng.normal(size=12)[clusters] + rng.normal(size=60)
    frame = pd.DataFrame({"y": y, "d": d, "school": clusters})
    estimate = difference_in_means(frame, outcome="y", treatment="d", cluster="school")
    design = np.column_stack([np.ones(60), d])
    beta = np.linalg.solve(design.T @ design, design.T @ y)
    residual = y - design @ beta
    bread = np.linalg.inv(design.T @ design)
    meat = sum(
        np.outer(
            design[clusters == g].T @ residual[clusters == g],
            design[clusters == g].T @ residual[clusters == g],
        )
        for g in range(12)
    )
    cr1 = 12 / 11 * 59 / 58 * bread @ meat @ bread
    assert estimate.estimate == pytest.approx(beta[1])
    assert estimate.std_error == pytest.approx(math.sqrt(cr1[1, 1]))
    assert estimate.extras["df"] == 11
    assert any("12 clusters" in note for note in estimate.notes)


# --- difference-in-differences -------------------------------------------------------


def _two_by_two() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": [1, 3, 4, 6, 2, 4, 9, 11],
            "g": [0, 0, 0, 0, 1, 1, 1, 1],
            "post": [0, 0, 1, 1, 0, 0, 1, 1],
            "id": [1, 2, 1, 2, 3, 4, 3, 4],
        }
    )


def test_did_is_the_difference_of_differences():
    estimate = did(_two_by_two(), outcome="y", treatment="g", post="post", se="classical")
    # (10 - 3) - (5 - 2)
    assert estimate.estimate == pytest.approx(4.0)
    assert estimate.n_obs == 8
    assert estimate.extras["cell_means"]["g=1,post=1"] == 10


def test_did_with_units_equals_twfe_on_a_balanced_two_period_panel():
    rng = np.random.default_rng(5)
    units = np.repeat(np.arange(40), 2)
    period = np.tile([0, 1], 40)
    group = (units < 15).astype(float)
    y = rng.normal(size=40)[units] + 0.5 * period + 2.0 * group * period + rng.normal(size=80)
    frame = pd.DataFrame({"y": y, "g": group, "post": period, "id": units, "D": group * period})
    by_did = did(frame, outcome="y", treatment="g", post="post", unit="id")
    by_twfe = twfe(frame, outcome="y", treatment="D", unit="id", time="post")
    assert by_did.estimate == pytest.approx(by_twfe.estimate, rel=1e-10)
    assert by_did.extras["n_clusters"] == 40
    assert (by_did.n_treated, by_did.n_control) == (15, 25)


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_did_cluster_errors_agree_with_pyfixest():
    pyfixest = pytest.importorskip("pyfixest")
    rng = np.random.default_rng(11)
    units = np.repeat(np.arange(30), 2)
    period = np.tile([0, 1], 30)
    group = (units % 3 == 0).astype(float)
    y = rng.normal(size=30)[units] + period + 1.0 * group * period + rng.normal(size=60)
    frame = pd.DataFrame({"y": y, "g": group, "post": period, "id": units})
    estimate = did(frame, outcome="y", treatment="g", post="post", unit="id")
    fit = pyfixest.feols("y ~ g * post", data=frame, vcov={"CRV1": "id"})
    assert estimate.estimate == pytest.approx(fit.coef()["g:post"], rel=1e-10)
    assert estimate.std_error == pytest.approx(fit.se()["g:post"], rel=1e-8)


def test_twfe_refuses_staggered_adoption_and_says_why():
    rows = []
    for unit, start in [(1, 2), (2, 3), (3, None), (4, None), (5, None), (6, None)]:
        for t in range(1, 5):
            treated = start is not None and t >= start
            rows.append({"id": unit, "t": t, "D": int(treated), "y": float(unit + t + treated)})
    frame = pd.DataFrame(rows)
    with pytest.raises(SpecInvalid) as caught:
        twfe(frame, outcome="y", treatment="D", unit="id", time="t")
    message = str(caught.value)
    assert "Goodman-Bacon" in message and "negative" in message
    assert "allow_staggered: true" in message
    assert "2 (1 units), 3 (1 units)" in message
    estimate = twfe(frame, outcome="y", treatment="D", unit="id", time="t", allow_staggered=True)
    assert estimate.extras["staggered"] is True
    assert any("negative weight" in note for note in estimate.notes)


def test_twfe_refuses_a_treatment_that_switches_off():
    rows = []
    for unit, path in [(1, [0, 1, 0]), (2, [0, 1, 1]), (3, [0, 0, 0])]:
        for t, value in enumerate(path):
            rows.append({"id": unit, "t": t, "D": value, "y": float(unit * t)})
    with pytest.raises(SpecInvalid, match="switches off"):
        twfe(pd.DataFrame(rows), outcome="y", treatment="D", unit="id", time="t")


# --- inverse probability weighting ---------------------------------------------------


def _stratified(seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, 400)
    d = (rng.random(400) < np.where(x == 1, 0.7, 0.3)).astype(int)
    y = 1.0 + 2.0 * x + (1.0 + x) * d + rng.normal(size=400)
    return pd.DataFrame({"y": y, "d": d, "x": x})


def test_ipw_with_a_saturated_score_is_standardisation():
    frame = _stratified()
    cells = frame.groupby(["x", "d"])["y"].mean().unstack()
    effect = cells[1] - cells[0]
    share_all = frame["x"].value_counts(normalize=True).sort_index()
    share_treated = frame.loc[frame.d == 1, "x"].value_counts(normalize=True).sort_index()
    ate = ipw(frame, outcome="y", treatment="d", covariates=["x"])
    att = ipw(frame, outcome="y", treatment="d", covariates=["x"], estimand="ATT")
    assert ate.estimate == pytest.approx(float((effect * share_all).sum()), rel=1e-8)
    assert att.estimate == pytest.approx(float((effect * share_treated).sum()), rel=1e-8)
    assert att.estimand == "ATT"


def test_ipw_trim_leaves_out_extreme_scores():
    rng = np.random.default_rng(4)
    x = rng.normal(size=600)
    d = (rng.random(600) < 1 / (1 + np.exp(-3 * x))).astype(int)
    frame = pd.DataFrame({"y": x + d + rng.normal(size=600), "d": d, "x": x})
    full = ipw(frame, outcome="y", treatment="d", covariates=["x"])
    trimmed = ipw(frame, outcome="y", treatment="d", covariates=["x"], trim=0.05)
    assert trimmed.extras["n_trimmed"] > 0
    assert trimmed.n_obs == full.n_obs - trimmed.extras["n_trimmed"]
    assert trimmed.extras["weight_max"] < full.extras["weight_max"]


# --- matching --------------------------------------------------------------------------


def _tiny_matching() -> pd.DataFrame:
    return pd.DataFrame({"x": [1, 4, 0, 2, 5], "y": [10, 20, 3, 5, 8], "d": [1, 1, 0, 0, 0]})


def test_matching_by_hand_with_a_tie():
    estimate = matching(
        _tiny_matching(),
        outcome="y",
        treatment="d",
        covariates=["x"],
        distance="inverse_variance",
        variance_neighbours=1,
    )
    # x=1 is as close to x=0 as to x=2: both match with weight 1/2 -> 10 - 4 = 6;
    # x=4 matches x=5 -> 20 - 8 = 12. ATT = 9.
    assert estimate.estimate == pytest.approx(9.0)
    # Variances from the nearest same-group unit: treated 50 and 50; controls
    # {3,5} -> 2, {5,3} -> 2, {8,5} -> 4.5. Matched K: 1/2, 1/2, 1.
    assert estimate.extras["std_error_sample"] == pytest.approx(math.sqrt(105.5 / 4))
    # Population: K^2 - KK is 0 for every control, leaving sum((tau_i - 9)^2)/4.
    assert estimate.extras["std_error_population"] == pytest.approx(math.sqrt(18 / 4))
    assert estimate.extras["max_times_used"] == pytest.approx(1.0)


def test_matching_ate_and_atc_on_the_tiny_example():
    frame = _tiny_matching()
    common = dict(outcome="y", treatment="d", covariates=["x"], distance="inverse_variance")
    atc = matching(frame, estimand="ATC", **common)
    # Controls: x=0 -> 10, x=2 -> 10 (x=1 closer), x=5 -> 20: effects 7, 5, 12.
    assert atc.estimate == pytest.approx(8.0)
    ate = matching(frame, estimand="ATE", **common)
    assert ate.estimate == pytest.approx((6 + 12 + 7 + 5 + 12) / 5)


# --- pre/post ------------------------------------------------------------------------


def _scores(pre: list[float], post: list[float]) -> pd.DataFrame:
    rows = [{"id": i, "wave": 1, "score": v} for i, v in enumerate(pre)]
    rows += [{"id": i, "wave": 2, "score": v} for i, v in enumerate(post)]
    return pd.DataFrame(rows)


def test_pre_post_paired_change_and_effect_size():
    frame = _scores([10, 12, 14, 16], [13, 12, 20, 25])
    estimate = pre_post(frame, outcome="score", unit="id", time="wave")
    # changes 3, 0, 6, 9: mean 4.5, SD sqrt(15)
    assert estimate.estimate == pytest.approx(4.5)
    assert estimate.std_error == pytest.approx(math.sqrt(15) / 2)
    assert estimate.extras["cohens_dz"] == pytest.approx(4.5 / math.sqrt(15))
    assert estimate.extras["df"] == 3
    assert estimate.n_treated == 4 and estimate.n_control is None


def test_reliable_change_index_formula():
    """Jacobson & Truax (1991): RC = (x2 - x1) / sqrt(2 SE^2), SE = s1 sqrt(1 - r)."""
    index, s_diff = reliable_change(np.array([13.0, 12.0]), sd_baseline=10.0, reliability=0.8)
    assert s_diff == pytest.approx(math.sqrt(2) * 10 * math.sqrt(0.2))
    assert index == pytest.approx([13 / 6.324555, 12 / 6.324555], rel=1e-6)
    # 1.96 * 6.32 = 12.4: a change of 13 is reliable, 12 is not.
    assert index[0] > 1.96 > index[1]


def test_pre_post_share_with_reliable_improvement_and_direction():
    frame = _scores([10, 12, 14, 16], [13, 12, 20, 25])
    up = pre_post(frame, outcome="score", unit="id", time="wave", reliability=0.8, sd_baseline=2)
    # S_diff = 2 sqrt(2) sqrt(.2) = 1.265: changes 3, 6, 9 are reliable, 0 is not.
    assert up.extras["rci_s_diff"] == pytest.approx(2 * math.sqrt(0.4))
    assert up.extras["n_reliably_improved"] == 3
    assert up.extras["share_reliably_improved"] == pytest.approx(0.75)
    down = pre_post(
        frame,
        outcome="score",
        unit="id",
        time="wave",
        reliability=0.8,
        sd_baseline=2,
        higher_is_better=False,
    )
    assert down.extras["n_reliably_deteriorated"] == 3
    assert down.extras["n_reliably_improved"] == 0


def test_pre_post_mixed_model_matches_the_paired_change_with_two_complete_waves():
    rng = np.random.default_rng(8)
    person = rng.normal(0, 3, 50)
    frame = _scores(
        list(20 + person + rng.normal(size=50)), list(22 + person + rng.normal(size=50))
    )
    estimate = pre_post(frame, outcome="score", unit="id", time="wave")
    assert estimate.extras["mixed_estimate"] == pytest.approx(estimate.estimate, rel=1e-8)
    assert estimate.extras["mixed_std_error"] == pytest.approx(estimate.std_error, rel=1e-3)
    mixed = pre_post(frame, outcome="score", unit="id", time="wave", model="mixed")
    assert mixed.estimate == pytest.approx(estimate.estimate, rel=1e-8)
    assert mixed.ci_method == "analytic" and "df" not in mixed.extras


def test_pre_post_mixed_model_uses_units_with_a_missing_wave():
    rng = np.random.default_rng(9)
    rows = []
    for i in range(40):
        base = rng.normal(20, 3)
        for wave in (1, 2, 3):
            if i % 5 == 0 and wave == 3:
                continue  # lost before the last wave
            rows.append({"id": i, "wave": wave, "score": base + 1.5 * (wave - 1) + rng.normal()})
    estimate = pre_post(pd.DataFrame(rows), outcome="score", unit="id", time="wave")
    assert estimate.n_treated == 32
    assert estimate.extras["mixed_n_units"] == 40
    assert any("8 units lack" in note for note in estimate.notes)
    assert estimate.extras["mixed_estimate"] == pytest.approx(3.0, abs=0.6)


def test_pre_post_needs_named_waves_when_they_are_labels():
    frame = _scores([1, 2, 3], [2, 3, 5]).assign(wave=lambda f: f.wave.map({1: "pre", 2: "post"}))
    with pytest.raises(SpecInvalid, match="name the baseline and follow_up"):
        pre_post(frame, outcome="score", unit="id", time="wave")
    estimate = pre_post(
        frame, outcome="score", unit="id", time="wave", baseline="pre", follow_up="post"
    )
    assert estimate.estimate == pytest.approx(4 / 3)


# --- synthetic control ---------------------------------------------------------------


def _synthetic_panel(effect: float = 5.0) -> pd.DataFrame:
    rng = np.random.default_rng(12)
    periods = 16
    donors = {f"d{j}": np.cumsum(rng.normal(size=periods)) + 3 * j for j in range(1, 6)}
    treated = 0.6 * donors["d1"] + 0.4 * donors["d2"]
    treated[10:] += effect
    rows = [
        {"region": name, "year": 2000 + t, "y": series[t], "D": int(name == "t" and t >= 10)}
        for name, series in {"t": treated, **donors}.items()
        for t in range(periods)
    ]
    return pd.DataFrame(rows)


def test_synthetic_control_recovers_weights_effect_and_placebo_rank():
    estimate = synthetic_control(
        _synthetic_panel(), outcome="y", unit="region", time="year", treatment="D"
    )
    assert estimate.estimate == pytest.approx(5.0, abs=1e-3)
    weights = estimate.extras["weights"]
    assert weights["d1"] == pytest.approx(0.6, abs=1e-3)
    assert weights["d2"] == pytest.approx(0.4, abs=1e-3)
    assert sum(weights.values()) == pytest.approx(1.0)
    # The treated unit has by far the largest post/pre RMSPE ratio among 6 units.
    assert estimate.p_value == pytest.approx(1 / 6)
    assert estimate.extras["treatment_start"] == 2010
    assert estimate.std_error is None and estimate.ci_method == "placebo"


def test_synthetic_control_weights_agree_with_pysyncon():
    pysyncon = pytest.importorskip("pysyncon")
    from utfall.core.evaluation.synthetic import simplex_weights

    panel = _synthetic_panel().pivot(index="year", columns="region", values="y")
    pre = panel.iloc[:10]
    donors = pre.drop(columns="t")
    synth = pysyncon.Synth()
    synth.fit(X0=donors, X1=pre["t"], Z0=donors, Z1=pre["t"], custom_V=np.ones(10))
    # pysyncon divides each predictor by its SD across units before solving.
    spread = pre.std(axis=1).to_numpy()
    ours = simplex_weights(pre["t"].to_numpy() / spread, donors.to_numpy() / spread[:, None])
    assert ours == pytest.approx(synth.W, abs=1e-4)


def test_synthetic_control_with_covariates_chooses_predictor_weights():
    frame = _synthetic_panel()
    frame["x"] = frame.groupby("region")["y"].transform("mean") + 0.1 * frame["year"]
    estimate = synthetic_control(
        frame, outcome="y", unit="region", time="year", treatment="D", covariates=["x"]
    )
    assert set(estimate.extras["predictor_weights"]) == {"x", "y"}
    assert sum(estimate.extras["predictor_weights"].values()) == pytest.approx(1.0)
    assert estimate.p_value == pytest.approx(1 / 6)


# --- subgroups -----------------------------------------------------------------------


def test_subgroups_give_one_labelled_estimate_per_level(nsw):
    overall = by_subgroup(difference_in_means, nsw, "black", outcome="re78", treatment="treat")
    assert [s.label for s in overall.subgroups] == ["0.0", "1.0"]
    for sub, value in zip(overall.subgroups, (0.0, 1.0), strict=True):
        alone = difference_in_means(nsw[nsw.black == value], outcome="re78", treatment="treat")
        assert sub.estimate == pytest.approx(alone.estimate)
        assert sub.n_obs == alone.n_obs
    assert sum(s.n_obs for s in overall.subgroups) == overall.n_obs
    assert overall.as_dict()["subgroups"][1]["label"] == "1.0"


def test_subgroup_errors_name_the_level():
    frame = pd.DataFrame(
        {"y": [1.0, 2, 3, 4, 5, 6], "d": [0, 1, 0, 1, 0, 0], "s": ["a", "a", "a", "a", "b", "b"]}
    )
    with pytest.raises(DataInvalid, match="subgroup s = 'b'"):
        by_subgroup(difference_in_means, frame, "s", outcome="y", treatment="d", se="classical")


def test_inference_object_labels():
    assert Inference().label == "analytic"
    assert Inference("bootstrap", reps=99, interval="percentile").label == "bootstrap-percentile"


def test_propensity_matching_balances_a_confounder():
    rng = np.random.default_rng(17)
    x = rng.normal(size=500)
    d = (rng.random(500) < 1 / (1 + np.exp(-1.5 * x))).astype(int)
    frame = pd.DataFrame({"y": 2 * x + 1.0 * d + rng.normal(size=500), "d": d, "x": x})
    naive = difference_in_means(frame, outcome="y", treatment="d")
    matched = matching(frame, outcome="y", treatment="d", covariates=["x"], distance="propensity")
    balance = matched.extras["balance"]["x"]
    assert abs(balance["after"]) < 0.1 < abs(balance["before"])
    # The naive contrast is confounded by x; matching removes most of it.
    assert abs(matched.estimate - 1.0) < abs(naive.estimate - 1.0) / 3
    assert any("propensity score" in note for note in matched.notes)


def test_twfe_drops_covariates_absorbed_by_the_unit_effects():
    rng = np.random.default_rng(23)
    units = np.repeat(np.arange(20), 3)
    t = np.tile(np.arange(3), 20)
    D = ((units < 8) & (t == 2)).astype(int)
    frame = pd.DataFrame(
        {"y": rng.normal(size=60) + D, "D": D, "id": units, "t": t, "female": units % 2}
    )
    plain = twfe(frame, outcome="y", treatment="D", unit="id", time="t")
    with_fixed = twfe(frame, outcome="y", treatment="D", unit="id", time="t", covariates=["female"])
    assert with_fixed.estimate == pytest.approx(plain.estimate, rel=1e-10)
    assert with_fixed.std_error == pytest.approx(plain.std_error, rel=1e-10)
    assert any("absorbed by the unit effects" in note for note in with_fixed.notes)


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_twfe_on_an_unbalanced_panel_agrees_with_pyfixest_and_a_dummy_regression():
    """The two-way sweep (alternating projections) gives the dummy regression's numbers."""
    pyfixest = pytest.importorskip("pyfixest")
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(5)
    units = np.repeat(np.arange(120), 8)
    t = np.tile(np.arange(8), 120)
    D = ((units < 50) & (t >= 4)).astype(int)
    x = rng.normal(size=units.size)
    y = rng.normal(size=120)[units] + 0.3 * t + 1.5 * D + 0.7 * x + rng.normal(size=units.size)
    frame = pd.DataFrame({"y": y, "D": D, "id": units, "t": t, "x": x})
    frame = frame[rng.random(len(frame)) > 0.25]  # a quarter of the cells missing

    # Missing cells make some units first seen treated later: not a real staggering.
    options = dict(
        outcome="y", treatment="D", unit="id", time="t", covariates=["x"], allow_staggered=True
    )
    clustered = twfe(frame, **options)
    fit = pyfixest.feols("y ~ D + x | id + t", data=frame, vcov={"CRV1": "id"})
    assert clustered.estimate == pytest.approx(fit.coef()["D"], rel=1e-9)
    assert clustered.std_error == pytest.approx(fit.se()["D"], rel=1e-8)

    classical = twfe(frame, se="classical", **options)
    dummies = smf.ols("y ~ D + x + C(id) + C(t)", data=frame).fit()
    assert classical.estimate == pytest.approx(dummies.params["D"], rel=1e-9)
    assert classical.std_error == pytest.approx(dummies.bse["D"], rel=1e-8)
