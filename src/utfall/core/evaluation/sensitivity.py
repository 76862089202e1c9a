"""How far parallel trends may fail before a DiD figure loses its sign (Rambachan & Roth).

Rambachan & Roth (2023, *A More Credible Approach to Parallel Trends*, REStud 90(5))
replace the assumption that the post-period trends of treated and comparison units would
have been parallel by a bound on how far they may differ, and give confidence sets for an
effect that are valid under that bound:

* **relative magnitudes** (ΔRM(M̄)): no post-period change in the difference in trends is
  more than M̄ times the largest pre-period change. M̄ = 1 allows post-period violations as
  large as the worst seen before adoption. Conditional least-favourable hybrid sets (C-LF).
* **smoothness** (ΔSD(M)): the slope of the difference in trends changes by at most M per
  period; M = 0 allows a linear pre-trend, extrapolated. Fixed-length sets (FLCI).

The *breakdown value* is the largest grid bound at which the robust set still excludes
zero (every smaller bound excluding it too): how wrong parallel trends may be before the
figure could be zero. The computation is moderndid's port of the HonestDiD R package
(docs/decisions/0710-honest-did-through-moderndid.md); this module turns an event study
in the shared form (``extras["event_study"]``, ``event_study_reference``,
``event_study_vcov``) into its inputs and its result into a plain record.

The statistics stack (numpy, moderndid, cvxpy) is imported only when bounds are computed,
so that a spec can be validated cheaply.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from utfall.errors import EvaluationError, SpecInvalid

__all__ = [
    "DEFAULT_GRID",
    "RESTRICTIONS",
    "RobustInterval",
    "SensitivityResult",
    "SensitivitySpec",
    "breakdown_value",
    "event_study_inputs",
    "event_study_sensitivity",
    "honest_bounds",
    "sensitivity_explanation",
]

Restriction = Literal["relative_magnitude", "smoothness"]
RESTRICTIONS: tuple[Restriction, ...] = ("relative_magnitude", "smoothness")

DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "relative_magnitude": (0.5, 1.0, 1.5, 2.0),
}
"""The grid when a spec gives none. For smoothness, M is in the outcome's units, so there
is no unit-free default: the library's data-driven grid (ten values from 0 to an upper
bound estimated from the pre-trends) is used."""

CI_METHODS = {"relative_magnitude": "C-LF", "smoothness": "FLCI"}


class SensitivitySpec(BaseModel):
    """The ``sensitivity:`` block of a twfe or staggered_did spec."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Restriction = Field(
        description="relative_magnitude (ΔRM, bound M̄ relative to the largest pre-period "
        "change) or smoothness (ΔSD, bound M on the change in slope, outcome units)."
    )
    grid: list[float] | None = Field(
        default=None,
        description="The bounds M̄ or M to try, ascending (relative_magnitude: 0.5, 1, 1.5, "
        "2; smoothness: ten values from 0 to a data-driven upper bound).",
    )
    target: int | Literal["average"] = Field(
        default=0,
        description="The effect: the relative period it is for (0: the period of adoption), "
        "or 'average' of the periods from adoption on.",
    )

    @field_validator("grid")
    @classmethod
    def _grid_ascending(cls, grid: list[float] | None) -> list[float] | None:
        if grid is None:
            return None
        if not grid:
            raise ValueError("give at least one bound")
        if any(not math.isfinite(g) or g < 0 for g in grid):
            raise ValueError("bounds are finite and not negative")
        if any(b <= a for a, b in itertools.pairwise(grid)):
            raise ValueError("bounds go in ascending order, each once")
        return grid


@dataclass(frozen=True)
class RobustInterval:
    """The robust confidence set at one bound (M̄ or M); ``None`` ends: the set is empty."""

    bound: float
    ci_low: float | None
    ci_high: float | None

    @property
    def excludes_zero(self) -> bool:
        """Whether zero lies outside the set (an empty set excludes it)."""
        if self.ci_low is None or self.ci_high is None:
            return True
        return self.ci_low > 0 or self.ci_high < 0


