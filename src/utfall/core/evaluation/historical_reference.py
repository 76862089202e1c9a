"""Saving against a historical reference cost trajectory (Norrköping, DESIGN.md 2.1).

The commissioner's social-service costs of the included individuals (placement
days and outpatient care) are compared with the costs a historical reference
cohort had at the same month since inclusion::

    r(m)       = reference cost per individual at month m since inclusion
                 (``empirical``: the mean over reference individuals observed in m;
                  ``linear``: a least-squares line a + b·m over all reference cells,
                  the "usually linearly negative" trend)
    expected_m = Σ_i r(m) · p_i,m          (over included individuals observed in m)
    saving_m   = expected_m − Σ_i cost_i,m
    cumulative = Σ_{m ≤ M} saving_m

Prices: with a price factor ``p`` per cell (a price index of the calendar month),
reference costs are first deflated (``cost / p``) and the expected cost of an
included cell is re-priced to its own month (``r(m) · p_i,m``), so the saving is in
the prices of the month it falls in. Without price factors ``p = 1``.

``break_even_month`` is the first month from which the cumulative saving stays
non-negative to the end of the follow-up (``None`` if it ends negative);
``first_saving_month`` the first month from which the monthly saving stays
positive. Uncertainty: a bootstrap that resamples whole individuals, included
and reference cohort independently, computed for many replicates at once with
count matrices (no Python loop over replicates); or a delta-method standard
error from the individuals' influence on the saving.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from utfall.core.evaluation.inference import analytic_interval, draw_seed
from utfall.core.evaluation.result import Estimate
from utfall.errors import EvaluationError, SpecInvalid

__all__ = ["CI_METHODS", "TRENDS", "CostPanel", "bootstrap_counts", "historical_reference"]

CI_METHODS = ("bootstrap", "analytic")
TRENDS = ("empirical", "linear")
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
# Cells of a replicate-by-individual count matrix built at once (≈ 64 MiB of int64).
BATCH_CELLS = 8_000_000


@dataclass(frozen=True)
class CostPanel:
    """Costs per individual and month since inclusion (one row per cell or several).

    ``unit`` labels individuals (any hashable values), ``month`` is the month
    since inclusion, ``cost`` the cost in that cell, ``price`` an optional price
    factor of the cell's calendar month, ``group`` an optional subgroup label
    per row (constant within an individual).
    """

    unit: np.ndarray[Any, Any]
    month: IntArray
    cost: FloatArray
    price: FloatArray | None = None
    group: np.ndarray[Any, Any] | None = None

    @classmethod
    def from_arrays(
        cls,
        unit: Sequence[Any] | np.ndarray[Any, Any],
        month: Sequence[int] | np.ndarray[Any, Any],
        cost: Sequence[float] | np.ndarray[Any, Any],
        *,
        price: Sequence[float] | np.ndarray[Any, Any] | None = None,
        group: Sequence[Any] | np.ndarray[Any, Any] | None = None,
    ) -> CostPanel:
        """Check lengths and types and build a panel."""
        u = np.asarray(unit)
        m = np.asarray(month)
        c = np.asarray(cost, dtype=np.float64)
        n = len(u)
        if m.shape != (n,) or c.shape != (n,):
            raise EvaluationError("historical_reference: unit, month and cost differ in length")
        if m.dtype.kind == "f":
            if not np.all(np.isfinite(m)) or np.any(m != np.round(m)):
                raise EvaluationError("historical_reference: months since inclusion must be whole")
        elif m.dtype.kind not in "iu":
            raise EvaluationError("historical_reference: months since inclusion must be numbers")
        if not np.all(np.isfinite(c)):
            raise EvaluationError("historical_reference: costs must be finite numbers")
        p = None
        if price is not None:
            p = np.asarray(price, dtype=np.float64)
            if p.shape != (n,) or not np.all(np.isfinite(p)) or np.any(p <= 0):
                raise EvaluationError(
                    "historical_reference: every cell needs a positive price factor"
                )
        g = None if group is None else np.asarray(group)
        if g is not None and g.shape != (n,):
            raise EvaluationError("historical_reference: one subgroup label per row is needed")
        return cls(unit=u, month=m.astype(np.int64), cost=c, price=p, group=g)

    def subset(self, mask: np.ndarray[Any, np.dtype[np.bool_]]) -> CostPanel:
        """The rows where ``mask`` holds."""
        return CostPanel(
            unit=self.unit[mask],
            month=self.month[mask],
            cost=self.cost[mask],
            price=None if self.price is None else self.price[mask],
            group=None if self.group is None else self.group[mask],
        )


@dataclass(frozen=True)
class _Matrices:
    """An individual × month layout of a panel (zeros where not observed)."""

    cost: FloatArray  # nominal cost
    real: FloatArray  # cost / price
    price: FloatArray  # price factor of observed cells, 0 elsewhere
    seen: FloatArray  # 1 where observed

    @property
    def units(self) -> int:
        return int(self.cost.shape[0])


def _layout(panel: CostPanel, first: int, months: int) -> _Matrices:
    _, codes = np.unique(panel.unit, return_inverse=True)
    codes = codes.reshape(-1)
    n = int(codes.max()) + 1 if len(codes) else 0
    col = panel.month - first
    price = np.ones(len(col)) if panel.price is None else panel.price
    cost = np.zeros((n, months))
    real = np.zeros((n, months))
    price_m = np.zeros((n, months))
    seen = np.zeros((n, months))
    np.add.at(cost, (codes, col), panel.cost)
    np.add.at(real, (codes, col), panel.cost / price)
    # Several rows in one cell (cost types) share the cell's price: keep one factor.
    price_m[codes, col] = price
    seen[codes, col] = 1.0
    return _Matrices(cost=cost, real=real, price=price_m, seen=seen)


def bootstrap_counts(rng: np.random.Generator, n: int, reps: int) -> FloatArray:
    """A ``reps × n`` matrix: how often each of ``n`` units is drawn per replicate."""
    idx = rng.integers(0, n, size=(reps, n))
    flat = (np.arange(reps, dtype=np.int64)[:, None] * n + idx).reshape(-1)
    return np.bincount(flat, minlength=reps * n).reshape(reps, n).astype(np.float64)


def _trend(
    weights: FloatArray, ref: _Matrices, months: IntArray, kind: str
) -> tuple[FloatArray, FloatArray | None]:
    """Reference trajectory per row of ``weights`` (replicates × reference units)."""
    if kind == "empirical":
        totals = weights @ ref.real
        counts = weights @ ref.seen
        with np.errstate(invalid="ignore", divide="ignore"):
            return totals / counts, None
    m = months.astype(np.float64)
    s0 = weights @ ref.seen.sum(axis=1)
    s1 = weights @ (ref.seen @ m)
    s2 = weights @ (ref.seen @ (m * m))
    sy = weights @ ref.real.sum(axis=1)
    smy = weights @ (ref.real @ m)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (s0 * smy - s1 * sy) / (s0 * s2 - s1 * s1)
        intercept = (sy - slope * s1) / s0
    coefficients = np.column_stack([intercept, slope])
    return intercept[:, None] + slope[:, None] * m[None, :], coefficients


def _analytic_std_error(
    ref: _Matrices, obs: _Matrices, r: FloatArray, months: IntArray, trend: str
) -> float:
    """Delta-method standard error of the cumulative saving (units independent).

    The saving is ``Σ_m r(m)·P(m) − Σ_i y_i`` with ``P(m)`` the summed price
    factors of the included cells. Each included individual contributes
    ``a_i = Σ_m r(m)·p_i,m − y_i,m``; each reference individual moves ``r`` by
    its influence ``ψ_j`` (ratio estimator for ``empirical``, least squares for
    ``linear``). The variance is the sum of the two sample variances of totals.
    """
    price_sum = obs.price.sum(axis=0)
    a = obs.price @ r - obs.cost.sum(axis=1)
    n_obs, n_ref = obs.units, ref.units
    var_obs = n_obs / (n_obs - 1) * float(((a - a.mean()) ** 2).sum()) if n_obs > 1 else math.nan
    if trend == "empirical":
        counts = ref.seen.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = np.where(counts > 0, price_sum / counts, 0.0)
        residual = (ref.real - ref.seen * r[None, :]) * weight[None, :]
        psi = residual.sum(axis=1)
    else:
        x = np.column_stack([np.ones(len(months)), months.astype(np.float64)])
        xtx = x.T @ (x * ref.seen.sum(axis=0)[:, None])
        gradient = x.T @ price_sum
        residual = ref.real - ref.seen * r[None, :]
        score = residual @ x  # per reference unit: Σ_m s·x_m·e
        psi = score @ np.linalg.solve(xtx, gradient)
    var_ref = (
        n_ref / (n_ref - 1) * float(((psi - psi.mean()) ** 2).sum()) if n_ref > 1 else math.nan
    )
    return math.sqrt(var_obs + var_ref)


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _break_even(cumulative: FloatArray, months: IntArray) -> int | None:
    negative = np.flatnonzero(cumulative < 0)
    if len(negative) == 0:
        return int(months[0])
    last = int(negative[-1])
    return int(months[last + 1]) if last + 1 < len(months) else None


def _first_saving(saving: FloatArray, months: IntArray) -> int | None:
    not_positive = np.flatnonzero(saving <= 0)
    if len(not_positive) == 0:
        return int(months[0])
    last = int(not_positive[-1])
    return int(months[last + 1]) if last + 1 < len(months) else None


def _break_even_rows(cumulative: FloatArray, months: IntArray) -> FloatArray:
    """Break-even month per replicate row; ``inf`` when a row ends negative."""
    negative = cumulative < 0
    any_negative = negative.any(axis=1)
    # Index of the last negative month (reverse argmax finds the last True).
    last = cumulative.shape[1] - 1 - np.argmax(negative[:, ::-1], axis=1)
    out = np.where(any_negative, last + 1, 0).astype(np.float64)
    out[out >= len(months)] = np.inf
    finite = np.isfinite(out)
    out[finite] = months[out[finite].astype(np.int64)]
    return out


def _single(
    reference: CostPanel,
    observed: CostPanel,
    *,
    months: IntArray,
    trend: str,
    ci_method: str,
    level: float,
    reps: int,
    seed: int | None,
    outcome: str | None,
    label: str | None,
    notes: Sequence[str],
) -> Estimate:
    first, count = int(months[0]), len(months)
    ref = _layout(reference, first, count)
    obs = _layout(observed, first, count)
    if ref.units == 0:
        raise EvaluationError("historical_reference: the reference cohort has no rows")
    if obs.units == 0:
        raise EvaluationError("historical_reference: no included individual has rows")

    curve, coefficients = _trend(np.ones((1, ref.units)), ref, months, trend)
    r = curve[0]
    needed = obs.seen.sum(axis=0) > 0
    missing = months[needed & ~np.isfinite(r)]
    if len(missing):
        shown = ", ".join(str(int(m)) for m in missing[:10])
        raise EvaluationError(
            "historical_reference: the reference cohort has no cost in month(s) "
            f"{shown} since inclusion, where included individuals have costs; "
            "use trend: linear or shorten the horizon"
        )
    r = np.where(np.isfinite(r), r, 0.0)
    price_sum = obs.price.sum(axis=0)
    observed_by_month = obs.cost.sum(axis=0)
    expected_by_month = r * price_sum
    saving = expected_by_month - observed_by_month
    cumulative = np.cumsum(saving)
    point = float(cumulative[-1])

    tail = (1 - level) / 2
    used_seed: int | None = None
    be_interval: list[int | None] | None = None
    extras_ci: dict[str, Any] = {}
    if ci_method == "analytic":
        std_error = _analytic_std_error(ref, obs, r, months, trend)
        low, high, p_value = analytic_interval(point, std_error, level, None)
        ci_note = "delta-method standard error; individuals independent, normal interval"
    else:
        used_seed = draw_seed(seed)
        rng = np.random.default_rng(used_seed)
        draws = np.empty(reps)
        break_evens = np.empty(reps)
        per_batch = max(1, BATCH_CELLS // max(ref.units, obs.units, 1))
        for start in range(0, reps, per_batch):
            b = min(reps, start + per_batch) - start
            w_ref = bootstrap_counts(rng, ref.units, b)
            w_obs = bootstrap_counts(rng, obs.units, b)
            r_star, _ = _trend(w_ref, ref, months, trend)
            r_star = np.where(np.isfinite(r_star), r_star, r[None, :])
            saving_star = r_star * (w_obs @ obs.price) - w_obs @ obs.cost
            cumulative_star = np.cumsum(saving_star, axis=1)
            draws[start : start + b] = cumulative_star[:, -1]
            break_evens[start : start + b] = _break_even_rows(cumulative_star, months)
        low = float(np.quantile(draws, tail))
        high = float(np.quantile(draws, 1 - tail))
        std_error = float(draws.std(ddof=1))
        below = 1 + int(np.sum(draws <= 0))
        above = 1 + int(np.sum(draws >= 0))
        p_value = min(1.0, 2 * min(below, above) / (1 + reps))
        be_low = float(np.quantile(break_evens, tail, method="lower"))
        be_high = float(np.quantile(break_evens, 1 - tail, method="higher"))
        be_interval = [
            int(be_low) if math.isfinite(be_low) else None,
            int(be_high) if math.isfinite(be_high) else None,
        ]
        extras_ci["reps"] = reps
        ci_note = (
            f"{reps} bootstrap replicates resampling whole individuals, included and "
            f"reference cohort independently (percentile interval, seed {used_seed})"
        )

    extras: dict[str, Any] = {
        "cumulative_saving": point,
        "break_even_month": _break_even(cumulative, months),
        "break_even_month_ci": be_interval,
        "first_saving_month": _first_saving(saving, months),
        "trend": trend,
        "months": [int(m) for m in months],
        "reference_cost_by_month": [float(v) for v in r],
        "expected_by_month": [float(v) for v in expected_by_month],
        "observed_by_month": [float(v) for v in observed_by_month],
        "saving_by_month": [float(v) for v in saving],
        "cumulative_by_month": [float(v) for v in cumulative],
        "included_by_month": [int(v) for v in obs.seen.sum(axis=0)],
        "expected_cost": float(expected_by_month.sum()),
        "observed_cost": float(observed_by_month.sum()),
        "n_reference": ref.units,
        "price_indexed": observed.price is not None,
        **extras_ci,
    }
    if coefficients is not None:
        extras["trend_intercept"] = float(coefficients[0, 0])
        extras["trend_slope"] = float(coefficients[0, 1])
    note_list = [*notes, ci_note]
    return Estimate(
        method="historical_reference",
        estimate=point,
        std_error=_number(std_error),
        ci_low=_number(low),
        ci_high=_number(high),
        p_value=p_value,
        n_treated=obs.units,
        n_control=ref.units,
        n_obs=int(obs.seen.sum() + ref.seen.sum()),
        ci_method="analytic" if ci_method == "analytic" else "bootstrap-percentile",
        level=level,
        seed=used_seed,
        label=label,
        outcome=outcome,
        estimand=(
            f"cumulative saving against the historical reference ({trend} trend), "
            f"months {int(months[0])}–{int(months[-1])} since inclusion"
        ),
        notes=tuple(note_list),
        extras=extras,
    )


def historical_reference(
    reference: CostPanel,
    observed: CostPanel,
    *,
    trend: str = "empirical",
    start_month: int = 0,
    horizon: int | None = None,
    ci_method: str = "bootstrap",
    level: float = 0.95,
    reps: int = 999,
    seed: int | None = None,
    subgroup_reference: str = "matched",
    outcome: str | None = None,
    notes: Sequence[str] = (),
) -> Estimate:
    """Cumulative saving of the included individuals against the historical reference.

    Months run from ``start_month`` (default 0, the month of inclusion) to
    ``horizon`` (default: the last month an included individual is observed).
    If ``observed.group`` is set, one estimate per level is added as
    ``subgroups``, against the reference individuals of the same level
    (``subgroup_reference="matched"``, needs ``reference.group``) or against the
    whole reference cohort (``"pooled"``). ``ci_method`` is ``bootstrap``
    (resampling individuals; also gives ``break_even_month_ci``) or
    ``analytic`` (delta method, normal interval).
    """
    if trend not in TRENDS:
        raise SpecInvalid(f"options.trend: {trend!r} is not one of {', '.join(TRENDS)}")
    if ci_method not in CI_METHODS:
        raise SpecInvalid(
            f"ci.method: {ci_method!r} is not available for historical_reference "
            f"(use {' or '.join(CI_METHODS)}); there is no random assignment to permute"
        )
    if not 0.5 <= level < 1:
        raise SpecInvalid(f"ci.level: {level!r} must be at least 0.5 and below 1")
    if ci_method == "bootstrap" and reps < math.ceil(1 / (1 - level)):
        raise SpecInvalid(f"ci.reps: {reps} replicates cannot give a {level:.0%} interval")
    if subgroup_reference not in ("matched", "pooled"):
        raise SpecInvalid(
            f"options.subgroup_reference: {subgroup_reference!r} is not matched or pooled"
        )
    last = int(observed.month.max()) if len(observed.month) else start_month
    end = last if horizon is None else int(horizon)
    if end < start_month:
        raise SpecInvalid(f"options.horizon: {end} is before the start month {start_month}")
    months = np.arange(start_month, end + 1, dtype=np.int64)

    def window(panel: CostPanel) -> CostPanel:
        return panel.subset((panel.month >= start_month) & (panel.month <= end))

    ref_w, obs_w = window(reference), window(observed)
    seed = draw_seed(seed) if ci_method == "bootstrap" else seed
    common: dict[str, Any] = {
        "months": months,
        "trend": trend,
        "ci_method": ci_method,
        "level": level,
        "reps": reps,
        "seed": seed,
        "outcome": outcome,
    }
    overall = _single(ref_w, obs_w, label=None, notes=notes, **common)
    if obs_w.group is None:
        return overall
    if subgroup_reference == "matched" and ref_w.group is None:
        raise SpecInvalid(
            "options.subgroup_reference: matched needs the subgroup column in the reference rows"
        )
    subgroups = []
    for value in sorted(set(obs_w.group.tolist()), key=str):
        obs_g = obs_w.subset(obs_w.group == value)
        if subgroup_reference == "matched":
            assert ref_w.group is not None
            ref_g = ref_w.subset(ref_w.group == value)
        else:
            ref_g = ref_w
        if len(ref_g.unit) == 0:
            raise EvaluationError(
                f"historical_reference: no reference individual in subgroup {value!r}"
            )
        subgroups.append(_single(ref_g, obs_g, label=str(value), notes=(), **common))
    return replace(overall, subgroups=tuple(subgroups))
