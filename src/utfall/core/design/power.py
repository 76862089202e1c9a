"""Minimum detectable effect, sample size and power of a planned evaluation.

Every method is reduced to one test of a standardised effect ``d`` (the effect over
the standard deviation of what the estimator compares) on ``n`` treated units, with
the variance inflated by the design effect ``1 + (m − 1)ρ`` of clusters of ``m``
units with intra-cluster correlation ``ρ`` (Donner & Klar 2000):

=====================  =====================================  ==========================
method                 standardised by                         test
=====================  =====================================  ==========================
difference_in_means    the outcome's SD                        two-sample t (TTestIndPower)
proportions            Cohen's h = 2·asin√p₁ − 2·asin√p₀       normal (NormalIndPower)
did, twfe              the SD of a unit's change, σ·√(2(1−r))  two-sample t
historical_reference   the reference cohort's own SD           normal, the cohort's mean
                                                               estimated from its n_ref units
trend_adjusted         the SD of an employee's change          one-sample (paired) t
=====================  =====================================  ==========================

``r`` is ``autocorrelation``, the correlation of a unit's outcome before and after
(0 for repeated cross-sections). Sample sizes are rounded up to whole units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from scipy import optimize, stats  # type: ignore[import-untyped]
from statsmodels.stats.power import (  # type: ignore[import-untyped]
    NormalIndPower,
    TTestIndPower,
    TTestPower,
)

from utfall.core.design.spec import DATA_METHODS, DesignSpec
from utfall.errors import DataInvalid, Finding, SpecInvalid

__all__ = ["Design", "DesignSample", "design", "design_sample", "power_at"]

MAX_N = 1e7
FEW_CLUSTERS = 30


@dataclass(frozen=True)
class DesignSample:
    """What data say about the variance: the SD of what is compared and its units."""

    sd: float
    n_units: int
    mean: float
    sd_change: float | None = None
    autocorrelation: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Design:
    """The design figures of a planned evaluation (see :func:`design`)."""

    method: str
    alpha: float
    target_power: float
    alternative: str
    power: float | None
    n_per_group: int | None
    n_control: int | None
    n_total: int | None
    mde: float | None
    mde_effect_size: float | None
    effect: float | None
    effect_size: float | None
    sd: float | None
    scale: float | None
    design_effect: float
    n_per_group_individual: int | None
    clusters_per_group: int | None
    n_reference: int | None = None
    notes: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    curve: tuple[dict[str, float], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: every figure, the notes and the power curve's points."""
        return {
            "method": self.method,
            "alpha": self.alpha,
            "target_power": self.target_power,
            "alternative": self.alternative,
            "power": self.power,
            "n_per_group": self.n_per_group,
            "n_control": self.n_control,
            "n_total": self.n_total,
            "mde": self.mde,
            "mde_effect_size": self.mde_effect_size,
            "effect": self.effect,
            "effect_size": self.effect_size,
            "sd": self.sd,
            "design_effect": self.design_effect,
            "n_per_group_individual": self.n_per_group_individual,
            "clusters_per_group": self.clusters_per_group,
            "n_reference": self.n_reference,
            "notes": list(self.notes),
            "details": dict(self.details),
            "curve": [dict(point) for point in self.curve],
        }


def _design_effect(spec: DesignSpec) -> float:
    return 1.0 + (spec.cluster_size - 1.0) * spec.icc


def _statsmodels_alternative(spec: DesignSpec) -> str:
    return "two-sided" if spec.alternative == "two-sided" else "larger"


def power_at(spec: DesignSpec, d: float, n: float, *, n_reference: int | None = None) -> float:
    """The power to detect the standardised effect ``d`` with ``n`` treated units."""
    d = abs(d)
    effective = n / _design_effect(spec)
    alternative = _statsmodels_alternative(spec)
    if spec.method in ("difference_in_means", "did", "twfe"):
        value = TTestIndPower().power(
            effect_size=d,
            nobs1=effective,
            alpha=spec.alpha,
            ratio=spec.ratio,
            alternative=alternative,
        )
    elif spec.method == "proportions":
        value = NormalIndPower().power(
            effect_size=d,
            nobs1=effective,
            alpha=spec.alpha,
            ratio=spec.ratio,
            alternative=alternative,
        )
    elif spec.method == "trend_adjusted":
        value = TTestPower().power(
            effect_size=d, nobs=effective, alpha=spec.alpha, alternative=alternative
        )
    else:  # historical_reference: the participants' mean against the cohort's estimated mean
        variance = 1.0 / effective + (1.0 / n_reference if n_reference else 0.0)
        value = _normal_power(spec, d / math.sqrt(variance))
    result = float(np.asarray(value).item())
    if not math.isfinite(result):
        # The noncentral t fails far in the tail; the normal approximation is exact there.
        result = _normal_power(spec, d * math.sqrt(effective / (1 + 1 / spec.ratio)))
    return result


