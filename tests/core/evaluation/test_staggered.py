"""``staggered_did``: Callaway & Sant'Anna group-time effects under staggered adoption.

The published checks use ``mpdta`` (county teen employment 2003–2007, 500 counties,
first treated 2004, 2006 or 2007), the data set of the R ``did`` package, here as
shipped inside ``moderndid`` 0.2.0 (nothing is downloaded). Every expected value is
quoted from the R ``did`` package's README ("A short example", the ``summary`` of
``att_gt(yname = "lemp", gname = "first.treat", idname = "countyreal", tname =
"year", xformla = ~1, data = mpdta, est_method = "reg")`` and of its ``aggte``
aggregations; https://github.com/bcallaway11/did, README.md), at its printed
rounding. The README's standard errors are from the multiplier bootstrap (1,000
draws, unseeded), so they are matched to the printed rounding within 0.001.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from utfall.core.evaluation.inference import Inference
from utfall.core.evaluation.spec import spec_validate
from utfall.core.evaluation.staggered import staggered_did
from utfall.errors import DataInvalid, EvaluationError, SpecInvalid

SEED = Inference(seed=20240601)


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    import moderndid

    data = moderndid.load_mpdta().to_pandas()
    data["treated"] = ((data["first.treat"] > 0) & (data["year"] >= data["first.treat"])).astype(
        int
    )
    return data


def _mpdta(data: pd.DataFrame, **kwargs):
    options = {"group": "first.treat", "inference": SEED} | kwargs
    return staggered_did(data, outcome="lemp", unit="countyreal", time="year", **options)


# --- published checks: the R did README on mpdta ---------------------------------------


def test_mpdta_group_aggregation(mpdta):
    """README, ``aggte(out, type = "group")``: overall ATT −0.031, s.e. 0.0123;
    group effects 2004 −0.0797, 2006 −0.0229, 2007 −0.0261."""
    estimate = _mpdta(mpdta, aggregation="group")
    assert round(estimate.estimate, 3) == -0.031
    assert estimate.std_error == pytest.approx(0.0123, abs=0.001)
    assert estimate.ci_low < estimate.estimate < estimate.ci_high < 0
    effects = {row["level"]: round(row["estimate"], 4) for row in estimate.extras["effects"]}
    assert effects == {2004: -0.0797, 2006: -0.0229, 2007: -0.0261}
    assert (estimate.n_treated, estimate.n_control, estimate.n_obs) == (191, 309, 2500)


def test_mpdta_dynamic_aggregation_and_event_study(mpdta):
    """README, ``aggte(out, type = "dynamic")``: overall ATT −0.0772, s.e. 0.0196; event
    times −3…3: 0.0305, −0.0006, −0.0245, −0.0199, −0.0510, −0.1373, −0.1008."""
    estimate = _mpdta(mpdta, aggregation="dynamic")
    assert round(estimate.estimate, 4) == -0.0772
    assert estimate.std_error == pytest.approx(0.0196, abs=0.001)
    rows = estimate.extras["event_study"]
    assert [row["relative_period"] for row in rows] == [-3, -2, -1, 0, 1, 2, 3]
    assert [round(row["estimate"], 4) for row in rows] == [
        0.0305,
        -0.0006,
        -0.0245,
        -0.0199,
        -0.0510,
        -0.1373,
        -0.1008,
    ]
    # Callaway–Sant'Anna with the varying base period has no omitted period.
    assert estimate.extras["event_study_reference"] is None
    vcov = np.asarray(estimate.extras["event_study_vcov"])
    assert vcov.shape == (7, 7)
    assert np.sqrt(np.diag(vcov)) == pytest.approx([row["std_error"] for row in rows])
    # Uniform bands are wider than pointwise intervals.
    for row in rows:
        assert row["ci_high"] - row["ci_low"] > 2 * 1.96 * row["std_error"]


def test_mpdta_group_time_effects_and_pre_test(mpdta):
    """README, ``summary(out)``: the twelve ATT(g,t) and the "P-value for pre-test of
    parallel trends assumption: 0.16812"."""
    estimate = _mpdta(mpdta)
    cells = {
        (r["group"], r["time"]): round(r["estimate"], 4) for r in estimate.extras["group_time"]
    }
    assert cells == {
        (2004, 2004): -0.0105,
        (2004, 2005): -0.0704,
        (2004, 2006): -0.1373,
        (2004, 2007): -0.1008,
        (2006, 2004): 0.0065,
        (2006, 2005): -0.0028,
        (2006, 2006): -0.0046,
        (2006, 2007): -0.0412,
        (2007, 2004): 0.0305,
        (2007, 2005): -0.0027,
        (2007, 2006): -0.0311,
        (2007, 2007): -0.0261,
    }
    test = estimate.extras["pre_trend_test"]
    assert round(test["p_value"], 5) == 0.16812
    assert test["df"] == 5  # the five pre-treatment cells of groups 2006 and 2007


