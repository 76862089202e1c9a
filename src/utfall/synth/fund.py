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

Besides, the scenario writes the tables the reference contract
``national-fund-constellation`` declares, for the first constellation (``K-01``), as
CSV named by table (series: no ``participant`` column), so that ``utfall settle
examples/contracts/national-fund-constellation.yaml --data-dir DIR`` settles its last
report:

* ``outcome_reports.csv`` — ``period_end``, ``indicator``, ``n``, ``count``,
  ``baseline`` (the baseline and the ten six-monthly reports);
* ``cost_reports.csv`` — ``period_end``, ``costs_to_date`` (0 at the baseline);
* ``outcome_payments.csv`` — ``period_end`` (of the report paid), ``amount``: 0 on the
  baseline, then what the contract's rate card at its default prices (:data:`PRICES`)
  pays on each report but the last, which is the one left to settle: the rate-card
  value of the units to date, at most 50 % of the costs to date, less what was paid
  before, rounded down to öre. The manifest records each payment.

And the table of the fund's portfolio contract ``national-fund-portfolio`` (staggered
adoption, decision 0703), from its own random stream so the tables above do not change:

* ``portfolio_reports.csv`` — ``period_end``, ``municipality``, ``first_funded`` (the
  period end of the first half-year a constellation of the municipality was funded;
  empty for applicants not funded), ``share_work_or_studies`` (4 decimals): the share of
  young adults in work or studies, half-yearly 2022–2028, for :data:`PORTFOLIO_COHORTS`
  (municipalities funded from 2024, 2025 and 2026) and applicants never funded. The
  planted effect of funding is ``PORTFOLIO_EFFECT · (1 + min(e, 3))`` in share points
  ``e`` half-years after the start; the manifest records it (``planted.portfolio``).

And the table of the fund's support contract ``national-fund-support`` (the local project
leader's costs, decision 0960), from its own random stream too:

* ``project_leader_costs.csv`` — ``period_end``, ``costs``: K-01's project leader's costs
  of each half-year of the implementation, whole kronor around 420 000 SEK.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from utfall.synth._io import NullProgress, ProgressReporter, TableInfo, open_table, write_csv

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
# The default prices of the rate card (parameters price_*_sek of
# examples/contracts/national-fund-constellation.yaml, illustrative there too), per indicator.
PRICES: dict[str, Decimal] = {
    "parenting_capacity": Decimal(15_000),
    "language_grade_1": Decimal(20_000),
    "school_absence": Decimal(10_000),
    "upper_secondary_eligibility": Decimal(50_000),
    "work_or_studies": Decimal(60_000),
    "criminal_group_inflow": Decimal(300_000),
    "youth_at_risk": Decimal(40_000),
}
MAX_SHARE_OF_COSTS = Decimal("0.50")
CONTRACT = "national-fund-constellation"
PORTFOLIO_CONTRACT = "national-fund-portfolio"
SUPPORT_CONTRACT = "national-fund-support"
PORTFOLIO_START = date(2022, 1, 1)
PORTFOLIO_PERIODS = 14  # half-years 2022–2028
PORTFOLIO_COHORTS = {2024: 4, 2025: 4, 2026: 4, None: 6}
"""Funding year (the first half-year of it) → municipalities; None: applicants not funded."""
PORTFOLIO_EFFECT = 0.01
ORE = Decimal("0.01")
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


def _period_end(period: int) -> date:
    return _period_start(period + 1) - timedelta(days=1)


def _units(direction: str, n: int, count: int, base_n: int, base_count: int) -> Decimal:
    """Verified units as the contract's share_change gives them: the change in the share in
    the good direction times n now, never below 0, rounded down to 4 decimals."""
    sign = 1 if direction == "higher_is_better" else -1
    change = sign * (Fraction(count, n) - Fraction(base_count, base_n))
    exact = max(change, Fraction(0)) * n  # a fraction: decimal division would round first
    return Decimal(math.floor(exact * 10_000)).scaleb(-4)