def _normal_power(spec: DesignSpec, shift: float) -> float:
    if spec.alternative == "two-sided":
        z = float(stats.norm.ppf(1 - spec.alpha / 2))
        return float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))
    return float(stats.norm.cdf(shift - float(stats.norm.ppf(1 - spec.alpha))))


def _solve_n(spec: DesignSpec, d: float, n_reference: int | None) -> float | None:
    low = 2.0 * _design_effect(spec)
    if spec.ratio < 1:
        low /= spec.ratio  # the comparison group needs two units too

    def gap(n: float) -> float:
        return power_at(spec, d, n, n_reference=n_reference) - spec.power

    if gap(low) >= 0:
        return low
    if gap(MAX_N) < 0:
        return None
    return float(optimize.brentq(gap, low, MAX_N, xtol=1e-9, rtol=1e-12))


def _solve_d(spec: DesignSpec, n: float, n_reference: int | None) -> float | None:
    def gap(d: float) -> float:
        return power_at(spec, d, n, n_reference=n_reference) - spec.power

    high = math.pi if spec.method == "proportions" else 100.0
    if gap(high) < 0:
        return None
    return float(optimize.brentq(gap, 1e-9, high, xtol=1e-12))


def _scale(spec: DesignSpec, sample: DesignSample | None) -> tuple[float | None, float | None, str]:
    """The SD of the outcome and the SD that standardises the effect, with how it was got."""
    sd = spec.sd if spec.sd is not None else (sample.sd if sample else None)
    if spec.method in ("did", "twfe"):
        return (
            sd,
            (sd * math.sqrt(2 * (1 - spec.autocorrelation)) if sd else None),
            ("σ·√(2(1−r)), r = autocorrelation"),
        )
    if spec.method == "trend_adjusted":
        if sample is not None and sample.sd_change is not None and spec.sd is None:
            return sd, sample.sd_change, "the SD of the employees' own changes"
        return (
            sd,
            (sd * math.sqrt(2 * (1 - spec.autocorrelation)) if sd else None),
            ("σ·√(2(1−r)), r = autocorrelation"),
        )
    if spec.method == "proportions":
        return None, None, "Cohen's h"
    return sd, sd, "the outcome's SD"


def _cohens_h(p_treated: float, p_control: float) -> float:
    return 2 * math.asin(math.sqrt(p_treated)) - 2 * math.asin(math.sqrt(p_control))


def _p_at(p_control: float, h: float) -> float:
    """The treated proportion that is ``h`` above (or below) ``p_control``."""
    angle = math.asin(math.sqrt(p_control)) + h / 2
    return math.sin(min(max(angle, 0.0), math.pi / 2)) ** 2


def _curve(
    spec: DesignSpec, d: float, n: float, scale: float | None, n_reference: int | None
) -> tuple[dict[str, float], ...]:
    grid = np.unique(np.round(np.geomspace(max(2.0, n / 4), max(n * 3, 8.0), 30)))
    points: list[dict[str, float]] = []
    for multiple in (0.5, 0.75, 1.0, 1.5):
        for value in grid:
            point = {
                "n_per_group": float(value),
                "effect_size": d * multiple,
                "power": power_at(spec, d * multiple, float(value), n_reference=n_reference),
            }
            if scale is not None:
                point["effect"] = d * multiple * scale
            points.append(point)
    return tuple(points)


