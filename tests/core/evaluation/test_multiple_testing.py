"""Multiple-testing corrections: Holm, Benjamini–Hochberg, Romano–Wolf."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from utfall.core.evaluation.multiple_testing import adjust, romano_wolf, romano_wolf_bootstrap
from utfall.errors import EvaluationError

# Benjamini & Hochberg (1995, JRSS B 57:289), section 4.2: the 15 p-values of the
# myocardial-infarction study (Neuhaus et al.). At q = 0.05 the FDR procedure rejects
# the four smallest; Hochberg's and Holm's FWER procedures reject only three
# (the paper, p. 296).
BH_1995 = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
    0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000,
]  # fmt: skip


def _family(values):
    return {f"h{i + 1}": p for i, p in enumerate(values)}


def test_benjamini_hochberg_rejects_four_of_the_papers_fifteen():
    result = adjust(_family(BH_1995), "benjamini_hochberg", alpha=0.05)
    assert sum(result.rejected) == 4
    assert result.rejected[:4] == (True, True, True, True)
    # The fourth: 0.0095 · 15 / 4 = 0.035625.
    assert result.of("h4") == pytest.approx(0.0095 * 15 / 4)


def test_holm_rejects_three_of_the_papers_fifteen():
    result = adjust(_family(BH_1995), "holm", alpha=0.05)
    assert sum(result.rejected) == 3
    # Holm: the k-th smallest times (m − k + 1), made monotone.
    assert result.of("h1") == pytest.approx(0.0001 * 15)
    assert result.of("h3") == pytest.approx(0.0019 * 13)
    assert result.of("h15") == 1.0


def test_adjust_refuses_a_p_value_outside_zero_one():
    with pytest.raises(EvaluationError, match="not between 0 and 1"):
        adjust({"a": 1.2}, "holm")
    with pytest.raises(ValueError, match="bootstrap statistics"):
        adjust({"a": 0.1}, "romano_wolf")  # type: ignore[arg-type]


def test_romano_wolf_stepdown_equals_pyfixest_on_the_same_draws():
    """pyfixest's rwolf (multcomp._get_rwolf_pval) is an independent implementation of
    the same step-down; on the same bootstrap statistics both give the same p-values."""
    from pyfixest.estimation.post_estimation.multcomp import _get_rwolf_pval

    rng = np.random.default_rng(20260101)
    for hypotheses in (1, 3, 6):
        correlation = 0.5 + 0.5 * np.eye(hypotheses)
        draws = rng.multivariate_normal(np.zeros(hypotheses), correlation, size=499)
        observed = rng.normal(0, 2.5, size=hypotheses)
        expected = _get_rwolf_pval(observed.copy(), draws.copy())
        assert romano_wolf(observed, draws) == pytest.approx(tuple(expected))


def test_romano_wolf_is_monotone_in_the_statistics():
    draws = np.random.default_rng(3).normal(size=(999, 3))
    adjusted = romano_wolf([4.0, 2.0, 0.5], draws)
    assert adjusted[0] <= adjusted[1] <= adjusted[2]
    assert adjusted[0] == pytest.approx(1 / 1000)


def test_romano_wolf_bootstrap_on_correlated_outcomes():
    """Two outcomes sharing most of their noise, one with an effect: the bootstrap keeps
    the correlation, so the real effect survives and the null one does not."""
    rng = np.random.default_rng(7)
    n = 200
    treat = np.repeat([0, 1], n // 2)
    shared = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "treat": treat,
            "y1": 0.6 * treat + shared + 0.3 * rng.normal(size=n),
            "y2": shared + 0.3 * rng.normal(size=n),
        }
    )

    def fit(outcome):
        def run(data):
            a = data.loc[data.treat == 1, outcome]
            b = data.loc[data.treat == 0, outcome]
            se = float(np.sqrt(a.var() / len(a) + b.var() / len(b)))
            return float(a.mean() - b.mean()), se

        return run

    result = romano_wolf_bootstrap(
        frame, {"y1": fit("y1"), "y2": fit("y2")}, cluster="id", reps=199, seed=1
    )
    assert result.rejected == (True, False)
    assert result.adjusted[0] <= result.adjusted[1]


def test_romano_wolf_bootstrap_agrees_with_pyfixest_rwolf_on_nsw():
    """The NSW experiment (Dehejia & Wahba), the treatment's effect on 1978, 1975 and 1974
    earnings: pyfixest's ``rwolf`` (wild bootstrap of ``feols(re78 + re75 + re74 ~ treat,
    vcov="hetero")``, 1,999 draws, seed 3) gives adjusted p-values 0.0215, 0.5615, 0.981.
    Ours draws people (a pairs bootstrap), so the two agree up to Monte Carlo error."""
    import causaldata
    import pyfixest as pf

    data = causaldata.nsw_mixtape.load_pandas().data.drop(columns=["data_id"]).astype(float)
    data["id"] = np.arange(len(data))
    outcomes = ("re78", "re75", "re74")
    for column in outcomes:
        data[column] = data[column] / 1000
    models = pf.feols("re78 + re75 + re74 ~ treat", data=data, vcov="hetero")
    published = pf.rwolf(models.to_list(), "treat", reps=1999, seed=3).loc["RW Pr(>|t|)"]

    def fit(outcome):
        def run(frame):
            a = frame.loc[frame.treat == 1, outcome]
            b = frame.loc[frame.treat == 0, outcome]
            return float(a.mean() - b.mean()), float(np.sqrt(a.var() / len(a) + b.var() / len(b)))

        return run

    ours = romano_wolf_bootstrap(
        data, {y: fit(y) for y in outcomes}, cluster="id", reps=1999, seed=3
    )
    assert ours.adjusted == pytest.approx(tuple(published), abs=0.03)
    assert ours.rejected == (True, False, False)
