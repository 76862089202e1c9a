"""One or a few treated units: randomisation inference and the wild cluster bootstrap."""

from __future__ import annotations

import pandas as pd
import pytest

from utfall.core.evaluation.inference import Inference
from utfall.core.evaluation.panel import twfe
from utfall.errors import DataInvalid, SpecInvalid


@pytest.fixture(scope="module")
def organ() -> pd.DataFrame:
    import causaldata

    data = causaldata.organ_donations.load_pandas().data.copy()
    # California's active-choice policy from 2011 Q3 (Quarter_Num 4).
    data["treated"] = ((data["State"] == "California") & (data["Quarter_Num"] >= 4)).astype(int)
    return data


def _organ_twfe(data: pd.DataFrame, **inference: object):
    return twfe(
        data,
        outcome="Rate",
        treatment="treated",
        unit="State",
        time="Quarter_Num",
        inference=Inference(**inference),  # type: ignore[arg-type]
    )


def test_organ_donation_twfe_with_randomisation_interval(organ):
    """The organ-donation TWFE of California's active-choice policy: -0.0225 (the
    coefficient printed in Huntington-Klein, *The Effect*, ch. 18, "How Is It Performed?",
    TWFE of Rate on state and quarter effects; the issue cites it as the Mixtape's
    number), with a randomisation-inference interval over the 27 states."""
    result = _organ_twfe(organ, method="randomisation")
    assert round(result.estimate, 4) == -0.0225
    assert result.ci_method == "randomisation"
    assert result.extras["assignments_enumerated"] is True
    assert result.extras["reps"] == 27  # California's path given to each state in turn
    # Fisher p: the share of the 27 placebo-in-space estimates at least as far from 0.
    assert result.p_value * 27 == pytest.approx(round(result.p_value * 27))
    assert result.ci_low < result.estimate < result.ci_high
    assert result.seed is None  # nothing random: every assignment was used


def test_one_treated_cluster_refuses_cr1_and_names_randomisation(organ):
    for method in ("analytic", "bootstrap", "wild_bootstrap"):
        with pytest.raises(DataInvalid) as caught:
            _organ_twfe(organ, method=method)
        message = caught.value.findings[0].message
        assert "randomisation" in message and caught.value.findings[0].field_name == "State"


def test_permutation_is_allowed_with_one_treated_unit(organ):
    result = _organ_twfe(organ, method="permutation", reps=99, seed=4)
    assert round(result.estimate, 4) == -0.0225 and 0 < result.p_value <= 1


def test_drawn_assignments_when_there_are_too_many(organ):
    data = organ.copy()
    chosen = ["California", "Colorado", "Texas"]
    data["treated"] = (data["State"].isin(chosen) & (data["Quarter_Num"] >= 4)).astype(int)
    first = _organ_twfe(data, method="randomisation", reps=199, seed=11)
    again = _organ_twfe(data, method="randomisation", reps=199, seed=11)
    assert first.extras["assignments_enumerated"] is False and first.seed == 11
    assert (first.p_value, first.ci_low, first.ci_high) == (
        again.p_value,
        again.ci_low,
        again.ci_high,
    )
    # (1 + #) / (1 + reps)
    assert (first.p_value * 200) == pytest.approx(round(first.p_value * 200))


@pytest.fixture(scope="module")
def ten_states(organ) -> pd.DataFrame:
    states = sorted(organ["State"].unique())[:10]
    data = organ[organ["State"].isin(states)].copy()
    data["treated"] = (data["State"].isin(states[:3]) & (data["Quarter_Num"] >= 4)).astype(int)
    return data