def design(spec: DesignSpec, sample: DesignSample | None = None) -> Design:
    """The design figures: the units needed for the effect, the power and the MDE.

    With an effect, ``n_per_group`` is the treated units needed for ``spec.power``
    (rounded up) unless the spec gives ``n_per_group``; ``power`` is the power at
    that number and ``mde`` the effect detectable there with ``spec.power``. For
    ``historical_reference`` and ``trend_adjusted`` the variance comes from
    ``sample`` (see :func:`design_sample`) unless the spec gives ``sd``.
    """
    if spec.method in DATA_METHODS and spec.sd is None and sample is None:
        raise SpecInvalid(f"{spec.source}: data: {spec.method} needs the data's variance")
    notes: list[str] = []
    details: dict[str, Any] = {}
    sd, scale, standardised_by = _scale(spec, sample)
    details["standardised_by"] = standardised_by
    n_reference = spec.n_reference or (sample.n_units if sample else None)
    if spec.method != "historical_reference":
        n_reference = None
    if sample is not None:
        details["sample"] = {
            "units": sample.n_units,
            "mean": sample.mean,
            "sd": sample.sd,
            "sd_change": sample.sd_change,
            "autocorrelation": sample.autocorrelation,
            "description": sample.description,
        }
    if scale is not None and scale <= 0:
        raise _data_error(
            f"{spec.source}: the outcome does not vary: no effect can be standardised",
            "design-no-variance",
        )

    d: float | None
    effect: float | None = spec.effect
    if spec.method == "proportions":
        if spec.p_treated is not None and spec.p_control is not None:
            d = _cohens_h(spec.p_treated, spec.p_control)
            effect = spec.p_treated - spec.p_control
            details["cohens_h"] = d
        else:
            d = spec.effect_size
    elif spec.effect is not None:
        assert scale is not None
        d = spec.effect / scale
    elif spec.effect_size is not None:
        d = (
            spec.effect_size
            if spec.method not in ("did", "twfe", "trend_adjusted")
            else (spec.effect_size * (sd or 1.0) / (scale or 1.0))
        )
        effect = spec.effect_size * sd if sd is not None else None
    else:
        d = None

    design_effect = _design_effect(spec)
    n_individual: float | None = None
    n_exact: float | None
    if d is not None:
        n_exact = _solve_n(spec, d, n_reference)
        if n_exact is None:
            floor = _solve_d(spec, MAX_N, n_reference)
            shown = f" (the floor is about {floor * scale:.4g})" if floor and scale else ""
            notes.append(
                "no number of participants reaches the power: the reference cohort's own "
                f"uncertainty bounds the detectable effect{shown}"
            )
        else:
            individual_spec = spec.model_copy(update={"icc": 0.0, "cluster_size": 1.0})
            n_individual = _solve_n(individual_spec, d, n_reference)
    else:
        n_exact = None
    n_per_group = (
        spec.n_per_group
        if spec.n_per_group is not None
        else (math.ceil(n_exact - 1e-9) if n_exact is not None else None)
    )
    power = (
        power_at(spec, d, n_per_group, n_reference=n_reference)
        if (d is not None and n_per_group is not None)
        else None
    )
    mde_d = _solve_d(spec, n_per_group, n_reference) if n_per_group is not None else None
    if n_per_group is not None and mde_d is None:
        notes.append(f"with {n_per_group} per group no effect reaches the power")
    mde: float | None = None
    if mde_d is not None:
        if spec.method == "proportions":
            if spec.p_control is not None:
                sign = 1.0 if (d is None or d >= 0) else -1.0
                p_mde = _p_at(spec.p_control, sign * mde_d)
                details["p_treated_at_mde"] = p_mde
                mde = abs(p_mde - spec.p_control)
        elif scale is not None:
            mde = mde_d * scale
        if mde is None:
            mde = mde_d
            details["mde_units"] = "cohens_h" if spec.method == "proportions" else "sd"
        else:
            details["mde_units"] = "proportion" if spec.method == "proportions" else "outcome"
    n_control = math.ceil(n_per_group * spec.ratio - 1e-9) if n_per_group is not None else None
    clusters = (
        math.ceil(n_per_group / spec.cluster_size - 1e-9)
        if n_per_group is not None and spec.cluster_size > 1
        else None
    )
    if clusters is not None and clusters < FEW_CLUSTERS:
        notes.append(
            f"{clusters} clusters per group: the evaluation's CR1 interval uses t(G−1); with few "
            "treated clusters use randomisation inference or the wild cluster bootstrap"
        )
    if spec.method == "trend_adjusted" and n_per_group is not None and mde is not None:
        details["mde_total"] = mde * n_per_group
    curve_d = d if d is not None else mde_d
    curve_n = float(n_per_group) if n_per_group is not None else None
    curve = (
        _curve(spec, curve_d, curve_n, scale if spec.method != "proportions" else None, n_reference)
        if curve_d is not None and curve_n is not None
        else ()
    )
    if n_exact is not None:
        details["n_per_group_exact"] = n_exact
    return Design(
        method=spec.method,
        alpha=spec.alpha,
        target_power=spec.power,
        alternative=spec.alternative,
        power=power,
        n_per_group=n_per_group,
        n_control=n_control if spec.method not in ("trend_adjusted",) else None,
        n_total=(
            None
            if n_per_group is None
            else n_per_group + (n_control or 0) * (spec.method != "trend_adjusted")
        ),
        mde=mde,
        mde_effect_size=mde_d,
        effect=effect,
        effect_size=d,
        sd=sd,
        scale=scale,
        design_effect=design_effect,
        n_per_group_individual=math.ceil(n_individual - 1e-9) if n_individual is not None else None,
        clusters_per_group=clusters,
        n_reference=n_reference,
        notes=tuple(notes),
        details=details,
        curve=curve,
    )


