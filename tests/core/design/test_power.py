"""Design figures against published sample sizes and by hand (decision 0715).

Sources of the numbers:

* Cohen, J. (1992). A power primer. Psychological Bulletin 112(1), 155–159, Table 2
  (the tables of Cohen 1988, Statistical Power Analysis, ch. 2 and 6): per group, α = .05
  two-sided, power .80 — difference of means d = .2/.5/.8: 393, 64, 26; difference of
  proportions h = .2/.5/.8: 392, 63, 25.
* R `stats::power.t.test` help examples: `power.t.test(n = 20, delta = 1)` gives power
  0.8689528; `power.t.test(power = .90, delta = 1)` gives n = 22.02110.
* Sedgwick, P. (2013). Cluster randomised controlled trials: sample size calculations.
  BMJ 346:f2839: 50 % → 65 %, power 80 %, α .05: 340 patients under individual
  randomisation; with ICC 0.05 and 46 patients per practice, 24 practices (1104 patients).
* Wooldridge, Introductory Econometrics, Appendix C (JTRAIN, the 19 firms with a 1988
  grant): the change in log scrap from 1987 to 1988 has s = .637.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from utfall.core.design import design, design_sample, design_spec_validate, power_at
from utfall.errors import DataInvalid, SpecInvalid


def spec(**keys):
    return design_spec_validate(keys)


@pytest.mark.parametrize(("d", "published"), [(0.2, 393), (0.5, 64), (0.8, 26)])
def test_cohen_difference_of_means(d, published):
    result = design(spec(method="difference_in_means", alpha=0.05, power=0.80, effect_size=d))
    # Cohen's tables round to the nearest unit (393.4 → 393); utfall rounds up, so the
    # exact figure is checked at Cohen's rounding and the whole number where they agree.
    assert round(result.details["n_per_group_exact"]) == published
    if d >= 0.5:
        assert result.n_per_group == published
    assert result.power >= 0.80
    assert result.n_total == 2 * result.n_per_group


def test_cohen_medium_effect_is_64_per_group():
    result = design(spec(method="difference_in_means", alpha=0.05, power=0.80, effect_size=0.5))
    assert result.n_per_group == 64
    assert result.power == pytest.approx(0.80146, abs=1e-5)
    assert result.mde_effect_size == pytest.approx(0.499, abs=1e-3)


@pytest.mark.parametrize(("h", "published"), [(0.2, 392), (0.5, 63), (0.8, 25)])
def test_cohen_difference_of_proportions(h, published):
    result = design(spec(method="proportions", alpha=0.05, power=0.80, effect_size=h))
    assert round(result.details["n_per_group_exact"]) == published
    if h >= 0.5:
        assert result.n_per_group == published


def test_r_power_t_test_examples():
    means = spec(method="difference_in_means", effect=1, sd=1, n_per_group=20)
    assert power_at(means, 1.0, 20) == pytest.approx(0.8689528, abs=1e-6)
    result = design(spec(method="difference_in_means", effect=1, sd=1, power=0.90))
    assert result.details["n_per_group_exact"] == pytest.approx(22.02110, abs=1e-4)
    assert result.n_per_group == 23


def test_sedgwick_cluster_randomised_proportions():
    individual = design(spec(method="proportions", p_control=0.50, p_treated=0.65))
    assert individual.n_per_group == 170  # 340 patients
    clustered = design(
        spec(method="proportions", p_control=0.50, p_treated=0.65, cluster_size=46, icc=0.05)
    )
    assert clustered.design_effect == pytest.approx(3.25)
    assert clustered.n_per_group_individual == 170
    assert clustered.clusters_per_group == 12  # 24 practices of 46 patients
    assert 2 * 12 * 46 == 1104
    assert clustered.n_per_group == math.ceil(individual.details["n_per_group_exact"] * 3.25)
    assert any("clusters per group" in note for note in clustered.notes)


def test_minimum_detectable_effect_at_a_given_number():
    result = design(spec(method="difference_in_means", sd=20, n_per_group=64))
    assert result.effect is None and result.power is None
    assert result.mde == pytest.approx(20 * 0.49907, rel=1e-4)
    assert result.details["mde_units"] == "outcome"


def test_proportion_at_the_mde():
    result = design(spec(method="proportions", p_control=0.5, n_per_group=170))
    assert result.details["p_treated_at_mde"] == pytest.approx(0.65, abs=0.002)
    assert result.mde == pytest.approx(0.15, abs=0.002)


def test_did_uses_the_sd_of_a_change():
    # r = 0.5: a change has the outcome's own SD, so the DiD needs what a t-test needs.
    did = design(spec(method="did", effect=5, sd=10, autocorrelation=0.5))
    means = design(spec(method="difference_in_means", effect=5, sd=10))
    assert did.n_per_group == means.n_per_group == 64
    # r = 0: repeated cross-sections, twice the variance.
    cross = design(spec(method="did", effect=5, sd=10))
    assert cross.details["n_per_group_exact"] == pytest.approx(
        design(spec(method="difference_in_means", effect_size=0.5 / math.sqrt(2))).details[
            "n_per_group_exact"
        ]
    )


def test_did_clusters_multiply_by_the_design_effect():
    plain = design(spec(method="did", effect=5, sd=10, autocorrelation=0.5))
    clustered = design(
        spec(method="did", effect=5, sd=10, autocorrelation=0.5, cluster_size=20, icc=0.1)
    )
    assert clustered.design_effect == pytest.approx(2.9)
    assert clustered.n_per_group == math.ceil(plain.details["n_per_group_exact"] * 2.9)
    assert clustered.clusters_per_group == math.ceil(clustered.n_per_group / 20)


def test_historical_reference_by_hand():
    # se = σ·√(1/n + 1/n_ref); z(.975) + z(.8) = 2.8016; n_ref = 50, σ = 10, δ = 5.
    result = design(spec(method="historical_reference", effect=5, sd=10, n_reference=50))
    z = 1.959964 + 0.841621
    exact = 1 / ((5 / (z * 10)) ** 2 - 1 / 50)
    assert result.details["n_per_group_exact"] == pytest.approx(exact, rel=1e-3)
    assert result.n_control is not None


def test_historical_reference_cannot_beat_the_cohorts_own_uncertainty():
    result = design(spec(method="historical_reference", effect=2, sd=10, n_reference=50))
    assert result.n_per_group is None
    assert "reference cohort" in result.notes[0]


def test_historical_reference_reads_the_cohorts_variance():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"child": np.repeat(np.arange(200), 3), "cost": rng.gamma(2, 100, 600)})
    plan = spec(
        method="historical_reference", data="reference", outcome="cost", unit="child", effect=50
    )
    sample = design_sample(frame, plan)
    totals = frame.groupby("child")["cost"].sum()
    assert sample.n_units == 200 and sample.sd == pytest.approx(totals.std())
    result = design(plan, sample)
    assert result.n_reference == 200 and result.sd == pytest.approx(totals.std())


def test_trend_adjusted_reads_the_employees_changes(jtrain):
    firms = jtrain.loc[(jtrain["year"] == 1988) & (jtrain["grant"] == 1), "fcode"]
    rows = jtrain[jtrain["fcode"].isin(firms) & jtrain["year"].isin([1987, 1988])]
    plan = spec(
        method="trend_adjusted",
        data="jtrain",
        outcome="lscrap",
        unit="fcode",
        time="year",
        n_per_group=19,
    )
    sample = design_sample(rows, plan)
    assert sample.n_units == 19
    assert round(sample.sd_change, 3) == 0.637  # Wooldridge, Appendix C
    result = design(plan, sample)
    assert result.n_control is None and result.n_total == 19
    assert power_at(plan, result.mde_effect_size, 19) == pytest.approx(0.80, abs=1e-6)
    assert result.mde == pytest.approx(result.mde_effect_size * sample.sd_change)
    assert result.details["mde_total"] == pytest.approx(result.mde * 19)


def test_one_sided_needs_fewer():
    two = design(spec(method="difference_in_means", effect_size=0.5))
    one = design(spec(method="difference_in_means", effect_size=0.5, alternative="one-sided"))
    assert one.n_per_group < two.n_per_group
    # By hand: 2·(z.95 + z.80)²/d² = 49.5, plus the t correction: 50.1 → 51.
    assert one.n_per_group == 51


def test_curve_covers_the_design():
    result = design(spec(method="difference_in_means", effect=5, sd=10))
    assert sorted({round(p["effect"], 9) for p in result.curve}) == [2.5, 3.75, 5.0, 7.5]
    at_design = [p for p in result.curve if p["effect"] == 5.0]
    powers = [p["power"] for p in sorted(at_design, key=lambda p: p["n_per_group"])]
    assert powers == sorted(powers)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"method": "did"}, "give the effect"),
        ({"method": "did", "effect": 3}, "effect needs sd"),
        ({"method": "did", "effect": 3, "sd": 1, "effect_size": 0.3}, "give one effect"),
        ({"method": "difference_in_means", "effect_size": 0}, "zero effect"),
        ({"method": "proportions", "p_treated": 0.4}, "p_treated needs p_control"),
        ({"method": "trend_adjusted", "effect": 1}, "reads the variance from data"),
        ({"method": "did", "effect": 1, "sd": 1, "data": "x.csv"}, "not did"),
        ({"method": "regression", "effect_size": 1}, "method"),
        ({"method": "did", "effect_size": 1, "alpha": 0.7}, "alpha"),
        ({"method": "did", "effect_size": 1, "typo": 1}, "typo"),
        ({"effect_size": 1}, "method"),
    ],
)
def test_bad_specs_name_the_key(keys, message):
    with pytest.raises(SpecInvalid, match=message):
        design_spec_validate(keys)


def test_bad_data_names_the_column():
    plan = spec(method="historical_reference", data="ref", outcome="cost", effect=1)
    with pytest.raises(DataInvalid, match="'cost'"):
        design_sample(pd.DataFrame({"x": [1, 2, 3]}), plan)
