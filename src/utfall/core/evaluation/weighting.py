"""Inverse probability weighting with a logistic propensity score."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from statsmodels.discrete.discrete_model import Logit  # type: ignore[import-untyped]
from statsmodels.regression.linear_model import WLS  # type: ignore[import-untyped]

from utfall.core.evaluation import _frame
from utfall.core.evaluation._assemble import dropped_note, finish
from utfall.core.evaluation.inference import Inference, IntArray, require_method
from utfall.core.evaluation.result import Estimate
from utfall.errors import DataInvalid, EvaluationError, Finding, SpecInvalid

__all__ = ["ESTIMANDS", "IPW_SE", "ipw", "propensity_score"]

ESTIMANDS = ("ATE", "ATT")
IPW_SE = ("mestimation", "robust")
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def propensity_score(design: FloatArray, treatment: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Maximum-likelihood logistic regression of ``treatment`` on ``design``.

    ``design`` must hold the intercept column. Returns the fitted scores and the
    coefficients; raises EvaluationError when the fit does not converge or the
    groups are perfectly separated (scores of exactly 0 or 1).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = Logit(treatment, design).fit(disp=0, method="newton", maxiter=100)
        except (np.linalg.LinAlgError, ValueError) as error:
            raise EvaluationError(
                f"the propensity-score model cannot be fitted: {error}"
            ) from error
        except Exception as error:  # statsmodels' PerfectSeparationError and kin
            raise EvaluationError(
                f"the propensity-score model cannot be fitted: {error}"
            ) from error
    if not fit.mle_retvals.get("converged", False):
        raise EvaluationError(
            "the propensity-score model did not converge (perfect or quasi-perfect "
            "separation: some covariate pattern predicts the treatment exactly)"
        )
    scores = np.asarray(fit.predict(design), dtype=np.float64)
    if np.any(scores <= 1e-12) or np.any(scores >= 1 - 1e-12):
        raise EvaluationError(
            "propensity scores of 0 or 1: the groups are separated by the covariates "
            "(no overlap); drop or coarsen the covariate that separates them"
        )
    return scores, np.asarray(fit.params, dtype=np.float64)


def _weights(d: FloatArray, e: FloatArray, estimand: str) -> tuple[FloatArray, FloatArray]:
    """Weights of the treated and of the controls for the estimand."""
    if estimand == "ATE":
        return d / e, (1 - d) / (1 - e)
    return d.copy(), (1 - d) * e / (1 - e)


@dataclass(frozen=True)
class _Fit:
    estimate: float
    mean_treated: float
    mean_control: float
    scores: FloatArray
    keep: np.ndarray[Any, np.dtype[np.bool_]]
    w1: FloatArray
    w0: FloatArray


def _fit(
    y: FloatArray, d: FloatArray, design: FloatArray, estimand: str, trim: float | None
) -> _Fit:
    scores, _ = propensity_score(design, d)
    keep = np.ones(len(y), dtype=bool)
    if trim is not None:
        keep = (scores >= trim) & (scores <= 1 - trim)
    w1, w0 = _weights(d, scores, estimand)
    w1, w0 = w1 * keep, w0 * keep
    if w1.sum() <= 0 or w0.sum() <= 0:
        raise EvaluationError("after trimming, a group has no units left")
    mu1 = float(np.sum(w1 * y) / np.sum(w1))
    mu0 = float(np.sum(w0 * y) / np.sum(w0))
    return _Fit(mu1 - mu0, mu1, mu0, scores, keep, w1, w0)


def _mestimation_se(
    y: FloatArray, d: FloatArray, design: FloatArray, fit: _Fit, estimand: str
) -> float:
    """Sandwich standard error of the stacked estimating equations.

    Equations per unit: the logistic score ``X (d - e)``, and
    ``w1 (y - mu1)``, ``w0 (y - mu0)`` for the two weighted means (``w`` zero for
    trimmed units). Unlike the weights-as-known sandwich it accounts for the
    propensity score being estimated (Lunceford & Davidian 2004).
    """
    k = design.shape[1]
    e, keep = fit.scores, fit.keep.astype(np.float64)
    r1, r0 = y - fit.mean_treated, y - fit.mean_control
    psi = np.column_stack([design * (d - e)[:, None], fit.w1 * r1, fit.w0 * r0])
    jac = np.zeros((k + 2, k + 2))
    jac[:k, :k] = -(design * (e * (1 - e))[:, None]).T @ design
    if estimand == "ATE":
        jac[k, :k] = -((keep * d * (1 - e) / e * r1)[:, None] * design).sum(axis=0)
    jac[k, k] = -fit.w1.sum()
    jac[k + 1, :k] = ((keep * (1 - d) * e / (1 - e) * r0)[:, None] * design).sum(axis=0)
    jac[k + 1, k + 1] = -fit.w0.sum()
    jac_inv = np.linalg.inv(jac)
    covariance = jac_inv @ (psi.T @ psi) @ jac_inv.T
    contrast = np.zeros(k + 2)
    contrast[k], contrast[k + 1] = 1.0, -1.0
    return float(np.sqrt(contrast @ covariance @ contrast))


def _robust_se(y: FloatArray, d: FloatArray, fit: _Fit) -> float:
    """HC0 sandwich of the weighted regression ``y ~ 1 + d``, weights taken as known.

    This is what GEE with an independence working correlation reports (Hernán &
    Robins, What If, program 12.2); it ignores that the scores were estimated.
    """
    weights = fit.w1 + fit.w0
    used = weights > 0
    design = np.column_stack([np.ones(int(used.sum())), d[used]])
    result = WLS(y[used], design, weights=weights[used]).fit(cov_type="HC0")
    return float(result.bse[1])


def ipw(
    frame: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    estimand: str = "ATE",
    trim: float | None = None,
    se: str = "mestimation",
    inference: Inference | None = None,
) -> Estimate:
    """Inverse-probability-weighted effect (normalised, Hájek weights).

    The propensity score is a logistic regression of the treatment on an intercept
    and ``covariates`` (formulaic terms, e.g. ``C(education)``, ``I(age**2)``),
    fitted by maximum likelihood. ``estimand`` ``ATE`` weights treated by ``1/e``
    and controls by ``1/(1-e)``; ``ATT`` weights treated by 1 and controls by
    ``e/(1-e)``. ``trim`` (e.g. 0.01) leaves out units whose score lies outside
    ``[trim, 1 - trim]``. Standard errors: ``mestimation`` (default; stacked
    estimating equations, accounts for the estimated score) or ``robust`` (weights
    taken as known, as GEE reports). Intervals use the normal distribution.
    """
    inference = inference or Inference()
    require_method(
        inference,
        ("analytic", "bootstrap"),
        "ipw",
        "with an observational comparison group, re-drawing the treatment ignores the "
        "covariates it depends on; use bootstrap",
    )
    estimand = estimand.upper()
    if estimand not in ESTIMANDS:
        raise SpecInvalid(f"estimand: {estimand!r} is not one of {', '.join(ESTIMANDS)}")
    if se not in IPW_SE:
        raise SpecInvalid(f"se: {se!r} is not one of {', '.join(IPW_SE)}")
    if trim is not None and not 0 < trim < 0.5:
        raise SpecInvalid(f"trim: {trim!r} must lie between 0 and 0.5 (e.g. 0.01)")
    covariates = list(covariates)
    if not covariates:
        raise SpecInvalid("covariates: ipw needs at least one covariate for the propensity score")
    _frame.require_columns(frame, {"outcome": outcome, "treatment": treatment})
    cov_vars = _frame.covariate_variables(covariates)
    _frame.require_columns(frame, {f"covariate {c}": c for c in cov_vars})
    needed = [outcome, treatment, *cov_vars]
    data, dropped = _frame.complete_rows(frame, needed)
    y = _frame.numeric(data, outcome, "outcome")
    d = _frame.binary(data, treatment, "treatment")
    _frame.require_both_groups(d, treatment)
    x_cov, cov_names = _frame.covariate_matrix(data, covariates)
    design = np.column_stack([np.ones(len(y)), x_cov])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise DataInvalid(
            "the covariates are collinear",
            [
                Finding(
                    code="collinear_covariates",
                    message="a covariate term is a combination of others: " + ", ".join(cov_names),
                )
            ],
        )
    fit = _fit(y, d, design, estimand, trim)
    std_error = (
        _mestimation_se(y, d, design, fit, estimand)
        if se == "mestimation"
        else _robust_se(y, d, fit)
    )
    notes = dropped_note(dropped, needed)
    n_trimmed = int(np.sum(~fit.keep))
    if trim is not None:
        notes.append(
            f"{n_trimmed} units with a propensity score outside [{trim}, {1 - trim}] left out"
        )
    weights = (fit.w1 + fit.w0)[fit.keep]
    kept_d = d[fit.keep]

    def effective(w: FloatArray) -> float:
        return float(w.sum() ** 2 / np.sum(w**2))

    extras: dict[str, Any] = {
        "se": se,
        "covariates": cov_names,
        "mean_treated": fit.mean_treated,
        "mean_control": fit.mean_control,
        "n_trimmed": n_trimmed,
        "score_min": float(fit.scores.min()),
        "score_max": float(fit.scores.max()),
        "weight_mean": float(weights.mean()),
        "weight_max": float(weights.max()),
        "effective_n_treated": effective(fit.w1[fit.w1 > 0]),
        "effective_n_control": effective(fit.w0[fit.w0 > 0]),
    }
    units = _frame.UnitIndex(np.arange(len(y), dtype=np.int64), len(y))

    def boot_stat(sample: IntArray) -> float:
        rows, _ = units.expand(sample)
        return _fit(y[rows], d[rows], design[rows], estimand, trim).estimate

    return finish(
        method="ipw",
        estimate=fit.estimate,
        std_error=std_error,
        df=None,
        inference=inference,
        n_treated=int(np.sum(kept_d == 1)),
        n_control=int(np.sum(kept_d == 0)),
        n_obs=int(fit.keep.sum()),
        outcome=outcome,
        estimand=estimand,
        notes=notes,
        extras=extras,
        bootstrap_statistic=boot_stat,
        bootstrap_strata=[np.flatnonzero(d == 1), np.flatnonzero(d == 0)],
    )
