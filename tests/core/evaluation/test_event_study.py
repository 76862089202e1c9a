"""Event studies for ``twfe`` (``event_study: true``): the shared interface and its checks.

The organ-donation event study (causaldata ``organ_donations``, Kessler & Roth 2014 as
used in Huntington-Klein, *The Effect*, ch. 18 and Cunningham, *The Mixtape*) is checked
against pyfixest's ``feols("Rate ~ i(rel, ref=-1) | State + Quarter_Num",
vcov={"CRV1": "State"})`` on the same data: the values below were printed by
pyfixest 0.x (installed for benchmarks), not by the code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.core.evaluation.event_study import event_design
from utfall.core.evaluation.inference import Inference
from utfall.core.evaluation.panel import twfe
from utfall.errors import SpecInvalid


@pytest.fixture(scope="module")
def organ() -> pd.DataFrame:
    import causaldata

    data = causaldata.organ_donations.load_pandas().data.copy()
    # California's active-choice policy from 2011 Q3 (Quarter_Num 4), as in The Effect.
    data["treated"] = ((data["State"] == "California") & (data["Quarter_Num"] >= 4)).astype(int)
    return data


def _staggered(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for unit in range(40):
        start = [4, 6, 8, None][unit % 4]
        for period in range(10):
            d = int(start is not None and period >= start)
            effect = 0.5 * (period - start + 1) if d else 0.0
            rows.append(
                {
                    "unit": unit,
                    "period": 2000 + period,
                    "treated": d,
                    "y": unit * 0.1 + period * 0.2 + effect + rng.normal(),
                    "x": rng.normal(),
                }
            )
    return pd.DataFrame(rows)


def test_organ_donation_event_study_matches_pyfixest(organ):
    result = twfe(
        organ,
        outcome="Rate",
        treatment="treated",
        unit="State",
        time="Quarter_Num",
        event_study=True,
        inference=Inference(method="randomisation"),
    )
    rows = result.extras["event_study"]
    assert [r["relative_period"] for r in rows] == [-3, -2, -1, 0, 1, 2]
    assert result.extras["event_study_reference"] == -1
    reference = rows[2]
    assert reference["estimate"] == 0.0 and reference["std_error"] is None
    # pyfixest: coefficients and CRV1 standard errors of rel = -3, -2, 0, 1, 2.
    expected = [-0.00294231, 0.00629615, -0.02156538, -0.02029231, -0.02216538]
    expected_se = [0.00508417, 0.00226576, 0.00503373, 0.00447334, 0.01001323]
    estimated = [r for r in rows if r["relative_period"] != -1]
    assert [r["estimate"] for r in estimated] == pytest.approx(expected, abs=5e-8)
    assert [r["std_error"] for r in estimated] == pytest.approx(expected_se, abs=5e-8)
    # One treated state: the intervals are randomisation intervals, each covering its estimate.
    assert result.extras["event_study_ci_method"] == "randomisation"
    for row in estimated:
        assert row["ci_low"] < row["estimate"] < row["ci_high"]
    vcov = np.array(result.extras["event_study_vcov"])
    assert vcov.shape == (5, 5)
    assert np.sqrt(np.diag(vcov)) == pytest.approx(expected_se, abs=5e-8)
    test = result.extras["pre_trend_test"]
    assert test["df"] == 2 and 0 < test["p_value"] <= 1


def test_staggered_event_study_with_binned_window_matches_pyfixest():
    data = _staggered()
    result = twfe(
        data,
        outcome="y",
        treatment="treated",
        unit="unit",
        time="period",
        covariates=["x"],
        allow_staggered=True,
        event_study=True,
        leads=3,
        lags=2,
    )
    # The same binned relative period, fitted by pyfixest.
    import pyfixest as pf

    first = data[data.treated == 1].groupby("unit")["period"].min()
    data = data.assign(first=data["unit"].map(first))
    rel = (data["period"] - data["first"]).clip(-3, 2)
    data["rel"] = rel.fillna(-1).astype(int)
    fit = pf.feols("y ~ i(rel, ref=-1) + x | unit + period", data, vcov={"CRV1": "unit"})
    coefficients = fit.coef()
    ses = fit.se()
    rows = [r for r in result.extras["event_study"] if r["relative_period"] != -1]
    assert [r["relative_period"] for r in rows] == [-3, -2, 0, 1, 2]
    names = [n for n in coefficients.index if n != "x"]
    assert [r["estimate"] for r in rows] == pytest.approx(list(coefficients[names]), abs=1e-9)
    assert [r["std_error"] for r in rows] == pytest.approx(list(ses[names]), rel=1e-8)
    assert result.extras["event_study_binned"] is True
    # The CR1 Wald pre-trend test against pyfixest's joint Wald test of the two leads.
    test = result.extras["pre_trend_test"]
    assert test["df"] == 2 and test["df_denominator"] == 39
    at = [list(coefficients.index).index(n) for n in names[:2]]
    b = coefficients.to_numpy()[at]
    wald = float(b @ np.linalg.inv(np.asarray(fit._vcov)[np.ix_(at, at)]) @ b)
    assert test["statistic"] == pytest.approx(wald / 2, rel=1e-7)
    # Dynamic effects 0.5, 1.0, 1.5 (binned at 2): the post coefficients are close.
    assert rows[2]["estimate"] == pytest.approx(0.5, abs=0.5)


def test_analytic_intervals_are_t_intervals():
    result = twfe(
        _staggered(),
        outcome="y",
        treatment="treated",
        unit="unit",
        time="period",
        allow_staggered=True,
        event_study=True,
        leads=2,
        lags=2,
    )
    from scipy import stats

    critical = stats.t.ppf(0.975, 39)
    for row in result.extras["event_study"]:
        if row["std_error"] is None:
            continue
        assert row["ci_high"] - row["estimate"] == pytest.approx(critical * row["std_error"])
    # The overall figure is still the TWFE coefficient.
    plain = twfe(
        _staggered(),
        outcome="y",
        treatment="treated",
        unit="unit",
        time="period",
        allow_staggered=True,
    )
    assert result.estimate == pytest.approx(plain.estimate)


def test_window_without_binning_drops_rows():
    data = _staggered()
    unit_codes = data["unit"].to_numpy()
    time_codes = (data["period"] - 2000).to_numpy()
    first = np.array([[4, 6, 8, -1][u % 4] for u in range(40)])
    design = event_design(first, unit_codes, time_codes, leads=2, lags=1, bin_endpoints=False)
    assert design.periods == (-2, 0, 1)
    assert design.keep.sum() < len(data)


def test_reference_outside_window_is_refused():
    with pytest.raises(SpecInvalid, match="reference"):
        twfe(
            _staggered(),
            outcome="y",
            treatment="treated",
            unit="unit",
            time="period",
            allow_staggered=True,
            event_study=True,
            leads=2,
            lags=2,
            reference=-5,
        )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    units=st.integers(6, 14),
    periods=st.integers(3, 7),
    data=st.data(),
)
def test_a_one_period_window_is_the_twfe_coefficient(seed, units, periods, data):
    """With ``leads: 1, lags: 0`` and binned endpoints every period before adoption is the
    reference and every period from it on is relative period 0: the one coefficient, its
    CR1 standard error and df are exactly those of ``twfe`` (any adoption pattern)."""
    rng = np.random.default_rng(seed)
    starts = [data.draw(st.one_of(st.none(), st.integers(1, periods - 1))) for _ in range(units)]
    # Two treated and two never-treated units at least (CR1 needs two in each arm).
    starts[:4] = [1, periods - 1, None, None]
    rows = [
        {
            "unit": u,
            "period": t,
            "treated": int(s is not None and t >= s),
            "y": float(rng.normal() + 0.3 * t + (0.8 if s is not None and t >= s else 0.0)),
        }
        for u, s in enumerate(starts)
        for t in range(periods)
    ]
    frame = pd.DataFrame(rows)
    kwargs = dict(outcome="y", treatment="treated", unit="unit", time="period")
    plain = twfe(frame, **kwargs, allow_staggered=True, inference=Inference())
    study = twfe(frame, **kwargs, allow_staggered=True, event_study=True, leads=1, lags=0)
    (row,) = [r for r in study.extras["event_study"] if r["relative_period"] == 0]
    assert row["estimate"] == pytest.approx(plain.estimate, rel=1e-8, abs=1e-10)
    assert row["std_error"] == pytest.approx(plain.std_error, rel=1e-7)
    assert study.extras["pre_trend_test"] is None
