"""Payment risk from estimation error, by simulating the evaluation itself.

For each true effect the evaluation's data are drawn ``reps`` times under the design's
variance assumptions, the same estimator is run on each draw and the contract's
payment rule is applied to its estimate. What comes out, per true effect and payment:
the probability that the payment is triggered (an amount above zero) and the
distribution of the amount. At a true effect of zero the probability is the payer's
risk of paying for no effect; at the effect the contract pays for, one minus it is the
investor's risk of not being paid for a real one.

The draws (decision 0716): ``difference_in_means`` — a normal outcome with the spec's
SD, treated units shifted by the effect, clusters of ``cluster_size`` with a normal
cluster effect of variance ``icc·σ²``; ``proportions`` — 0/1 outcomes with
``p_control`` and ``p_control + effect``; ``did`` — each unit measured before and
after, a unit effect of variance ``r·σ²`` (``r`` = autocorrelation) and noise of
``(1 − r)·σ²``, treated units shifted by the effect after; ``twfe`` — the same two-period
panel, as unit, period and a treatment that is on for the treated units after (units
not clustered: TWFE clusters by unit, so clusters of several units are refused);
``historical_reference`` — included individuals and a reference cohort month by month
from the reference cohort's own variance; ``trend_adjusted`` — the employee-month panel
of both periods (decision 0723). One
``numpy.random.default_rng(seed)`` stream, effect by effect, draw by draw: the same
seed gives the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from utfall.core.design.spec import DesignSpec
from utfall.core.evaluation.result import Estimate
from utfall.errors import EvaluationError, SpecInvalid

__all__ = [
    "SIMULATED_METHODS",
    "PaymentRisk",
    "draw_frame",
    "payment_risk",
    "trend_index_frame",
]

SIMULATED_METHODS = (
    "difference_in_means",
    "proportions",
    "did",
    "twfe",
    "historical_reference",
    "trend_adjusted",
)
MONTHS = {"historical_reference": 12, "trend_adjusted": 36}
"""The months drawn when the spec gives none (and the contract's evaluation does not)."""
ORE = Decimal("0.01")


@dataclass(frozen=True)
class PaymentRisk:
    """Per true effect and payment: how often it is triggered and what it pays.

    ``rows`` holds one mapping per (effect, payment): ``effect``, ``payment``,
    ``probability_triggered``, ``mean_sek``, ``p05_sek``, ``median_sek``, ``p95_sek``
    (exact text, öre) and ``estimate_mean`` and ``estimate_sd`` of the simulated
    estimates. ``payer_risk`` is per payment the probability at effect 0 (when 0 is
    among the effects); ``investor_risk`` one minus it at ``design_effect``.
    """

    reps: int
    seed: int
    effects: tuple[float, ...]
    design_effect: float | None
    rows: tuple[dict[str, Any], ...]
    payer_risk: dict[str, float]
    investor_risk: dict[str, float]
    failures: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "reps": self.reps,
            "seed": self.seed,
            "effects": list(self.effects),
            "design_effect": self.design_effect,
            "payer_risk": dict(self.payer_risk),
            "investor_risk": dict(self.investor_risk),
            "failed_draws": self.failures,
            "rows": [dict(row) for row in self.rows],
        }


