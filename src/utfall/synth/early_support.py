"""Synthetic reports of Hässelby-Vällingby's flexible early support (DESIGN.md 2.3, seed 003).

Five procured civil-society actors report, every half year, the activities and
process outcomes they agreed and those they delivered; at the end the evaluator
assesses the agreed long-term joint outcomes for the target group. The tables are
those the Hässelby-Vällingby contract declares (``actor_reports``,
``joint_outcomes``), as CSV. Each actor has its own delivery and attainment
rate; the manifest records them (the planted shares) and the joint outcomes that
are reached, so a settlement from the data can be checked against them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from utfall.synth._io import NullProgress, ProgressReporter, TableInfo, write_csv

__all__ = ["ACTORS", "generate"]

ACTORS = ("actor-1", "actor-2", "actor-3", "actor-4", "actor-5")
PERIOD_ENDS = (date(2021, 12, 31), date(2022, 6, 30), date(2022, 12, 31), date(2023, 6, 30))
DELIVERY = (0.97, 0.88, 1.0, 0.8, 0.93)  # share of agreed activities each actor delivers
ATTAINMENT = (0.9, 0.55, 0.75, 0.3, 1.0)  # share of agreed process outcomes attained
JOINT_OUTCOMES = (
    "reduced_inflow_into_crime",
    "improved_school_attendance",
    "more_young_people_in_leisure_activities",
    "fewer_police_reports_among_young_people",
)
JOINT_REACHED = (True, True, True, False)  # three of four: the pot is not released


def generate(
    out: Path,
    *,
    seed: int,
    size: int | None = None,
    csv: bool = False,
    progress: ProgressReporter | None = None,
    contract_tables: bool = True,
) -> dict[str, Any]:
    """Write the actors' reports and the joint-outcome assessment into ``out``.

    ``size`` is the number of half-year reporting periods (default 4, at most 4).
    The tables are always CSV (they are the contract's import files).
    """
    periods = len(PERIOD_ENDS) if size is None else size
    if not 1 <= periods <= len(PERIOD_ENDS):
        raise ValueError(f"size must be 1 to {len(PERIOD_ENDS)} reporting periods")
    progress = progress or NullProgress()
    progress.start("early-support: reports", periods * len(ACTORS))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    rows: dict[str, list[Any]] = {
        "period_end": [],
        "actor": [],
        "activities_agreed": [],
        "activities_delivered": [],
        "process_outcomes_agreed": [],
        "process_outcomes_attained": [],
    }
    totals = {a: [0, 0, 0, 0] for a in ACTORS}
    for period_end in PERIOD_ENDS[:periods]:
        for k, actor in enumerate(ACTORS):
            agreed = int(rng.integers(40, 81))
            delivered = int(rng.binomial(agreed, DELIVERY[k]))
            process_agreed = int(rng.integers(6, 11))
            attained = int(rng.binomial(process_agreed, ATTAINMENT[k]))
            for column, value in zip(
                rows, (period_end, actor, agreed, delivered, process_agreed, attained), strict=True
            ):
                rows[column].append(value)
            for i, value in enumerate((agreed, delivered, process_agreed, attained)):
                totals[actor][i] += value
            progress.advance(1)
    tables: list[TableInfo] = []
    tables.append(write_csv(out, "actor_reports", pa.table(rows)))
    tables.append(
        write_csv(
            out,
            "joint_outcomes",
            pa.table(
                {
                    "assessed_on": [PERIOD_ENDS[periods - 1]] * len(JOINT_OUTCOMES),
                    "outcome": list(JOINT_OUTCOMES),
                    "reached": list(JOINT_REACHED),
                }
            ),
        )
    )
    planted = {
        "method": "aggregate",
        "delivery_rate": dict(zip(ACTORS, DELIVERY, strict=True)),
        "attainment_rate": dict(zip(ACTORS, ATTAINMENT, strict=True)),
        "activity_delivered": {a: t[1] / t[0] for a, t in totals.items()},
        "process_outcomes_attained": {a: t[3] / t[2] for a, t in totals.items()},
        "joint_outcomes_attained": sum(JOINT_REACHED) / len(JOINT_REACHED),
    }
    return {
        "tables": {t.name: t.as_dict() for t in tables},
        "contracts": ["hasselby-vallingby-early-support"],
        "planted": planted,
    }
