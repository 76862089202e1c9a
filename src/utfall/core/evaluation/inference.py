"""Uncertainty for any estimator: analytic intervals, cluster bootstrap, permutation.

Conventions (docs/evaluation.md, docs/decisions/0101-inference-conventions.md):

* analytic intervals use a t distribution when the estimator states degrees of
  freedom and the normal distribution otherwise;
* the bootstrap resamples whole units (clusters), within strata (usually the
  treatment groups, so every replicate has both groups), through
  :func:`scipy.stats.bootstrap` (BCa by default, percentile on request); its
  p-value is the two-sided percentile-bootstrap p-value
  ``min(1, 2 * min(1 + #{T* <= 0}, 1 + #{T* >= 0}) / (1 + B))``;
* the permutation test re-draws the treatment assignment of whole units and uses
  ``p = (1 + #{|T*| >= |T|}) / (1 + reps)``; for estimators that are linear in
  the outcome its interval inverts the test under a constant additive effect
  (every ``tau0`` whose shifted outcome the test does not reject).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from utfall.errors import EvaluationError, SpecInvalid

__all__ = [
    "CI_METHODS",
    "BootstrapResult",
    "Inference",
    "PermutationResult",
    "analytic_interval",
    "bootstrap",
    "draw_seed",
    "inversion_edge",
    "permutation_linear",
    "permutation_test",
]

CI_METHODS = ("analytic", "bootstrap", "permutation", "randomisation", "wild_bootstrap")
WILD_WEIGHTS = ("rademacher", "webb")
INTERVALS = ("bca", "percentile")
IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class Inference:
    """How to quantify uncertainty.

    ``method`` is ``analytic``, ``bootstrap`` or ``permutation``; ``interval`` picks
    the bootstrap interval (``bca`` or ``percentile``); ``seed`` makes resampling
    reproducible (``None`` draws one and records it in the Estimate).
    """

    method: str = "analytic"
    level: float = 0.95
    reps: int = 999
    seed: int | None = None
    interval: str = "bca"
    weights: str = "rademacher"

    def __post_init__(self) -> None:
        if self.method not in CI_METHODS:
            raise SpecInvalid(f"ci.method: {self.method!r} is not one of {', '.join(CI_METHODS)}")
        if not 0.5 <= self.level < 1:
            raise SpecInvalid(f"ci.level: {self.level!r} must be at least 0.5 and below 1")
        if self.interval not in INTERVALS:
            raise SpecInvalid(
                f"ci.interval: {self.interval!r} is not one of {', '.join(INTERVALS)}"
            )
        if self.weights not in WILD_WEIGHTS:
            raise SpecInvalid(
                f"ci.weights: {self.weights!r} is not one of {', '.join(WILD_WEIGHTS)}"
            )
        if self.method not in ("analytic", "randomisation"):
            minimum = math.ceil(1 / (1 - self.level))
            if self.reps < minimum:
                raise SpecInvalid(
                    f"ci.reps: {self.reps} replications cannot give a {self.level:.0%} "
                    f"interval; use at least {minimum} (999 or more is usual)"
                )

    @property
    def label(self) -> str:
        """The name recorded as ``ci_method`` in an Estimate."""
        if self.method == "bootstrap":
            return f"bootstrap-{self.interval}"
        if self.method == "wild_bootstrap":
            return f"wild_bootstrap-{self.weights}"
        return self.method


def draw_seed(seed: int | None) -> int:
    """The seed to use: the given one, or a fresh one to be recorded with the result."""
    if seed is not None:
        return int(seed)
    # Fresh entropy is drawn only when the caller gave no seed; it is returned so the
    # result records it and the run can be repeated exactly.
    return int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]


def analytic_interval(
    estimate: float, std_error: float, level: float, df: float | None
) -> tuple[float, float, float]:
    """(low, high, p-value) from a t (``df`` given) or normal reference distribution.

    A standard error of exactly zero (no sampling variation, e.g. a floored saving)
    gives the degenerate interval ``[estimate, estimate]`` and no p-value.
    """
    if std_error == 0:
        return estimate, estimate, math.nan
    if not math.isfinite(std_error) or std_error < 0:
        return math.nan, math.nan, math.nan
    tail = (1 + level) / 2
    if df is not None and math.isfinite(df):
        if df <= 0:
            return math.nan, math.nan, math.nan
        critical = float(stats.t.ppf(tail, df))
        p_value = float(2 * stats.t.sf(abs(estimate / std_error), df))
    else:
        critical = float(stats.norm.ppf(tail))
        p_value = float(2 * stats.norm.sf(abs(estimate / std_error)))
    return estimate - critical * std_error, estimate + critical * std_error, p_value


@dataclass(frozen=True)
class BootstrapResult:
    """Interval, standard error and p-value from a bootstrap."""

    low: float
    high: float
    std_error: float
    p_value: float
    seed: int
    reps: int


def _poolable(strata: Sequence[IntArray]) -> list[IntArray]:
    """Strata of two or more units; single-unit strata are pooled (a stratum of one
    unit would be the same unit in every replicate and gives no jackknife)."""
    kept = [np.asarray(s, dtype=np.int64) for s in strata if len(s) > 1]
    singles = [np.asarray(s, dtype=np.int64) for s in strata if len(s) == 1]
    if singles:
        pooled = np.concatenate(singles)
        if len(pooled) > 1 or not kept:
            kept.append(pooled)
        else:
            largest = int(np.argmax([len(s) for s in kept]))
            kept[largest] = np.concatenate([kept[largest], pooled])
    if not kept or sum(len(s) for s in kept) < 2:
        raise EvaluationError("the bootstrap needs at least two units")
    return kept


def bootstrap(
    statistic: Callable[[IntArray], float],
    strata: Sequence[IntArray],
    inference: Inference,
) -> BootstrapResult:
    """Resample whole units within each stratum and recompute ``statistic``.

    ``strata`` holds, per stratum, the unit codes that may be drawn (strata of a
    single unit are pooled); ``statistic``
    gets the concatenated draw (codes repeat when a unit is drawn twice; the
    estimator treats each copy as a separate unit) and returns the estimate.
    """
    seed = draw_seed(inference.seed)
    strata = _poolable(strata)

    def on_draw(*samples: IntArray) -> float:
        return float(statistic(np.concatenate([np.asarray(s, dtype=np.int64) for s in samples])))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = stats.bootstrap(
                tuple(strata),
                on_draw,
                n_resamples=inference.reps,
                vectorized=False,
                paired=False,
                confidence_level=inference.level,
                method="BCa" if inference.interval == "bca" else "percentile",
                rng=np.random.default_rng(seed),
            )
        except EvaluationError as error:
            raise EvaluationError(
                f"a bootstrap replicate could not be estimated ({error}); resampling can draw "
                "too few units of some kind: use analytic inference or more data"
            ) from error
        except (ValueError, np.linalg.LinAlgError) as error:
            raise EvaluationError(f"the bootstrap failed: {error}") from error
    draws = np.asarray(result.bootstrap_distribution, dtype=np.float64)
    if not np.all(np.isfinite(draws)):
        raise EvaluationError(
            "the bootstrap failed: some replicates gave no estimate "
            f"({int(np.sum(~np.isfinite(draws)))} of {len(draws)})"
        )
    below = 1 + int(np.sum(draws <= 0))
    above = 1 + int(np.sum(draws >= 0))
    p_value = min(1.0, 2 * min(below, above) / (1 + len(draws)))
    return BootstrapResult(
        low=float(result.confidence_interval.low),
        high=float(result.confidence_interval.high),
        std_error=float(result.standard_error),
        p_value=p_value,
        seed=seed,
        reps=len(draws),
    )


@dataclass(frozen=True)
class PermutationResult:
    """p-value (and, for linear estimators, an inverted interval) of a permutation test."""

    p_value: float
    low: float | None
    high: float | None
    seed: int
    reps: int


def _count_at_least(draws: FloatArray, observed: float) -> int:
    # A relative tolerance so that a replicate equal to the observed statistic up to
    # rounding counts as "at least as extreme" (it must: the identity permutation is one).
    scale = max(abs(observed), float(np.max(np.abs(draws), initial=0.0)), 1e-300)
    return int(np.sum(np.abs(draws) >= abs(observed) - 1e-10 * scale))


def permutation_test(
    statistic: Callable[[np.random.Generator], float],
    observed: float,
    inference: Inference,
) -> PermutationResult:
    """p-value of ``observed`` against ``reps`` statistics computed on permuted data.

    ``statistic(rng)`` draws one permutation with ``rng`` and returns its statistic.
    """
    seed = draw_seed(inference.seed)
    rng = np.random.default_rng(seed)
    draws = np.array([statistic(rng) for _ in range(inference.reps)], dtype=np.float64)
    p_value = (1 + _count_at_least(draws, observed)) / (1 + inference.reps)
    return PermutationResult(p_value, None, None, seed, inference.reps)


def permutation_linear(
    statistic: Callable[[np.random.Generator], tuple[float, float]],
    observed: float,
    inference: Inference,
    scale: float,
) -> PermutationResult:
    """Permutation p-value and test-inversion interval for an estimator linear in y.

    For such an estimator the statistic on the outcome shifted by a constant effect
    ``tau0`` (``y - tau0 * e``, ``e`` marking the treated cells of the observed
    assignment) is ``a - tau0 * b``, with ``a`` the statistic of ``y`` and ``b`` that
    of ``e`` under the drawn assignment; under the observed one ``b = 1``. So one pass
    over the permutations gives the p-value at every ``tau0``. The interval is the
    connected set of ``tau0`` around the estimate that the test does not reject at
    ``1 - level``, found by bisection to a relative precision of 1e-10.
    ``statistic(rng)`` returns ``(a, b)`` for one drawn assignment; ``scale`` is a
    rough size of the uncertainty (e.g. an analytic standard error) to start the search.
    """
    seed = draw_seed(inference.seed)
    rng = np.random.default_rng(seed)
    pairs = np.array([statistic(rng) for _ in range(inference.reps)], dtype=np.float64)
    a, b = pairs[:, 0], pairs[:, 1]
    alpha = 1 - inference.level

    def p_at(tau0: float) -> float:
        return (1 + _count_at_least(a - tau0 * b, observed - tau0)) / (1 + inference.reps)

    p_value = p_at(0.0)

    def edge(direction: float) -> float | None:
        return inversion_edge(p_at, observed, alpha, scale, direction)

    return PermutationResult(p_value, edge(-1.0), edge(1.0), seed, inference.reps)


def shuffle_units(
    rng: np.random.Generator, assignment: FloatArray, strata: IntArray | None = None
) -> FloatArray:
    """A random permutation of unit-level ``assignment`` (within ``strata`` if given)."""
    if strata is None:
        return np.asarray(rng.permutation(assignment), dtype=np.float64)
    out = assignment.copy()
    for level in np.unique(strata):
        where = np.flatnonzero(strata == level)
        out[where] = rng.permutation(assignment[where])
    return out


def require_method(inference: Inference, allowed: Sequence[str], method: str, why: str) -> None:
    """SpecInvalid when ``inference.method`` is not available for ``method``."""
    if inference.method not in allowed:
        raise SpecInvalid(f"ci.method: {inference.method!r} is not available for {method}: {why}")


def inversion_edge(
    p_at: Callable[[float], float], observed: float, alpha: float, scale: float, direction: float
) -> float | None:
    """The farthest ``tau0`` on one side of the estimate whose p-value exceeds ``alpha``."""
    step = scale if math.isfinite(scale) and scale > 0 else max(abs(observed), 1.0)
    inside, outside = observed, observed + direction * step
    for _ in range(80):
        if p_at(outside) <= alpha:
            break
        inside, step = outside, step * 2
        outside = observed + direction * step
    else:
        return None
    for _ in range(200):
        if abs(outside - inside) <= 1e-10 * max(abs(inside), abs(outside), scale):
            break
        middle = (inside + outside) / 2
        if p_at(middle) > alpha:
            inside = middle
        else:
            outside = middle
    return inside
