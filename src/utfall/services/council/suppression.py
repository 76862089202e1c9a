"""Small-cell suppression: no published aggregate describes fewer than 5 individuals.

DESIGN.md 5: "Published aggregates suppress cells with fewer than 5 individuals."
Every subgroup or measurement-point table of the council dashboard passes through
:func:`suppress_cells` before it is stored, shown, exported or printed, so the rule
is written once. A suppressed cell loses its figures *and* its label: the row says
only that cells were suppressed, so not even the existence of a group of 1–4
people is published. A share (who improved, who reached a goal) is published only
when both those who did and those who did not number five or more
(:func:`publishable_share`). When exactly one cell of a table is suppressed, the smallest
other cell is suppressed too (secondary suppression), so the hidden cell cannot
be recovered by subtracting the shown cells from a shown total.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from utfall.core.privacy import MIN_CELL, complementary_cell, is_publishable, publishable_share

__all__ = ["MIN_CELL", "SUPPRESSED", "is_publishable", "publishable_share", "suppress_cells"]

SUPPRESSED = "suppressed"


def suppress_cells(
    rows: Iterable[Mapping[str, Any]],
    *,
    count: str = "n",
    keep: Sequence[str] = (),
    secondary: bool = True,
) -> list[dict[str, Any]]:
    """The rows with every cell of fewer than :data:`MIN_CELL` individuals blanked out.

    ``count`` names the key holding the number of individuals behind a row.
    A suppressed row keeps only the keys in ``keep`` (which must not identify the
    cell, e.g. a measurement point or a dimension shared by the table) and gets
    ``suppressed: True``; publishable rows get ``suppressed: False``. With
    ``secondary`` a lone suppressed cell takes the next-smallest cell with it.
    """
    table = [dict(row) for row in rows]
    small = [i for i, row in enumerate(table) if not is_publishable(row.get(count))]
    extra = complementary_cell([row.get(count) for row in table], small) if secondary else None
    if extra is not None:
        small.append(extra)
    out = []
    for i, row in enumerate(table):
        if i in small:
            hidden = {key: row[key] for key in keep if key in row}
            hidden[SUPPRESSED] = True
            out.append(hidden)
        else:
            row[SUPPRESSED] = False
            out.append(row)
    # Suppressed rows go last and collapse into one, so their number says nothing either.
    shown = [row for row in out if not row[SUPPRESSED]]
    hidden_rows = [row for row in out if row[SUPPRESSED]]
    seen: set[tuple[Any, ...]] = set()
    for row in hidden_rows:
        kept = tuple(row.get(key) for key in keep)
        if kept not in seen:
            seen.add(kept)
            shown.append(row)
    return shown