@dataclass(frozen=True)
class SensitivityResult:
    """Robust confidence sets over a grid of bounds, and the breakdown value."""

    restriction: Restriction
    target: int | Literal["average"]
    weights: tuple[float, ...]
    """The post-period weights (l_vec): the effect is their sum with the post coefficients."""
    post_periods: tuple[int, ...]
    pre_periods: tuple[int, ...]
    reference: int
    level: float
    ci_method: str
    estimate: float
    original_low: float
    original_high: float
    intervals: tuple[RobustInterval, ...]
    breakdown: float | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form kept in ``extras["sensitivity"]``."""
        return {
            "method": self.restriction,
            "bound_name": "Mbar" if self.restriction == "relative_magnitude" else "M",
            "target": self.target,
            "weights": list(self.weights),
            "pre_periods": list(self.pre_periods),
            "post_periods": list(self.post_periods),
            "reference": self.reference,
            "level": self.level,
            "ci_method": self.ci_method,
            "estimate": self.estimate,
            "original": {"ci_low": self.original_low, "ci_high": self.original_high},
            "intervals": [
                {
                    "bound": i.bound,
                    "ci_low": i.ci_low,
                    "ci_high": i.ci_high,
                    "excludes_zero": i.excludes_zero,
                }
                for i in self.intervals
            ],
            "breakdown": self.breakdown,
        }


def breakdown_value(intervals: Sequence[RobustInterval]) -> float | None:
    """The largest bound up to which every robust set excludes zero, or None when the set
    at the smallest bound already holds zero. The true breakdown lies between it and the
    next grid bound."""
    found: float | None = None
    for interval in sorted(intervals, key=lambda i: i.bound):
        if not interval.excludes_zero:
            break
        found = interval.bound
    return found


def _end(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def honest_bounds(
    betahat: Sequence[float],
    sigma: Sequence[Sequence[float]],
    *,
    n_pre: int,
    n_post: int,
    restriction: Restriction,
    grid: Sequence[float] | None = None,
    weights: Sequence[float] | None = None,
    level: float = 0.95,
) -> tuple[tuple[RobustInterval, ...], tuple[float, float], str]:
    """Robust confidence sets for ``weights · post coefficients`` at each bound of ``grid``.

    ``betahat`` holds the ``n_pre`` pre-period coefficients (oldest first, the reference
    period left out) then the ``n_post`` post-period ones; ``sigma`` is their covariance.
    ``weights`` default to the first post period. Returns the sets, the usual interval
    under exact parallel trends, and the set method (C-LF or FLCI).
    """
    import numpy as np

    if restriction not in RESTRICTIONS:
        raise ValueError(f"restriction: {restriction!r} is not one of {', '.join(RESTRICTIONS)}")
    beta = np.asarray(betahat, dtype=float)
    cov = np.asarray(sigma, dtype=float)
    size = n_pre + n_post
    if n_pre < 1 or n_post < 1:
        raise EvaluationError(
            f"sensitivity needs at least one pre-period and one post-period coefficient "
            f"(got {n_pre} pre, {n_post} post)"
        )
    if restriction == "smoothness" and n_pre < 2:
        raise EvaluationError("sensitivity: smoothness needs at least two pre-period coefficients")
    if beta.shape != (size,) or cov.shape != (size, size):
        raise EvaluationError(
            f"sensitivity: {size} coefficients need a {size}×{size} covariance "
            f"(got {beta.shape[0]} and {cov.shape})"
        )
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(cov))):
        raise EvaluationError("sensitivity: the event study has missing coefficients or variances")
    l_vec = np.zeros(n_post) if weights is None else np.asarray(weights, dtype=float)
    if weights is None:
        l_vec[0] = 1.0
    if l_vec.shape != (n_post,):
        raise EvaluationError(f"sensitivity: {n_post} post periods need {n_post} weights")
    alpha = 1.0 - level
    bounds = list(grid) if grid is not None else DEFAULT_GRID.get(restriction)
    with warnings.catch_warnings():
        # cvxpy and the LP solvers warn about solver choice and tolerances, not results.
        warnings.simplefilter("ignore")
        from moderndid.didhonest import (  # type: ignore[import-untyped]
            construct_original_cs,
            create_sensitivity_results_rm,
            create_sensitivity_results_sm,
        )

        original = construct_original_cs(
            beta, cov, n_pre, n_post, l_vec=l_vec.reshape(-1, 1), alpha=alpha
        )
        try:
            if restriction == "relative_magnitude":
                table = create_sensitivity_results_rm(
                    beta,
                    cov,
                    n_pre,
                    n_post,
                    m_bar_vec=None if bounds is None else list(bounds),
                    l_vec=l_vec,
                    alpha=alpha,
                )
                column = "Mbar"
            else:
                table = create_sensitivity_results_sm(
                    beta,
                    cov,
                    n_pre,
                    n_post,
                    m_vec=None if bounds is None else np.asarray(bounds, dtype=float),
                    l_vec=l_vec,
                    alpha=alpha,
                )
                column = "m"
        except (ValueError, np.linalg.LinAlgError) as error:
            raise EvaluationError(f"sensitivity: {error}") from None
    intervals = tuple(
        RobustInterval(float(row[column]), _end(row["lb"]), _end(row["ub"]))
        for row in table.iter_rows(named=True)
    )
    return intervals, (float(original.lb), float(original.ub)), CI_METHODS[restriction]


@dataclass(frozen=True)
class EventStudyInputs:
    """An event study laid out as HonestDiD takes it."""

    betahat: tuple[float, ...]
    sigma: tuple[tuple[float, ...], ...]
    pre_periods: tuple[int, ...]
    post_periods: tuple[int, ...]
    reference: int


def event_study_inputs(extras: Mapping[str, Any]) -> EventStudyInputs:
    """The coefficients, covariance and periods of an Estimate's event study.

    Periods before the reference are pre-periods, those after it post-periods (with
    anticipation the periods between the reference and adoption count as post). Both must
    run without gaps: the restrictions compare consecutive periods.
    """
    rows = extras.get("event_study")
    vcov = extras.get("event_study_vcov")
    if not rows or vcov is None:
        raise SpecInvalid(
            "sensitivity: needs an event study with its covariance (twfe with "
            "event_study: true, or staggered_did)",
            path=("sensitivity",),
        )
    reference = extras.get("event_study_reference")
    if reference is None:
        raise SpecInvalid(
            "sensitivity: the event study has no reference period (Callaway–Sant'Anna with "
            "a varying base period); set base_period: universal",
            path=("sensitivity",),
        )
    kept = [row for row in rows if int(row["relative_period"]) != int(reference)]
    periods = [int(row["relative_period"]) for row in kept]
    if len(vcov) != len(kept):
        raise EvaluationError(
            f"sensitivity: the event study has {len(kept)} coefficients besides the "
            f"reference but a {len(vcov)}-row covariance"
        )
    pre = tuple(p for p in periods if p < reference)
    post = tuple(p for p in periods if p > reference)
    for name, run in (("pre", pre), ("post", post)):
        if any(b - a != 1 for a, b in itertools.pairwise(run)):
            raise EvaluationError(
                f"sensitivity: the {name}-period coefficients skip a period ({list(run)}); "
                "the restrictions compare consecutive periods"
            )
    if periods != sorted(periods):
        raise EvaluationError("sensitivity: event study rows are not sorted by relative period")
    return EventStudyInputs(
        betahat=tuple(float(row["estimate"]) for row in kept),
        sigma=tuple(tuple(float(v) for v in line) for line in vcov),
        pre_periods=pre,
        post_periods=post,
        reference=int(reference),
    )


def _weights(target: int | Literal["average"], post: Sequence[int]) -> tuple[float, ...]:
    if target == "average":
        after = [p for p in post if p >= 0] or list(post)
        return tuple(1.0 / len(after) if p in after else 0.0 for p in post)
    if target not in post:
        raise SpecInvalid(
            f"sensitivity.target: relative period {target} is not a post-period of the event "
            f"study ({', '.join(str(p) for p in post)})",
            path=("sensitivity", "target"),
        )
    return tuple(1.0 if p == target else 0.0 for p in post)


def event_study_sensitivity(
    extras: Mapping[str, Any],
    spec: SensitivitySpec,
    *,
    level: float = 0.95,
) -> SensitivityResult:
    """The sensitivity analysis ``spec`` asks for, on an Estimate's event study extras."""
    inputs = event_study_inputs(extras)
    weights = _weights(spec.target, inputs.post_periods)
    intervals, original, ci_method = honest_bounds(
        inputs.betahat,
        inputs.sigma,
        n_pre=len(inputs.pre_periods),
        n_post=len(inputs.post_periods),
        restriction=spec.method,
        grid=spec.grid,
        weights=weights,
        level=level,
    )
    post_beta = inputs.betahat[len(inputs.pre_periods) :]
    return SensitivityResult(
        restriction=spec.method,
        target=spec.target,
        weights=weights,
        post_periods=inputs.post_periods,
        pre_periods=inputs.pre_periods,
        reference=inputs.reference,
        level=level,
        ci_method=ci_method,
        estimate=sum(w * b for w, b in zip(weights, post_beta, strict=True)),
        original_low=original[0],
        original_high=original[1],
        intervals=intervals,
        breakdown=breakdown_value(intervals),
    )


