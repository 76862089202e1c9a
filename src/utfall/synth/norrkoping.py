"""Synthetic placed children (Norrköping, DESIGN.md 2.1).

Tables (see ``docs/data.md``):

* ``children`` — one row per child: the included group (``size`` children,
  default 60, included from August 2016) and a historical reference cohort
  (``max(300, 5 · size)`` children included 2011–2015 under usual care).
* ``costs`` — one row per child and month, 12 months before inclusion to
  36 months after: placement days, placement cost (≈2,740 SEK per day at 2016
  prices, ~1 MSEK per placed child-year), outpatient cost, total, in nominal
  SEK of that month.
* ``price_index`` — a monthly price index (2016-01 = 100, +2 % a year), to
  re-price the historical reference.
* ``school`` — merit points and passed subjects before (``post = 0``) and
  after (``post = 1``) for children of school age (≤ 17 at inclusion).
* ``dimensions`` — the six followed social dimensions in long form
  (child, wave, dimension, score) for the included children, 3–4 waves each.
* ``replacements`` — one row per child: the month since inclusion of a new
  placement after homecoming (re-placement) within the 36 months followed, and
  whether the child was re-placed within 24 and 36 months.

The model. Without the intervention a child's expected placement share in
month *m* since inclusion is ``base(m) = 0.62 − 0.011·m`` (the "usually linearly
negative" historical trend) times a child frailty ``u`` (mean 1). The
intervention changes it by the factor ``1 + effect(m) · f``: +12 % in months
0–5 (more placement days while needs are uncovered), back to 0 by month 9, then
a saving ramping to −30 % by month 17. ``f`` is larger for younger school-age
children with earlier placements and weak for youths of 18 and over. Each month
a child is placed for the whole month with that probability; outpatient care
costs more when the child is at home. The manifest records the planted saving
(expected reference cost minus expected cost with the intervention, priced in
the month it falls), month by month, so an estimator's result can be checked.

Re-placement (seed 002: the aim is to "minska risken för återplacering"; seed 000:
"upp till 80% av placerade barn återplaceras"). Under usual care a child is
re-placed in any month with probability ``REPLACEMENT_HAZARD`` (60 % within 36
months, 46 % within 24); the intervention scales that hazard by
``max(0, 1 − REPLACEMENT_REDUCTION · f)``. It is drawn from its own random stream,
so the costs, school results and dimensions of a seed are what they were without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from utfall.core.finance import stays_non_negative_from
from utfall.synth._io import NullProgress, ProgressReporter, TableInfo, open_table
from utfall.synth.contract_tables import _copy, norrkoping_tables

__all__ = [
    "DEFAULT_SIZE",
    "PLACEMENT_DAY_SEK",
    "delivery_table",
    "effect_path",
    "generate",
    "replacement_hazard",
    "replacement_table",
]

DEFAULT_SIZE = 60
PRE_MONTHS = 12
FOLLOW_UP_MONTHS = 36
PLACEMENT_DAY_SEK = 2_740.0  # at 2016-01 prices: ~1 MSEK per placed child-year
OUTPATIENT_HOME_SEK = 3_000.0  # extra expected outpatient cost per month at home
OUTPATIENT_BASE_SEK = 800.0
PRICE_GROWTH = 0.02  # per year
PRICE_BASE = np.datetime64("2016-01", "M")
INCLUDED_START = np.datetime64("2016-08", "M")
INCLUDED_INTAKE_MONTHS = 24
REFERENCE_START = np.datetime64("2011-01", "M")
REFERENCE_INTAKE_MONTHS = 60
BLOCK_CHILDREN = 5_000
COMMITMENT_SEK = 10_000_000  # drawn in full against the quarterly cost reports

AGE_BANDS = ("6-12", "13-15", "16-17", "18-20")
AGE_BAND_RANGES = ((6, 12), (13, 15), (16, 17), (18, 20))
AGE_BAND_SHARES = (0.15, 0.35, 0.30, 0.20)
AGE_BAND_EFFECT = (1.5, 1.2, 0.7, 0.3)
EARLIER_PLACEMENT_SHARES = (0.35, 0.30, 0.18, 0.10, 0.07)
EARLIER_PLACEMENT_BOOST = 1.3  # school-age children (≤ 15) with earlier placements
SCHOOL_EFFECT = {"6-12": 1.3, "13-15": 1.0, "16-17": 0.6}
SCHOOL_TREND = -10.0  # merit points: the target group tends to decline
SCHOOL_GAIN = 30.0

# The six followed (non-paying) social dimensions, measured for every child at 3–4
# points (seed 000); the keys are the choice values of the contract's social_scores table.
SOCIAL_DIMENSIONS = (
    "mental_health",
    "risk_and_abuse",
    "participation",
    "family_capacity",
    "own_goal_attainment",
    "school_results",
)
DIMENSION_GAIN_PER_WAVE = {
    "mental_health": 0.25,
    "risk_and_abuse": 0.20,
    "participation": 0.45,
    "family_capacity": 0.20,
    "school_results": 0.20,
}
OWN_GOALS_REACHED = {2: 0.65, 3: 0.81, 4: 0.84}
WAVE_MONTHS = (0, 6, 12, 24)
# Re-placement: a monthly hazard giving 60 % re-placed within 36 months under usual care
# (seed 000: "upp till 80%"), reduced by the intervention in proportion to its effect factor.
REPLACEMENT_HAZARD = 1.0 - 0.4 ** (1.0 / 36.0)
REPLACEMENT_REDUCTION = 0.35
REPLACEMENT_HORIZONS = (24, 36)  # the contract-bearing follow-up and the extended one
DELIVERY_QUARTERS = 18  # the quarters of the cost reports, 2016-03 … 2020-06


def base_share(months: np.ndarray) -> np.ndarray:
    """Expected placement share without the intervention, by month since inclusion."""
    return 0.62 - 0.011 * months


def effect_path(months: np.ndarray) -> np.ndarray:
    """Planted relative change of the placement share, by month since inclusion."""
    m = np.asarray(months, dtype=np.float64)
    early = np.where(m < 6, 0.12, 0.12 * (9 - m) / 3)
    late = -0.30 * np.minimum(1.0, (m - 8) / 9)
    out = np.where(m < 9, early, late)
    return np.where(m < 0, 0.0, out)


def price_index(months: np.ndarray) -> np.ndarray:
    """Price index (2016-01 = 100) of calendar months (``datetime64[M]``)."""
    offset = (months - PRICE_BASE).astype(np.int64)
    return 100.0 * (1.0 + PRICE_GROWTH) ** (offset / 12.0)


def _days_in_month(months: np.ndarray) -> np.ndarray:
    start = months.astype("datetime64[D]")
    end = (months + 1).astype("datetime64[D]")
    return (end - start).astype(np.int64)


def _ids(first: int, n: int) -> pa.Array:
    return pa.array([f"P-{k:06d}" for k in range(first, first + n)], pa.string())


CHILDREN_SCHEMA = pa.schema(
    [
        ("child_id", pa.string()),
        ("included", pa.int8()),
        ("inclusion_month", pa.date32()),
        ("age_at_inclusion", pa.int8()),
        ("age_band", pa.string()),
        ("earlier_placements", pa.int8()),
    ]
)
COSTS_SCHEMA = pa.schema(
    [
        ("child_id", pa.string()),
        ("included", pa.int8()),
        ("month", pa.date32()),
        ("month_since_inclusion", pa.int16()),
        ("post", pa.int8()),
        ("placement_days", pa.int16()),
        ("placement_cost_sek", pa.float64()),
        ("outpatient_cost_sek", pa.float64()),
        ("total_cost_sek", pa.float64()),
        ("total_cost_real_sek", pa.float64()),
        ("age_band", pa.string()),
        ("earlier_placements", pa.int8()),
    ]
)
PRICE_SCHEMA = pa.schema([("month", pa.date32()), ("index", pa.float64())])
SCHOOL_SCHEMA = pa.schema(
    [
        ("child_id", pa.string()),
        ("included", pa.int8()),
        ("post", pa.int8()),
        ("merit_points", pa.float64()),
        ("passed_subjects", pa.int8()),
        ("age_band", pa.string()),
        ("earlier_placements", pa.int8()),
    ]
)
REPLACEMENTS_SCHEMA = pa.schema(
    [
        ("child_id", pa.string()),
        ("included", pa.int8()),
        ("months_to_replacement", pa.int16()),
        ("replaced_24", pa.int8()),
        ("replaced_36", pa.int8()),
    ]
)
DIMENSIONS_SCHEMA = pa.schema(
    [
        ("child_id", pa.string()),
        ("wave", pa.int8()),
        ("month_since_inclusion", pa.int16()),
        ("dimension", pa.string()),
        ("score", pa.float64()),
    ]
)


class _Block:
    """The children of one block with everything drawn for them."""

    def __init__(self, rng: np.random.Generator, n: int, *, included: bool):
        self.n = n
        self.included = included
        start, intake = (
            (INCLUDED_START, INCLUDED_INTAKE_MONTHS)
            if included
            else (REFERENCE_START, REFERENCE_INTAKE_MONTHS)
        )
        self.inclusion = start + rng.integers(0, intake, size=n).astype("timedelta64[M]")
        self.band = rng.choice(len(AGE_BANDS), size=n, p=AGE_BAND_SHARES)
        low = np.array([r[0] for r in AGE_BAND_RANGES])[self.band]
        high = np.array([r[1] for r in AGE_BAND_RANGES])[self.band]
        self.age = rng.integers(low, high + 1)
        self.earlier = rng.choice(len(EARLIER_PLACEMENT_SHARES), size=n, p=EARLIER_PLACEMENT_SHARES)
        self.frailty = rng.uniform(0.75, 1.25, size=n)
        boost = np.where((self.earlier >= 1) & (self.age <= 15), EARLIER_PLACEMENT_BOOST, 1.0)
        self.effect_factor = np.array(AGE_BAND_EFFECT)[self.band] * boost
        self.rng = rng

    def band_names(self, repeat: int = 1) -> pa.Array:
        return pa.array(
            np.repeat(np.array(AGE_BANDS, dtype=object)[self.band], repeat), pa.string()
        )


def _costs(block: _Block, ids: pa.Array) -> tuple[pa.RecordBatch, dict[str, np.ndarray]]:
    """Monthly costs of a block; also the planted saving per (child, month) cell."""
    rng = block.rng
    months_since = np.arange(-PRE_MONTHS, FOLLOW_UP_MONTHS)
    k = len(months_since)
    calendar = block.inclusion[:, None] + months_since[None, :].astype("timedelta64[M]")
    days_in_month = _days_in_month(calendar)
    prices = price_index(calendar) / 100.0

    pre_share = np.minimum(0.5, 0.08 + 0.05 * block.earlier)[:, None] * np.ones((1, k))
    share0 = np.where(months_since[None, :] < 0, pre_share, base_share(months_since)[None, :])
    share0 = share0 * block.frailty[:, None]
    change = effect_path(months_since)[None, :] * block.effect_factor[:, None]
    share = share0 * (1.0 + change) if block.included else share0

    placed = rng.random((block.n, k)) < share
    placement_days = np.where(placed, days_in_month, 0)
    outpatient_mean = OUTPATIENT_BASE_SEK + OUTPATIENT_HOME_SEK * (1.0 - share)
    outpatient = rng.gamma(2.0, outpatient_mean / 2.0)
    placement_cost = np.round(placement_days * PLACEMENT_DAY_SEK * prices, 2)
    outpatient_cost = np.round(outpatient * prices, 2)

    # Expected saving per cell, over the frailty distribution (mean 1): the estimand.
    unit_saving = prices * (PLACEMENT_DAY_SEK * days_in_month - OUTPATIENT_HOME_SEK)
    planted = unit_saving * base_share(months_since)[None, :] * (-change)
    planted = np.where(months_since[None, :] >= 0, planted, 0.0) if block.included else 0 * planted

    batch = pa.RecordBatch.from_arrays(
        [
            pa.array(np.repeat(np.asarray(ids.to_pylist(), dtype=object), k), pa.string()),
            pa.array(np.full(block.n * k, int(block.included), dtype=np.int8)),
            pa.array(calendar.reshape(-1).astype("datetime64[D]"), pa.date32()),
            pa.array(np.tile(months_since, block.n).astype(np.int16)),
            pa.array(np.tile(months_since >= 0, block.n).astype(np.int8)),
            pa.array(placement_days.reshape(-1).astype(np.int16)),
            pa.array(placement_cost.reshape(-1)),
            pa.array(outpatient_cost.reshape(-1)),
            pa.array(np.round(placement_cost + outpatient_cost, 2).reshape(-1)),
            pa.array(np.round((placement_cost + outpatient_cost) / prices, 2).reshape(-1)),
            block.band_names(k),
            pa.array(np.repeat(block.earlier, k).astype(np.int8)),
        ],
        schema=COSTS_SCHEMA,
    )
    return batch, {"planted": planted, "planted_real": planted / prices, "band": block.band}


def _school(block: _Block, ids: pa.Array) -> tuple[pa.RecordBatch | None, np.ndarray]:
    """Merit points before/after for children ≤ 17; returns the planted gain per child."""
    rng = block.rng
    in_school = block.age <= 17
    n = int(in_school.sum())
    band_names = np.array(AGE_BANDS, dtype=object)[block.band][in_school]
    gain_factor = np.array([SCHOOL_EFFECT.get(b, 0.0) for b in band_names])
    planted_gain = SCHOOL_GAIN * gain_factor if block.included else np.zeros(n)
    before = np.clip(rng.normal(145.0, 40.0, size=n), 0.0, 340.0)
    after = np.clip(before + SCHOOL_TREND + planted_gain + rng.normal(0.0, 20.0, size=n), 0, 340)
    merit = np.column_stack([before, after]).reshape(-1)
    subjects = np.clip(np.round(merit / 21.0 + rng.normal(0.0, 0.7, size=2 * n)), 0, 16)
    if n == 0:
        return None, planted_gain
    school_ids = np.asarray(ids.to_pylist(), dtype=object)[in_school]
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array(np.repeat(school_ids, 2), pa.string()),
            pa.array(np.full(2 * n, int(block.included), dtype=np.int8)),
            pa.array(np.tile(np.array([0, 1], dtype=np.int8), n)),
            pa.array(np.round(merit, 1)),
            pa.array(subjects.astype(np.int8)),
            pa.array(np.repeat(band_names, 2), pa.string()),
            pa.array(np.repeat(block.earlier[in_school], 2).astype(np.int8)),
        ],
        schema=SCHOOL_SCHEMA,
    )
    return batch, planted_gain


def _dimensions(block: _Block, ids: pa.Array) -> pa.RecordBatch:
    """3–4 waves of the six social dimensions for included children."""
    rng = block.rng
    waves = np.where(rng.random(block.n) < 0.7, 4, 3)
    child_col: list[str] = []
    wave_col: list[int] = []
    month_col: list[int] = []
    dim_col: list[str] = []
    score_col: list[float] = []
    id_list = ids.to_pylist()
    start = rng.normal(2.4, 0.7, size=(block.n, len(SOCIAL_DIMENSIONS)))
    noise = rng.normal(0.0, 0.5, size=(block.n, 4, len(SOCIAL_DIMENSIONS)))
    goals = rng.random((block.n, 4))
    for i in range(block.n):
        for w in range(1, int(waves[i]) + 1):
            for d, name in enumerate(SOCIAL_DIMENSIONS):
                if name == "own_goal_attainment":
                    # Goals are set at the first wave, so none is reached yet.
                    score = 0.0 if w == 1 else float(goals[i, w - 1] < OWN_GOALS_REACHED[w])
                else:
                    latent = start[i, d] + DIMENSION_GAIN_PER_WAVE[name] * (w - 1)
                    score = float(np.clip(np.round(latent + noise[i, w - 1, d]), 1, 5))
                child_col.append(id_list[i])
                wave_col.append(w)
                month_col.append(WAVE_MONTHS[w - 1])
                dim_col.append(name)
                score_col.append(score)
    return pa.RecordBatch.from_pydict(
        {
            "child_id": child_col,
            "wave": wave_col,
            "month_since_inclusion": month_col,
            "dimension": dim_col,
            "score": score_col,
        },
        schema=DIMENSIONS_SCHEMA,
    )


def replacement_hazard(effect_factor: np.ndarray, *, included: bool) -> np.ndarray:
    """Monthly probability of a re-placement, per child."""
    factor = np.asarray(effect_factor, dtype=np.float64)
    if not included:
        return np.full(factor.shape, REPLACEMENT_HAZARD)
    return REPLACEMENT_HAZARD * np.maximum(0.0, 1.0 - REPLACEMENT_REDUCTION * factor)


def _replacements(
    block: _Block, ids: pa.Array, rng: np.random.Generator
) -> tuple[pa.RecordBatch, np.ndarray]:
    """Re-placement within the months followed; also each child's expected share re-placed
    within each of :data:`REPLACEMENT_HORIZONS` (the estimand)."""
    hazard = replacement_hazard(block.effect_factor, included=block.included)
    # Months until the re-placement (1 = the first month after inclusion); none if beyond.
    months = rng.geometric(np.maximum(hazard, 1e-12))
    within = months <= FOLLOW_UP_MONTHS
    expected = np.column_stack([1.0 - (1.0 - hazard) ** h for h in REPLACEMENT_HORIZONS])
    batch = pa.RecordBatch.from_arrays(
        [
            ids,
            pa.array(np.full(block.n, int(block.included), dtype=np.int8)),
            pa.array(np.where(within, months, 0).astype(np.int16), mask=~within),
            pa.array((months <= 24).astype(np.int8)),
            pa.array((months <= 36).astype(np.int8)),
        ],
        schema=REPLACEMENTS_SCHEMA,
    )
    return batch, expected


def replacement_table(out: Path, tables: list[TableInfo]) -> None:
    """The contract's declared ``replacement_follow_up``: per child a row at 24 and at 36
    months since inclusion, whether the child had been re-placed by then (0/1)."""
    children = f"read_parquet('{out / 'children.parquet'}')"
    replacements = f"read_parquet('{out / 'replacements.parquet'}')"
    _copy(
        out,
        "replacement_follow_up",
        "SELECT c.child_id AS participant, "
        "(c.inclusion_month + to_months(h.months))::DATE AS date, h.months AS months_followed, "
        "CASE WHEN r.months_to_replacement IS NOT NULL AND r.months_to_replacement <= h.months "
        "THEN 1 ELSE 0 END AS replaced "
        f"FROM {children} AS c JOIN {replacements} AS r USING (child_id) "
        f"CROSS JOIN (VALUES {', '.join(f'({h})' for h in REPLACEMENT_HORIZONS)}) AS h(months) "
        "ORDER BY participant, date",
        tables,
    )


def delivery_table(out: Path, tables: list[TableInfo]) -> None:
    """The contract's declared ``delivery_attestations``: the evaluator's quarterly
    attestation, from the provider's activity report of the quarter, that the intervention
    was delivered as agreed (seed 002: "Om insatsen genomförs enligt kontraktet"), dated
    with the quarterly cost reports; every quarter delivered in the synthetic data."""
    _copy(
        out,
        "delivery_attestations",
        "SELECT (DATE '2016-03-01' + to_months(3 * q))::DATE AS date, true AS delivered, "
        "'Aktivitetsrapport ' || strftime(DATE '2016-03-01' + to_months(3 * q), '%Y-%m') "
        f"AS activity_reports FROM range({DELIVERY_QUARTERS}) AS r(q) ORDER BY date",
        tables,
    )


def _children_batch(block: _Block, ids: pa.Array) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [
            ids,
            pa.array(np.full(block.n, int(block.included), dtype=np.int8)),
            pa.array(block.inclusion.astype("datetime64[D]"), pa.date32()),
            pa.array(block.age.astype(np.int8)),
            block.band_names(),
            pa.array(block.earlier.astype(np.int8)),
        ],
        schema=CHILDREN_SCHEMA,
    )


def generate(
    out: Path,
    *,
    seed: int,
    size: int | None = None,
    csv: bool = False,
    progress: ProgressReporter | None = None,
    contract_tables: bool = True,
) -> dict[str, Any]:
    """Write the Norrköping tables into ``out``; return the manifest body.

    ``size`` is the number of included children (default 60); the reference
    cohort has ``max(300, 5 · size)`` children. ``contract_tables`` writes the
    contract's declared tables too (:mod:`utfall.synth.contract_tables`).
    """
    included_n = DEFAULT_SIZE if size is None else size
    if included_n < 1:
        raise ValueError("size must be at least 1 child")
    reference_n = max(300, 5 * included_n)
    progress = progress or NullProgress()
    tables: list[TableInfo] = []
    total_children = included_n + reference_n
    progress.start("norrkoping: children", total_children)

    months_since = np.arange(-PRE_MONTHS, FOLLOW_UP_MONTHS)
    follow = months_since >= 0
    planted_by_month = np.zeros(FOLLOW_UP_MONTHS)
    planted_by_band = np.zeros(len(AGE_BANDS))
    planted_real_sum = 0.0
    school_gains: list[np.ndarray] = []
    replacement_expected = {1: np.zeros(len(REPLACEMENT_HORIZONS)), 0: np.zeros(2)}

    with (
        open_table(out, "children", CHILDREN_SCHEMA, csv=csv, tables=tables) as children_w,
        open_table(out, "costs", COSTS_SCHEMA, csv=csv, tables=tables) as costs_w,
        open_table(out, "school", SCHOOL_SCHEMA, csv=csv, tables=tables) as school_w,
        open_table(out, "dimensions", DIMENSIONS_SCHEMA, csv=csv, tables=tables) as dims_w,
        open_table(
            out, "replacements", REPLACEMENTS_SCHEMA, csv=csv, tables=tables
        ) as replacements_w,
    ):
        next_id = 1
        for group, count in ((1, included_n), (0, reference_n)):
            for block_no, start in enumerate(range(0, count, BLOCK_CHILDREN)):
                n = min(BLOCK_CHILDREN, count - start)
                rng = np.random.default_rng(np.random.SeedSequence([seed, 2, group, block_no]))
                block = _Block(rng, n, included=bool(group))
                ids = _ids(next_id, n)
                next_id += n
                children_w.write(_children_batch(block, ids))
                batch, info = _costs(block, ids)
                costs_w.write(batch)
                planted = info["planted"][:, follow]
                planted_by_month += planted.sum(axis=0)
                np.add.at(planted_by_band, block.band, planted.sum(axis=1))
                planted_real_sum += float(info["planted_real"][:, follow].sum())
                school_batch, gains = _school(block, ids)
                if school_batch is not None:
                    school_w.write(school_batch)
                if group == 1:
                    school_gains.append(gains)
                    dims_w.write(_dimensions(block, ids))
                # Its own stream: the draws above are those of a seed without re-placement.
                stream = np.random.default_rng(np.random.SeedSequence([seed, 3, group, block_no]))
                replacement_batch, expected = _replacements(block, ids, stream)
                replacements_w.write(replacement_batch)
                replacement_expected[group] += expected.sum(axis=0)
                progress.advance(n)

    calendar = np.arange(
        REFERENCE_START - PRE_MONTHS, INCLUDED_START + INCLUDED_INTAKE_MONTHS + FOLLOW_UP_MONTHS
    )
    with open_table(out, "price_index", PRICE_SCHEMA, csv=csv, tables=tables) as writer:
        writer.write(
            pa.RecordBatch.from_arrays(
                [
                    pa.array(calendar.astype("datetime64[D]"), pa.date32()),
                    pa.array(np.round(price_index(calendar), 4)),
                ],
                schema=PRICE_SCHEMA,
            )
        )

    if contract_tables:
        norrkoping_tables(out, tables, cost_total_sek=COMMITMENT_SEK)
        replacement_table(out, tables)
        delivery_table(out, tables)

    cumulative = np.cumsum(planted_by_month)
    monthly_positive = np.flatnonzero(planted_by_month <= 0)
    first_saving = int(monthly_positive[-1]) + 1 if len(monthly_positive) else 0
    gains = np.concatenate(school_gains) if school_gains else np.zeros(0)
    planted: dict[str, Any] = {
        "method": "historical_reference",
        "included": included_n,
        "reference": reference_n,
        "cumulative_saving_sek": float(cumulative[-1]),
        "saving_by_month_sek": [float(v) for v in planted_by_month],
        "cumulative_by_month_sek": [float(v) for v in cumulative],
        "break_even_month": stays_non_negative_from(cumulative.tolist()),
        "first_saving_month": first_saving,
        # What a difference-in-differences of total_cost_real_sek (included × post)
        # estimates: the mean change per included child-month after inclusion.
        "did_effect_real_sek_per_child_month": -planted_real_sum / (included_n * FOLLOW_UP_MONTHS),
        "cumulative_saving_by_age_band_sek": {
            band: float(planted_by_band[k]) for k, band in enumerate(AGE_BANDS)
        },
        "school": {
            "children_in_school": len(gains),
            "reference_trend_merit_points": SCHOOL_TREND,
            "did_effect_merit_points": float(gains.mean()) if len(gains) else None,
            "pre_post_change_merit_points": float(SCHOOL_TREND + gains.mean())
            if len(gains)
            else None,
        },
        # Expected share re-placed within 24 and 36 months since inclusion (the estimand of
        # a share among the included, and of its difference from the reference cohort).
        "replacement": {
            f"within_{h}_months": {
                "included": float(replacement_expected[1][k] / included_n),
                "reference": float(replacement_expected[0][k] / reference_n),
                "difference": float(
                    replacement_expected[1][k] / included_n
                    - replacement_expected[0][k] / reference_n
                ),
            }
            for k, h in enumerate(REPLACEMENT_HORIZONS)
        },
        "dimensions": {
            "gain_per_wave": DIMENSION_GAIN_PER_WAVE,
            "own_goals_reached_share": {str(k): v for k, v in OWN_GOALS_REACHED.items()},
        },
        "placement_day_sek_2016": PLACEMENT_DAY_SEK,
        "price_growth_per_year": PRICE_GROWTH,
    }
    return {
        "tables": {t.name: t.as_dict() for t in tables},
        # The reference contracts whose declared tables this scenario writes.
        "contracts": ["norrkoping-placed-children"] if contract_tables else [],
        "planted": planted,
        "follow_up_months": FOLLOW_UP_MONTHS,
        "pre_months": PRE_MONTHS,
    }
