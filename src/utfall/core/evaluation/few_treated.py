"""Inference with one or a few treated units: randomisation inference and the wild bootstrap.

With a single treated cluster the CR1 standard error is not valid (the treated
cluster's score is forced to almost zero, so the variance is badly understated,
MacKinnon & Webb 2017), and the cluster bootstrap cannot resample it. Two methods
remain (decision 0707):

* **randomisation inference** (``ci.method: randomisation``): the observed treatment
  paths are given to the units in every possible way (with one treated unit: to each
  unit in turn, the placebo-in-space test of Abadie et al. 2010), the estimator is
  recomputed for each, and the Fisher p-value is the share of assignments whose
  estimate is at least as far from zero as the observed one. When there are more
  distinct assignments than ``ci.reps``, ``reps`` of them are drawn at random and
  ``p = (1 + #) / (1 + reps)``. The interval inverts the test under a constant
  additive effect (the estimator is linear in the outcome). Valid for any number of
  treated units; the smallest attainable p-value is ``1 / #assignments``.
* **wild cluster bootstrap** (``ci.method: wild_bootstrap``): restricted (WCR, null
  imposed), Rademacher or Webb weights drawn per cluster, the CR1 t statistic
  bootstrapped, ``p = mean(|t*| > |t|)`` (as ``wildboottest`` and ``boottest``);
  with Rademacher weights and ``2^G <= reps`` every sign vector is enumerated. The
  interval inverts the test (every ``tau0`` with ``p(tau0) > 1 - level``). It needs
  at least :data:`MIN_TREATED_WILD` treated clusters: with fewer it is known to fail
  (MacKinnon & Webb 2017, 2018), and randomisation inference is the method to use.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from utfall.core.evaluation.inference import Inference, draw_seed, inversion_edge
from utfall.core.evaluation.result import Estimate
from utfall.errors import DataInvalid, Finding

__all__ = [
    "MIN_TREATED_WILD",
    "FewTreatedResult",
    "one_treated_refusal",
    "randomisation_assignments",
    "test_inversion",
    "wild_cluster_bootstrap",
    "with_inference",
]

MIN_TREATED_WILD = 2
"""Fewest treated clusters for which the wild cluster bootstrap is offered."""
ENUMERATION_LIMIT = 100_000
"""Most assignments enumerated exactly (beyond it, and beyond ``reps``, they are drawn)."""
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])


@dataclass(frozen=True)
class FewTreatedResult:
    """p-value and interval of a randomisation test or a wild bootstrap."""

    p_value: float
    low: float | None
    high: float | None
    reps: int
    exact: bool
    seed: int | None


def one_treated_refusal(column: str, treated: int, total: int) -> DataInvalid:
    """The error for CR1 (or the cluster bootstrap) with a single treated cluster."""
    return DataInvalid(
        "one treated cluster: cluster-robust inference is not valid",
        [
            Finding(
                code="too_few_clusters",
                message=(
                    f"only {treated} of {total} clusters ({column}) are ever treated: CR1 "
                    "standard errors and the cluster bootstrap are not valid with one "
                    "treated cluster; use ci.method: randomisation (the treatment path "
                    "given to each unit in turn)"
                ),
                field_name=column,
            )
        ],
    )


def randomisation_assignments(
    paths: FloatArray, inference: Inference
) -> tuple[Iterator[IntArray], bool, int | None]:
    """Unit orders ``o`` (``paths[o]`` is a re-assignment), exact or drawn, and the seed.

    ``paths`` is the units' treatment paths (units × periods). The exact set gives each
    distinct arrangement of the paths over the units once (the observed one included)
    when every unit that is never treated has the same path; otherwise, or when there
    are more arrangements than ``reps`` and :data:`ENUMERATION_LIMIT`, ``reps`` random
    permutations are drawn.
    """
    n_units = paths.shape[0]
    treated = np.flatnonzero(paths.any(axis=1))
    controls = np.flatnonzero(~paths.any(axis=1))
    identical = bool(len(treated)) and bool(np.all(paths[treated] == paths[treated[0]]))
    k = len(treated)
    count = math.comb(n_units, k) if identical else math.perm(n_units, k)
    if count <= min(ENUMERATION_LIMIT, inference.reps):

        def exact() -> Iterator[IntArray]:
            chooser = itertools.combinations if identical else itertools.permutations
            for seats in chooser(range(n_units), k):
                order = np.empty(n_units, dtype=np.int64)
                taken = np.zeros(n_units, dtype=bool)
                order[list(seats)] = treated
                taken[list(seats)] = True
                order[~taken] = controls
                yield order

        return exact(), True, None
    seed = draw_seed(inference.seed)
    rng = np.random.default_rng(seed)

    def drawn() -> Iterator[IntArray]:
        for _ in range(inference.reps):
            yield np.asarray(rng.permutation(n_units), dtype=np.int64)

    return drawn(), False, seed


def _count_beyond(draws: FloatArray, observed: float) -> int:
    scale = max(abs(observed), float(np.max(np.abs(draws), initial=0.0)), 1e-300)
    return int(np.sum(np.abs(draws) >= abs(observed) - 1e-10 * scale))


def test_inversion(
    a: FloatArray,
    b: FloatArray,
    observed: float,
    *,
    level: float,
    scale: float,
    exact: bool,
) -> tuple[float, float | None, float | None]:
    """(p-value, low, high) of a randomisation test of an estimator linear in ``y``.

    ``a`` holds the estimate on each assignment and ``b`` the estimate of the observed
    treated-cell indicator on it, so that the statistic under the outcome shifted by a
    constant effect ``tau0`` is ``a - tau0 · b`` (1 under the observed assignment).
    ``exact`` says the assignments are the whole set (the observed one among them):
    ``p = #/M``; drawn ones give ``(1 + #)/(1 + M)``.
    """
    extra = 0 if exact else 1
    total = len(a) + extra

    def p_at(tau0: float) -> float:
        return (extra + _count_beyond(a - tau0 * b, observed - tau0)) / total

    alpha = 1 - level
    return (
        p_at(0.0),
        inversion_edge(p_at, observed, alpha, scale, -1.0),
        inversion_edge(p_at, observed, alpha, scale, 1.0),
    )


def _weights(n_units: int, inference: Inference) -> tuple[FloatArray, bool, int | None]:
    """Cluster weights (units × replicates), whether enumerated, and the seed drawn."""
    kind = inference.weights
    if kind == "rademacher" and 2**n_units <= inference.reps:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n_units)), dtype=np.float64)
        return signs.T.copy(), True, None
    seed = draw_seed(inference.seed)
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        weights = rng.choice(np.array([-1.0, 1.0]), size=(n_units, inference.reps))
    else:
        weights = rng.choice(WEBB, size=(n_units, inference.reps))
    return np.asarray(weights, dtype=np.float64), False, seed


def wild_cluster_bootstrap(
    d_tilde: FloatArray,
    y_tilde: FloatArray,
    unit_codes: IntArray,
    n_units: int,
    sweep: Callable[[FloatArray], FloatArray],
    *,
    factor: float,
    inference: Inference,
) -> FewTreatedResult:
    """Restricted wild cluster bootstrap (WCR) t-test and interval for one slope.

    ``d_tilde`` and ``y_tilde`` are the regressor and the outcome with every other
    term of the model swept out (Frisch-Waugh-Lovell); ``sweep`` does the same to a
    block of columns. Under ``H0: tau = tau0`` the restricted residuals are
    ``u = y~ - tau0 d~``; a replicate's outcome is its fitted value plus ``v_g · u``,
    and because ``d~`` is orthogonal to the swept terms its slope is
    ``tau0 + d~'(v·u)/d~'d~``. Everything is linear in ``tau0``, so one sweep of
    ``v·y~`` and ``v·d~`` serves every ``tau0`` of the interval search.
    """
    norm = float(d_tilde @ d_tilde)
    tau = float(d_tilde @ y_tilde) / norm
    residual = y_tilde - tau * d_tilde
    scores = np.bincount(unit_codes, weights=d_tilde * residual, minlength=n_units)
    se = math.sqrt(factor * float(scores @ scores)) / norm
    v, exact, seed = _weights(n_units, inference)
    v_rows = v[unit_codes]
    swept_y = sweep(v_rows * y_tilde[:, None])
    swept_d = sweep(v_rows * d_tilde[:, None])

    def t_replicates(tau0: float) -> FloatArray:
        moved = swept_y - tau0 * swept_d
        shift = (d_tilde @ moved) / norm
        errors = moved - d_tilde[:, None] * shift[None, :]
        cluster_scores = np.zeros((n_units, errors.shape[1]))
        np.add.at(cluster_scores, unit_codes, d_tilde[:, None] * errors)
        se_star = np.sqrt(factor * np.sum(cluster_scores**2, axis=0)) / norm
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(shift / se_star, dtype=np.float64)

    def p_at(tau0: float) -> float:
        t_observed = (tau - tau0) / se
        return float(np.mean(np.abs(t_replicates(tau0)) > abs(t_observed)))

    alpha = 1 - inference.level
    return FewTreatedResult(
        p_value=p_at(0.0),
        low=inversion_edge(p_at, tau, alpha, se, -1.0),
        high=inversion_edge(p_at, tau, alpha, se, 1.0),
        reps=v.shape[1],
        exact=exact,
        seed=seed,
    )


def with_inference(estimate: Estimate, result: FewTreatedResult, inference: Inference) -> Estimate:
    """``estimate`` (computed with analytic inference) with the few-treated interval."""
    extras = dict(estimate.extras)
    extras["reps"] = result.reps
    extras["assignments_enumerated"] = result.exact
    if inference.method == "randomisation":
        how = (
            f"randomisation inference over units: the treatment paths given to the units in "
            f"all {result.reps} possible ways"
            if result.exact
            else f"randomisation inference over units: {result.reps} random re-assignments "
            f"of the treatment paths (seed {result.seed})"
        )
        note = (
            how + "; Fisher p-value, interval by inverting the test under a constant additive "
            "effect; the standard error is the CR1 one, not valid with one treated unit"
        )
    else:
        how = (
            f"all {result.reps} Rademacher sign vectors"
            if result.exact
            else f"{result.reps} {inference.weights} draws (seed {result.seed})"
        )
        note = (
            f"restricted wild cluster bootstrap (WCR) of the CR1 t statistic, {how}; "
            "interval by inverting the test"
        )
    notes = [*estimate.notes, note]
    if result.low is None or result.high is None:
        notes.append(
            f"the {inference.level:.0%} interval is unbounded: with {result.reps} assignments "
            f"the smallest attainable p-value is {1 / result.reps:.3g}, so the test cannot "
            "reject any effect on that side"
        )
    return replace(
        estimate,
        ci_low=result.low,
        ci_high=result.high,
        p_value=result.p_value,
        ci_method=inference.label,
        seed=result.seed,
        notes=tuple(notes),
        extras=extras,
    )