def _contract_tables(
    out: Path,
    tables: list[TableInfo],
    reports: dict[str, list[Any]],
    costs: dict[str, list[Any]],
    cid: str,
) -> dict[str, Any]:
    """The declared tables of the fund's reference contract for one constellation; the
    payments made on each report but the last (as the manifest's ``planted`` records)."""
    lines = [
        (period, code, direction, n, count)
        for c, period, code, direction, n, count in zip(
            reports["constellation_id"],
            reports["period"],
            reports["indicator"],
            reports["direction"],
            reports["n"],
            reports["count"],
            strict=True,
        )
        if c == cid
    ]
    spent = {
        p: int(v)
        for c, p, v in zip(
            costs["constellation_id"], costs["period"], costs["cost_sek"], strict=True
        )
        if c == cid
    }
    base = {code: (n, count) for period, code, _, n, count in lines if period == 0}
    to_date = [
        sum((spent.get(p, 0) for p in range(1, period + 1)), 0) for period in range(PERIODS + 1)
    ]
    payments: list[Decimal] = [Decimal(0)]  # the baseline is not paid on
    for period in range(1, PERIODS):
        value = sum(
            (
                (PRICES[code] * _units(direction, n, count, *base[code])).quantize(
                    ORE, rounding=ROUND_DOWN
                )
                for p, code, direction, n, count in lines
                if p == period
            ),
            Decimal(0),
        )
        ceiling = (MAX_SHARE_OF_COSTS * to_date[period]).quantize(ORE, rounding=ROUND_DOWN)
        payments.append(max(min(value, ceiling) - sum(payments, Decimal(0)), Decimal(0)))
    money = pa.decimal128(18, 2)
    tables.append(
        write_csv(
            out,
            "outcome_reports",
            pa.table(
                {
                    "period_end": pa.array([_period_end(p) for p, *_ in lines], pa.date32()),
                    "indicator": [code for _, code, *_ in lines],
                    "n": pa.array([n for *_, n, _ in lines], pa.int64()),
                    "count": pa.array([count for *_, count in lines], pa.int64()),
                    "baseline": [p == 0 for p, *_ in lines],
                }
            ),
        )
    )
    tables.append(
        write_csv(
            out,
            "cost_reports",
            pa.table(
                {
                    "period_end": pa.array(
                        [_period_end(p) for p in range(PERIODS + 1)], pa.date32()
                    ),
                    "costs_to_date": pa.array([Decimal(v) for v in to_date], money),
                }
            ),
        )
    )
    tables.append(
        write_csv(
            out,
            "outcome_payments",
            pa.table(
                {
                    "period_end": pa.array([_period_end(p) for p in range(PERIODS)], pa.date32()),
                    "amount": pa.array(payments, money),
                }
            ),
        )
    )
    return {
        "constellation": cid,
        "payments_sek": {_period_end(p).isoformat(): str(a) for p, a in enumerate(payments)},
        "settles": _period_end(PERIODS).isoformat(),
    }


def _support_table(out: Path, tables: list[TableInfo], seed: int) -> None:
    """The support contract's table: K-01's project leader's costs per half-year."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 5]))
    costs = np.rint(rng.normal(420_000, 15_000, PERIODS)).astype(int)
    tables.append(
        write_csv(
            out,
            "project_leader_costs",
            pa.table(
                {
                    "period_end": pa.array(
                        [_period_end(p) for p in range(1, PERIODS + 1)], pa.date32()
                    ),
                    "costs": pa.array([Decimal(int(v)) for v in costs], pa.decimal128(18, 2)),
                }
            ),
        )
    )


def _portfolio_end(period: int) -> date:
    months = 6 * (period + 1)
    start = date(PORTFOLIO_START.year + months // 12, months % 12 + 1, 1)
    return start - timedelta(days=1)


def _portfolio_table(out: Path, tables: list[TableInfo], seed: int) -> dict[str, Any]:
    """The portfolio contract's table: municipalities funded from different years and
    applicants never funded (staggered adoption), with the planted dynamic effect."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4]))
    ends = [_portfolio_end(p) for p in range(PORTFOLIO_PERIODS)]
    columns: dict[str, list[Any]] = {
        "period_end": [],
        "municipality": [],
        "first_funded": [],
        "share_work_or_studies": [],
    }
    starts: dict[str, str | None] = {}
    number = 0
    for year, count in PORTFOLIO_COHORTS.items():
        first = None if year is None else ends.index(date(year, 6, 30))
        for _ in range(count):
            number += 1
            name = f"M-{number:02d}"
            starts[name] = None if first is None else ends[first].isoformat()
            level = rng.normal(0.60, 0.04)
            for period, end in enumerate(ends):
                share = level + 0.002 * period + rng.normal(0.0, 0.004)
                if first is not None and period >= first:
                    share += PORTFOLIO_EFFECT * (1 + min(period - first, 3))
                columns["period_end"].append(end)
                columns["municipality"].append(name)
                columns["first_funded"].append(None if first is None else ends[first])
                columns["share_work_or_studies"].append(
                    Decimal(str(round(float(share), 4))).quantize(Decimal("0.0001"))
                )
    tables.append(
        write_csv(
            out,
            "portfolio_reports",
            pa.table(
                {
                    "period_end": pa.array(columns["period_end"], pa.date32()),
                    "municipality": columns["municipality"],
                    "first_funded": pa.array(columns["first_funded"], pa.date32()),
                    "share_work_or_studies": pa.array(
                        columns["share_work_or_studies"], pa.decimal128(6, 4)
                    ),
                }
            ),
        )
    )
    return {
        "first_funded": starts,
        "effect_by_half_years_since_start": {
            str(e): PORTFOLIO_EFFECT * (1 + min(e, 3)) for e in range(0, 6)
        },
    }


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
    contract_tables = _contract_tables(out, tables, reports, costs, "K-01")
    portfolio = _portfolio_table(out, tables, seed)
    _support_table(out, tables, seed)

    return {
        "tables": {t.name: t.as_dict() for t in tables},
        # The reference contract whose declared tables this scenario writes (for K-01).
        "contracts": [CONTRACT, PORTFOLIO_CONTRACT, SUPPORT_CONTRACT],
        "planted": {
            "constellations": count,
            "log_odds_effect": planted_effects,
            "expected_share_final_period": expected_final,
            "ramp_periods": RAMP_PERIODS,
            "contract_tables": contract_tables,
            "portfolio": portfolio,
        },
        "indicators": {
            code: {"name": name, "direction": direction, "baseline_share": baseline}
            for code, (name, direction, baseline) in INDICATORS.items()
        },
        "periods": {"baseline": 0, "last": PERIODS, "length_months": 6},
    }