def test_wild_bootstrap_matches_wildboottest(ten_states):
    """The first ten states (alphabetical) of organ_donations, three of them treated from
    Quarter_Num 4: with 2^10 = 1024 < B = 2000 both enumerate every Rademacher sign
    vector, so the p-value is exact. ``wildboottest`` 0.3.2 (WCR11, Rademacher,
    ``impose_null=True``) on ``Rate ~ T + C(State) + C(Quarter_Num)`` clustered by state
    prints t = -0.749651, p = 0.470703 (= 482/1024)."""
    result = twfe(
        ten_states,
        outcome="Rate",
        treatment="treated",
        unit="State",
        time="Quarter_Num",
        inference=Inference(method="wild_bootstrap", reps=2000),
    )
    assert result.p_value == pytest.approx(0.470703, abs=1e-6)
    assert result.extras["reps"] == 1024 and result.extras["assignments_enumerated"]
    assert result.ci_low < result.estimate < result.ci_high
    assert result.ci_method == "wild_bootstrap-rademacher"

    import statsmodels.formula.api as smf
    from wildboottest.wildboottest import wildboottest

    model = smf.ols("Rate ~ treated + C(State) + C(Quarter_Num)", ten_states)
    codes = pd.factorize(ten_states["State"])[0]
    with pytest.warns(UserWarning, match="full_enumeration"):
        table = wildboottest(model, param="treated", cluster=codes, B=2000, seed=1, show=False)
    assert result.p_value == pytest.approx(float(table["p-value"].iloc[0]), abs=1e-12)


def test_wild_bootstrap_interval_inverts_the_test(ten_states):
    """At the interval's ends the bootstrap test of ``tau = tau0`` is at the 5% edge:
    the outcome of the treated cells shifted by ``tau0`` just inside an end is not
    rejected, just outside it is."""
    kwargs = dict(outcome="Rate", treatment="treated", unit="State", time="Quarter_Num")
    result = twfe(ten_states, **kwargs, inference=Inference(method="wild_bootstrap", reps=2000))

    def p_at(tau0: float) -> float:
        shifted = ten_states.assign(Rate=ten_states["Rate"] - tau0 * ten_states["treated"])
        inference = Inference(method="wild_bootstrap", reps=2000)
        return float(twfe(shifted, **kwargs, inference=inference).p_value)

    step = 1e-4 * result.extras["analytic_std_error"]
    for edge, inward in ((result.ci_low, step), (result.ci_high, -step)):
        assert p_at(edge + inward) > 0.05
        assert p_at(edge - inward) <= 0.05


def test_webb_weights_are_seeded(ten_states):
    kwargs = dict(outcome="Rate", treatment="treated", unit="State", time="Quarter_Num")
    inference = Inference(method="wild_bootstrap", reps=399, seed=5, weights="webb")
    first = twfe(ten_states, **kwargs, inference=inference)
    again = twfe(ten_states, **kwargs, inference=inference)
    assert first.p_value == again.p_value and first.seed == 5
    assert first.ci_method == "wild_bootstrap-webb"
    assert first.p_value == pytest.approx(0.47, abs=0.1)


def test_unknown_weights_are_refused():
    with pytest.raises(SpecInvalid, match=r"ci\.weights"):
        Inference(method="wild_bootstrap", weights="mammen")


def test_too_few_units_give_an_unbounded_interval_with_a_note(organ):
    """Ten states, one treated: the smallest attainable p-value is 1/10, so no 95 %
    interval is bounded; the result says so rather than inventing one."""
    others = sorted(s for s in organ["State"].unique() if s != "California")[:9]
    data = organ[organ["State"].isin([*others, "California"])]
    result = _organ_twfe(data, method="randomisation")
    assert result.extras["reps"] == 10
    assert result.ci_low is None and result.ci_high is None
    assert result.p_value >= 0.1
    assert any("unbounded" in note for note in result.notes)


def test_randomisation_interval_inverts_the_test(organ):
    """Just inside each end, the outcome of California's treated quarters shifted by that
    effect is not rejected at 5 %; just outside, it is."""
    result = _organ_twfe(organ, method="randomisation")

    def p_at(tau0: float) -> float:
        shifted = organ.assign(Rate=organ["Rate"] - tau0 * organ["treated"])
        return float(_organ_twfe(shifted, method="randomisation").p_value)

    step = 1e-4 * abs(result.ci_high - result.ci_low)
    for edge, inward in ((result.ci_low, step), (result.ci_high, -step)):
        assert p_at(edge + inward) > 0.05
        assert p_at(edge - inward) <= 0.05


