"""Several outcomes paying at once: p-values adjusted for the family they are tested in.

When a contract pays on several outcomes, each decided by a test, the chance that at
least one pays by luck grows with their number. The corrections here adjust a family's
p-values; a decision is then taken on the adjusted value:

* ``holm`` — Holm (1979) step-down: controls the family-wise error rate (the chance of
  any false positive) under any dependence between the tests.
* ``benjamini_hochberg`` — Benjamini & Hochberg (1995) step-up: controls the false
  discovery rate (the expected share of false positives among those declared), for
  independent or positively dependent tests.
* ``romano_wolf`` — Romano & Wolf (2005) step-down: controls the family-wise error rate
  using the joint bootstrap distribution of the test statistics, so correlated outcomes
  (measured on the same people) cost less power than under Holm.

Holm and Benjamini–Hochberg are statsmodels' ``multipletests``; the Romano–Wolf step-down
is ours (docs/decisions/0713-romano-wolf-stepdown-our-own.md), checked against pyfixest's
``rwolf`` on the same bootstrap statistics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from utfall.errors import EvaluationError

__all__ = [
    "CORRECTIONS",
    "Adjusted",
    "adjust",
    "romano_wolf",
    "romano_wolf_bootstrap",
]

Correction = Literal["holm", "benjamini_hochberg", "romano_wolf"]
CORRECTIONS: tuple[Correction, ...] = ("holm", "benjamini_hochberg", "romano_wolf")
_STATSMODELS = {"holm": "holm", "benjamini_hochberg": "fdr_bh"}


@dataclass(frozen=True)
class Adjusted:
    """A family's p-values, adjusted, and the decision on each at ``alpha``."""

    method: Correction
    names: tuple[str, ...]
    p_values: tuple[float, ...]
    adjusted: tuple[float, ...]
    alpha: float

    @property
    def rejected(self) -> tuple[bool, ...]:
        """Whether each null hypothesis is rejected on its adjusted p-value."""
        return tuple(p <= self.alpha for p in self.adjusted)

    def of(self, name: str) -> float:
        """The adjusted p-value of ``name``."""
        return self.adjusted[self.names.index(name)]


def _check_p(p_values: Sequence[float]) -> list[float]:
    values = [float(p) for p in p_values]
    if not values:
        raise EvaluationError("multiple testing: the family has no p-values")
    for p in values:
        if not (math.isfinite(p) and 0.0 <= p <= 1.0):
            raise EvaluationError(f"multiple testing: p-value {p!r} is not between 0 and 1")
    return values


def adjust(
    p_values: Mapping[str, float],
    method: Literal["holm", "benjamini_hochberg"],
    *,
    alpha: float = 0.05,
) -> Adjusted:
    """Holm or Benjamini–Hochberg adjusted p-values of a family (name → p-value)."""
    from statsmodels.stats.multitest import multipletests  # type: ignore[import-untyped]

    if method not in _STATSMODELS:
        raise ValueError(
            f"method: {method!r} adjusts from p-values alone only for holm and "
            "benjamini_hochberg; romano_wolf needs the bootstrap statistics (romano_wolf())"
        )
    names = tuple(p_values)
    raw = _check_p([p_values[n] for n in names])
    _, corrected, _, _ = multipletests(raw, alpha=alpha, method=_STATSMODELS[method])
    return Adjusted(
        method=method,
        names=names,
        p_values=tuple(raw),
        adjusted=tuple(min(1.0, float(p)) for p in corrected),
        alpha=alpha,
    )


