"""Event studies for two-way fixed effects: one coefficient per period relative to adoption.

The regression is ``y_it = a_i + l_t + sum_r b_r · 1[t - E_i = r] (+ X_it c) + e_it``
with ``E_i`` the unit's first treated period and ``r`` counted in periods of the
panel's time column (positions in its sorted values, so quarters and years count
alike). Never-treated units have no relative-period dummy and serve, with the
not-yet-treated periods, as the comparison. The reference period (``-1`` by default)
is omitted and reported with estimate 0. With a window (``leads``, ``lags``) the
periods beyond it are binned into the endpoints (``bin_endpoints``, the default) or
dropped from the sample. Standard errors are CR1 clustered by unit with ``G - 1``
df, the same small-sample factor as :func:`~utfall.core.evaluation.panel.twfe`; the
joint pre-trend test is the Wald test that every lead is zero, as ``F = W / q`` with
``(q, G - 1)`` df (decision 0705).

The result is the shared event-study interface of ``Estimate.extras``:
``event_study`` (rows sorted by relative period), ``event_study_reference``,
``event_study_vcov`` and ``pre_trend_test``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from utfall.errors import DataInvalid, Finding, SpecInvalid

__all__ = ["EventDesign", "event_design", "event_study_extras", "event_study_fit", "pre_trend_wald"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
Sweep = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True)
class EventDesign:
    """The relative-period dummies of an event study and the rows they apply to."""

    periods: tuple[int, ...]
    """The estimated relative periods (the reference excluded), in column order."""
    dummies: FloatArray
    """One 0/1 column per estimated relative period, one row per kept observation."""
    keep: np.ndarray[Any, np.dtype[np.bool_]]
    """The observations in the sample (all, unless endpoints are dropped)."""
    reference: int
    binned: bool


def event_design(
    first_period: IntArray,
    unit_codes: IntArray,
    time_codes: IntArray,
    *,
    leads: int | None = None,
    lags: int | None = None,
    reference: int = -1,
    bin_endpoints: bool = True,
) -> EventDesign:
    """Relative-period dummies from each unit's first treated period code (``-1``: never).

    ``leads`` counts the periods before adoption kept (``-leads .. -1``), ``lags`` those
    from adoption on (``0 .. lags``); without them every relative period in the data
    gets its own coefficient.
    """
    if leads is not None and leads < 1:
        raise SpecInvalid("leads: must be 1 or more (the periods before adoption shown)")
    if lags is not None and lags < 0:
        raise SpecInvalid("lags: must be 0 or more (the periods after adoption shown)")
    first_row = first_period[unit_codes]
    treated = first_row >= 0
    relative = np.where(treated, time_codes - first_row, 0)
    keep = np.ones(len(unit_codes), dtype=bool)
    low = -leads if leads is not None else int(relative[treated].min(initial=0))
    high = lags if lags is not None else int(relative[treated].max(initial=0))
    if bin_endpoints:
        relative = np.clip(relative, low, high)
    else:
        keep = ~treated | ((relative >= low) & (relative <= high))
    if not low <= reference <= high:
        raise SpecInvalid(
            f"reference: {reference} is outside the event window {low} .. {high}; "
            "choose a relative period inside it (-1 is the period before adoption)"
        )
    present = sorted({int(r) for r in np.unique(relative[treated & keep])})
    periods = tuple(r for r in present if r != reference)
    if not periods:
        raise DataInvalid(
            "no relative period to estimate",
            [Finding(code="no_variation", message="no treated unit is seen around adoption")],
        )
    dummies = np.column_stack([((relative == r) & treated).astype(np.float64) for r in periods])[
        keep
    ]
    return EventDesign(periods, dummies, keep, reference, bin_endpoints and leads is not None)


def event_study_fit(
    dummies: FloatArray,
    y: FloatArray,
    unit_codes: IntArray,
    n_units: int,
    sweep: Sweep,
    *,
    n_absorbed_params: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Coefficients, CR1 covariance and residuals of the swept event-study regression.

    ``sweep`` removes the unit and period effects and any covariates from columns
    (Frisch-Waugh-Lovell); ``n_absorbed_params`` counts the period dummies, the
    intercept and the covariates, as K in the small-sample factor besides the
    event-study coefficients.
    """
    swept = sweep(np.column_stack([dummies, y]))
    design, target = swept[:, :-1], swept[:, -1]
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise DataInvalid(
            "the event-study design is collinear",
            [
                Finding(
                    code="collinear_event_study",
                    message="the relative-period dummies are collinear with the unit and "
                    "period effects (no never-treated units?): set leads and lags to bin the "
                    "endpoints, or omit a second period",
                )
            ],
        )
    bread = np.linalg.inv(design.T @ design)
    coefficients = bread @ (design.T @ target)
    residuals = target - design @ coefficients
    scores = np.zeros((n_units, design.shape[1]))
    np.add.at(scores, unit_codes, design * residuals[:, None])
    n_obs = len(y)
    k = design.shape[1] + n_absorbed_params
    factor = n_units / (n_units - 1) * (n_obs - 1) / (n_obs - k)
    covariance = factor * bread @ (scores.T @ scores) @ bread
    return (
        np.asarray(coefficients, dtype=np.float64),
        np.asarray(covariance, dtype=np.float64),
        np.asarray(residuals, dtype=np.float64),
    )