def sensitivity_explanation(sensitivity: Mapping[str, Any]) -> dict[str, Any]:
    """What a settlement's explanation shows of ``extras["sensitivity"]``: the restriction
    and the effect it is for, the breakdown value, and the robust interval at each bound."""
    bound_name = str(sensitivity.get("bound_name") or "M")
    target = sensitivity.get("target")
    effect = (
        "the average effect from adoption on"
        if target == "average"
        else f"the effect at relative period {target}"
    )
    restriction = (
        "relative magnitudes (ΔRM)"
        if sensitivity.get("method") == "relative_magnitude"
        else "smoothness (ΔSD)"
    )
    level = round(float(sensitivity.get("level") or 0.95) * 100)
    breakdown = sensitivity.get("breakdown")
    intervals = {
        f"{bound_name}={_format_bound(i['bound'])}": [
            _shown(i.get("ci_low")),
            _shown(i.get("ci_high")),
        ]
        for i in sensitivity.get("intervals") or []
    }
    return {
        "parallel_trends_sensitivity": f"Rambachan–Roth {restriction}, {effect} "
        f"({sensitivity.get('ci_method')})",
        "sensitivity_breakdown": (
            f"{bound_name} = {_format_bound(breakdown)}"
            if breakdown is not None
            else f"none: the robust interval holds 0 at the smallest {bound_name}"
        ),
        f"sensitivity_robust_ci_{level}": intervals,
    }


def _format_bound(value: Any) -> str:
    return f"{float(value):g}"


def _shown(value: Any) -> float | None:
    """An interval end as read in an explanation: four significant digits (the full value
    stays in the evaluation's result)."""
    return None if value is None else float(f"{float(value):.4g}")
