"""The small-cell rule, written once: no published aggregate describes fewer than 5 people.

DESIGN.md 5: "Published aggregates suppress cells with fewer than 5 individuals."
A share (who improved, who reached an outcome) describes two cells, those who did
and those who did not, and both must hold at least :data:`MIN_CELL` individuals.
The council's tables (:mod:`utfall.services.council.suppression`) and the knowledge
platform's open data (:mod:`utfall.services.knowledge`) both apply this rule, each
adding secondary suppression for its own table shapes.
"""

from __future__ import annotations

__all__ = ["MIN_CELL", "is_publishable", "publishable_share", "small_cell_reason"]

MIN_CELL = 5


def is_publishable(count: int | None) -> bool:
    """Whether an aggregate over ``count`` individuals may be published."""
    return count is not None and count >= MIN_CELL


def small_cell_reason(n: int, count: int | None = None) -> str | None:
    """Why a group of ``n`` (of whom ``count`` reached the outcome) must be withheld, or None."""
    if n < MIN_CELL:
        return f"fewer than {MIN_CELL} individuals in the group"
    if count is not None and count < MIN_CELL:
        return f"fewer than {MIN_CELL} individuals reached the outcome"
    if count is not None and n - count < MIN_CELL:
        return f"fewer than {MIN_CELL} individuals did not reach the outcome"
    return None


def publishable_share(count: int, total: int) -> float | None:
    """``count / total``, or None when it would reveal a cell of fewer than 5 people."""
    if small_cell_reason(total, count) is not None:
        return None
    return count / total
