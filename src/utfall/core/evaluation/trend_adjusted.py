"""Trend-adjusted saving of short-term sick leave (DESIGN.md 2.2, seed 004).

The contract's formula, per employee *j*::

    S_e,j = Σ_i  S_ref,j,i · SLT_i / SLT_ref,i       (i = 1 … 36, matching months)
    S_n,j = Σ_i  S_j,i                                 (the 36 contract months)
    saving = max((mean S_e − mean S_n) · value of one sick day · employees, 0)

The heavy step (employee-month rows → per-employee ``S_e`` and ``S_n``) runs in
:mod:`utfall.analytics.sick_leave`; this estimator takes the per-employee
totals. Uncertainty comes from resampling employees with their whole record: a
bootstrap of the per-employee differences, vectorised and seeded, in batches
of replicates so memory stays bounded for millions of employees. The saving is
a mean, so the analytic interval is the normal one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from utfall.core.evaluation.inference import analytic_interval, draw_seed
from utfall.core.evaluation.result import Estimate
from utfall.errors import EvaluationError, SpecInvalid

__all__ = ["CI_METHODS", "SCALES", "bootstrap_means", "trend_adjusted"]

CI_METHODS = ("analytic", "bootstrap")
SCALES = ("total", "per_employee")
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
# Indices drawn per bootstrap batch: 4 M int64 indices plus the gathered values ≈ 64 MiB.
BATCH_CELLS = 4_000_000


def bootstrap_means(values: FloatArray, reps: int, seed: int) -> FloatArray:
    """Means of ``reps`` resamples (with replacement) of ``values``.

    Vectorised in batches of replicates; the draws depend only on ``seed``,
    ``reps`` and ``len(values)``.
    """
    n = len(values)
    rng = np.random.default_rng(seed)
    out = np.empty(reps, dtype=np.float64)
    per_batch = max(1, BATCH_CELLS // max(n, 1))
    for start in range(0, reps, per_batch):
        stop = min(reps, start + per_batch)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = values[idx].mean(axis=1)
    return out


def _percentile_p_value(draws: FloatArray) -> float:
    # Same convention as utfall.core.evaluation.inference.bootstrap.
    below = 1 + int(np.sum(draws <= 0))
    above = 1 + int(np.sum(draws >= 0))
    return min(1.0, 2 * min(below, above) / (1 + len(draws)))


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _single(
    expected: FloatArray,
    observed: FloatArray,
    *,
    day_value: float | None,
    scale: str,
    employees: int | None,
    floor: bool,
    ci_method: str,
    level: float,
    reps: int,
    seed: int | None,
    outcome: str | None,
    label: str | None,
    monthly: Mapping[str, Sequence[float]] | None,
    notes: Sequence[str],
) -> Estimate:
    n = len(expected)
    if n == 0:
        raise EvaluationError("trend_adjusted: no employee has days in both periods")
    count = int(employees) if employees is not None else n
    diff = expected - observed
    mean_diff = float(diff.mean())
    # Multiplier from "mean days per employee" to the reported unit (days or SEK, total or per employee).
    per = 1.0 if scale == "per_employee" else float(count)
    money = 1.0 if day_value is None else float(day_value)
    factor = per * money

    raw = mean_diff * factor  # saving before the contract's floor at zero
    point = max(raw, 0.0) if floor else raw
    std_error: float | None
    extras: dict[str, Any] = {}
    used_seed: int | None = None
    note_list = list(notes)
    if ci_method == "analytic":
        sd = float(diff.std(ddof=1)) if n > 1 else math.nan
        se = sd / math.sqrt(n) * abs(factor)
        low, high, p_value = analytic_interval(raw, se, level, None)
        std_error = se
    else:
        used_seed = draw_seed(seed)
        draws = bootstrap_means(diff, reps, used_seed) * factor
        tail = (1 - level) / 2
        low = float(np.quantile(draws, tail))
        high = float(np.quantile(draws, 1 - tail))
        std_error = float(draws.std(ddof=1))
        p_value = _percentile_p_value(draws)
        extras["reps"] = reps
        note_list.append(
            f"{reps} bootstrap replicates resampling employees with their whole record "
            f"(percentile interval, seed {used_seed})"
        )
    if floor:
        low, high = max(low, 0.0), max(high, 0.0)
        note_list.append(
            "the saving and its interval are floored at zero as the contract states; "
            "std_error and p_value refer to the unfloored saving"
        )

    expected_mean = float(expected.mean())
    observed_mean = float(observed.mean())
    extras.update(
        {
            "scale": scale,
            "employees": count,
            "employees_in_data": n,
            "expected_days": expected_mean * per,
            "observed_days": observed_mean * per,
            "saving_days": mean_diff * per,
            "expected_days_per_employee": expected_mean,
            "observed_days_per_employee": observed_mean,
            "day_value": day_value,
            "saving_sek": (max(raw, 0.0) if floor else raw) if day_value is not None else None,
        }
    )
    if monthly is not None:
        extras["monthly"] = {k: [float(v) for v in vals] for k, vals in monthly.items()}
    unit = "SEK" if day_value is not None else "sick days"
    return Estimate(
        method="trend_adjusted",
        estimate=float(point),
        std_error=_number(std_error),
        ci_low=_number(low),
        ci_high=_number(high),
        p_value=_number(p_value),
        n_treated=n,
        n_control=None,
        n_obs=n,
        ci_method="analytic" if ci_method == "analytic" else "bootstrap-percentile",
        level=level,
        seed=used_seed,
        label=label,
        outcome=outcome,
        estimand=(
            f"trend-adjusted saving of short-term sick leave in {unit}, "
            f"{'per employee' if scale == 'per_employee' else 'total'}: "
            "(S_e − S_n) with S_e = Σ reference days × SLT_i / SLT_ref,i"
        ),
        notes=tuple(note_list),
        extras=extras,
    )


def trend_adjusted(
    expected: Sequence[float] | FloatArray,
    observed: Sequence[float] | FloatArray,
    *,
    day_value: float | None = None,
    scale: str = "total",
    employees: int | None = None,
    floor: bool = True,
    ci_method: str = "bootstrap",
    level: float = 0.95,
    reps: int = 999,
    seed: int | None = None,
    groups: Sequence[Any] | np.ndarray[Any, Any] | None = None,
    outcome: str | None = None,
    monthly: Mapping[str, Sequence[float]] | None = None,
    notes: Sequence[str] = (),
) -> Estimate:
    """The trend-adjusted saving from per-employee expected and observed days.

    ``expected[j]`` is employee *j*'s ``S_e`` (reference days re-weighted by the
    trend index), ``observed[j]`` their ``S_n``. ``day_value`` (SEK per sick
    day) turns days into money; without it the estimate is in days.
    ``scale`` is ``total`` (times ``employees``, by default the number of
    employees given) or ``per_employee``. ``floor`` applies the contract's
    ``max(…, 0)``. ``groups`` (one label per employee) adds one estimate per
    level as ``subgroups``. ``monthly`` (e.g. ``month_index``, ``expected_days``,
    ``observed_days`` lists) is passed through into ``extras['monthly']``.
    """
    if scale not in SCALES:
        raise SpecInvalid(f"options.scale: {scale!r} is not one of {', '.join(SCALES)}")
    if ci_method not in CI_METHODS:
        raise SpecInvalid(
            f"ci.method: {ci_method!r} is not available for trend_adjusted "
            f"(use {' or '.join(CI_METHODS)}); there is no assignment to permute"
        )
    if not 0.5 <= level < 1:
        raise SpecInvalid(f"ci.level: {level!r} must be at least 0.5 and below 1")
    if ci_method == "bootstrap" and reps < math.ceil(1 / (1 - level)):
        raise SpecInvalid(f"ci.reps: {reps} replicates cannot give a {level:.0%} interval")
    if day_value is not None and not (math.isfinite(day_value) and day_value >= 0):
        raise SpecInvalid(f"options.day_value: {day_value!r} must be a non-negative number")
    if employees is not None and employees < 1:
        raise SpecInvalid(f"options.employees: {employees!r} must be at least 1")
    e = np.asarray(expected, dtype=np.float64)
    o = np.asarray(observed, dtype=np.float64)
    if e.shape != o.shape or e.ndim != 1:
        raise EvaluationError("trend_adjusted: expected and observed must be equal-length vectors")
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(o))):
        raise EvaluationError("trend_adjusted: expected and observed days must be finite")
    seed = draw_seed(seed) if ci_method == "bootstrap" else seed
    common: dict[str, Any] = {
        "day_value": day_value,
        "scale": scale,
        "floor": floor,
        "ci_method": ci_method,
        "level": level,
        "reps": reps,
        "seed": seed,
        "outcome": outcome,
    }
    overall = _single(
        e, o, employees=employees, label=None, monthly=monthly, notes=notes, **common
    )
    if groups is None:
        return overall
    labels = np.asarray(groups)
    if labels.shape != e.shape:
        raise EvaluationError("trend_adjusted: one subgroup label per employee is needed")
    subgroups = []
    for level_value in sorted(set(labels.tolist()), key=str):
        mask = labels == level_value
        # A stated head count applies to the whole workforce; a subgroup scales by its share.
        share = None if employees is None else max(1, round(employees * mask.mean()))
        subgroups.append(
            _single(
                e[mask], o[mask], employees=share, label=str(level_value),
                monthly=None, notes=(), **common,
            )
        )
    return replace(overall, subgroups=tuple(subgroups))
