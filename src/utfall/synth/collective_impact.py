"""Synthetic investment round of the collective-impact platform (DESIGN.md 2.3, seed 004).

Region Stockholm, civil-society actors such as Folkets Husby and Leksell Social
Ventures run a social investment platform in a socio-economically vulnerable area.
One round: the solution proposals (each attested against principle 2, needs
identified in an inclusive process, and principle 3, evidence and assumptions
published), the investment committee's votes by sector (principle 4, decisions
across sectors) and the effect reports published openly. The tables are those the
``region-stockholm-collective-impact`` contract declares (``proposals``,
``committee_votes``, ``effect_reports``), as CSV. The manifest records what was
planted: each sector's approval and the amount of the proposals meeting both
principles, so a settlement from the data can be checked against them.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from utfall.synth._io import NullProgress, ProgressReporter, TableInfo, write_csv

__all__ = ["COMMITTEE", "generate"]

# Members per sector and how many of them approve the round's portfolio: a majority in
# each sector, so the decision is cross-sector (principle 4).
COMMITTEE = {"public": (3, 3), "civil_society": (4, 3), "private": (3, 2)}
SUBMITTED_ON = date(2024, 3, 1)
DECIDED_ON = date(2024, 5, 15)
REPORTED_ON = date(2025, 3, 31)
DEFAULT_PROPOSALS = 8
MAX_PROPOSALS = 200


def _proposals(rng: np.random.Generator, count: int) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = {
        "submitted_on": [],
        "proposal": [],
        "amount_sek": [],
        "needs_identified": [],
        "assumptions_published": [],
    }
    for k in range(count):
        # Whole thousands of kronor between 150 000 and 1 200 000.
        amount = Decimal(int(rng.integers(150, 1201)) * 1000)
        # The first proposal always meets both principles and the second always fails
        # principle 3, so every round shows both branches.
        needs = True if k < 2 else bool(rng.random() < 0.85)
        published = (k != 1) and (True if k == 0 else bool(rng.random() < 0.8))
        for column, value in zip(
            rows,
            (SUBMITTED_ON + timedelta(days=k), f"L-{k + 1:03d}", amount, needs, published),
            strict=True,
        ):
            rows[column].append(value)
    return rows


def generate(
    out: Path,
    *,
    seed: int,
    size: int | None = None,
    csv: bool = False,
    progress: ProgressReporter | None = None,
    contract_tables: bool = True,
) -> dict[str, Any]:
    """Write one investment round (proposals, committee votes, effect reports) into ``out``.

    ``size`` is the number of solution proposals (default 8, at most 200). The tables
    are always CSV (they are the contract's import files).
    """
    count = DEFAULT_PROPOSALS if size is None else size
    if not 1 <= count <= MAX_PROPOSALS:
        raise ValueError(f"size must be 1 to {MAX_PROPOSALS} solution proposals")
    progress = progress or NullProgress()
    members = sum(n for n, _ in COMMITTEE.values())
    progress.start("collective-impact: investment round", count + members + 1)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 11]))
    proposals = _proposals(rng, count)
    progress.advance(count)
    votes: dict[str, list[Any]] = {"decided_on": [], "member": [], "sector": [], "approve": []}
    number = 0
    for sector, (seats, approving) in COMMITTEE.items():
        ayes = set(rng.choice(seats, size=approving, replace=False).tolist())
        for seat in range(seats):
            number += 1
            votes["decided_on"].append(DECIDED_ON)
            votes["member"].append(f"M-{number:02d}")
            votes["sector"].append(sector)
            votes["approve"].append(seat in ayes)
    progress.advance(members)
    reports = {"published_on": [REPORTED_ON], "report": ["Effektrapport omgång 1"]}
    progress.advance(1)
    tables: list[TableInfo] = []
    amount_type = pa.decimal128(12, 2)
    tables.append(
        write_csv(
            out,
            "proposals",
            pa.table({**proposals, "amount_sek": pa.array(proposals["amount_sek"], amount_type)}),
        )
    )
    tables.append(write_csv(out, "committee_votes", pa.table(votes)))
    tables.append(write_csv(out, "effect_reports", pa.table(reports)))
    principled = sum(
        (
            a
            for a, n, p in zip(
                proposals["amount_sek"],
                proposals["needs_identified"],
                proposals["assumptions_published"],
                strict=True,
            )
            if n and p
        ),
        Decimal(0),
    )
    planted = {
        "method": "aggregate",
        "sector_approval": {
            sector: str(Fraction(approving, seats))
            for sector, (seats, approving) in COMMITTEE.items()
        },
        "principled_proposals_sek": str(principled),
        "effect_reports_published": 1,
        "cross_sector_decision": True,
    }
    return {
        "tables": {t.name: t.as_dict() for t in tables},
        "contracts": ["region-stockholm-collective-impact"],
        "planted": planted,
    }
