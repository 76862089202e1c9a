"""Bad data gives one clear error that names the column and row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from utfall.core.evaluation import did, difference_in_means, ipw, pre_post, synthetic_control, twfe
from utfall.errors import DataInvalid, EvaluationError, SpecInvalid


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"y": [1.0, 2, 3, 4, 5, 6], "d": [0, 0, 0, 1, 1, 1], "g": [1, 1, 2, 2, 3, 3]}
    )


def test_missing_column_is_named():
    with pytest.raises(DataInvalid) as caught:
        difference_in_means(_frame(), outcome="income", treatment="d")
    finding = caught.value.findings[0]
    assert finding.code == "missing_column"
    assert finding.field_name == "income"
    assert "columns are: d, g, y" in finding.message


def test_non_numeric_outcome_names_row_and_value():
    frame = _frame().astype({"y": object})
    frame.loc[3, "y"] = "n/a"
    with pytest.raises(DataInvalid) as caught:
        difference_in_means(frame, outcome="y", treatment="d")
    finding = caught.value.findings[0]
    assert (finding.code, finding.row, finding.field_name) == ("not_numeric", 4, "y")
    assert "'n/a'" in finding.message


def test_text_numbers_are_read_as_numbers():
    frame = _frame().astype({"y": str})
    assert difference_in_means(frame, outcome="y", treatment="d").estimate == pytest.approx(3.0)


@pytest.mark.parametrize("bad", [2, "yes"])
def test_treatment_must_be_zero_or_one(bad):
    frame = _frame().astype({"d": object})
    frame.loc[4, "d"] = bad
    with pytest.raises(DataInvalid) as caught:
        difference_in_means(frame, outcome="y", treatment="d")
    finding = caught.value.findings[0]
    assert (finding.code, finding.row, finding.field_name) == ("not_binary", 5, "d")
    assert "must be 0 or 1" in finding.message


def test_empty_group():
    frame = _frame().assign(d=0)
    with pytest.raises(DataInvalid, match="treated"):
        difference_in_means(frame, outcome="y", treatment="d")


def test_too_few_clusters():
    # Treated rows all sit in one cluster (g = 3): no cluster-robust SE is possible.
    frame = _frame().assign(g=[1, 1, 2, 3, 3, 3], d=[0, 0, 0, 1, 1, 1])
    with pytest.raises(DataInvalid) as caught:
        difference_in_means(frame, outcome="y", treatment="d", cluster="g")
    finding = caught.value.findings[0]
    assert finding.code == "too_few_clusters"
    assert "found 3 clusters, 1 with treated and 2 with control rows" in finding.message
    # Refused only as CR1: the message names the inference that is valid with one treated unit.
    assert "ci.method: randomisation" in finding.message


def test_missing_values_are_left_out_and_counted():
    frame = _frame()
    frame.loc[0, "y"] = np.nan
    estimate = difference_in_means(frame, outcome="y", treatment="d", se="classical")
    assert estimate.n_obs == 5
    assert estimate.notes[0].startswith("1 rows with a missing value")


def test_group_must_be_constant_within_unit_for_did():
    frame = pd.DataFrame(
        {
            "y": [1.0, 2, 3, 4, 5, 6, 7, 8],
            "g": [0, 1, 0, 0, 1, 1, 1, 1],
            "p": [0, 1] * 4,
            "id": [1, 1, 2, 2, 3, 3, 4, 4],
        }
    )
    with pytest.raises(DataInvalid, match="changes within a unit"):
        did(frame, outcome="y", treatment="g", post="p", unit="id")


def test_twfe_rejects_duplicate_unit_periods_and_no_variation():
    frame = pd.DataFrame(
        {"y": [1.0, 2, 3, 4], "D": [0, 1, 0, 0], "id": [1, 1, 2, 2], "t": [1, 1, 1, 2]}
    )
    with pytest.raises(DataInvalid, match="twice in one period"):
        twfe(frame, outcome="y", treatment="D", unit="id", time="t")
    everyone = pd.DataFrame(
        {"y": [1.0, 2, 3, 4, 5, 6], "D": [0, 1] * 3, "id": [1, 1, 2, 2, 3, 3], "t": [1, 2] * 3}
    )
    with pytest.raises(DataInvalid, match="does not vary"):
        twfe(everyone, outcome="y", treatment="D", unit="id", time="t")


def test_ipw_separation_is_an_evaluation_error():
    frame = pd.DataFrame({"y": np.arange(8.0), "d": [0, 0, 0, 0, 1, 1, 1, 1], "x": np.arange(8.0)})
    with pytest.raises(EvaluationError, match="separat"):
        ipw(frame, outcome="y", treatment="d", covariates=["x"])


def test_ipw_options_are_checked():
    frame = _frame().assign(x=[1.0, 2, 1, 2, 1, 2])
    with pytest.raises(SpecInvalid, match="estimand"):
        ipw(frame, outcome="y", treatment="d", covariates=["x"], estimand="ATX")
    with pytest.raises(SpecInvalid, match="trim"):
        ipw(frame, outcome="y", treatment="d", covariates=["x"], trim=0.7)
    with pytest.raises(SpecInvalid, match="at least one covariate"):
        ipw(frame, outcome="y", treatment="d", covariates=[])
    with pytest.raises(DataInvalid, match="lacks columns"):
        ipw(frame, outcome="y", treatment="d", covariates=["I(not_a_column**2)"])


def test_pre_post_rejects_a_unit_measured_twice_in_a_wave():
    frame = pd.DataFrame({"id": [1, 1, 1, 2, 2], "w": [1, 2, 2, 1, 2], "s": [1.0, 2, 3, 4, 5]})
    with pytest.raises(DataInvalid) as caught:
        pre_post(frame, outcome="s", unit="id", time="w")
    assert caught.value.findings[0].row == 3


def test_synthetic_control_needs_one_treated_unit_and_a_balanced_panel():
    rows = [
        {"u": u, "t": t, "y": float(u + t), "D": int(u < 2 and t > 2)}
        for u in range(5)
        for t in range(5)
    ]
    with pytest.raises(DataInvalid, match="exactly one treated unit"):
        synthetic_control(pd.DataFrame(rows), outcome="y", unit="u", time="t", treatment="D")
    with pytest.raises(DataInvalid, match="not balanced"):
        synthetic_control(pd.DataFrame(rows[1:]), outcome="y", unit="u", time="t", treatment="D")
