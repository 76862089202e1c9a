"""Synthetic participants and follow-ups for Region Stockholm's diabetes health bond.

Seeds 000 and 003 name a health bond ("hälsoobligation") in Region Stockholm whose aim is
to reduce the risk of type 2 diabetes. The scenario writes the two tables the
``region-stockholm-diabetes-health-bond`` contract declares, as CSV:

* ``participants.csv`` — ``participant`` (a reference ``D-0001``, nothing like a
  personnummer) and ``included_on`` (during 2024);
* ``follow_ups.csv`` — ``participant``, ``measured_on`` (24 months after inclusion),
  ``hba1c_baseline`` and ``hba1c_follow_up`` (mmol/mol, one decimal) and
  ``type2_diabetes`` (diagnosed by the follow-up: HbA1c at follow-up of 48 mmol/mol or
  more, the diagnostic level).

The model. Baseline HbA1c is normal with mean ``BASELINE_MEAN`` and standard deviation
``BASELINE_SD``, kept in the high-risk range 39–47 mmol/mol; the follow-up is the
baseline less the programme's effect ``EFFECT`` plus normal noise (``NOISE_SD``). A share
``LOST`` is not followed up (moved, withdrew) and has no follow-up row. The manifest
records the rates and the exact figures the contract's evaluations give (the count, the
cases and both HbA1c sums, as exact decimals), so a settlement can be checked against them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from utfall.synth._io import NullProgress, ProgressReporter, write_csv

__all__ = ["DEFAULT_SIZE", "DIAGNOSTIC_HBA1C", "generate"]

DEFAULT_SIZE = 300
MAX_SIZE = 5_000
INCLUSION_START = dt.date(2024, 1, 1)
FOLLOW_UP_DAYS = 730
BASELINE_MEAN = 45.0
BASELINE_SD = 1.8
RISK_RANGE = (39.0, 47.0)
EFFECT = 2.0
NOISE_SD = 2.8
LOST = 0.08
DIAGNOSTIC_HBA1C = Decimal(48)
TENTH = Decimal("0.1")


def _tenth(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(TENTH)


def generate(
    out: Path,
    *,
    seed: int,
    size: int | None = None,
    csv: bool = False,
    progress: ProgressReporter | None = None,
) -> dict[str, Any]:
    """Write ``participants.csv`` and ``follow_ups.csv`` into ``out``; return the manifest body.

    ``size`` is the number of participants (default 300, at most 5,000). The tables are
    the contract's declared tables, so they are CSV whether or not ``csv`` is asked for.
    """
    del csv  # the declared tables are always written as CSV
    count = DEFAULT_SIZE if size is None else size
    if not 1 <= count <= MAX_SIZE:
        raise ValueError(f"size must be 1 to {MAX_SIZE} participants")
    progress = progress or NullProgress()
    progress.start("diabetes: participants", count)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 17]))
    ids = [f"D-{k + 1:04d}" for k in range(count)]
    included = [INCLUSION_START + dt.timedelta(days=int(d)) for d in rng.integers(0, 366, count)]
    baseline = np.clip(rng.normal(BASELINE_MEAN, BASELINE_SD, count), *RISK_RANGE)
    follow_up = np.clip(baseline - EFFECT + rng.normal(0.0, NOISE_SD, count), 20.0, None)
    lost = rng.random(count) < LOST
    rows: dict[str, list[Any]] = {
        "participant": [],
        "measured_on": [],
        "hba1c_baseline": [],
        "hba1c_follow_up": [],
        "type2_diabetes": [],
    }
    for k in range(count):
        if lost[k]:
            continue
        before, after = _tenth(float(baseline[k])), _tenth(float(follow_up[k]))
        rows["participant"].append(ids[k])
        rows["measured_on"].append(included[k] + dt.timedelta(days=FOLLOW_UP_DAYS))
        rows["hba1c_baseline"].append(before)
        rows["hba1c_follow_up"].append(after)
        rows["type2_diabetes"].append(after >= DIAGNOSTIC_HBA1C)
    progress.advance(count)
    people = pa.table(
        {
            "participant": pa.array(ids, pa.string()),
            "included_on": pa.array(included, pa.date32()),
        }
    )
    tenths = pa.decimal128(5, 1)
    follow_ups = pa.table(
        {
            "participant": pa.array(rows["participant"], pa.string()),
            "measured_on": pa.array(rows["measured_on"], pa.date32()),
            "hba1c_baseline": pa.array(rows["hba1c_baseline"], tenths),
            "hba1c_follow_up": pa.array(rows["hba1c_follow_up"], tenths),
            "type2_diabetes": pa.array(rows["type2_diabetes"], pa.bool_()),
        }
    )
    tables = [write_csv(out, "participants", people), write_csv(out, "follow_ups", follow_ups)]
    followed = len(rows["participant"])
    cases = sum(rows["type2_diabetes"])
    return {
        "tables": {t.name: t.as_dict() for t in tables},
        "contracts": ["region-stockholm-diabetes-health-bond"],
        "planted": {
            "participants": count,
            "rates": {
                "baseline_mean": BASELINE_MEAN,
                "baseline_sd": BASELINE_SD,
                "effect_mmol_per_mol": EFFECT,
                "noise_sd": NOISE_SD,
                "lost_to_follow_up": LOST,
                "diagnostic_hba1c": str(DIAGNOSTIC_HBA1C),
            },
            "followed_up": followed,
            "cases": cases,
            "hba1c_baseline_sum": str(sum(rows["hba1c_baseline"], Decimal(0))),
            "hba1c_follow_up_sum": str(sum(rows["hba1c_follow_up"], Decimal(0))),
        },
    }