def test_other_estimators_refuse_the_few_treated_methods_by_name():
    import numpy as np

    from utfall.core.evaluation.means import difference_in_means

    frame = pd.DataFrame({"y": np.arange(20.0), "d": [0, 1] * 10})
    for method in ("randomisation", "wild_bootstrap"):
        with pytest.raises(SpecInvalid, match="not available for difference_in_means"):
            difference_in_means(
                frame, outcome="y", treatment="d", inference=Inference(method=method)
            )


def test_wild_bootstrap_event_study_rows_match_wildboottest(ten_states):
    """Every event-study coefficient gets its own WCR test and interval. The ten states,
    three treated from Quarter_Num 4 (relative periods −3…2, reference −1): with
    2^10 = 1024 < B = 2000 both enumerate every sign vector, so each row's p-value (three
    of them checked) equals ``wildboottest`` 0.3.2 on ``Rate ~ C(State) + C(Quarter_Num) + the five dummies``,
    clustered by state, testing that dummy — up to the two sign vectors (all +1, all −1)
    that rebuild the observed statistic exactly, a tie that floating-point rounding
    counts either way (at most 2/1024)."""
    import statsmodels.formula.api as smf
    from wildboottest.wildboottest import wildboottest

    result = twfe(
        ten_states,
        outcome="Rate",
        treatment="treated",
        unit="State",
        time="Quarter_Num",
        event_study=True,
        inference=Inference(method="wild_bootstrap", reps=2000),
    )
    rows = {row["relative_period"]: row for row in result.extras["event_study"]}
    assert sorted(rows) == [-3, -2, -1, 0, 1, 2]
    assert result.extras["event_study_ci_method"] == "wild_bootstrap-rademacher"
    assert result.extras["event_study_wild_reps"] == 1024

    data = ten_states.copy()
    treated_states = data.loc[data["treated"] == 1, "State"].unique()
    relative = data["Quarter_Num"] - 4
    names = {}
    for period in (-3, -2, 0, 1, 2):
        name = f"e_{'m' if period < 0 else 'p'}{abs(period)}"
        names[period] = name
        data[name] = (data["State"].isin(treated_states) & (relative == period)).astype(float)
    formula = "Rate ~ C(State) + C(Quarter_Num) + " + " + ".join(names.values())
    model = smf.ols(formula, data)
    codes = pd.factorize(data["State"])[0]
    fitted = model.fit()
    for period, name in names.items():
        row = rows[period]
        assert row["estimate"] == pytest.approx(fitted.params[name], abs=1e-9)
        if period not in (-3, 0, 2):
            continue  # wildboottest takes seconds a coefficient: three of the five
        with pytest.warns(UserWarning, match="full_enumeration"):
            table = wildboottest(model, param=name, cluster=codes, B=2000, seed=1, show=False)
        assert row["p_value"] == pytest.approx(
            float(table["p-value"].iloc[0]), abs=2 / 1024 + 1e-12
        )
        # The interval inverts the same test: it holds the estimate, and it differs from
        # the CR1 t interval b ± t(G−1)·se.
        assert row["ci_low"] < row["estimate"] < row["ci_high"]
        cr1_half = row["std_error"] * 2.2621571628  # t(9) 97.5 %
        assert abs((row["ci_high"] - row["ci_low"]) / 2 - cr1_half) > 1e-6
    assert rows[-1]["estimate"] == 0.0 and rows[-1]["ci_low"] is None


def test_wild_bootstrap_event_study_is_seeded(ten_states):
    """With Webb weights (drawn, not enumerated) every row uses the same seeded draws."""
    kwargs = dict(
        outcome="Rate", treatment="treated", unit="State", time="Quarter_Num", event_study=True
    )
    inference = Inference(method="wild_bootstrap", reps=499, weights="webb", seed=5)
    first = twfe(ten_states, **kwargs, inference=inference)
    again = twfe(ten_states, **kwargs, inference=inference)
    assert first.extras["event_study"] == again.extras["event_study"]
    assert first.extras["event_study_wild_seed"] == 5
