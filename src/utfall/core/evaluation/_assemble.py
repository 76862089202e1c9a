"""Turn a point estimate and its inference into an :class:`Estimate`."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from utfall.core.evaluation.inference import (
    Inference,
    IntArray,
    analytic_interval,
    bootstrap,
    permutation_linear,
)
from utfall.core.evaluation.result import Estimate
from utfall.errors import SpecInvalid

__all__ = ["finish"]


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def finish(
    *,
    method: str,
    estimate: float,
    std_error: float,
    df: float | None,
    inference: Inference,
    n_treated: int | None,
    n_control: int | None,
    n_obs: int,
    outcome: str | None,
    estimand: str | None,
    notes: Sequence[str] = (),
    extras: dict[str, Any] | None = None,
    bootstrap_statistic: Callable[[IntArray], float] | None = None,
    bootstrap_strata: Sequence[IntArray] = (),
    permutation_statistic: Callable[[np.random.Generator], tuple[float, float]] | None = None,
) -> Estimate:
    """The Estimate for ``inference``: analytic, bootstrap or permutation.

    The analytic standard error is always kept in ``extras['analytic_std_error']`` so
    a resampled result can be compared with it.
    """
    if inference.method in ("randomisation", "wild_bootstrap"):
        raise SpecInvalid(
            f"ci.method: {inference.method!r} is not available for {method} "
            "(it is for twfe; see docs/evaluation.md, few treated units)"
        )
    extras = dict(extras or {})
    notes = list(notes)
    seed: int | None = None
    extras["analytic_std_error"] = _number(std_error)
    if df is not None and math.isfinite(df):
        extras["df"] = float(df)
    low, high, p_value = analytic_interval(estimate, std_error, inference.level, df)
    se_out: float | None = std_error
    if inference.method == "bootstrap":
        if bootstrap_statistic is None:
            raise SpecInvalid(f"ci.method: 'bootstrap' is not available for {method}")
        boot = bootstrap(bootstrap_statistic, bootstrap_strata, inference)
        low, high, se_out, p_value, seed = (
            boot.low,
            boot.high,
            boot.std_error,
            boot.p_value,
            boot.seed,
        )
        extras["reps"] = boot.reps
        notes.append(
            f"{boot.reps} bootstrap replicates resampling whole units within treatment "
            f"groups ({inference.interval} interval, seed {boot.seed})"
        )
    elif inference.method == "permutation":
        if permutation_statistic is None:
            raise SpecInvalid(f"ci.method: 'permutation' is not available for {method}")
        perm = permutation_linear(permutation_statistic, estimate, inference, std_error)
        p_value, seed = perm.p_value, perm.seed
        low = perm.low if perm.low is not None else -math.inf
        high = perm.high if perm.high is not None else math.inf
        extras["reps"] = perm.reps
        notes.append(
            f"permutation test with {perm.reps} re-drawn assignments (seed {perm.seed}); "
            "interval by inverting the test under a constant additive effect; "
            "the standard error is the analytic one"
        )
    return Estimate(
        method=method,
        estimate=float(estimate),
        std_error=_number(se_out),
        ci_low=_number(low),
        ci_high=_number(high),
        p_value=_number(p_value),
        n_treated=n_treated,
        n_control=n_control,
        n_obs=int(n_obs),
        ci_method=inference.label,
        level=inference.level,
        seed=seed,
        outcome=outcome,
        estimand=estimand,
        notes=tuple(notes),
        extras=extras,
    )


def dropped_note(dropped: int, columns: Sequence[str | None]) -> list[str]:
    """A note when rows with missing values were left out."""
    if not dropped:
        return []
    names = ", ".join(c for c in dict.fromkeys(columns) if c)
    return [f"{dropped} rows with a missing value in {names} were left out"]