# --- conventions -------------------------------------------------------------------------


def test_treatment_column_gives_the_same_groups(mpdta):
    by_group = _mpdta(mpdta, aggregation="simple")
    by_treatment = staggered_did(
        mpdta,
        outcome="lemp",
        unit="countyreal",
        time="year",
        treatment="treated",
        aggregation="simple",
        inference=SEED,
    )
    assert by_treatment.estimate == pytest.approx(by_group.estimate, abs=1e-12)
    assert by_treatment.std_error == pytest.approx(by_group.std_error, abs=1e-12)


def test_without_covariates_the_three_estimations_agree(mpdta):
    """Without covariates regression, IPW and doubly robust are the same 2×2 DiD."""
    values = [
        _mpdta(mpdta, estimation=method, aggregation="simple").estimate
        for method in ("regression", "ipw", "doubly_robust")
    ]
    assert values == pytest.approx([values[0]] * 3, abs=1e-10)


def test_covariates_not_yet_treated_and_universal_base(mpdta):
    estimate = _mpdta(
        mpdta,
        covariates=["lpop"],
        estimation="doubly_robust",
        control_group="not_yet_treated",
        aggregation="dynamic",
        base_period="universal",
    )
    assert -0.2 < estimate.estimate < 0
    assert estimate.extras["event_study_reference"] == -1
    reference = [r for r in estimate.extras["event_study"] if r["relative_period"] == -1]
    assert reference == [
        {"relative_period": -1, "estimate": 0.0, "std_error": None, "ci_low": None, "ci_high": None}
    ]
    n = len(estimate.extras["event_study"]) - 1
    assert np.asarray(estimate.extras["event_study_vcov"]).shape == (n, n)


def test_multiplier_bootstrap_is_seeded(mpdta):
    boot = Inference(method="bootstrap", reps=99, seed=5)
    first = _mpdta(mpdta, aggregation="group", inference=boot)
    again = _mpdta(mpdta, aggregation="group", inference=boot)
    assert first.ci_method == "bootstrap-multiplier" and first.seed == 5
    assert first.std_error == again.std_error
    assert first.std_error == pytest.approx(0.0123, abs=0.003)


def _planted(effect: float = 2.0, seed: int = 3) -> pd.DataFrame:
    """40 units over periods 1–8: a third start in 4, a third in 6, a third never; the
    effect grows with exposure (effect · (1 + e)), plus unit and period effects."""
    rng = np.random.default_rng(seed)
    rows = []
    for unit in range(60):
        start = (4, 6, 0)[unit % 3]
        level = rng.normal()
        for period in range(1, 9):
            exposed = start and period >= start
            y = level + 0.3 * period + rng.normal(scale=0.2)
            if exposed:
                y += effect * (1 + period - start)
            rows.append({"unit": f"u{unit}", "period": period, "start": start, "y": y})
    return pd.DataFrame(rows)


def test_planted_dynamic_effect_is_recovered():
    estimate = staggered_did(
        _planted(),
        outcome="y",
        unit="unit",
        time="period",
        group="start",
        aggregation="dynamic",
        inference=SEED,
    )
    by_event = {r["relative_period"]: r["estimate"] for r in estimate.extras["event_study"]}
    for e in range(0, 3):
        assert by_event[e] == pytest.approx(2.0 * (1 + e), abs=0.25)
    for e in (-3, -2):
        assert by_event[e] == pytest.approx(0, abs=0.25)
    assert estimate.extras["pre_trend_test"]["p_value"] > 0.01


def test_dates_as_periods_and_empty_group_as_never():
    data = _planted()
    months = pd.date_range("2024-01-01", periods=8, freq="MS")
    data["month"] = data["period"].map(lambda p: months[p - 1].date())
    data["first"] = data["start"].map(lambda s: months[s - 1].date() if s else None)
    estimate = staggered_did(
        data, outcome="y", unit="unit", time="month", group="first", inference=SEED
    )
    groups = {row["group"] for row in estimate.extras["group_time"]}
    assert groups == {"2024-04-01", "2024-06-01"}
    assert estimate.n_control == 20


