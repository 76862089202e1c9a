"""What the council tests share (imported by name; ``conftest`` modules are not, since
several test directories have one)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from utfall.services.contracts import contract_load, facts_load
from utfall.services.council import DashboardInput, dashboard_build

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
# The age band of four included children: a subgroup that must never be published.
SMALL_GROUP = "ZZ4"
# The contract period's start in the example sick-leave contracts.
SICK_LEAVE_START = dt.date(2019, 1, 1)


def sick_leave_month(index: int) -> dt.date:
    """The first day of month ``index`` counted from the contract period's start (0)."""
    month = SICK_LEAVE_START.month - 1 + index
    return dt.date(SICK_LEAVE_START.year + month // 12, month % 12 + 1, 1)


def botkyrka_dashboard(participants, records, as_of: dt.date, *, reps: int) -> dict:
    """The dashboard of Botkyrka's example contract (and facts) on the given frames."""
    return dashboard_build(
        DashboardInput(
            contract=contract_load(EXAMPLES / "contracts" / "sick-leave-botkyrka.yaml"),
            participants=participants,
            records=records,
            as_of=as_of,
            facts=facts_load(EXAMPLES / "facts" / "sick-leave-botkyrka.yaml"),
            facts_source="examples/facts/sick-leave-botkyrka.yaml",
            reps=reps,
        )
    )
