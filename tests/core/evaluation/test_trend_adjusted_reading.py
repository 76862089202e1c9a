"""The ``reading`` option of the trend-adjusted estimator (issue 17, seed 004).

Seed 004 (004_3c57c42b97f7a71d.txt, the SKL slide 22): "Sn = Σ(i=1..36) SLT_r · s_i / SLT_i"
with "s_i = Antalet nettodagar i varje manad under observationsperioden", "SLT_i =
Sjukfranvarotrendfaktorn for varje manad", "SLT_r = Sjukfranvarotrendfaktorn for
referensmanaden", against "S_e = Forvantat antal nettodagar per anstalld baserat pa
referensperioden": the reading ``observed_adjusted``. ``reference_scaled`` (the default)
scales the reference days up instead.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utfall.core.evaluation.trend_adjusted import SickLeaveMonths, score_weights, trend_adjusted
from utfall.errors import SpecInvalid


def two_months() -> tuple[np.ndarray, np.ndarray, SickLeaveMonths]:
    ref = np.array([[2, 0], [1, 3]])
    con = np.array([[1, 0], [0, 1]])
    months = SickLeaveMonths.from_arrays(
        month=[1, 2],
        reference_days=ref.sum(axis=0),
        reference_headcount=[2, 2],
        contract_days=con.sum(axis=0),
        contract_headcount=[2, 2],
        reference_index=[100.0, 80.0],
        contract_index=[110.0, 100.0],
    )
    return ref, con, months


def test_seed_reading_by_hand() -> None:
    """S_e = 3/2 + 3/2 = 3; S_n = (1/2)·100/110 + (1/2)·80/100 = 0.854545…"""
    _, _, months = two_months()
    e = trend_adjusted(months, ci_method=None, day_value=1000.0, reading="observed_adjusted")
    s_n = 0.5 * 100 / 110 + 0.5 * 80 / 100
    assert e.extras["expected_days_per_employee"] == pytest.approx(3.0)
    assert e.extras["observed_days_per_employee"] == pytest.approx(s_n)
    assert e.extras["saving_days"] == pytest.approx((3.0 - s_n) * 2)
    assert e.estimate == pytest.approx((3.0 - s_n) * 2 * 1000.0)
    assert e.extras["relative_reduction"] == pytest.approx((3.0 - s_n) / 3.0)
    assert e.extras["reading"] == "observed_adjusted"
    monthly = e.extras["monthly"]
    assert monthly["expected_days_per_employee"] == pytest.approx([1.5, 1.5])
    assert monthly["observed_days_per_employee"] == pytest.approx([0.5 * 100 / 110, 0.5 * 0.8])
    assert monthly["raw_observed_days_per_employee"] == pytest.approx([0.5, 0.5])
    assert "SLT_ref,i / SLT_i" in e.estimand


def test_default_reading_is_unchanged() -> None:
    """Today's reading: S_e = 1.5·1.1 + 1.5·1.25 = 3.525, S_n = 1 (the older specs)."""
    _, _, months = two_months()
    e = trend_adjusted(months, ci_method=None)
    assert e.extras["reading"] == "reference_scaled"
    assert e.extras["saving_days"] == pytest.approx((3.525 - 1.0) * 2)
    assert e.extras["relative_reduction"] == pytest.approx(2.525 / 3.525)
    assert e.extras["monthly"]["raw_observed_days_per_employee"] == pytest.approx([0.5, 0.5])


def test_relative_reduction_is_floored_at_zero() -> None:
    """Seed 004: "Max((Se − Sn)/Se, 0)"."""
    worse = SickLeaveMonths.from_arrays(
        month=[1, 2],
        reference_days=[0, 1],
        reference_headcount=[2, 2],
        contract_days=[5, 5],
        contract_headcount=[2, 2],
        reference_index=[100.0, 100.0],
        contract_index=[100.0, 100.0],
    )
    e = trend_adjusted(worse, ci_method=None, reading="observed_adjusted")
    assert e.estimate == 0
    assert e.extras["relative_reduction"] == 0


def test_scores_of_the_seed_reading_add_up_and_give_an_interval() -> None:
    ref, con, months = two_months()
    a, b = score_weights(months, "observed_adjusted")
    scores = ref @ a - con @ b
    e = trend_adjusted(
        months,
        scores=scores,
        ci_method="analytic",
        floor=False,
        reading="observed_adjusted",
    )
    assert float(scores.sum()) == pytest.approx(3.0 - (0.5 * 100 / 110 + 0.4))
    assert e.ci_low is not None and e.ci_high is not None
    # Scores of the other reading do not add up to this reading's totals.
    a_old, b_old = score_weights(months)
    with pytest.raises(Exception, match="do not add up"):
        trend_adjusted(
            months,
            scores=ref @ a_old - con @ b_old,
            ci_method="analytic",
            reading="observed_adjusted",
        )


def test_unknown_reading_is_refused() -> None:
    _, _, months = two_months()
    with pytest.raises(SpecInvalid, match="reading"):
        trend_adjusted(months, ci_method=None, reading="scaled")
    with pytest.raises(SpecInvalid, match="reading"):
        score_weights(months, "scaled")


@settings(max_examples=50, deadline=None)
@given(
    ratio=st.floats(min_value=0.5, max_value=2.0),
    reference=st.lists(st.integers(0, 50), min_size=3, max_size=3),
    observed=st.lists(st.integers(0, 50), min_size=3, max_size=3),
)
def test_constant_trend_ratio_the_readings_differ_by_the_ratio(
    ratio: float, reference: list[int], observed: list[int]
) -> None:
    """With one trend ratio w in every month: days(reference_scaled) = w · days(observed_adjusted),
    and the relative reductions agree."""
    months = SickLeaveMonths.from_arrays(
        month=[1, 2, 3],
        reference_days=reference,
        reference_headcount=[10, 10, 10],
        contract_days=observed,
        contract_headcount=[10, 10, 10],
        reference_index=[100.0, 100.0, 100.0],
        contract_index=[100.0 * ratio] * 3,
    )
    old = trend_adjusted(months, ci_method=None, floor=False)
    new = trend_adjusted(months, ci_method=None, floor=False, reading="observed_adjusted")
    assert old.extras["saving_days"] == pytest.approx(ratio * new.extras["saving_days"], abs=1e-9)
    if sum(reference) > 0:
        assert old.extras["relative_reduction"] == pytest.approx(
            new.extras["relative_reduction"], abs=1e-12
        )
