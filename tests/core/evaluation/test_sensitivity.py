"""Parallel-trends sensitivity (Rambachan & Roth) against the HonestDiD README.

The published check is the README of the HonestDiD R package
(github.com/asheshrambachan/HonestDiD, README.md, "Example usage – Medicaid expansions"):
the Medicaid expansion data (``ehec_data``, shipped by moderndid as ``load_ehec``), years
before 2016 without the 2015 cohort, a TWFE event study of ``dins`` with 2013 as the
reference year and standard errors clustered by state; 5 pre-period and 2 post-period
coefficients, the effect for 2014. The expected intervals are quoted from the README's
printed tables, never computed by the code under test.
"""

from __future__ import annotations

import pytest

from utfall.core.evaluation.sensitivity import (
    DEFAULT_GRID,
    RobustInterval,
    SensitivitySpec,
    breakdown_value,
    event_study_inputs,
    event_study_sensitivity,
)
from utfall.errors import EvaluationError, SpecInvalid


@pytest.fixture(scope="module")
def medicaid_event_study() -> dict:
    """The README's TWFE event study, estimated by utfall's own twfe."""
    import moderndid

    from utfall.core.evaluation.panel import twfe

    data = moderndid.load_ehec().to_pandas()
    data = data[(data.year < 2016) & (data.yexp2.isna() | (data.yexp2 != 2015))].copy()
    data["treated"] = ((data.yexp2 == 2014) & (data.year >= 2014)).astype(int)
    estimate = twfe(
        data, outcome="dins", treatment="treated", unit="stfips", time="year", event_study=True
    )
    return estimate.extras


# README, "Sensitivity Analysis Using Smoothness Restrictions", delta_sd_results (FLCI).
README_SD = [
    (0.00, 0.0259, 0.0607),
    (0.01, 0.0132, 0.0787),
    (0.02, 0.00286, 0.0907),
    (0.03, -0.00714, 0.101),
    (0.04, -0.0171, 0.111),
    (0.05, -0.0271, 0.121),
]
# README, "Sensitivity analysis using relative magnitudes restrictions", delta_rm_results
# (C-LF). The C-LF set is found by test inversion with a simulated least-favourable
# critical value: R inverts on a 1,000-point grid, moderndid by bisection, so the ends
# agree to about 4e-4, not to the printed digits.
README_RM = [
    (0.5, 0.0240, 0.0672),
    (1.0, 0.0170, 0.0720),
    (1.5, 0.00824, 0.0797),
    (2.0, -0.000916, 0.0881),
]
RM_TOLERANCE = 5e-4


def test_medicaid_event_study_layout(medicaid_event_study):
    inputs = event_study_inputs(medicaid_event_study)
    assert inputs.pre_periods == (-6, -5, -4, -3, -2)
    assert inputs.post_periods == (0, 1)
    assert inputs.reference == -1
    assert len(inputs.sigma) == 7


def test_smoothness_reproduces_honestdid_readme(medicaid_event_study):
    spec = SensitivitySpec(method="smoothness", grid=[m for m, _, _ in README_SD])
    result = event_study_sensitivity(medicaid_event_study, spec)
    assert result.ci_method == "FLCI"
    for (bound, low, high), interval in zip(README_SD, result.intervals, strict=True):
        assert interval.bound == pytest.approx(bound)
        # Printed to three significant digits; FLCI is an optimisation solved by CVXR in
        # R and cvxpy here, whose solutions agree to about 1e-4.
        assert interval.ci_low == pytest.approx(low, abs=1e-4)
        assert interval.ci_high == pytest.approx(high, abs=5e-4)
    # README: "the breakdown value for a significant effect is M ≈ 0.03" — the set at
    # 0.02 excludes zero, the one at 0.03 does not.
    assert result.breakdown == pytest.approx(0.02)
    assert result.original_low < result.estimate < result.original_high
    assert result.estimate == pytest.approx(0.0464, abs=1e-4)


# The two rows either side of the README's breakdown value (the last M̄ whose set excludes
# zero, and the first whose set holds it). Each inversion simulates its least-favourable
# critical value, 11,000 linear programs and 15–40 s of a core: all four rows would take a
# tenth of the suite's time, and the two others run the same code at other M̄.
README_RM_CHECKED = README_RM[2:]


@pytest.mark.slow
@pytest.mark.parametrize(("bound", "low", "high"), README_RM_CHECKED)
def test_relative_magnitude_reproduces_honestdid_readme(medicaid_event_study, bound, low, high):
    """One README row per test (so the rows run on all workers); the grid the spec defaults
    to is the README's (below)."""
    spec = SensitivitySpec(method="relative_magnitude", grid=[bound])
    result = event_study_sensitivity(medicaid_event_study, spec)
    assert result.ci_method == "C-LF"
    (interval,) = result.intervals
    assert interval.bound == pytest.approx(bound)
    assert interval.ci_low == pytest.approx(low, abs=RM_TOLERANCE)
    assert interval.ci_high == pytest.approx(high, abs=RM_TOLERANCE)
    # The README's table: zero enters the set between M̄ = 1.5 and M̄ = 2, the breakdown 1.5.
    assert interval.excludes_zero is (bound <= 1.5)
    assert result.breakdown == (bound if bound <= 1.5 else None)


