"""Releases of the council dashboard to roles that see aggregates only (decision 0610).

A role without the individual status list (the financier) sees the dashboard only on the
council's **reporting dates** — the quarter ends within the contract's periods, up to the
latest data (:func:`reporting_dates`) — and every figure about people in such a release
passes two rules on top of the small-cell rule of each release (decision 0402):

* **small releases**: a release counting 1–4 included people shows no settlement ("what
  the contract would pay today", its series and break-even month), no projection, and no
  figure an input takes from a suppressed panel (:func:`suppress_small`);
* **differences**: a figure is withheld when its difference from the same figure in any
  release already published describes 1–4 people — the count behind it (a panel's groups,
  a month's children, a subgroup's, an outcome's) differs by 1–4
  (:func:`suppress_differences`). Every release is compared with every release published
  before it, so between any two releases shown the counts behind a figure shown in both
  are equal or differ by five or more; a total's or a mean's difference never describes
  fewer than five people.

Each figure is a **cell** keyed by where it sits (``panel:costs:month:3``); its counts
are what :func:`release_cells` reads. A withheld cell looks exactly like a small one (a
suppressed panel, a collapsed subgroup row, a month left out), and a subgroup table whose
lone withheld row would be recovered from the total loses its next smallest row too.
This module is pure: the platform stores each release with its cells and passes the
cells of the releases published before.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from utfall.core.privacy import MIN_CELL
from utfall.services.council.suppression import SUPPRESSED

__all__ = [
    "PANEL_KEYS",
    "Cells",
    "describes_few",
    "quarter_end",
    "release_cells",
    "reporting_dates",
    "suppress_differences",
    "suppress_small",
]

Cells = dict[str, dict[str, int]]
"""cell key → the counts of people behind the figure (by what they count)."""

PANEL_KEYS = (
    "id",
    "evaluation",
    "method",
    "kind",
    "label",
    "description",
    "table",
    "table_label",
    "outcome",
    "outcome_label",
    "outcome_unit",
    "paid",
    "status",
    "people",
    "bound",
)
"""What a suppressed panel keeps (the same keys whichever rule withheld it)."""


def quarter_end(day: dt.date) -> dt.date:
    """The last day of the quarter ``day`` lies in."""
    month = (day.month - 1) // 3 * 3 + 3
    following = dt.date(day.year + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def reporting_dates(*, start: dt.date, end: dt.date, last: dt.date | None) -> list[dt.date]:
    """The quarter ends from ``start`` to ``end`` (the contract's periods) that are not
    after ``last`` (the latest day with data, or today if earlier); none without data."""
    if last is None:
        return []
    stop = min(end, last)
    out = []
    day = quarter_end(start)
    while day <= stop:
        out.append(day)
        day = quarter_end(day + dt.timedelta(days=1))
    return out


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _counts(**values: Any) -> dict[str, int]:
    return {key: count for key, value in values.items() if (count := _count(value)) is not None}


def _panel_cells(panel: Mapping[str, Any]) -> Cells:
    """The cells of one shown panel: the panel, its months, projection, subgroup rows,
    outcomes and funnel months."""
    if panel.get("status") != "ok":
        return {}
    base = f"panel:{panel['id']}"
    out: Cells = {}
    people = panel.get("people") or {}
    figures = panel.get("figures") or {}
    estimate = panel.get("estimate") or {}
    whole = _counts(
        treated=people.get("treated"),
        control=people.get("control"),
        paid=figures.get("participants_paid"),
    )
    if panel.get("kind") == "funnel" and "treated" not in whole:
        whole.update(_counts(treated=estimate.get("n_treated")))
    if whole:
        out[base] = whole
    for row in panel.get("monthly") or []:
        counts = _counts(
            n=row.get("n"), contract=row.get("n_contract"), reference=row.get("n_reference")
        )
        if counts:
            out[f"{base}:month:{row['month']}"] = counts
    projection = panel.get("projection")
    if isinstance(projection, dict) and _count(projection.get("individuals")) is not None:
        out[f"{base}:projection"] = {"n": projection["individuals"]}
    for group in panel.get("subgroups") or []:
        for row in group.get("rows") or []:
            if row.get(SUPPRESSED) or "level" not in row:
                continue
            counts = _counts(treated=row.get("n_treated"), control=row.get("n_control"))
            if counts:
                out[f"{base}:subgroup:{group['column']}:{row['level']}"] = counts
    for row in panel.get("outcomes") or []:
        if not row.get(SUPPRESSED):
            counts = _counts(count=row.get("count"), achieved=row.get("achieved"))
            if counts:
                out[f"{base}:outcome:{row['outcome']}"] = counts
    for row in panel.get("funnel") or []:
        counts = _counts(**{k: v for k, v in row.items() if k not in ("month", "earned", "cap")})
        if counts:
            out[f"{base}:funnel:{row['month']}"] = counts
    return out


def release_cells(dashboard: Mapping[str, Any]) -> Cells:
    """Every figure about people the release shows, with the counts behind it."""
    out: Cells = {}
    participants = dashboard.get("participants") or {}
    included = _count(participants.get("included"))
    heads = _counts(included=included, left=participants.get("left"))
    if heads:
        out["participants"] = heads
    settlement = dashboard.get("settlement") or {}
    if included is not None and settlement.get("error") != SUPPRESSED:
        out["settlement"] = {"included": included}
    for panel in dashboard.get("panels") or []:
        out.update(_panel_cells(panel))
    return out


def describes_few(counts: Mapping[str, int], earlier: Mapping[str, int] | None) -> bool:
    """Whether the difference of a figure from an earlier release of it describes 1–4
    people: a count behind it differs by 1 to :data:`MIN_CELL` − 1."""
    if earlier is None:
        return False
    return any(
        0 < abs(count - earlier[key]) < MIN_CELL for key, count in counts.items() if key in earlier
    )


# --- withholding a cell ------------------------------------------------------------------


def _hide_settlement(dashboard: dict[str, Any]) -> None:
    settlement = dashboard.get("settlement") or {}
    dashboard["settlement"] = {
        "error": SUPPRESSED,
        "missing": [],
        "facts_source": None,
        "entered": [],
        **(
            {"contract_sha256": settlement["contract_sha256"]}
            if "contract_sha256" in settlement
            else {}
        ),
    }
    dashboard["series"] = []
    if dashboard.get("break_even"):
        dashboard["break_even"] = {
            "plan": dashboard["break_even"].get("plan"),
            "status": SUPPRESSED,
        }
    for panel in dashboard.get("panels") or []:
        for row in panel.get("bound") or []:
            row["value"] = None
            row["settled"] = False
            row.pop("met", None)


def _hide_panel(panel: dict[str, Any]) -> dict[str, Any]:
    hidden = {key: panel[key] for key in PANEL_KEYS if key in panel}
    hidden["status"] = SUPPRESSED
    hidden["people"] = {"treated": None, "control": None}
    hidden["bound"] = [_bound_without_figure(row) for row in panel.get("bound") or []]
    return hidden


def _bound_without_figure(row: Mapping[str, Any]) -> dict[str, Any]:
    shown = {key: value for key, value in row.items() if key != "figure"}
    if "figure" in row and not row.get("settled"):
        shown.pop("met", None)
    return shown


def _hide_months(panel: dict[str, Any], months: set[str]) -> None:
    rows = []
    after = False
    for row in panel.get("monthly") or []:
        if str(row["month"]) in months:
            after = True
            continue
        if after and "cumulative" in row:
            row = {**row, "cumulative": None}
        rows.append(row)
    panel["monthly"] = rows


def _cell_of(row: Mapping[str, Any]) -> int:
    groups = [n for n in (row.get("n_treated"), row.get("n_control")) if isinstance(n, int) and n]
    return min(groups) if groups else 0


def _hide_levels(group: dict[str, Any], levels: set[str]) -> None:
    """Withhold the rows of ``levels``; a lone withheld row takes the next smallest with it
    (as within a release), and the withheld rows collapse into one."""
    rows = group.get("rows") or []
    already = any(row.get(SUPPRESSED) for row in rows)
    shown = [row for row in rows if not row.get(SUPPRESSED) and row.get("level") not in levels]
    withheld = len(rows) - len(shown) - (1 if already else 0)
    if not already and withheld == 1 and shown:
        shown.remove(min(shown, key=_cell_of))
    if len(shown) < len(rows):
        shown.append({SUPPRESSED: True})
    group["rows"] = shown


def _hide_outcomes(panel: dict[str, Any], outcomes: set[str]) -> None:
    for row in panel.get("outcomes") or []:
        if row.get("outcome") in outcomes:
            for key in ("count", "achieved", "value"):
                row.pop(key, None)
            row[SUPPRESSED] = True


def _hide_funnel_months(panel: dict[str, Any], months: set[str]) -> None:
    for row in panel.get("funnel") or []:
        if str(row.get("month")) in months:
            for key in list(row):
                if key not in ("month", "cap"):
                    row[key] = None


def _hide(dashboard: dict[str, Any], keys: set[str]) -> None:
    if "participants" in keys and dashboard.get("participants"):
        dashboard["participants"] = {
            **dashboard["participants"],
            "included": None,
            "left": None,
            "rows": None,
        }
    if "settlement" in keys:
        _hide_settlement(dashboard)
    panels = []
    for panel in dashboard.get("panels") or []:
        base = f"panel:{panel.get('id')}"
        if base in keys:
            panels.append(_hide_panel(panel))
            continue
        mine = {key[len(base) + 1 :] for key in keys if key.startswith(base + ":")}
        if mine:
            panel = copy.deepcopy(panel)
            _hide_months(panel, {k.split(":", 1)[1] for k in mine if k.startswith("month:")})
            if "projection" in mine:
                panel["projection"] = None
            for group in panel.get("subgroups") or []:
                prefix = f"subgroup:{group.get('column')}:"
                levels = {k[len(prefix) :] for k in mine if k.startswith(prefix)}
                if levels:
                    _hide_levels(group, levels)
            _hide_outcomes(panel, {k.split(":", 1)[1] for k in mine if k.startswith("outcome:")})
            _hide_funnel_months(
                panel, {k.split(":", 1)[1] for k in mine if k.startswith("funnel:")}
            )
        panels.append(panel)
    dashboard["panels"] = panels


def suppress_small(dashboard: Mapping[str, Any]) -> dict[str, Any]:
    """The release without what describes 1–4 people within it, beyond the dashboard's own
    rule: the settlement and the head counts of 1–4 included people, a projection over 1–4,
    the figures inputs take from suppressed panels, and the row counts of the tables."""
    shown = copy.deepcopy(dict(dashboard))
    shown.pop("individuals", None)
    participants = shown.get("participants") or {}
    included = _count(participants.get("included"))
    if included is not None and 0 < included < MIN_CELL:
        _hide_settlement(shown)
        shown["participants"] = {**participants, "included": None, "left": None}
    panels = []
    for panel in shown.get("panels") or []:
        if panel.get("status") == SUPPRESSED:
            panel = _hide_panel(panel)
        projection = panel.get("projection")
        if (
            isinstance(projection, dict)
            and not (_count(projection.get("individuals")) or 0) >= MIN_CELL
        ):
            panel["projection"] = None
        panels.append(panel)
    shown["panels"] = panels
    sources = shown.get("sources") or {}
    for table in sources.get("tables") or []:
        table["rows"] = None
    if shown.get("participants"):
        shown["participants"] = {**shown["participants"], "rows": None}
    return shown


def suppress_differences(
    dashboard: Mapping[str, Any], earlier: Iterable[Mapping[str, Mapping[str, int]]]
) -> tuple[dict[str, Any], Cells]:
    """The release (already through :func:`suppress_small`) with every cell withheld whose
    difference from the same cell of an earlier release describes 1–4 people; returns it
    with its cells as shown (what later releases are compared with)."""
    shown = copy.deepcopy(dict(dashboard))
    cells = release_cells(shown)
    before = list(earlier)
    withheld = {
        key
        for key, counts in cells.items()
        if any(describes_few(counts, e.get(key)) for e in before)
    }
    if withheld:
        # No note says why: a figure withheld here looks like one withheld for its size.
        _hide(shown, withheld)
    return shown, release_cells(shown)
