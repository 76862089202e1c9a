"""Synthetic national outcomes fund (DESIGN.md 2.4).

Tables (see ``docs/data.md``):

* ``constellations`` — one row per funded constellation (``size``, default 10):
  principals, budget (average ≈ 34 MSEK), the indicators it reports on.
* ``indicator_reports`` — 6-monthly reports, period 0 being the baseline and
  periods 1–10 the five years of implementation: per constellation and
  indicator the denominator ``n``, the ``count`` meeting the indicator and
  ``value = count / n``.
* ``costs`` — the constellation's costs per 6-month period (whole SEK).

Indicators are the youth-crime list of seed 003, appendix 4. Each constellation
reports on three of them. The planted effect moves the log-odds of an
indicator in its good direction by ``effect`` (per constellation and
indicator, recorded in the manifest), ramping in over the first two years.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from utfall.synth._io import NullProgress, ProgressReporter, TableInfo, open_table

__all__ = ["DEFAULT_SIZE", "INDICATORS", "generate"]

DEFAULT_SIZE = 10
PERIODS = 10  # 6-month periods after the baseline (five years)
START = date(2024, 1, 1)
MEAN_BUDGET_SEK = 34_000_000
INDICATORS_PER_CONSTELLATION = 3
RAMP_PERIODS = 4

# code: (English name, direction, baseline share)
INDICATORS: dict[str, tuple[str, str, float]] = {
    "parenting_capacity": ("Increased parenting capacity", "higher_is_better", 0.45),
    "language_grade_1": (
        "Good language development; school-level Swedish reached in first grade",
        "higher_is_better",
        0.70,
    ),
    "school_absence": (
        "Reduced school absence (share with problematic absence)",
        "lower_is_better",
        0.18,
    ),
    "upper_secondary_eligibility": (
        "Increased eligibility for upper-secondary school",
        "higher_is_better",
        0.72,
    ),
    "work_or_studies": ("Increased share in work, employment or studies", "higher_is_better", 0.60),
    "criminal_group_inflow": (
        "Reduced inflow into criminal groups (share of the target group)",
        "lower_is_better",
        0.04,
    ),
    "youth_at_risk": (
        "Reduced share of young people and young adults at risk of crime",
        "lower_is_better",
        0.22,
    ),
}
PRINCIPALS = (
    "municipality",
    "municipality;region",
    "municipality;municipality",
    "municipality;region;agency",
    "municipality;agency",
)

CONSTELLATIONS_SCHEMA = pa.schema(
    [
        ("constellation_id", pa.string()),
        ("principals", pa.string()),
        ("budget_sek", pa.int64()),
        ("indicators", pa.string()),
    ]
)
REPORTS_SCHEMA = pa.schema(
    [
        ("constellation_id", pa.string()),
        ("period", pa.int8()),
        ("period_start", pa.date32()),
        ("indicator", pa.string()),
        ("direction", pa.string()),
        ("n", pa.int32()),
        ("count", pa.int32()),
        ("value", pa.float64()),
    ]
)
COSTS_SCHEMA = pa.schema(
    [
        ("constellation_id", pa.string()),
        ("period", pa.int8()),
        ("period_start", pa.date32()),
        ("cost_sek", pa.int64()),
    ]
)


def _period_start(period: int) -> date:
    months = START.month - 1 + 6 * period
    return date(START.year + months // 12, months % 12 + 1, 1)


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def generate(
    out: Path,
    *,
    seed: int,
    size: int | None = None,
    csv: bool = False,
    progress: ProgressReporter | None = None,
) -> dict[str, Any]:
    """Write the fund tables into ``out``; return the manifest body.

    ``size`` is the number of funded constellations (default 10).
    """
    count = DEFAULT_SIZE if size is None else size
    if count < 1:
        raise ValueError("size must be at least 1 constellation")
    progress = progress or NullProgress()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    tables: list[TableInfo] = []
    codes = list(INDICATORS)
    planted_effects: dict[str, dict[str, float]] = {}
    expected_final: dict[str, dict[str, float]] = {}
    progress.start("fund: constellations", count)

    constellations: dict[str, list[Any]] = {k: [] for k in CONSTELLATIONS_SCHEMA.names}
    reports: dict[str, list[Any]] = {k: [] for k in REPORTS_SCHEMA.names}
    costs: dict[str, list[Any]] = {k: [] for k in COSTS_SCHEMA.names}
    ramp = np.minimum(1.0, np.arange(PERIODS + 1) / RAMP_PERIODS)

    for c in range(count):
        cid = f"K-{c + 1:02d}"
        budget = int(round(MEAN_BUDGET_SEK * rng.lognormal(-0.045, 0.3), -3))
        chosen = sorted(rng.choice(len(codes), size=INDICATORS_PER_CONSTELLATION, replace=False))
        names = [codes[k] for k in chosen]
        constellations["constellation_id"].append(cid)
        constellations["principals"].append(PRINCIPALS[int(rng.integers(len(PRINCIPALS)))])
        constellations["budget_sek"].append(budget)
        constellations["indicators"].append(";".join(names))
        planted_effects[cid] = {}
        expected_final[cid] = {}
        for code in names:
            _, direction, baseline = INDICATORS[code]
            sign = 1.0 if direction == "higher_is_better" else -1.0
            base_logit = _logit(baseline) + rng.normal(0.0, 0.2)
            effect = max(0.0, rng.normal(0.35, 0.15))
            planted_effects[cid][code] = effect
            n = int(rng.integers(80, 600))
            shares = 1.0 / (1.0 + np.exp(-(base_logit + sign * effect * ramp)))
            expected_final[cid][code] = float(shares[-1])
            hits = rng.binomial(n, shares)
            for period in range(PERIODS + 1):
                reports["constellation_id"].append(cid)
                reports["period"].append(period)
                reports["period_start"].append(_period_start(period))
                reports["indicator"].append(code)
                reports["direction"].append(direction)
                reports["n"].append(n)
                reports["count"].append(int(hits[period]))
                reports["value"].append(float(hits[period]) / n)
        spend = rng.dirichlet(np.full(PERIODS, 8.0)) * budget
        for period in range(1, PERIODS + 1):
            costs["constellation_id"].append(cid)
            costs["period"].append(period)
            costs["period_start"].append(_period_start(period))
            costs["cost_sek"].append(int(np.rint(spend[period - 1])))
        progress.advance(1)

    for name, schema, data in (
        ("constellations", CONSTELLATIONS_SCHEMA, constellations),
        ("indicator_reports", REPORTS_SCHEMA, reports),
        ("costs", COSTS_SCHEMA, costs),
    ):
        with open_table(out, name, schema, csv=csv, tables=tables) as writer:
            writer.write(pa.RecordBatch.from_pydict(data, schema=schema))

    return {
        "tables": {t.name: t.as_dict() for t in tables},
        "planted": {
            "constellations": count,
            "log_odds_effect": planted_effects,
            "expected_share_final_period": expected_final,
            "ramp_periods": RAMP_PERIODS,
        },
        "indicators": {
            code: {"name": name, "direction": direction, "baseline_share": baseline}
            for code, (name, direction, baseline) in INDICATORS.items()
        },
        "periods": {"baseline": 0, "last": PERIODS, "length_months": 6},
    }