def _data_error(message: str, code: str, column: str | None = None) -> DataInvalid:
    return DataInvalid(message, [Finding(code, message, field_name=column)])


def _numbers(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    if column not in frame.columns:
        raise _data_error(
            f"{where}: outcome: column {column!r} is not in the data "
            f"(columns: {', '.join(map(str, frame.columns))})",
            "design-column-missing",
            column,
        )
    values = pd.to_numeric(frame[column], errors="coerce")
    if values.notna().sum() < 2:
        raise _data_error(
            f"{where}: column {column!r} has fewer than two numbers", "design-too-few", column
        )
    return values


def design_sample(frame: pd.DataFrame, spec: DesignSpec, *, describe: str = "") -> DesignSample:
    """The variance a data method's design uses, from the reference or employee rows.

    ``historical_reference``: the reference cohort's outcome summed per ``unit`` (each
    row a unit without one); its SD and number of units. ``trend_adjusted``: with
    ``time``, each employee's change from ``baseline`` to ``follow_up`` (default the
    first and last value of ``time``) gives the SD of the changes and the
    autocorrelation; without it the SD of the outcome (the spec's autocorrelation then
    turns it into the SD of a change).
    """
    where = describe or spec.source or "design data"
    assert spec.outcome is not None
    values = _numbers(frame, spec.outcome, where)
    rows = frame.assign(_y=values).dropna(subset=["_y"])
    for key in ("unit", "time"):
        column = getattr(spec, key)
        if column is not None and column not in frame.columns:
            raise _data_error(
                f"{where}: {key}: column {column!r} is not in the data",
                "design-column-missing",
                column,
            )
    if spec.method == "trend_adjusted" and spec.time is not None:
        if spec.unit is None:
            raise SpecInvalid(
                f"{spec.source}: unit: trend_adjusted with time needs the employee column"
            )
        times = sorted(rows[spec.time].dropna().unique().tolist(), key=str)
        baseline = spec.baseline if spec.baseline is not None else times[0]
        follow_up = spec.follow_up if spec.follow_up is not None else times[-1]
        wide = rows.pivot_table(index=spec.unit, columns=spec.time, values="_y", aggfunc="sum")
        missing = [t for t in (baseline, follow_up) if t not in wide.columns]
        if missing:
            raise _data_error(
                f"{where}: time: no rows with {spec.time} = {missing[0]!r}",
                "design-time-missing",
                spec.time,
            )
        pair = wide[[baseline, follow_up]].dropna()
        if len(pair) < 3:
            raise _data_error(
                f"{where}: fewer than three units measured at both {baseline!r} and {follow_up!r}",
                "design-too-few",
            )
        change = pair[follow_up] - pair[baseline]
        return DesignSample(
            sd=float(pair[baseline].std(ddof=1)),
            n_units=len(pair),
            mean=float(change.mean()),
            sd_change=float(change.std(ddof=1)),
            autocorrelation=float(np.corrcoef(pair[baseline], pair[follow_up])[0, 1]),
            description=f"{len(pair)} units measured at {baseline!r} and {follow_up!r}",
        )
    totals = rows.groupby(spec.unit)["_y"].sum() if spec.unit is not None else rows["_y"]
    if len(totals) < 2:
        raise _data_error(f"{where}: fewer than two units", "design-too-few")
    return DesignSample(
        sd=float(totals.std(ddof=1)),
        n_units=len(totals),
        mean=float(totals.mean()),
        description=f"{len(totals)} {'units' if spec.unit else 'rows'}",
    )