def test_errors_name_the_field(mpdta):
    with pytest.raises(SpecInvalid, match="group"):
        staggered_did(mpdta, outcome="lemp", unit="countyreal", time="year")
    with pytest.raises(SpecInvalid, match="not both"):
        _mpdta(mpdta, treatment="treated")
    with pytest.raises(SpecInvalid, match="aggregation"):
        _mpdta(mpdta, aggregation="weekly")
    for method in ("permutation", "randomisation", "wild_bootstrap"):
        with pytest.raises(SpecInvalid, match=method):
            _mpdta(mpdta, inference=Inference(method=method, reps=99))
    never_none = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(EvaluationError, match="not_yet_treated"):
        _mpdta(never_none)
    flipping = mpdta.copy()
    flipping.loc[(flipping["countyreal"] == 8001) & (flipping["year"] == 2007), "treated"] = 0
    flipping.loc[(flipping["countyreal"] == 8001) & (flipping["year"] == 2005), "treated"] = 1
    with pytest.raises(DataInvalid) as raised:
        staggered_did(flipping, outcome="lemp", unit="countyreal", time="year", treatment="treated")
    assert raised.value.findings[0].code == "treatment_not_absorbing"


def test_spec_takes_the_issue_keys():
    spec = spec_validate(
        {
            "data": "mpdta.csv",
            "method": "staggered_did",
            "outcome": "lemp",
            "unit": "countyreal",
            "time": "year",
            "group": "first.treat",
            "control_group": "not_yet_treated",
            "estimation": "doubly_robust",
            "aggregation": "dynamic",
            "anticipation": 1,
            "covariates": ["lpop"],
            "ci": {"level": 0.9, "reps": 199},
            "seed": 4,
        },
        source="spec.yaml",
        locate=lambda path: f"spec.yaml {'.'.join(path)}",
    )
    assert spec.options == {
        "group": "first.treat",
        "control_group": "not_yet_treated",
        "estimation": "doubly_robust",
        "aggregation": "dynamic",
        "anticipation": 1,
    }
    with pytest.raises(SpecInvalid, match="aggregation"):
        spec_validate(
            {
                "data": "x.csv",
                "method": "staggered_did",
                "outcome": "y",
                "unit": "u",
                "time": "t",
                "aggregation": "yearly",
            },
            source="spec.yaml",
            locate=lambda path: "spec.yaml",
        )


def test_anticipation_moves_the_base_period():
    """Units react one period before their start: with ``anticipation: 1`` the base period
    is ``g - 2`` and the on-impact effect is not biased by the early reaction."""
    data = _planted()
    early = (data["start"] > 0) & (data["period"] == data["start"] - 1)
    data.loc[early, "y"] += 1.0
    naive = staggered_did(
        data,
        outcome="y",
        unit="unit",
        time="period",
        group="start",
        aggregation="dynamic",
        inference=SEED,
    )
    aware = staggered_did(
        data,
        outcome="y",
        unit="unit",
        time="period",
        group="start",
        aggregation="dynamic",
        anticipation=1,
        inference=SEED,
    )
    on_impact = {
        name: {r["relative_period"]: r["estimate"] for r in e.extras["event_study"]}[0]
        for name, e in (("naive", naive), ("aware", aware))
    }
    assert on_impact["naive"] == pytest.approx(1.0, abs=0.25)  # 2.0 less the early 1.0
    assert on_impact["aware"] == pytest.approx(2.0, abs=0.25)
    assert aware.extras["anticipation"] == 1


def test_ipw_with_covariates_runs(mpdta):
    estimate = _mpdta(mpdta, covariates=["lpop"], estimation="ipw", aggregation="simple")
    assert -0.1 < estimate.estimate < 0 and estimate.std_error > 0


def test_a_contract_names_a_wrong_or_missing_group_column():
    from pathlib import Path

    from utfall.core.contracts import parse_contract
    from utfall.errors import ContractInvalid

    path = Path(__file__).resolve().parents[3] / "examples/contracts/national-fund-portfolio.yaml"
    text = path.read_text(encoding="utf-8")
    assert parse_contract(text, source="portfolio.yaml").evaluations["portfolio_effect"]
    for changed, expected in (
        (text.replace("group: first_funded", "group: first_fundd"), "options.group"),
        (text.replace("      group: first_funded\n", ""), "needs options.group"),
    ):
        with pytest.raises(ContractInvalid) as raised:
            parse_contract(changed, source="portfolio.yaml")
        assert any(expected in str(f) for f in raised.value.findings)


