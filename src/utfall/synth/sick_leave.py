"""Synthetic short-term sick leave (Botkyrka / Örnsköldsvik, DESIGN.md 2.2).

Tables (see ``docs/data.md``):

* ``employee_months`` — one row per employee and month: 36 months of a
  reference period followed by 36 months of the contract, with the net
  short-term sick days (days 1–14) of that month. Written in blocks of
  :data:`BLOCK_EMPLOYEES` employees (one Parquet row group each), so memory
  stays bounded for any ``size``: 100 million rows are about 1.39 million
  employees.
* ``slt_index`` — the national short-term sick-leave trend index (SLT), one
  row per period and month.

The model: employee *j* has a monthly propensity ``λ_j`` (20 % of employees
belong to a high-absence class twelve times as prone, so they account for
about 75 % of the days); the days of month *t* are Poisson with mean
``λ_j · SLT_t / 100 · (1 − effect_t)``, where the planted effect is zero in the
reference period and ramps up to :data:`EFFECT_FULL` over the first year of
the contract. Because the expected reference days scale with ``SLT_ref`` and the
expected counterfactual contract days with ``SLT_contract``, the
trend-adjusted estimator is unbiased for the planted saving; the manifest
records that saving given the realised propensities, in the estimator's
``reference_scaled`` reading (top-level keys: days on the contract months'
basis) and in seed 004's ``observed_adjusted`` reading (``planted.readings``:
the observed days put on the reference months' basis, so the planted saving of
month *i* is ``λ_j · SLT_ref,i / 100 · effect_i``). The relative reduction is the
same share of expected days in both only where the trend ratio is constant.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from utfall.synth._io import NullProgress, ProgressReporter, TableInfo, open_table
from utfall.synth.contract_tables import sick_leave_tables

__all__ = [
    "BLOCK_EMPLOYEES",
    "DAY_VALUE_SEK",
    "DEFAULT_SIZE",
    "EFFECT_FULL",
    "MONTHS",
    "generate",
    "slt_index",
]

DEFAULT_SIZE = 10_000
MONTHS = 36  # per period
BLOCK_EMPLOYEES = 20_000
EFFECT_FULL = 0.12  # relative reduction of short-term sick days once the effect is fully in
EFFECT_RAMP_MONTHS = 12
HIGH_SHARE = 0.20
HIGH_RATIO = 12.0  # the high-absence class is this many times as prone
MEAN_DAYS_PER_MONTH = 0.75  # at SLT = 100
PROPENSITY_SHAPE = 2.0
PROPENSITY_CAP = 6.0
DAY_VALUE_SEK = 2_450  # a suggested value of one sick day for the example specs
REFERENCE_START = date(2016, 1, 1)
CONTRACT_START = date(2019, 1, 1)
ADMINISTRATIONS = (
    "education",
    "elderly_care",
    "social_services",
    "technical_services",
    "culture_leisure",
    "central_administration",
)
ADMINISTRATION_SHARES = (0.38, 0.27, 0.15, 0.09, 0.05, 0.06)
PERIODS = ("reference", "contract")


def _add_months(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _shock(month: date) -> float:
    """A pandemic-like national shock: the reason trend adjustment exists."""
    table = {
        (2020, 3): 1.45,
        (2020, 4): 1.35,
        (2020, 5): 1.15,
        (2020, 11): 1.12,
        (2020, 12): 1.15,
        (2021, 1): 1.12,
        (2021, 2): 1.08,
    }
    return table.get((month.year, month.month), 1.0)


def slt_index(seed: int) -> dict[str, list[Any]]:
    """The SLT series: ``period``, ``month_index``, ``month`` and ``slt`` (2016-01 ≈ 100)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7_001]))
    noise = rng.normal(0.0, 0.01, size=2 * MONTHS)
    out: dict[str, list[Any]] = {"period": [], "month_index": [], "month": [], "slt": []}
    for k in range(2 * MONTHS):
        period = PERIODS[k // MONTHS]
        start = REFERENCE_START if k < MONTHS else CONTRACT_START
        month = _add_months(start, k % MONTHS)
        years = (month.year - 2016) + (month.month - 1) / 12
        season = 1.0 + 0.22 * math.cos(2 * math.pi * (month.month - 1.5) / 12)
        value = 100.0 * season * 1.01**years * _shock(month) * (1.0 + noise[k])
        out["period"].append(period)
        out["month_index"].append(k % MONTHS + 1)
        out["month"].append(month)
        out["slt"].append(round(value, 4))
    return out


def effect_path() -> np.ndarray:
    """Planted relative reduction per contract month (index 0 = month 1)."""
    months = np.arange(1, MONTHS + 1)
    return EFFECT_FULL * np.minimum(1.0, months / EFFECT_RAMP_MONTHS)


EMPLOYEE_MONTHS_SCHEMA = pa.schema(
    [
        ("employee", pa.int32()),
        ("period", pa.dictionary(pa.int8(), pa.string())),
        ("month_index", pa.int8()),
        ("administration", pa.dictionary(pa.int8(), pa.string())),
        ("sick_days", pa.int16()),
    ]
)
SLT_SCHEMA = pa.schema(
    [
        ("period", pa.string()),
        ("month_index", pa.int8()),
        ("month", pa.date32()),
        ("slt", pa.float64()),
    ]
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
    """Write the sick-leave tables into ``out``; return the manifest body.

    ``size`` is the number of employees (default :data:`DEFAULT_SIZE`); the
    employee-month table has ``72 · size`` rows. ``contract_tables`` writes the
    sick-leave contracts' declared tables too (:mod:`utfall.synth.contract_tables`).
    """
    employees = DEFAULT_SIZE if size is None else size
    if employees < 1:
        raise ValueError("size must be at least 1 employee")
    progress = progress or NullProgress()
    tables: list[TableInfo] = []

    slt = slt_index(seed)
    slt_values = np.asarray(slt["slt"], dtype=np.float64)
    effect = effect_path()
    # Mean days per month for λ = 1: reference months, then contract months with the effect.
    factor = slt_values / 100.0
    factor[MONTHS:] *= 1.0 - effect

    with open_table(out, "slt_index", SLT_SCHEMA, csv=csv, tables=tables) as writer:
        writer.write(pa.RecordBatch.from_pydict(slt, schema=SLT_SCHEMA))

    period_codes = np.repeat(np.arange(2, dtype=np.int8), MONTHS)
    month_codes = np.tile(np.arange(1, MONTHS + 1, dtype=np.int8), 2)
    period_dictionary = pa.array(PERIODS, pa.string())
    admin_dictionary = pa.array(ADMINISTRATIONS, pa.string())
    low_mean = MEAN_DAYS_PER_MONTH / (1 - HIGH_SHARE + HIGH_SHARE * HIGH_RATIO)

    sum_propensity = 0.0
    sum_propensity_by_admin = np.zeros(len(ADMINISTRATIONS))
    employees_by_admin = np.zeros(len(ADMINISTRATIONS), dtype=np.int64)
    totals = np.empty(employees, dtype=np.float64)  # per employee, for the concentration figure
    rows_total = employees * 2 * MONTHS
    progress.start("sick-leave: employee months", rows_total)

    with open_table(out, "employee_months", EMPLOYEE_MONTHS_SCHEMA, csv=csv, tables=tables) as w:
        for block, start in enumerate(range(0, employees, BLOCK_EMPLOYEES)):
            stop = min(employees, start + BLOCK_EMPLOYEES)
            n = stop - start
            # One seed per block: a block's draws do not depend on how many blocks follow.
            rng = np.random.default_rng(np.random.SeedSequence([seed, 1, block]))
            high = rng.random(n) < HIGH_SHARE
            mean = np.where(high, HIGH_RATIO * low_mean, low_mean)
            propensity = np.minimum(
                rng.gamma(PROPENSITY_SHAPE, mean / PROPENSITY_SHAPE), PROPENSITY_CAP
            )
            admin = rng.choice(len(ADMINISTRATIONS), size=n, p=ADMINISTRATION_SHARES).astype(
                np.int8
            )
            days = rng.poisson(propensity[:, None] * factor[None, :]).astype(np.int16)

            sum_propensity += float(propensity.sum())
            np.add.at(sum_propensity_by_admin, admin, propensity)
            employees_by_admin += np.bincount(admin, minlength=len(ADMINISTRATIONS))
            totals[start:stop] = days.sum(axis=1)

            batch = pa.RecordBatch.from_arrays(
                [
                    pa.array(np.repeat(np.arange(start + 1, stop + 1, dtype=np.int32), 2 * MONTHS)),
                    pa.DictionaryArray.from_arrays(
                        pa.array(np.tile(period_codes, n)), period_dictionary
                    ),
                    pa.array(np.tile(month_codes, n)),
                    pa.DictionaryArray.from_arrays(
                        pa.array(np.repeat(admin, 2 * MONTHS)), admin_dictionary
                    ),
                    pa.array(days.reshape(-1)),
                ],
                schema=EMPLOYEE_MONTHS_SCHEMA,
            )
            w.write(batch)
            progress.advance(batch.num_rows)

    contract_slt = slt_values[MONTHS:] / 100.0
    reference_slt = slt_values[:MONTHS] / 100.0
    per_lambda_saving = float((contract_slt * effect).sum())
    per_lambda_expected = float(contract_slt.sum())
    # Seed 004's reading: expected days are the reference days, the saving on their basis.
    per_lambda_saving_reference = float((reference_slt * effect).sum())
    per_lambda_expected_reference = float(reference_slt.sum())
    top = max(1, round(HIGH_SHARE * employees))
    all_days = float(totals.sum())
    if contract_tables:
        sick_leave_tables(out, tables)
    top_share = float(np.partition(totals, employees - top)[employees - top :].sum() / all_days)
    saving_days = sum_propensity * per_lambda_saving
    planted: dict[str, Any] = {
        "method": "trend_adjusted",
        "employees": employees,
        "saving_days": saving_days,
        "saving_days_per_employee": saving_days / employees,
        "expected_days": sum_propensity * per_lambda_expected,
        "observed_days_expected": sum_propensity * (per_lambda_expected - per_lambda_saving),
        "day_value_sek": DAY_VALUE_SEK,
        "saving_sek": saving_days * DAY_VALUE_SEK,
        "effect_full": EFFECT_FULL,
        "effect_ramp_months": EFFECT_RAMP_MONTHS,
        "saving_days_by_administration": {
            name: float(sum_propensity_by_admin[k] * per_lambda_saving)
            for k, name in enumerate(ADMINISTRATIONS)
        },
        "employees_by_administration": {
            name: int(employees_by_admin[k]) for k, name in enumerate(ADMINISTRATIONS)
        },
        "top_20_percent_share_of_days": top_share,
        "readings": {
            "reference_scaled": {
                "expected_days": sum_propensity * per_lambda_expected,
                "saving_days": saving_days,
                "relative_reduction": per_lambda_saving / per_lambda_expected,
            },
            "observed_adjusted": {
                "expected_days": sum_propensity * per_lambda_expected_reference,
                "saving_days": sum_propensity * per_lambda_saving_reference,
                "saving_days_per_employee": sum_propensity
                * per_lambda_saving_reference
                / employees,
                "relative_reduction": per_lambda_saving_reference / per_lambda_expected_reference,
            },
        },
    }
    return {
        "tables": {t.name: t.as_dict() for t in tables},
        # The reference contracts whose declared tables this scenario writes.
        "contracts": ["sick-leave-botkyrka", "sick-leave-ornskoldsvik"] if contract_tables else [],
        "planted": planted,
        "periods": {
            "reference": {"start": REFERENCE_START.isoformat(), "months": MONTHS},
            "contract": {"start": CONTRACT_START.isoformat(), "months": MONTHS},
        },
    }
