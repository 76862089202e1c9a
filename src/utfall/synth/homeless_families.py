"""Synthetic households and their outcomes for the Malmö homeless-families rate card.

Seed 004 names a pre-study in Malmö on a social outcome contract that links social and
labour-market work to housing solutions for homeless families and low-income
households. The scenario writes the two tables the ``malmo-homeless-families``
contract declares, as CSV:

* ``participants.csv`` — ``participant`` (a household case reference ``HH-0001``,
  nothing like a personnummer), ``included_on`` (2025-01 … 2026-06), ``left_on``
  (empty for most) and ``household_type`` (``family`` or ``low_income``);
* ``events.csv`` — ``participant``, ``outcome`` (``moved_in``, ``housed_12_months``,
  ``work_or_studies``), ``achieved_on`` and ``evidence``, up to the data cut-off
  (2027-12-31).

The model. A household moves into a housing solution of its own with probability
``P_MOVED_IN`` by type, an exponential time (mean ``MOVE_MONTHS``) after inclusion;
having moved in it is still housed 12 months later with probability ``P_STAYS``; an
adult is in work or studies with probability ``P_WORK`` after an exponential time
(mean ``WORK_MONTHS``). A share of the households leave the programme early (nothing
is reported after that). Planted so every rule of the rate card has work: a
"12 months housed" reported for a household that never moved in, and a few events
without evidence. The manifest records every rate and the number of events of each
kind.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from utfall.synth._io import NullProgress, ProgressReporter, write_csv

__all__ = ["DEFAULT_SIZE", "generate"]

DEFAULT_SIZE = 200
MAX_SIZE = 5_000
INCLUSION_START = dt.date(2025, 1, 1)
INCLUSION_DAYS = (dt.date(2026, 7, 1) - INCLUSION_START).days  # eighteen months of intake
DATA_END = dt.date(2027, 12, 31)
FAMILY_SHARE = 0.6
P_MOVED_IN = {"family": 0.7, "low_income": 0.6}
MOVE_MONTHS = 4.0
P_STAYS = 0.8
P_WORK = {"family": 0.35, "low_income": 0.45}
WORK_MONTHS = 8.0
LEAVE_SHARE = 0.15
NO_EVIDENCE = 0.03
DAYS_PER_MONTH = 30.4375
OUTCOMES = ("moved_in", "housed_12_months", "work_or_studies")
EVIDENCE = {
    "moved_in": "hyreskontrakt",
    "housed_12_months": "hyresavi",
    "work_or_studies": "anställnings- eller studieintyg",
}


def generate(
    out: Path,
    *,
    seed: int,
    size: int | None = None,
    csv: bool = False,
    progress: ProgressReporter | None = None,
) -> dict[str, Any]:
    """Write ``participants.csv`` (households) and ``events.csv`` into ``out``.

    ``size`` is the number of households (default 200, at most 5,000). The tables are
    the contract's declared tables, so they are CSV whether or not ``csv`` is asked for.
    """
    del csv  # the declared tables are always written as CSV
    count = DEFAULT_SIZE if size is None else size
    if not 1 <= count <= MAX_SIZE:
        raise ValueError(f"size must be 1 to {MAX_SIZE} households")
    progress = progress or NullProgress()
    progress.start("homeless-families: households", count)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 13]))
    end = DATA_END
    households: dict[str, list[Any]] = {
        "participant": [],
        "included_on": [],
        "left_on": [],
        "household_type": [],
    }
    events: list[tuple[str, str, dt.date]] = []
    for k in range(count):
        reference = f"HH-{k + 1:04d}"
        kind = "family" if rng.random() < FAMILY_SHARE else "low_income"
        included = INCLUSION_START + dt.timedelta(days=int(rng.integers(0, INCLUSION_DAYS)))
        leaves = rng.random() < LEAVE_SHARE
        left = included + dt.timedelta(days=int(rng.integers(60, 540))) if leaves else None
        last = min(end, left) if left is not None else end
        households["participant"].append(reference)
        households["included_on"].append(included)
        households["left_on"].append(left)
        households["household_type"].append(kind)
        # Planted in every 50 households: a 12-month outcome reported without the move it
        # requires.
        planted = k % 50 == 3
        if not planted and rng.random() < P_MOVED_IN[kind]:
            moved = included + dt.timedelta(days=int(rng.exponential(MOVE_MONTHS * DAYS_PER_MONTH)))
            if moved <= last:
                events.append((reference, "moved_in", moved))
                stayed = moved + dt.timedelta(days=365)
                if rng.random() < P_STAYS and stayed <= last:
                    events.append((reference, "housed_12_months", stayed))
        elif planted:
            events.append((reference, "housed_12_months", included + dt.timedelta(days=400)))
        if rng.random() < P_WORK[kind]:
            work = included + dt.timedelta(days=int(rng.exponential(WORK_MONTHS * DAYS_PER_MONTH)))
            if work <= last:
                events.append((reference, "work_or_studies", work))
        progress.advance(1)
    events.sort(key=lambda e: (e[0], e[2], OUTCOMES.index(e[1])))
    missing = rng.random(len(events)) < NO_EVIDENCE
    if len(events) and not missing.any():
        missing[0] = True
    table = pa.table(
        {
            "participant": pa.array([e[0] for e in events], pa.string()),
            "outcome": pa.array([e[1] for e in events], pa.string()),
            "achieved_on": pa.array([e[2] for e in events], pa.date32()),
            "evidence": pa.array(
                [None if m else EVIDENCE[e[1]] for e, m in zip(events, missing, strict=True)],
                pa.string(),
            ),
        }
    )
    people = pa.table(
        {
            "participant": pa.array(households["participant"], pa.string()),
            "included_on": pa.array(households["included_on"], pa.date32()),
            "left_on": pa.array(households["left_on"], pa.date32()),
            "household_type": pa.array(households["household_type"], pa.string()),
        }
    )
    tables = [write_csv(out, "participants", people), write_csv(out, "events", table)]
    by_outcome = {o: sum(1 for e in events if e[1] == o) for o in OUTCOMES}
    return {
        "tables": {t.name: t.as_dict() for t in tables},
        "contracts": ["malmo-homeless-families"],
        "planted": {
            "households": count,
            "families": households["household_type"].count("family"),
            "rates": {
                "family_share": FAMILY_SHARE,
                "p_moved_in": dict(P_MOVED_IN),
                "move_months_mean": MOVE_MONTHS,
                "p_stays_12_months": P_STAYS,
                "p_work_or_studies": dict(P_WORK),
                "work_months_mean": WORK_MONTHS,
                "leave_share": LEAVE_SHARE,
                "no_evidence": NO_EVIDENCE,
            },
            "events_by_outcome": by_outcome,
            "events_without_evidence": int(missing.sum()),
            "inclusion": [INCLUSION_START.isoformat(), "2026-06-30"],
            "data_end": DATA_END.isoformat(),
        },
    }