def pre_trend_wald(
    coefficients: FloatArray, covariance: FloatArray, periods: tuple[int, ...], df: float
) -> dict[str, Any] | None:
    """The joint Wald test that every lead (negative relative period) is zero."""
    leads = [j for j, r in enumerate(periods) if r < 0]
    if not leads:
        return None
    b = coefficients[leads]
    v = covariance[np.ix_(leads, leads)]
    q = len(leads)
    wald = float(b @ np.linalg.pinv(v) @ b)
    statistic = wald / q
    p_value = float(stats.f.sf(statistic, q, df)) if df > 0 else float(stats.chi2.sf(wald, q))
    return {
        "statistic": statistic,
        "df": q,
        "df_denominator": int(df),
        "p_value": p_value,
        "test": "F = Wald/q that every lead is zero, CR1 covariance",
        "leads": [periods[j] for j in leads],
    }


def event_study_extras(
    design: EventDesign,
    coefficients: FloatArray,
    covariance: FloatArray | None,
    *,
    df: float,
    level: float,
    intervals: list[tuple[float | None, float | None]] | None = None,
    pre_trend: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The shared event-study extras: rows with intervals, reference, covariance, test.

    Without ``intervals`` each row's interval is ``b ± t(G-1) · se``.
    """
    critical = float(stats.t.ppf((1 + level) / 2, df)) if df > 0 else float("nan")
    rows: list[dict[str, Any]] = []
    for j, period in enumerate(design.periods):
        se = float(np.sqrt(covariance[j, j])) if covariance is not None else None
        b = float(coefficients[j])
        if intervals is not None:
            low, high = intervals[j]
        elif se is not None:
            low, high = b - critical * se, b + critical * se
        else:
            low = high = None
        rows.append(
            {
                "relative_period": period,
                "estimate": b,
                "std_error": se,
                "ci_low": low,
                "ci_high": high,
            }
        )
    rows.append(
        {
            "relative_period": design.reference,
            "estimate": 0.0,
            "std_error": None,
            "ci_low": None,
            "ci_high": None,
        }
    )
    rows.sort(key=lambda row: int(row["relative_period"]))
    if pre_trend is None and covariance is not None:
        pre_trend = pre_trend_wald(coefficients, covariance, design.periods, df)
    return {
        "event_study": rows,
        "event_study_reference": design.reference,
        "event_study_vcov": covariance.tolist() if covariance is not None else None,
        "event_study_binned": design.binned,
        "pre_trend_test": pre_trend,
    }
