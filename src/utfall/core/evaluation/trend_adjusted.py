"""Trend-adjusted saving of short-term sick leave (DESIGN.md 2.2, seed 004).

The contract's formula, with *i* = 1 … 36 matching months of the reference
period and of the contract, in one of two readings (option ``reading``).
``observed_adjusted`` is seed 004's slide: the observed days are put on the
reference month's basis, ``s_i = Antalet nettodagar i varje månad under
observationsperioden``::

    S_n = Σ_i  S_i · SLT_ref,i / SLT_i          observed net days per employee
    S_e = Σ_i  S_ref,i                          expected net days per employee

``reference_scaled`` (the default, kept for the specs written before) scales
the reference days up to the contract month instead::

    S_e = Σ_i  S_ref,i · SLT_i / SLT_ref,i     expected net days per employee
    S_n = Σ_i  S_i                              observed net days per employee

and in both ``saving = max((S_e − S_n) · value of one sick day · employees, 0)``
and the relative reduction ``max((S_e − S_n) / S_e, 0)``. With the same trend
ratio in every month the readings differ by that ratio in days and agree on the
relative reduction.

``S_ref,i`` and ``S_i`` are the days of month *i* per employee: the month's
days over its head count (``R_i / n_ref,i`` and ``C_i / n_con,i``), so employees
who join or leave count for the months they are there. The point estimate
needs only these monthly totals (:class:`SickLeaveMonths`), which
:func:`utfall.analytics.sick_leave.monthly_totals` computes in one pass.

Uncertainty resamples employees with their whole record. Each employee *j* has
a score ``z_j = Σ_i a_i·d_j,i / n_ref,i − Σ_i b_i·d_j,i / n_con,i`` (``a_i = w_i``,
``b_i = 1`` with ``w_i`` the trend ratio under ``reference_scaled``; ``a_i = 1``,
``b_i = 1 / w_i`` under ``observed_adjusted``), so that ``Σ_j z_j = S_e − S_n``;
the bootstrap redraws the scores (vectorised, seeded, in batches of replicates so memory stays bounded for
millions of employees) and the analytic interval uses their variance. Head
counts are held fixed, which is exact when every employee is present in every
month.
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

__all__ = [
    "CI_METHODS",
    "READINGS",
    "SCALES",
    "SickLeaveMonths",
    "bootstrap_means",
    "score_weights",
    "trend_adjusted",
]

CI_METHODS = ("analytic", "bootstrap")
SCALES = ("total", "per_employee")
# Seed 004's slide adjusts the observed days; the older specs scale the reference days.
READINGS = ("reference_scaled", "observed_adjusted")
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
# Indices drawn per bootstrap batch: 4 M int64 indices plus the gathered values ≈ 64 MiB.
BATCH_CELLS = 4_000_000


def _vector(values: Sequence[float] | np.ndarray[Any, Any], name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise EvaluationError(f"trend_adjusted: {name} must be a vector")
    if not np.all(np.isfinite(array)):
        raise EvaluationError(f"trend_adjusted: {name} must be finite numbers")
    return array


@dataclass(frozen=True)
class SickLeaveMonths:
    """Monthly totals of both periods, aligned on the month index.

    ``month`` labels the matching months; ``reference_days`` and
    ``reference_headcount`` are the reference period's net days and employees in
    that month, ``contract_days`` and ``contract_headcount`` the contract
    period's; ``reference_index`` and ``contract_index`` the trend index (SLT)
    of the two months.
    """

    month: FloatArray
    reference_days: FloatArray
    reference_headcount: FloatArray
    contract_days: FloatArray
    contract_headcount: FloatArray
    reference_index: FloatArray
    contract_index: FloatArray

    @classmethod
    def from_arrays(cls, **columns: Sequence[float] | np.ndarray[Any, Any]) -> SickLeaveMonths:
        """Check the seven columns (equal length, finite, positive head counts and index)."""
        names = [
            "month",
            "reference_days",
            "reference_headcount",
            "contract_days",
            "contract_headcount",
            "reference_index",
            "contract_index",
        ]
        missing = [n for n in names if n not in columns]
        if missing:
            raise EvaluationError(f"trend_adjusted: missing monthly column(s) {missing}")
        arrays = {n: _vector(columns[n], n) for n in names}
        length = len(arrays["month"])
        if length == 0:
            raise EvaluationError("trend_adjusted: no months")
        if any(len(a) != length for a in arrays.values()):
            raise EvaluationError("trend_adjusted: the monthly columns differ in length")
        for name in ("reference_headcount", "contract_headcount"):
            empty = arrays["month"][arrays[name] <= 0]
            if len(empty):
                period = name.split("_")[0]
                raise EvaluationError(
                    f"trend_adjusted: month(s) {', '.join(f'{m:g}' for m in empty[:10])} "
                    f"have no employees in the {period} period"
                )
        for name in ("reference_index", "contract_index"):
            if np.any(arrays[name] <= 0):
                raise EvaluationError(f"trend_adjusted: the trend index must be positive ({name})")
        return cls(**arrays)

    @property
    def weight(self) -> FloatArray:
        """The trend ratio ``SLT_contract,i / SLT_reference,i`` per month."""
        return self.contract_index / self.reference_index

    @property
    def expected_per_employee(self) -> FloatArray:
        """``S_ref,i · w_i``: expected days per employee in each contract month."""
        return self.weight * self.reference_days / self.reference_headcount

    @property
    def observed_per_employee(self) -> FloatArray:
        """``S_i``: observed days per employee in each contract month."""
        return self.contract_days / self.contract_headcount

    def compared(self, reading: str = "reference_scaled") -> tuple[FloatArray, FloatArray]:
        """Expected and observed days per employee and month on the basis ``reading`` compares.

        ``reference_scaled``: ``(S_ref,i · w_i, S_i)``; ``observed_adjusted``:
        ``(S_ref,i, S_i / w_i)`` — seed 004's ``s_i · SLT_r / SLT_i``.
        """
        _check_reading(reading)
        if reading == "observed_adjusted":
            return (
                self.reference_days / self.reference_headcount,
                self.observed_per_employee / self.weight,
            )
        return self.expected_per_employee, self.observed_per_employee


def _check_reading(reading: str) -> None:
    if reading not in READINGS:
        raise SpecInvalid(f"options.reading: {reading!r} is not one of {', '.join(READINGS)}")


def score_weights(
    months: SickLeaveMonths, reading: str = "reference_scaled"
) -> tuple[FloatArray, FloatArray]:
    """Row weights of the per-employee scores per month: ``(a_i / n_ref,i, b_i / n_con,i)``.

    ``(w_i, 1)`` under ``reference_scaled``, ``(1, 1 / w_i)`` under ``observed_adjusted``.
    """
    _check_reading(reading)
    if reading == "observed_adjusted":
        return 1.0 / months.reference_headcount, 1.0 / (months.weight * months.contract_headcount)
    return months.weight / months.reference_headcount, 1.0 / months.contract_headcount


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


@dataclass(frozen=True)
class _Settings:
    day_value: float | None
    scale: str
    floor: bool
    ci_method: str | None
    level: float
    reps: int
    seed: int | None
    outcome: str | None
    reading: str = "reference_scaled"


def _estimate(
    *,
    saving_days_per_employee: float,
    expected_per_employee: float,
    observed_per_employee: float,
    employees: float,
    scores: FloatArray | None,
    score_factor: float,
    settings: _Settings,
    label: str | None,
    extras: dict[str, Any],
    notes: Sequence[str],
) -> Estimate:
    """Scale days per employee to the reported unit and add the interval.

    ``scores`` (per employee) sum to ``saving_days_per_employee / score_factor``.
    """
    s = settings
    per = 1.0 if s.scale == "per_employee" else float(employees)
    factor = per * (1.0 if s.day_value is None else float(s.day_value))
    raw = saving_days_per_employee * factor
    point = max(raw, 0.0) if s.floor else raw
    low = high = p_value = std_error = None
    used_seed: int | None = None
    note_list = list(notes)
    out_extras = dict(extras)
    if s.ci_method is not None:
        if scores is None or len(scores) < 2:
            raise EvaluationError("trend_adjusted: an interval needs at least two employees")
        n = len(scores)
        to_unit = n * score_factor * factor  # Σ scores = n · mean(scores)
        if s.ci_method == "analytic":
            std_error = float(scores.std(ddof=1)) / math.sqrt(n) * abs(to_unit)
            low, high, p_value = analytic_interval(raw, std_error, s.level, None)
            note_list.append(
                "normal interval from the variance of the employees' contributions "
                "(employees independent, head counts fixed)"
            )
        else:
            used_seed = draw_seed(s.seed)
            draws = bootstrap_means(scores, s.reps, used_seed) * to_unit
            tail = (1 - s.level) / 2
            low = float(np.quantile(draws, tail))
            high = float(np.quantile(draws, 1 - tail))
            std_error = float(draws.std(ddof=1))
            p_value = _percentile_p_value(draws)
            out_extras["reps"] = s.reps
            note_list.append(
                f"{s.reps} bootstrap replicates resampling employees with their whole record "
                f"(percentile interval, seed {used_seed})"
            )
        if s.floor:
            low, high = max(low, 0.0), max(high, 0.0)
    if s.floor:
        note_list.append(
            "the saving (and its interval) is floored at zero as the contract states; "
            "std_error and p_value refer to the unfloored saving"
        )
    unit_name = "SEK" if s.day_value is not None else "sick days"
    relative = (
        max(saving_days_per_employee / expected_per_employee, 0.0)
        if math.isfinite(expected_per_employee) and expected_per_employee > 0
        else None
    )
    formula = (
        "S_e = Σ_i reference days per employee, S_n = Σ_i observed days per employee "
        "× SLT_ref,i / SLT_i"
        if s.reading == "observed_adjusted"
        else "S_e = Σ_i reference days per employee × SLT_i / SLT_ref,i"
    )
    out_extras.update(
        {
            "reading": s.reading,
            "relative_reduction": relative,
            "scale": s.scale,
            "employees": employees,
            "expected_days": expected_per_employee * per,
            "observed_days": observed_per_employee * per,
            "saving_days": saving_days_per_employee * per,
            "expected_days_per_employee": expected_per_employee,
            "observed_days_per_employee": observed_per_employee,
            "day_value": s.day_value,
            "saving_sek": point if s.day_value is not None else None,
        }
    )
    return Estimate(
        method="trend_adjusted",
        estimate=float(point),
        std_error=_number(std_error),
        ci_low=_number(low),
        ci_high=_number(high),
        p_value=_number(p_value),
        n_treated=round(employees) if scores is None else len(scores),
        n_control=None,
        n_obs=round(employees) if scores is None else len(scores),
        ci_method=(
            "none"
            if s.ci_method is None
            else ("analytic" if s.ci_method == "analytic" else "bootstrap-percentile")
        ),
        level=s.level,
        seed=used_seed,
        label=label,
        outcome=s.outcome,
        estimand=(
            f"trend-adjusted saving of short-term sick leave in {unit_name}, "
            f"{'per employee' if s.scale == 'per_employee' else 'total'}: "
            f"S_e − S_n with {formula}"
        ),
        notes=tuple(note_list),
        extras=out_extras,
    )


def trend_adjusted(
    months: SickLeaveMonths,
    *,
    scores: Sequence[float] | np.ndarray[Any, Any] | None = None,
    groups: Sequence[Any] | np.ndarray[Any, Any] | None = None,
    day_value: float | None = None,
    scale: str = "total",
    employees: float | None = None,
    floor: bool = True,
    ci_method: str | None = "bootstrap",
    level: float = 0.95,
    reps: int = 999,
    seed: int | None = None,
    outcome: str | None = None,
    notes: Sequence[str] = (),
    reading: str = "reference_scaled",
) -> Estimate:
    """The trend-adjusted saving from monthly totals (and per-employee scores for an interval).

    ``day_value`` (SEK per sick day) turns days into money; without it the
    estimate is in days. ``scale`` is ``total`` (times ``employees``: the head
    count the contract states, by default the mean contract-period head count)
    or ``per_employee``. ``floor`` applies the contract's ``max(…, 0)``.
    ``reading`` is ``reference_scaled`` or ``observed_adjusted`` (seed 004's
    slide; see the module docstring); the scores must use the same reading.
    ``ci_method`` is ``analytic``, ``bootstrap`` or ``None`` (point estimate
    only); an interval needs ``scores``, one per employee, from
    :func:`utfall.analytics.sick_leave.employee_scores` with the weights of
    :func:`score_weights`. ``groups`` (one label per score) adds one estimate
    per level as ``subgroups``: the mean contribution of its employees,
    scaled by the level's share of employees.
    """
    if scale not in SCALES:
        raise SpecInvalid(f"options.scale: {scale!r} is not one of {', '.join(SCALES)}")
    _check_reading(reading)
    if ci_method is not None and ci_method not in CI_METHODS:
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
    if employees is not None and not employees > 0:
        raise SpecInvalid(f"options.employees: {employees!r} must be positive")
    if (ci_method is not None or groups is not None) and scores is None:
        raise EvaluationError("trend_adjusted: an interval or subgroups need per-employee scores")

    expected_monthly, observed_monthly = months.compared(reading)
    expected = float(expected_monthly.sum())
    observed = float(observed_monthly.sum())
    saving = expected - observed
    headcount = float(months.contract_headcount.mean())
    count = float(employees) if employees is not None else headcount
    z = None if scores is None else _vector(scores, "scores")
    if z is not None and not math.isclose(
        float(z.sum()), saving, rel_tol=1e-6, abs_tol=1e-9 * max(expected, 1.0)
    ):
        raise EvaluationError(
            "trend_adjusted: the employees' scores do not add up to the monthly totals "
            f"({float(z.sum())!r} against {saving!r}); were they computed from the same data?"
        )
    settings = _Settings(
        day_value=day_value,
        scale=scale,
        floor=floor,
        ci_method=ci_method,
        level=level,
        reps=reps,
        seed=draw_seed(seed) if ci_method == "bootstrap" else seed,
        outcome=outcome,
        reading=reading,
    )
    monthly = {
        "month": [float(m) for m in months.month],
        "slt": [float(v) for v in months.contract_index],
        "slt_reference": [float(v) for v in months.reference_index],
        "trend_weight": [float(v) for v in months.weight],
        "reference_days_per_employee": [
            float(v) for v in months.reference_days / months.reference_headcount
        ],
        # Both on the basis the reading compares; the raw observed days beside them.
        "expected_days_per_employee": [float(v) for v in expected_monthly],
        "observed_days_per_employee": [float(v) for v in observed_monthly],
        "raw_observed_days_per_employee": [float(v) for v in months.observed_per_employee],
        "reference_headcount": [float(v) for v in months.reference_headcount],
        "contract_headcount": [float(v) for v in months.contract_headcount],
    }
    overall = _estimate(
        saving_days_per_employee=saving,
        expected_per_employee=expected,
        observed_per_employee=observed,
        employees=count,
        scores=z,
        score_factor=1.0,
        settings=settings,
        label=None,
        extras={"monthly": monthly, "mean_headcount": headcount},
        notes=notes,
    )
    if groups is None:
        return overall
    assert z is not None
    labels = np.asarray(groups)
    if labels.shape != z.shape:
        raise EvaluationError("trend_adjusted: one subgroup label per employee score is needed")
    n = len(z)
    subgroups = []
    for value in sorted(set(labels.tolist()), key=str):
        mask = labels == value
        share = float(mask.mean())
        # Per employee of the level: the level's mean score times all employees.
        z_level = z[mask]
        subgroups.append(
            _estimate(
                saving_days_per_employee=float(z_level.mean()) * n,
                expected_per_employee=math.nan,
                observed_per_employee=math.nan,
                employees=count * share,
                scores=z_level if ci_method is not None else None,
                score_factor=n / len(z_level),
                settings=settings,
                label=str(value),
                extras={"employees_in_data": int(mask.sum())},
                notes=(),
            )
        )
    return replace(overall, subgroups=tuple(subgroups))