# --- second published check: Medicaid expansion (ehec), not-yet-treated, doubly robust ---
#
# Source: Mixtape Sessions "Advanced DID" (Roth & Sant'Anna's course material),
# Exercises/Exercise-1/Solutions/medicaid-analysis-solutions-R.md
# (github.com/Mixtape-Sessions/Advanced-DID): ``att_gt(yname = "dins", tname = "year",
# idname = "stfips", gname = "yexp2", control_group = "notyettreated")`` with the R did
# package's default doubly robust estimation and varying base period, on the Medicaid
# expansion data ``ehec_data`` that moderndid 0.2.0 ships as ``load_ehec`` (46 states,
# 2008–2019, never-expanded states with an empty ``yexp2``). The expected values are the
# printed ``summary(cs_results)`` table, the hand-computed 2×2 DiD of step 3 and the
# printed ``aggte(cs_results, type = "simple")``, with and without the never-treated
# states (step 7); standard errors are from the unseeded multiplier bootstrap, matched
# within 0.001 of the printed figure.

# ATT(g, t) of the solution's summary table, as printed (4 decimals), cohort → 2009…2019.
MEDICAID_ATT_GT = {
    2014: [-0.0065, 0.0111, 0.0015, 0.0016, 0.0009, 0.0467, 0.0692, 0.0785, 0.0725, 0.0738,
           0.0803],
    2015: [0.0071, -0.0245, -0.0027, 0.0003, -0.0100, -0.0020, 0.0491, 0.0526, 0.0682, 0.0663,
           0.0738],
    2016: [0.0022, 0.0511, -0.0262, -0.0276, 0.0440, -0.0322, 0.0409, 0.0317, 0.0368, 0.0645,
           0.0825],
    2017: [0.0102, -0.0161, 0.0019, 0.0177, 0.0012, -0.0063, 0.0036, 0.0398, 0.0471, 0.0681,
           0.0650],
    2019: [0.0189, -0.0269, -0.0244, 0.0024, 0.0129, 0.0003, -0.0108, -0.0182, 0.0093, 0.0062,
           0.0365],
}  # fmt: skip


@pytest.fixture(scope="module")
def medicaid() -> pd.DataFrame:
    import moderndid

    return moderndid.load_ehec().to_pandas()


def _medicaid(data: pd.DataFrame, **kwargs):
    options = {
        "group": "yexp2",
        "control_group": "not_yet_treated",
        "estimation": "doubly_robust",
        "inference": SEED,
    } | kwargs
    return staggered_did(data, outcome="dins", unit="stfips", time="year", **options)


def test_medicaid_group_time_effects_not_yet_treated_doubly_robust(medicaid):
    """Solution step 2: all 55 ATT(g, t) of the printed table, and step 3: ATT(2014, 2014)
    is the hand-computed 2×2 DiD 0.04670243 against the not-yet-treated states."""
    estimate = _medicaid(medicaid, aggregation="simple")
    cells = {(row["group"], row["time"]): row["estimate"] for row in estimate.extras["group_time"]}
    got = {g: [round(cells[(g, year)], 4) for year in range(2009, 2020)] for g in MEDICAID_ATT_GT}
    assert got == MEDICAID_ATT_GT
    assert cells[(2014, 2014)] == pytest.approx(0.04670243, abs=5e-9)
    assert (estimate.n_treated, estimate.n_control, estimate.n_obs) == (30, 16, 552)


def test_medicaid_simple_aggregation(medicaid):
    """Solution step 4: ``aggte(type = "simple")`` ATT 0.068, s.e. 0.008, 95 % interval
    0.0524 to 0.0836; step 7 (never-treated states dropped): ATT 0.0728, s.e. 0.0092."""
    estimate = _medicaid(medicaid, aggregation="simple")
    assert round(estimate.estimate, 3) == 0.068
    assert estimate.std_error == pytest.approx(0.008, abs=0.001)
    assert estimate.ci_low == pytest.approx(0.0524, abs=0.001)
    assert estimate.ci_high == pytest.approx(0.0836, abs=0.001)
    treated_only = _medicaid(medicaid[medicaid["yexp2"].notna()], aggregation="simple")
    assert round(treated_only.estimate, 4) == 0.0728
    assert treated_only.std_error == pytest.approx(0.0092, abs=0.001)
