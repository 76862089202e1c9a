"""Synthetic control for one treated unit, with in-space placebo inference.

The weights ``W`` (non-negative, summing to one) over the donor units minimise
``(x1 - X0 W)' V (x1 - X0 W)`` (Abadie & Gardeazabal 2003; Abadie, Diamond &
Hainmueller 2010). Without covariates the predictors are the treated unit's
pre-period outcomes and ``V`` is the identity, so ``W`` minimises the pre-period
mean squared prediction error (MSPE) directly. With covariates the predictors are
the pre-period means of the covariates and of the outcome, standardised across
units, and the diagonal ``V`` is chosen (Nelder–Mead over the simplex, as Synth and
pysyncon do) to minimise the pre-period outcome MSPE.

Inference re-runs the method with every donor as the treated unit (in-space
placebos) and ranks the ratio of post- to pre-period root MSPE:
``p = (1 + #{placebo ratio >= treated ratio}) / (1 + J)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from scipy.optimize import minimize, nnls  # type: ignore[import-untyped]

from utfall.core.evaluation import _frame
from utfall.core.evaluation._assemble import dropped_note
from utfall.core.evaluation.inference import Inference
from utfall.core.evaluation.result import Estimate
from utfall.errors import DataInvalid, EvaluationError, Finding, SpecInvalid

__all__ = ["simplex_weights", "synthetic_control"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def simplex_weights(x1: FloatArray, x0: FloatArray, v: FloatArray | None = None) -> FloatArray:
    """Weights ``w >= 0``, ``sum(w) = 1`` minimising ``(x1 - x0 w)' diag(v) (x1 - x0 w)``.

    ``x1`` has one entry per predictor, ``x0`` one column per donor.
    """
    n_donors = x0.shape[1]
    root_v = np.sqrt(v) if v is not None else np.ones(len(x1))
    a = x0 * root_v[:, None]
    b = x1 * root_v
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(b).max(initial=0.0)), 1e-12)
    a, b = a / scale, b / scale
    # A start from non-negative least squares with a heavily weighted sum-to-one row.
    penalty = 1e3
    start, _ = nnls(np.vstack([a, penalty * np.ones(n_donors)]), np.append(b, penalty))
    start = start / start.sum() if start.sum() > 0 else np.full(n_donors, 1 / n_donors)
    gram, cross = a.T @ a, a.T @ b

    def loss(w: FloatArray) -> float:
        return float(w @ gram @ w - 2 * cross @ w)

    def grad(w: FloatArray) -> FloatArray:
        return np.asarray(2 * gram @ w - 2 * cross, dtype=np.float64)

    result = minimize(
        loss,
        start,
        jac=grad,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * n_donors,
        constraints=[
            {"type": "eq", "fun": lambda w: np.sum(w) - 1.0, "jac": lambda w: np.ones_like(w)}
        ],
        options={"ftol": 1e-14, "maxiter": 2000},
    )
    w = np.clip(np.asarray(result.x, dtype=np.float64), 0.0, None)
    return np.asarray(w / w.sum(), dtype=np.float64)


@dataclass(frozen=True)
class _Fit:
    weights: FloatArray
    gaps: FloatArray
    pre_rmspe: float
    post_rmspe: float
    v: FloatArray | None


def _fit_one(
    y1: FloatArray,
    y0: FloatArray,
    pre: np.ndarray[Any, np.dtype[np.bool_]],
    z1: FloatArray | None,
    z0: FloatArray | None,
) -> _Fit:
    """Weights and gaps for one treated series ``y1`` (periods) against donors ``y0``."""
    if z1 is None or z0 is None:
        weights = simplex_weights(y1[pre], y0[pre])
        v = None
    else:
        spread = np.concatenate([z0, z1[:, None]], axis=1).std(axis=1, ddof=1)
        spread = np.where(spread > 0, spread, 1.0)
        x1, x0 = z1 / spread, z0 / spread[:, None]

        def outcome_loss(raw: FloatArray) -> float:
            v = np.abs(raw) / max(float(np.sum(np.abs(raw))), 1e-300)
            w = simplex_weights(x1, x0, v)
            return float(np.mean((y1[pre] - y0[pre] @ w) ** 2))

        start = np.full(len(x1), 1 / len(x1))
        result = minimize(
            outcome_loss, start, method="Nelder-Mead", options={"maxiter": 1000, "xatol": 1e-6}
        )
        v = np.abs(result.x) / np.sum(np.abs(result.x))
        weights = simplex_weights(x1, x0, v)
    gaps = y1 - y0 @ weights
    return _Fit(
        weights=weights,
        gaps=gaps,
        pre_rmspe=float(np.sqrt(np.mean(gaps[pre] ** 2))),
        post_rmspe=float(np.sqrt(np.mean(gaps[~pre] ** 2))),
        v=v,
    )


def synthetic_control(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str,
    post: str | None = None,
    covariates: Sequence[str] = (),
    inference: Inference | None = None,
) -> Estimate:
    """Average post-period gap between the treated unit and its synthetic control.

    ``treatment`` is 1 on the treated unit's rows from the start of treatment on
    (or, with ``post``, 1 on all its rows and ``post`` marks the treated periods).
    Exactly one unit may be treated; the panel must be balanced. ``covariates``
    are column names whose pre-period means join the predictors. The p-value is the
    in-space placebo rank of the post/pre RMSPE ratio; no standard error or interval
    is reported (``ci.method`` may be ``analytic``, ``permutation`` or
    ``randomisation``; all mean the placebo test).
    """
    inference = inference or Inference()
    if inference.method in ("bootstrap", "wild_bootstrap"):
        raise SpecInvalid(
            f"ci.method: {inference.method!r} is not available for synthetic_control: with "
            "one treated unit inference comes from placebo runs (use 'permutation', "
            "'randomisation' or 'analytic')"
        )
    covariates = list(covariates)
    _frame.require_columns(
        frame,
        {"outcome": outcome, "unit": unit, "time": time, "treatment": treatment, "post": post},
    )
    _frame.require_columns(frame, {f"covariate {c}": c for c in covariates})
    needed = [outcome, unit, time, treatment, post, *covariates]
    data, dropped = _frame.complete_rows(frame, needed)
    y = _frame.numeric(data, outcome, "outcome")
    d = _frame.binary(data, treatment, "treatment")
    if post is not None:
        d = d * _frame.binary(data, post, "post")
    unit_codes, n_units = _frame.factorize(data[unit])
    time_codes, n_times = _frame.factorize(data[time])
    unit_names = sorted(pd.unique(data[unit]).tolist())
    times = sorted(pd.unique(data[time]).tolist())
    if len(y) != n_units * n_times or len(np.unique(unit_codes * n_times + time_codes)) != len(y):
        raise DataInvalid(
            "the panel is not balanced",
            [
                Finding(
                    code="unbalanced_panel",
                    message=f"synthetic_control needs every {unit} once in every {time} "
                    f"({n_units} units x {n_times} periods = {n_units * n_times} rows; "
                    f"found {len(y)})",
                    field_name=unit,
                )
            ],
        )
    treated_units = np.unique(unit_codes[d == 1])
    if len(treated_units) != 1:
        raise DataInvalid(
            "synthetic_control needs exactly one treated unit",
            [
                Finding(
                    code="treated_units",
                    message=f"found {len(treated_units)} units with {treatment} = 1",
                    field_name=treatment,
                )
            ],
        )
    treated = int(treated_units[0])
    panel = np.full((n_units, n_times), np.nan)
    panel[unit_codes, time_codes] = y
    treated_path = np.zeros(n_times)
    treated_path[time_codes[unit_codes == treated]] = d[unit_codes == treated]
    start = int(np.flatnonzero(treated_path == 1)[0])
    if np.any(treated_path[start:] == 0):
        raise DataInvalid(
            "the treatment switches off",
            [
                Finding(
                    code="treatment_reversal",
                    message="synthetic_control needs the treatment to stay on once started",
                    field_name=treatment,
                )
            ],
        )
    pre = np.arange(n_times) < start
    if pre.sum() < 1:
        raise DataInvalid(
            "no pre-treatment period",
            [
                Finding(
                    code="no_pre_period",
                    message="the treated unit is treated in every period; give D_it "
                    "(1 from the start of treatment) or a post column",
                    field_name=treatment,
                )
            ],
        )
    donors = [u for u in range(n_units) if u != treated]
    if len(donors) < 2:
        raise DataInvalid(
            "too few donor units",
            [Finding(code="group_too_small", message="at least 2 donor units are needed")],
        )
    predictors: FloatArray | None = None
    if covariates:
        columns = []
        for c in covariates:
            values = np.full((n_units, n_times), np.nan)
            values[unit_codes, time_codes] = _frame.numeric(data, c, "covariate")
            columns.append(values[:, pre].mean(axis=1))
        columns.append(panel[:, pre].mean(axis=1))
        predictors = np.vstack(columns)  # predictors x units

    def run(target: int, pool: list[int]) -> _Fit:
        z1 = predictors[:, target] if predictors is not None else None
        z0 = predictors[:, pool] if predictors is not None else None
        return _fit_one(panel[target], panel[pool].T, pre, z1, z0)

    fit = run(treated, donors)
    ratio = fit.post_rmspe / fit.pre_rmspe if fit.pre_rmspe > 0 else math.inf
    placebo: dict[str, float] = {}
    for j in donors:
        others = [u for u in donors if u != j]
        placebo_fit = run(j, others)
        placebo[str(unit_names[j])] = (
            placebo_fit.post_rmspe / placebo_fit.pre_rmspe
            if placebo_fit.pre_rmspe > 0
            else math.inf
        )
    ratios = np.array(list(placebo.values()))
    at_least = int(np.sum(ratios >= ratio * (1 - 1e-12)))
    p_value = (1 + at_least) / (1 + len(donors))
    estimate = float(fit.gaps[~pre].mean())
    notes = dropped_note(dropped, needed)
    notes.append(
        f"placebo inference over {len(donors)} donor units: the smallest attainable p-value "
        f"is {1 / (1 + len(donors)):.3f}"
    )
    if fit.pre_rmspe > 0 and np.std(panel[treated, pre]) > 0:
        fit_quality = fit.pre_rmspe / float(np.std(panel[treated, pre]))
        if fit_quality > 0.5:
            notes.append(
                "the synthetic control tracks the treated unit poorly before treatment "
                f"(pre-period RMSPE is {fit_quality:.2f} of the series' SD)"
            )
    extras: dict[str, Any] = {
        "treated_unit": _frame.plain(unit_names[treated]),
        "treatment_start": _frame.plain(times[start]),
        "weights": {
            str(unit_names[u]): float(w)
            for u, w in zip(donors, fit.weights, strict=True)
            if w > 1e-6
        },
        "pre_rmspe": fit.pre_rmspe,
        "post_rmspe": fit.post_rmspe,
        "rmspe_ratio": ratio,
        "gaps": {str(t): float(g) for t, g in zip(times, fit.gaps, strict=True)},
        "placebo_ratios": placebo,
        "covariates": covariates,
    }
    if fit.v is not None:
        extras["predictor_weights"] = {
            name: float(v) for name, v in zip([*covariates, outcome], fit.v, strict=True)
        }
    if not np.isfinite(estimate):
        raise EvaluationError("synthetic_control produced no finite estimate")
    return Estimate(
        method="synthetic_control",
        estimate=estimate,
        std_error=None,
        ci_low=None,
        ci_high=None,
        p_value=p_value,
        n_treated=1,
        n_control=len(donors),
        n_obs=len(y),
        ci_method="placebo",
        level=inference.level,
        outcome=outcome,
        estimand="average post-period gap, treated unit minus synthetic control",
        notes=tuple(notes),
        extras=extras,
    )