def draw_frame(
    spec: DesignSpec,
    effect: float,
    n_per_group: int,
    columns: Mapping[str, str],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One draw of the evaluation's data under ``effect`` (see the module).

    ``columns`` maps the roles ``outcome``, ``treatment``, ``post`` and ``unit`` to the
    evaluation's column names.
    """
    if spec.method == "historical_reference":
        return _draw_reference_cohorts(spec, effect, n_per_group, columns, rng)
    if spec.method == "trend_adjusted":
        return _draw_employee_months(spec, effect, n_per_group, columns, rng)
    n_control = max(2, math.ceil(n_per_group * spec.ratio - 1e-9))
    treated = np.r_[np.ones(n_per_group, dtype=np.int64), np.zeros(n_control, dtype=np.int64)]
    total = len(treated)
    if spec.method == "proportions":
        if spec.p_control is None:
            raise SpecInvalid(f"{spec.source}: p_control: payment risk of proportions needs it")
        p = np.where(treated == 1, spec.p_control + effect, spec.p_control)
        if np.any((p < 0) | (p > 1)):
            raise SpecInvalid(f"{spec.source}: effects: p_control + {effect} is not a proportion")
        frame = {
            columns["outcome"]: rng.binomial(1, p).astype(float),
            columns["treatment"]: treated,
        }
        return pd.DataFrame(frame)
    if spec.sd is None:
        raise SpecInvalid(f"{spec.source}: sd: payment risk draws the outcome with this SD")
    sd = spec.sd
    size = max(1, round(spec.cluster_size))
    # Clusters never mix arms: units are numbered within their arm.
    cluster = np.r_[np.arange(n_per_group) // size, 10**9 + np.arange(n_control) // size]
    _, cluster_codes = np.unique(cluster, return_inverse=True)
    cluster_effect = rng.normal(0.0, math.sqrt(spec.icc) * sd, cluster_codes.max() + 1)[
        cluster_codes
    ]
    if spec.method == "difference_in_means":
        noise = rng.normal(0.0, math.sqrt(1 - spec.icc) * sd, total)
        frame = {
            columns["outcome"]: cluster_effect + noise + effect * treated,
            columns["treatment"]: treated,
        }
        if "unit" in columns:
            frame[columns["unit"]] = cluster_codes
        return pd.DataFrame(frame)
    if spec.method == "twfe" and size > 1:
        raise SpecInvalid(
            f"{spec.source}: cluster_size: payment risk of twfe draws single units (the "
            "estimator clusters by unit); plan clusters of units as did"
        )
    if spec.method in ("did", "twfe"):
        r = spec.autocorrelation
        within = math.sqrt(max(1 - spec.icc, 0.0)) * sd
        unit_effect = rng.normal(0.0, math.sqrt(r) * within, total)
        before = cluster_effect + unit_effect + rng.normal(0.0, math.sqrt(1 - r) * within, total)
        after = (
            cluster_effect
            + unit_effect
            + rng.normal(0.0, math.sqrt(1 - r) * within, total)
            + effect * treated
        )
        unit_ids = np.arange(total)
        post = np.r_[np.zeros(total, dtype=np.int64), np.ones(total, dtype=np.int64)]
        if spec.method == "twfe":
            return pd.DataFrame(
                {
                    columns["outcome"]: np.r_[before, after],
                    columns["treatment"]: np.r_[np.zeros(total, dtype=np.int64), treated],
                    columns["time"]: post,
                    columns["unit"]: np.r_[unit_ids, unit_ids],
                }
            )
        frame = {
            columns["outcome"]: np.r_[before, after],
            columns["treatment"]: np.r_[treated, treated],
            columns["post"]: np.r_[np.zeros(total, dtype=np.int64), np.ones(total, dtype=np.int64)],
        }
        if "unit" in columns:
            frame[columns["unit"]] = (
                np.r_[unit_ids, unit_ids] if size == 1 else np.r_[cluster_codes, cluster_codes]
            )
        return pd.DataFrame(frame)
    raise SpecInvalid(
        f"{spec.source}: method: payment risk simulates {', '.join(SIMULATED_METHODS)}; "
        f"{spec.method} is planned with the figures only"
    )


def _monthly_sd(spec: DesignSpec, months: int) -> float:
    """The SD of one month from the SD of an individual's total over ``months`` months
    whose months correlate ``r`` (compound symmetry): ``σ_m = σ / √(M(1 + (M − 1)r))``."""
    if spec.sd is None:
        raise SpecInvalid(f"{spec.source}: sd: payment risk draws the outcome with this SD")
    r = spec.autocorrelation
    return spec.sd / math.sqrt(months * (1 + (months - 1) * r))


def _draw_reference_cohorts(
    spec: DesignSpec,
    effect: float,
    n_per_group: int,
    columns: Mapping[str, str],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Included individuals and a historical reference cohort, months ``0 … M − 1`` since
    inclusion, both drawn from the reference cohort's own variance: the level
    ``reference_mean + trend·m``, an individual effect of variance ``r·σ_m²`` and monthly
    noise of ``(1 − r)·σ_m²`` (``σ`` the SD of an individual's total over the follow-up,
    ``r`` = autocorrelation). The included individuals' costs are lowered by
    ``effect / M`` a month: ``effect`` is the true saving per individual over the
    follow-up. Treatment is 1 for the included, 0 for the reference cohort."""
    months = spec.months or MONTHS["historical_reference"]
    sd_month = _monthly_sd(spec, months)
    r = spec.autocorrelation
    n_reference = spec.n_reference or max(2, math.ceil(n_per_group * spec.ratio - 1e-9))
    total = n_per_group + n_reference
    included = np.r_[np.ones(n_per_group, dtype=np.int64), np.zeros(n_reference, dtype=np.int64)]
    level = spec.reference_mean + spec.trend * np.arange(months, dtype=np.float64)
    person = rng.normal(0.0, math.sqrt(r) * sd_month, total)
    noise = rng.normal(0.0, math.sqrt(1 - r) * sd_month, (total, months))
    cost = level[None, :] + person[:, None] + noise - (effect / months) * included[:, None]
    return pd.DataFrame(
        {
            columns["unit"]: np.repeat(np.arange(total, dtype=np.int64), months),
            columns["time"]: np.tile(np.arange(months, dtype=np.int64), total),
            columns["outcome"]: cost.reshape(-1),
            columns["treatment"]: np.repeat(included, months),
        }
    )


def _draw_employee_months(
    spec: DesignSpec,
    effect: float,
    n_per_group: int,
    columns: Mapping[str, str],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The employee-month panel of a trend-adjusted saving: ``n_per_group`` employees,
    each in the reference period and in the contract period for months ``1 … M``. An
    employee's monthly days are ``level + u_j + e``, ``u_j`` of variance ``r·σ²`` (the
    employee's own level, r = autocorrelation) and ``e`` of ``(1 − r)·σ²`` (σ = sd, the
    employee-level SD of monthly days); the level is ``reference_mean`` in the reference
    period and ``reference_mean · trend_ratio − effect`` in the contract period:
    ``effect`` is the true reduction in days per employee and month against the
    trend-adjusted expectation. The trend index is :func:`trend_index_frame`."""
    if spec.sd is None:
        raise SpecInvalid(f"{spec.source}: sd: payment risk draws the outcome with this SD")
    months = spec.months or MONTHS["trend_adjusted"]
    r = spec.autocorrelation
    employees = n_per_group
    person = rng.normal(0.0, math.sqrt(r) * spec.sd, employees)
    within = math.sqrt(1 - r) * spec.sd
    reference = spec.reference_mean + person[:, None] + rng.normal(0, within, (employees, months))
    contract = (
        spec.reference_mean * spec.trend_ratio
        - effect
        + person[:, None]
        + rng.normal(0, within, (employees, months))
    )
    month_index = np.tile(np.arange(1, months + 1, dtype=np.int64), employees)
    unit = np.repeat(np.arange(employees, dtype=np.int64), months)
    return pd.DataFrame(
        {
            columns["unit"]: np.r_[unit, unit],
            columns["time"]: np.r_[month_index, month_index],
            columns["post"]: np.r_[
                np.full(employees * months, "reference"), np.full(employees * months, "contract")
            ],
            columns["outcome"]: np.r_[reference.reshape(-1), contract.reshape(-1)],
        }
    )


def trend_index_frame(spec: DesignSpec, columns: Mapping[str, str]) -> pd.DataFrame:
    """The trend index the drawn employee months are settled with: 1 in every reference
    month, ``trend_ratio`` in every contract month. ``columns`` maps ``period``, ``time``
    and ``value`` to the index table's column names."""
    months = spec.months or MONTHS["trend_adjusted"]
    index = np.arange(1, months + 1, dtype=np.int64)
    return pd.DataFrame(
        {
            columns["period"]: np.r_[np.full(months, "reference"), np.full(months, "contract")],
            columns["time"]: np.r_[index, index],
            columns["value"]: np.r_[np.ones(months), np.full(months, spec.trend_ratio)],
        }
    )


def _quantile(values: np.ndarray[Any, Any], q: float) -> str:
    # The amounts are öre already; the quantile takes the lower of two order statistics
    # so that every figure shown is an amount the contract can actually pay.
    return str(Decimal(repr(float(np.quantile(values, q, method="lower")))).quantize(ORE))


def payment_risk(
    spec: DesignSpec,
    *,
    n_per_group: int,
    columns: Mapping[str, str],
    evaluate: Callable[[pd.DataFrame], Estimate],
    pay: Callable[[Estimate], Mapping[str, Decimal]],
    effects: Sequence[float],
    reps: int,
    seed: int,
    design_effect: float | None = None,
) -> PaymentRisk:
    """Simulate the evaluation ``reps`` times per true effect and apply ``pay`` to each
    estimate (see the module). ``evaluate`` runs the contract's estimator on a drawn
    frame; ``pay`` settles the contract with the estimate's figure and returns the
    amount of each payment. A draw the estimator cannot produce a number for is counted
    in ``failures`` and left out."""
    if reps < 10:
        raise SpecInvalid(f"{spec.source}: reps: at least 10 draws per effect")
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    failures = 0
    for effect in effects:
        amounts: dict[str, list[Decimal]] = {}
        estimates: list[float] = []
        for _ in range(reps):
            frame = draw_frame(spec, effect, n_per_group, columns, rng)
            try:
                estimate = evaluate(frame)
            except EvaluationError:
                failures += 1
                continue
            estimates.append(estimate.estimate)
            for payment, amount in pay(estimate).items():
                amounts.setdefault(payment, []).append(amount)
        for payment, paid in amounts.items():
            values = np.array([float(a) for a in paid])
            mean = (sum(paid, Decimal(0)) / len(paid)).quantize(ORE, rounding=ROUND_HALF_UP)
            rows.append(
                {
                    "effect": effect,
                    "payment": payment,
                    "draws": len(paid),
                    "probability_triggered": sum(1 for a in paid if a > 0) / len(paid),
                    "mean_sek": str(mean),
                    "p05_sek": _quantile(values, 0.05),
                    "median_sek": _quantile(values, 0.5),
                    "p95_sek": _quantile(values, 0.95),
                    "estimate_mean": float(np.mean(estimates)),
                    "estimate_sd": float(np.std(estimates, ddof=1)) if len(estimates) > 1 else None,
                }
            )
    payer = {r["payment"]: r["probability_triggered"] for r in rows if r["effect"] == 0}
    investor = (
        {
            r["payment"]: 1.0 - r["probability_triggered"]
            for r in rows
            if design_effect is not None and math.isclose(r["effect"], design_effect)
        }
        if design_effect is not None
        else {}
    )
    return PaymentRisk(
        reps=reps,
        seed=seed,
        effects=tuple(effects),
        design_effect=design_effect,
        rows=tuple(rows),
        payer_risk=payer,
        investor_risk=investor,
        failures=failures,
    )