def test_relative_magnitude_default_grid_is_the_readmes():
    assert DEFAULT_GRID["relative_magnitude"] == tuple(bound for bound, _, _ in README_RM)


def test_average_target_weights_the_post_periods(medicaid_event_study):
    spec = SensitivitySpec(method="smoothness", grid=[0.0], target="average")
    result = event_study_sensitivity(medicaid_event_study, spec)
    assert result.weights == (0.5, 0.5)
    rows = {r["relative_period"]: r["estimate"] for r in medicaid_event_study["event_study"]}
    assert result.estimate == pytest.approx((rows[0] + rows[1]) / 2)
    assert result.as_dict()["intervals"][0]["excludes_zero"] is True


def test_target_must_be_a_post_period(medicaid_event_study):
    with pytest.raises(SpecInvalid, match="relative period 5 is not a post-period"):
        event_study_sensitivity(
            medicaid_event_study, SensitivitySpec(method="smoothness", grid=[0.0], target=5)
        )


def test_breakdown_value_stops_at_the_first_set_holding_zero():
    intervals = [
        RobustInterval(0.0, 0.1, 0.5),
        RobustInterval(1.0, 0.01, 0.6),
        RobustInterval(2.0, -0.1, 0.7),
        RobustInterval(3.0, 0.2, 0.3),  # not reached: the conclusion broke at 2
    ]
    assert breakdown_value(intervals) == 1.0
    assert breakdown_value([RobustInterval(0.5, -0.1, 0.1)]) is None
    assert breakdown_value([RobustInterval(0.5, -0.3, -0.1)]) == 0.5  # negative effect


def test_spec_grid_must_ascend():
    with pytest.raises(ValueError, match="ascending"):
        SensitivitySpec(method="smoothness", grid=[0.02, 0.01])
    with pytest.raises(ValueError, match="not negative"):
        SensitivitySpec(method="relative_magnitude", grid=[-1.0])


def test_event_study_without_reference_is_refused():
    extras = {
        "event_study": [{"relative_period": 0, "estimate": 1.0}],
        "event_study_vcov": [[1.0]],
        "event_study_reference": None,
    }
    with pytest.raises(SpecInvalid, match="base_period: universal"):
        event_study_inputs(extras)


def test_missing_event_study_is_refused():
    with pytest.raises(SpecInvalid, match="event_study: true"):
        event_study_inputs({})


def test_gap_in_pre_periods_is_refused():
    extras = {
        "event_study": [
            {"relative_period": -4, "estimate": 0.0},
            {"relative_period": -2, "estimate": 0.0},
            {"relative_period": -1, "estimate": 0.0},
            {"relative_period": 0, "estimate": 1.0},
        ],
        "event_study_vcov": [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]],
        "event_study_reference": -1,
    }
    with pytest.raises(EvaluationError, match="skip a period"):
        event_study_inputs(extras)


def test_staggered_event_study_matches_moderndid_honest_did():
    """utfall's staggered_did (universal base period) on mpdta, then the sensitivity, equals
    moderndid's own att_gt → aggte(dynamic) → honest_did chain (the R did + HonestDiD
    workflow of the README's "Staggered timing" section) to 1e-6."""
    import warnings

    import moderndid

    from utfall.core.evaluation.staggered import staggered_did

    data = moderndid.load_mpdta()
    estimate = staggered_did(
        data.to_pandas(),
        outcome="lemp",
        unit="countyreal",
        time="year",
        group="first.treat",
        base_period="universal",
    )
    spec = SensitivitySpec(method="smoothness", grid=[0.0, 0.01])
    result = event_study_sensitivity(estimate.extras, spec)
    assert result.pre_periods == (-4, -3, -2) and result.post_periods == (0, 1, 2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        groups = moderndid.att_gt(
            data=data,
            yname="lemp",
            tname="year",
            idname="countyreal",
            gname="first.treat",
            base_period="universal",
        )
        dynamic = moderndid.aggte(groups, type="dynamic")
        reference = moderndid.honest_did(
            dynamic, event_time=0, sensitivity_type="smoothness", m_vec=[0.0, 0.01]
        )
    expected = reference.robust_ci.select("lb", "ub").rows()
    for interval, (low, high) in zip(result.intervals, expected, strict=True):
        assert interval.ci_low == pytest.approx(low, abs=1e-6)
        assert interval.ci_high == pytest.approx(high, abs=1e-6)
    assert result.original_low == pytest.approx(reference.original_ci.lb, abs=1e-6)
    assert result.breakdown is None  # the original interval already holds zero


def test_spec_refuses_sensitivity_on_a_method_without_event_study():
    from utfall.core.evaluation.spec import spec_validate

    raw = {
        "data": "x.csv",
        "method": "did",
        "outcome": "y",
        "treatment": "d",
        "post": "p",
        "sensitivity": {"method": "smoothness"},
    }
    with pytest.raises(SpecInvalid, match="method did has none") as error:
        spec_validate(raw, source="s.yaml", locate=lambda path: f"s.yaml:{'.'.join(path)}")
    assert error.value.path == ("sensitivity",)
    spec = spec_validate(
        {**raw, "method": "twfe", "unit": "u", "time": "t", "post": None, "event_study": True},
        source="s.yaml",
        locate=lambda path: "s.yaml",
    )
    assert spec.sensitivity == SensitivitySpec(method="smoothness")