def romano_wolf(
    t_statistics: Sequence[float],
    bootstrap_t: Sequence[Sequence[float]],
) -> tuple[float, ...]:
    """Romano–Wolf step-down adjusted p-values (two-sided).

    ``t_statistics`` are the observed statistics of the S hypotheses; ``bootstrap_t`` is
    B rows of S statistics computed on resampled data and *centred* on the observed
    estimates (``(b* − b) / se*``), so that they follow the null distribution. At step k
    the hypothesis with the k-th largest |t| is compared with the maximum |t*| over the
    hypotheses not yet rejected; p-values are (count + 1) / (B + 1), made monotone down
    the steps.
    """
    import numpy as np

    observed = np.abs(np.asarray(t_statistics, dtype=float))
    draws = np.abs(np.asarray(bootstrap_t, dtype=float))
    if observed.ndim != 1 or draws.ndim != 2 or draws.shape[1] != observed.shape[0]:
        raise EvaluationError(
            "romano_wolf: the bootstrap statistics need one column per hypothesis "
            f"(got {draws.shape} for {observed.shape[0]} hypotheses)"
        )
    if not (np.all(np.isfinite(observed)) and np.all(np.isfinite(draws))):
        raise EvaluationError("romano_wolf: a statistic is missing or infinite")
    reps = draws.shape[0]
    order = np.argsort(-observed, kind="stable")
    adjusted = np.empty(observed.shape[0])
    previous = 0.0
    for step, index in enumerate(order):
        remaining = order[step:]
        largest = draws[:, remaining].max(axis=1)
        p = min(1.0, (float(np.sum(largest >= observed[index])) + 1.0) / (reps + 1.0))
        previous = max(previous, p)
        adjusted[index] = previous
    return tuple(float(p) for p in adjusted)


Fit = Callable[[Any], tuple[float, float]]
"""An estimator of one outcome: a DataFrame in, (estimate, standard error) out."""


def romano_wolf_bootstrap(
    frame: Any,
    fits: Mapping[str, Fit],
    *,
    cluster: str,
    reps: int = 999,
    seed: int | None = None,
    alpha: float = 0.05,
) -> Adjusted:
    """Romano–Wolf adjusted p-values of several outcomes estimated on the same units.

    Units (``cluster``) are drawn with replacement ``reps`` times; every fit is re-run on
    each draw, so the bootstrap keeps the correlation between the outcomes. The
    unadjusted p-values reported beside them are the usual normal ones, 2Φ(−|t|).
    """
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]
    from scipy.stats import norm  # type: ignore[import-untyped]

    if reps < 1:
        raise EvaluationError("romano_wolf: reps must be at least 1")
    names = tuple(fits)
    observed = [fits[n](frame) for n in names]
    for name, (estimate, se) in zip(names, observed, strict=True):
        if not (math.isfinite(estimate) and math.isfinite(se) and se > 0):
            raise EvaluationError(f"romano_wolf: {name} gives no estimate with a standard error")
    t_observed = [b / se for b, se in observed]
    codes, _ = pd.factorize(frame[cluster], sort=True)
    rows_of = [np.flatnonzero(codes == c) for c in range(int(codes.max()) + 1)]
    sizes = np.array([len(r) for r in rows_of])
    rng = np.random.default_rng(seed)
    draws: list[list[float]] = []
    for _ in range(reps):
        chosen = rng.integers(0, len(rows_of), size=len(rows_of))
        sample = frame.iloc[np.concatenate([rows_of[c] for c in chosen])].copy()
        # A unit drawn twice counts as two units.
        sample[cluster] = np.repeat(np.arange(len(chosen)), sizes[chosen])
        row: list[float] = []
        for name, (estimate, _se) in zip(names, observed, strict=True):
            try:
                b_star, se_star = fits[name](sample)
            except Exception:  # a degenerate draw (one arm empty) is skipped, not fatal
                row = []
                break
            if not (math.isfinite(b_star) and math.isfinite(se_star) and se_star > 0):
                row = []
                break
            row.append((b_star - estimate) / se_star)
        if row:
            draws.append(row)
    if len(draws) < max(19, reps // 2):
        raise EvaluationError(
            f"romano_wolf: only {len(draws)} of {reps} bootstrap draws gave every estimate"
        )
    return Adjusted(
        method="romano_wolf",
        names=names,
        p_values=tuple(float(2 * norm.sf(abs(t))) for t in t_observed),
        adjusted=romano_wolf(t_observed, draws),
        alpha=alpha,
    )
