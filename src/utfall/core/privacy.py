"""The small-cell rule, written once: no published aggregate describes fewer than 5 people.

DESIGN.md 5: "Published aggregates suppress cells with fewer than 5 individuals."
A share (who improved, who reached an outcome) describes two cells, those who did
and those who did not, and both must hold at least :data:`MIN_CELL` individuals.
The council's tables (:mod:`utfall.services.council.suppression`) and the knowledge
platform's open data (:mod:`utfall.services.knowledge`) both apply this rule and
the secondary suppression of :func:`complementary_cell`, each on its own table shape.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

__all__ = [
    "MIN_CELL",
    "complementary_cell",
    "is_publishable",
    "publishable_share",
    "small_cell_reason",
]

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


def complementary_cell(sizes: Sequence[int | None], withheld: Collection[int]) -> int | None:
    """The cell to withhold as well, so that a withheld cell cannot be derived.

    ``sizes`` are the numbers of individuals in sibling cells that add up to a shown
    total, ``withheld`` the positions already withheld. With exactly one withheld, it
    could be recovered by subtracting the others from the total, so the smallest
    other non-empty cell (the first of equals) goes too. None when no more is needed,
    or when no other cell is left (the caller must then withhold the total).
    """
    if len(withheld) != 1:
        return None
    others = [i for i, size in enumerate(sizes) if i not in withheld and size]
    return min(others, key=lambda i: sizes[i] or 0) if others else None
