"""The fund's budget by actor and year for the dashboard (seed 003 table 12).

The figures come from the core (:func:`utfall.core.fund.budget_by_actor`); this module
only names the actors in the active language and groups the rows per actor.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy

from utfall.core.fund import Actor, ActorYear, FundState, budget_by_actor

__all__ = ["ACTOR_LABELS", "actor_table"]

ACTOR_LABELS = {
    Actor.STATE: gettext_lazy("State actors (delegation, agencies, academia)"),
    Actor.SKR_RISE: gettext_lazy("SKR and RISE"),
    Actor.CONSTELLATIONS: gettext_lazy("Constellations"),
}
FIGURES = ("budget", "committed", "paid", "headroom", "lapsed")


def _grouped(rows: Sequence[ActorYear]) -> list[dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = table.setdefault(
            row.actor,
            {
                "label": str(ACTOR_LABELS.get(row.actor, row.actor)),
                "years": [],
                **{key: Decimal("0.00") for key in FIGURES},
            },
        )
        entry["years"].append(row)
        for key in FIGURES:
            entry[key] += getattr(row, key)
    return list(table.values())


def actor_table(state: FundState, *, today: date) -> list[dict[str, Any]]:
    """One entry per actor: its label, its rows per year and its totals over the years
    (empty when the fund's budget has no split by actor)."""
    return _grouped(budget_by_actor(state, today=today))
