"""The fund's budget by actor and year: budget, committed, paid and headroom (seed 003 table 12).

A row per actor and budget year. For the constellations' line, *committed* is what
the fund promised the constellations for the year and *paid* what it paid them
(outcome payments and support); for the state actors and SKR with RISE, whose
lines pay the fund's own work, the whole line is committed (reserved: a
constellation can never be paid out of it) and *paid* is what is recorded as
operations under ``fund:<actor>``.

*Headroom* is what the line can still take on: the budget less what is paid and
still outstanding on commitments. A year that has passed has no headroom (a state
appropriation is yearly and does not carry over); what it did not pay is shown as
*lapsed* instead, so a past year never looks as if money were still there to spend.
Only the constellations' line can lapse here: the other lines are reserved for the fund's
own work, whose spending is booked outside the fund's ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from utfall.core.fund.budget import (
    RESERVED_PREFIX,
    FundState,
    PaymentKind,
)

__all__ = ["ActorYear", "budget_by_actor"]

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ActorYear:
    """One actor in one budget year."""

    actor: str
    year: int
    budget: Decimal
    committed: Decimal
    paid: Decimal
    headroom: Decimal
    lapsed: Decimal
    is_past: bool


def _constellations(state: FundState, year: int) -> list[str]:
    return sorted(
        {
            c.constellation
            for c in state.commitments
            if c.year == year and not c.constellation.startswith(RESERVED_PREFIX)
        }
    )


def budget_by_actor(state: FundState, *, today: date) -> list[ActorYear]:
    """Per actor (in the split's order) and year: budget, committed, paid, headroom, lapsed.

    Empty when the state has no split by actor.
    """
    actors = state.actors
    if actors is None:
        return []
    years = sorted({line.year for line in actors.lines} | set(state.budget.years))
    rows = []
    for actor in actors.actors:
        for year in years:
            budget = actors.amount(actor, year)
            is_past = year < today.year
            if actor == actors.payee:
                names = _constellations(state, year)
                committed = sum((state.committed(year=year, constellation=c) for c in names), ZERO)
                paid = state.paid_to_constellations(year)
                outstanding = sum(
                    (state.outstanding(year=year, constellation=c) for c in names), ZERO
                )
            else:
                committed = budget
                paid = state.paid(
                    year=year,
                    constellation=f"{RESERVED_PREFIX}{actor}",
                    kind=PaymentKind.OPERATIONS,
                )
                outstanding = max(committed - paid, ZERO)
            if is_past:
                # A reserved line's own work is booked outside the fund's ledger: nothing
                # of it is known to have lapsed.
                spent = paid if actor == actors.payee else max(committed, paid)
                headroom, lapsed = ZERO, max(budget - spent, ZERO)
            else:
                headroom, lapsed = budget - paid - outstanding, ZERO
            rows.append(ActorYear(actor, year, budget, committed, paid, headroom, lapsed, is_past))
    return rows
