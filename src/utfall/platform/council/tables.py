"""The dashboard laid out as tables: one per chart, also its accessible form and its CSV.

The dashboard dict (:func:`utfall.services.council.dashboard_build`) holds panels
chosen by each evaluation's method; this module turns each panel into tables in the
user's language — declared labels (tables, columns, choices) from the contract in
Swedish or English, the generic headings through gettext. Pages, CSV downloads, the
JSON endpoint and the PDF report all show these tables (or the dict they come from),
so what is suppressed in the dashboard is suppressed everywhere. Nothing here names a
contract, a table or a column of one: the layout follows the panel's ``kind``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from utfall.core.exports import spreadsheet_row
from utfall.services.council.suppression import SUPPRESSED

THIN_SPACE = "\u202f"  # narrow no-break space: Swedish digit grouping
MAX_SHOWN_ROWS = 100
"""Rows a page shows of one table; the CSV holds them all."""

__all__ = [
    "Chart",
    "Column",
    "Table",
    "dashboard_sections",
    "dashboard_tables",
    "key_figures",
    "label",
    "panel_notes",
    "table_csv",
]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | money | number | share | int | bool | date


@dataclass(frozen=True)
class Chart:
    """What to draw from a table (charts.py): ``lines`` (one line per series over ``x``),
    ``area`` (a cumulative series with a marker at ``marker``), ``bars`` or ``hbars``."""

    type: str
    x: str
    x_title: str
    series: tuple[tuple[str, str], ...]
    y_title: str
    x_type: str = "Q"  # Q (number), O (ordered categories), T (dates)
    marker: Any = None
    marker_label: str = ""
    percent: bool = False


@dataclass
class Table:
    """One table of the dashboard; ``chart`` says what is drawn from it (charts.py)."""

    id: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    chart: Chart | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    total: int | None = None

    def cells(self, limit: int | None = MAX_SHOWN_ROWS) -> list[dict[str, Any]]:
        """Rows as shown: a suppressed row says so in its first column only."""
        shown = []
        for row in self.rows[:limit] if limit else self.rows:
            if row.get(SUPPRESSED):
                kept = [row.get(c.key) for c in self.columns if c.key in row]
                text = _("Suppressed (fewer than 5 individuals)")
                shown.append(
                    {
                        "suppressed": True,
                        "values": [*kept, text] + [""] * (len(self.columns) - len(kept) - 1),
                    }
                )
            else:
                shown.append(
                    {
                        "suppressed": False,
                        "values": [_format(row.get(c.key), c.kind) for c in self.columns],
                    }
                )
        return shown

    @property
    def truncated(self) -> bool:
        return len(self.rows) > MAX_SHOWN_ROWS


def _language() -> str:
    return "en" if (get_language() or "sv").startswith("en") else "sv"


def label(value: Any, fallback: str = "") -> str:
    """A declared label (``{"sv": …, "en": …}``) in the active language."""
    if isinstance(value, dict):
        return str(value.get(_language()) or value.get("sv") or fallback)
    if value is None:
        return fallback
    return str(value)


def _format(value: Any, kind: str) -> str:
    if value is None or value == "":
        return "–"
    if kind == "money":
        whole, _sep, fraction = str(value).partition(".")
        sign = "-" if whole.startswith("-") else ""
        digits = whole.lstrip("-")
        groups = []
        while digits:
            groups.insert(0, digits[-3:])
            digits = digits[:-3]
        return f"{sign}{THIN_SPACE.join(groups) or '0'}{',' + fraction if fraction else ''}"
    if kind == "share":
        return f"{float(value) * 100:.0f} %"
    if kind == "bool":
        return _("yes") if value in (True, "true") else _("no")
    if kind == "number":
        return f"{float(value):.2f}".replace(".", ",")
    if kind == "label":
        return label(value)
    return str(value)


def _money(value: Any) -> str:
    return _format(value, "money") + " SEK" if value is not None else "–"


def _interval(low: Any, high: Any, kind: str) -> str:
    if low is None or high is None:
        return ""
    return f"({_format(low, kind)} – {_format(high, kind)})"


def _value_kind(panel: dict[str, Any]) -> str:
    return "money" if (panel.get("estimate") or {}).get("unit") == "money" else "number"


def _unit_suffix(kind: str) -> str:
    return ", SEK" if kind == "money" else ""


# --- panels ------------------------------------------------------------------------------


def _cost_trajectory(panel: dict[str, Any]) -> list[Table]:
    rows = panel.get("monthly") or []
    months = [
        Column("month", _("Month since inclusion"), "int"),
        Column("n", _("Individuals observed"), "int"),
        Column("expected", _("Expected (reference), SEK"), "money"),
        Column("observed", _("Observed, SEK"), "money"),
        Column("saving", _("Saving, SEK"), "money"),
        Column("cumulative", _("Cumulative saving, SEK"), "money"),
    ]
    figures = panel.get("figures") or {}
    title = label(panel["label"])
    return [
        Table(
            f"{panel['id']}-monthly",
            _("%(evaluation)s: expected against observed by month since inclusion")
            % {"evaluation": title},
            months,
            rows,
            chart=Chart(
                "lines",
                "month",
                _("Month since inclusion"),
                (("expected", _("Expected (reference)")), ("observed", _("Observed"))),
                "SEK",
            ),
            description=panel.get("description") or "",
        ),
        Table(
            f"{panel['id']}-cumulative",
            _("%(evaluation)s: cumulative saving") % {"evaluation": title},
            months,
            rows,
            chart=Chart(
                "area",
                "month",
                _("Month since inclusion"),
                (("cumulative", _("Cumulative saving, SEK")),),
                _("Cumulative saving, SEK"),
                marker=figures.get("saving_positive_from_month"),
                marker_label=_("the saving stays positive from here"),
            ),
        ),
    ]


def _expected_observed(panel: dict[str, Any]) -> list[Table]:
    rows = panel.get("monthly") or []
    columns = [
        Column("month", _("Month"), "int"),
        Column("calendar", _("Calendar month")),
        Column("trend_ratio", _("Trend ratio"), "number"),
        Column("expected", _("Expected per individual (trend-adjusted)"), "number"),
        Column("observed", _("Observed per individual"), "number"),
        Column("saving", _("Saving per individual"), "number"),
        Column("cumulative", _("Cumulative saving per individual"), "number"),
    ]
    title = label(panel["label"])
    figures = panel.get("figures") or {}
    return [
        Table(
            f"{panel['id']}-monthly",
            _("%(evaluation)s: expected against observed per month") % {"evaluation": title},
            columns,
            rows,
            chart=Chart(
                "lines",
                "month",
                _("Month"),
                (
                    ("expected", _("Expected (trend-adjusted)")),
                    ("observed", _("Observed")),
                ),
                label(panel.get("outcome_label")) or _("Per individual"),
            ),
            description=panel.get("description") or "",
        ),
        Table(
            f"{panel['id']}-cumulative",
            _("%(evaluation)s: cumulative saving") % {"evaluation": title},
            columns,
            rows,
            chart=Chart(
                "area",
                "month",
                _("Month"),
                (("cumulative", _("Cumulative saving per individual")),),
                _("Cumulative saving per individual"),
                marker=figures.get("saving_positive_from_month"),
                marker_label=_("the saving stays positive from here"),
            ),
        ),
    ]


def _funnel(panel: dict[str, Any]) -> list[Table]:
    keys = panel.get("funnel_keys") or []
    columns = [Column("month", _("Month"))]
    series = []
    for key in keys:
        name = label(key["label"]) if key.get("label") else _("Included")
        columns.append(Column(key["key"], name, "int"))
        series.append((key["key"], name))
    title = label(panel["label"])
    rows = panel.get("funnel") or []
    tables = [
        Table(
            f"{panel['id']}-funnel",
            _("%(evaluation)s: included and each outcome over time") % {"evaluation": title},
            columns,
            rows,
            chart=Chart("lines", "month", _("Month"), tuple(series), _("Participants"), "T"),
            description=panel.get("description") or "",
        ),
        Table(
            f"{panel['id']}-earned",
            _("%(evaluation)s: earned so far against the cap") % {"evaluation": title},
            [
                Column("month", _("Month")),
                Column("earned", _("Earned so far, SEK"), "money"),
                Column("cap", _("Cap, SEK"), "money"),
            ],
            rows,
            chart=Chart(
                "lines",
                "month",
                _("Month"),
                (("earned", _("Earned so far")), ("cap", _("Cap"))),
                "SEK",
                "T",
            ),
        ),
        Table(
            f"{panel['id']}-outcomes",
            _("%(evaluation)s: outcomes achieved, paid and earned") % {"evaluation": title},
            [
                Column("label", _("Outcome"), "label"),
                Column("achieved", _("Achieved"), "int"),
                Column("count", _("Paid"), "int"),
                Column("value", _("Earned, SEK"), "money"),
            ],
            panel.get("outcomes") or [],
            chart=Chart("hbars", "label", _("Outcome"), (("count", _("Paid")),), _("Paid")),
        ),
    ]
    uncounted = panel.get("uncounted") or []
    if uncounted:
        tables.append(
            Table(
                f"{panel['id']}-uncounted",
                _("%(evaluation)s: events not paid, by reason") % {"evaluation": title},
                [Column("label", _("Reason"), "label"), Column("events", _("Events"), "int")],
                uncounted,
            )
        )
    return tables


def _before_after(panel: dict[str, Any]) -> list[Table]:
    figures = panel.get("figures") or {}
    title = label(panel["label"])
    if panel["method"] == "pre_post":
        rows = [
            {
                "group": _("Measured"),
                "before": figures.get("mean_before"),
                "after": figures.get("mean_after"),
            },
        ]
    else:
        rows = [
            {
                "group": _("Treated"),
                "before": figures.get("treated_before"),
                "after": figures.get("treated_after"),
            },
            {
                "group": _("Comparison"),
                "before": figures.get("control_before"),
                "after": figures.get("control_after"),
            },
        ]
    long_rows = [
        {"group": row["group"], "period": period_label, "mean": row[key]}
        for row in rows
        for key, period_label in (("before", _("Before")), ("after", _("After")))
    ]
    tables = [
        Table(
            f"{panel['id']}-before-after",
            _("%(evaluation)s: before and after") % {"evaluation": title},
            [
                Column("group", _("Group")),
                Column("period", _("When")),
                Column("mean", _("Mean"), "number"),
            ],
            long_rows,
            chart=Chart(
                "grouped_lines", "period", _("When"), (("mean", _("Mean")),), _("Mean"), "O"
            ),
            description=panel.get("description") or "",
        )
    ]
    return tables


def _aggregate(panel: dict[str, Any]) -> list[Table]:
    levels = panel.get("levels")
    if not levels:
        return []
    kind = _value_kind(panel) if panel.get("estimate", {}).get("unit") == "money" else "number"
    return [
        Table(
            f"{panel['id']}-levels",
            label(panel["label"]),
            [Column("label", _("Level"), "label"), Column("number", _("Value"), kind)],
            levels,
            chart=Chart("hbars", "label", _("Level"), (("number", _("Value")),), _("Value")),
            description=panel.get("description") or "",
        )
    ]


def _estimate(panel: dict[str, Any]) -> list[Table]:
    tables = []
    for series in panel.get("series") or []:
        rows = [{"position": i + 1, "value": v} for i, v in enumerate(series["values"])]
        tables.append(
            Table(
                f"{panel['id']}-{series['name']}".replace(".", "-").replace("_", "-"),
                f"{label(panel['label'])}: {series['name']}",
                [Column("position", _("Position"), "int"), Column("value", _("Value"), "number")],
                rows,
                chart=Chart(
                    "lines", "position", _("Position"), (("value", series["name"]),), _("Value")
                ),
            )
        )
    return tables


def _thresholds(panel: dict[str, Any]) -> list[Table]:
    rows = [row for row in panel.get("bound") or [] if "at_least" in row]
    if not rows:
        return []
    return [
        Table(
            f"{panel['id']}-thresholds",
            _("%(evaluation)s: the contract's thresholds") % {"evaluation": label(panel["label"])},
            [
                Column("input", _("Input")),
                Column("take", _("Figure")),
                Column("figure", _("Value"), "number"),
                Column("at_least", _("At least"), "number"),
                Column("met", _("Met"), "bool"),
            ],
            rows,
        )
    ]


def _subgroups(panel: dict[str, Any]) -> list[Table]:
    kind = _value_kind(panel)
    tables = []
    for group in panel.get("subgroups") or []:
        if not group.get("rows"):
            continue
        per_individual = any("per_individual" in row for row in group["rows"])
        columns = [
            Column("label", label(group["label"], group["column"]), "label"),
            Column("n_treated", _("Individuals"), "int"),
            Column("n_control", _("Comparison"), "int"),
            Column("shown", _("Estimate") + _unit_suffix(kind), kind),
        ]
        if per_individual:
            columns.append(Column("per_individual", _("Per individual, SEK"), "money"))
        columns += [
            Column("ci_low_shown", _("Interval, low"), kind),
            Column("ci_high_shown", _("Interval, high"), kind),
        ]
        y = "per_individual" if per_individual else "estimate"
        tables.append(
            Table(
                f"{panel['id']}-by-{group['column']}".replace("_", "-"),
                _("%(evaluation)s by %(subgroup)s")
                % {"evaluation": label(panel["label"]), "subgroup": label(group["label"])},
                columns,
                group["rows"],
                chart=Chart(
                    "bars",
                    "label",
                    label(group["label"], group["column"]),
                    ((y, columns[4].label if per_individual else columns[3].label),),
                    columns[4].label if per_individual else columns[3].label,
                    "O",
                ),
            )
        )
    return tables


def _event_study(panel: dict[str, Any]) -> list[Table]:
    """The event study: one row per period relative to adoption, drawn as points with
    interval bars, a zero line and the reference period marked."""
    block = panel.get("event_study")
    if not block:
        return []
    reference = block.get("reference")
    rows = [
        {**row, "reference": reference is not None and row["relative_period"] == reference}
        for row in block["rows"]
    ]
    test = block.get("pre_trend_test")
    if reference is not None:
        description = _(
            "The reference period is %(reference)s (its effect is 0 by definition)."
        ) % {"reference": reference}
    else:
        description = _(
            "Each period is compared with the last period before adoption; no period is "
            "left out as a reference."
        )
    if test and test.get("p_value") is not None:
        description += " " + _(
            "Joint test of no effect before adoption: p = %(p)s (%(df)s periods)."
        ) % {"p": number_format(test["p_value"], 3), "df": test.get("df")}
    return [
        Table(
            f"{panel['id']}-event-study",
            _("%(evaluation)s: effect by period relative to adoption")
            % {"evaluation": label(panel["label"])},
            [
                Column("relative_period", _("Period relative to adoption"), "int"),
                Column("estimate", _("Estimate"), "number"),
                Column("ci_low", _("Interval, low"), "number"),
                Column("ci_high", _("Interval, high"), "number"),
                Column("reference", _("Reference period"), "bool"),
            ],
            rows,
            chart=Chart(
                "event_study",
                "relative_period",
                _("Period relative to adoption"),
                (("estimate", _("Estimate")),),
                _("Estimate"),
                marker=reference,
                marker_label=_("Reference period"),
            ),
            description=description,
        )
    ]


LAYOUTS = {
    "cost_trajectory": _cost_trajectory,
    "expected_observed": _expected_observed,
    "funnel": _funnel,
    "before_after": _before_after,
    "aggregate": _aggregate,
    "estimate": _estimate,
    "event_study": _estimate,
}


def _named(panel: dict[str, Any]) -> list[Table]:
    rows = panel.get("named") or []
    if not rows:
        return []
    return [
        Table(
            f"{panel['id']}-figures",
            _("%(evaluation)s: the evaluation's named figures")
            % {"evaluation": label(panel["label"])},
            [Column("name", _("Figure")), Column("value", _("Value"))],
            rows,
            description=_("What a contract input may take from the evaluation, by name."),
        )
    ]


def panel_tables(panel: dict[str, Any]) -> list[Table]:
    """The tables of one panel, by its kind, then its thresholds, subgroups and the
    evaluation's named figures."""
    if panel.get("status") != "ok":
        return []
    tables = LAYOUTS.get(panel.get("kind", ""), _estimate)(panel)
    return [
        *tables,
        *_event_study(panel),
        *_thresholds(panel),
        *_subgroups(panel),
        *_named(panel),
    ]


def _settlement(dashboard: dict[str, Any]) -> list[Table]:
    settlement = dashboard.get("settlement") or {}
    if settlement.get("error") or not settlement.get("outputs"):
        return []
    tables = []
    if settlement.get("payments"):
        tables.append(
            Table(
                "settlement",
                _("What the contract would pay if it ended today"),
                [
                    Column("label", _("Payment")),
                    Column("from", _("From")),
                    Column("to", _("To")),
                    Column("amount", _("Amount, SEK"), "money"),
                ],
                settlement["payments"],
                chart=Chart("hbars", "label", _("Payment"), (("amount", "SEK"),), "SEK"),
            )
        )
    tables.append(
        Table(
            "outputs",
            _("The contract's figures today, with their formulas"),
            [
                Column("name", _("Figure")),
                Column("value", _("Value")),
                Column("formula", _("Formula")),
                Column("description", _("What it is")),
            ],
            [
                {
                    **row,
                    "value": ", ".join(row["value"])
                    if isinstance(row["value"], list)
                    else row["value"],
                }
                for row in settlement["outputs"]
            ],
        )
    )
    return tables


def _series(dashboard: dict[str, Any]) -> list[Table]:
    tables = []
    for series in dashboard.get("series") or []:
        kind = "money" if series.get("of") == "money" else "number"
        tables.append(
            Table(
                f"output-{series['name']}".replace("_", "-"),
                f"{series['name']}: {series['description']}"
                if series["description"]
                else series["name"],
                [
                    Column("position", _("Position"), "int"),
                    Column("shown", _("Value") + _unit_suffix(kind), kind),
                ],
                series["points"],
                chart=Chart(
                    "lines",
                    "position",
                    _("Position"),
                    (("value", series["name"]),),
                    _("Value") + _unit_suffix(kind),
                ),
            )
        )
    return tables


def _individuals(dashboard: dict[str, Any]) -> list[Table]:
    """The status list: pseudonym, inclusion, months since, end, and per participant's
    table the rows so far with the latest date (one column per table)."""
    individuals = dashboard.get("individuals")
    if not individuals:
        return []
    columns: list[Column] = []
    tables: list[str] = []
    for column in individuals["columns"]:
        kind = column["kind"]
        if kind == "pseudonym":
            columns.append(Column(column["key"], _("Pseudonym")))
        elif kind == "months":
            columns.append(Column(column["key"], _("Months since inclusion"), "int"))
        elif kind == "rows":
            tables.append(column["table"])
            columns.append(
                Column(
                    column["table"],
                    _("%(table)s: rows (latest)") % {"table": label(column["label"])},
                )
            )
        elif kind == "latest":
            continue
        else:
            columns.append(Column(column["key"], label(column.get("label"), column["key"])))
    rows = []
    for row in individuals["rows"]:
        shown = dict(row)
        for table in tables:
            count, latest = row.get(f"{table}.rows"), row.get(f"{table}.latest")
            shown[table] = f"{count} ({latest})" if latest else str(count or 0)
        rows.append(shown)
    return [
        Table(
            "individuals",
            _("Status per included individual (pseudonyms)"),
            columns,
            rows,
            total=individuals.get("total"),
        )
    ]


def _panel_note(panel: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": panel["id"],
        "title": label(panel["label"]),
        "status": panel["status"],
        "paid": panel.get("paid", False),
        "error": panel.get("error"),
    }


def dashboard_sections(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """The dashboard in page order, each item a table (``{"table": …}``) or a panel that
    shows no figures (``{"note": …}``): the evaluations the contract pays on, what it
    would pay today, the followed evaluations, the series among its figures, the status
    per individual."""
    panels = dashboard.get("panels") or []

    def of(selected: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for panel in selected:
            if panel.get("status") == "ok":
                items += [{"table": table} for table in panel_tables(panel)]
            else:
                items.append({"note": _panel_note(panel)})
        return items

    return [
        *of([p for p in panels if p.get("paid")]),
        *({"table": t} for t in _settlement(dashboard)),
        *of([p for p in panels if not p.get("paid")]),
        *({"table": t} for t in _series(dashboard)),
        *({"table": t} for t in _individuals(dashboard)),
    ]


def dashboard_tables(dashboard: dict[str, Any]) -> list[Table]:
    """Every table of the dashboard, in page order."""
    return [item["table"] for item in dashboard_sections(dashboard) if "table" in item]


def table_csv(table: Table) -> str:
    """The table as CSV (raw values; a suppressed row carries only the word ``suppressed``;
    text a spreadsheet would run as a formula is neutralised, decision 0623)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(spreadsheet_row([c.key for c in table.columns] + ["suppressed"]))
    for row in table.rows:
        if row.get(SUPPRESSED):
            writer.writerow(
                spreadsheet_row(
                    [row.get(c.key, "") if c.key in row else "" for c in table.columns] + ["true"]
                )
            )
        else:
            writer.writerow(
                spreadsheet_row([_csv_value(row.get(c.key)) for c in table.columns] + ["false"])
            )
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        return label(value)
    return value


# --- headline figures and notes ---------------------------------------------------------


def _panel_figures(panel: dict[str, Any]) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    title = label(panel["label"])
    estimate = panel.get("estimate") or {}
    kind = _value_kind(panel)
    figures = panel.get("figures") or {}
    if panel.get("status") != "ok":
        return out
    if panel["kind"] == "funnel":
        cap = figures.get("cap")
        out.append(
            (
                _("%(evaluation)s: earned so far") % {"evaluation": title},
                _money(figures.get("earned")),
                _("of the cap %(cap)s") % {"cap": _money(cap)} if cap else "",
            )
        )
        return out
    if panel["kind"] == "aggregate" and not panel.get("levels"):
        value = figures.get("value")
        out.append((title, _money(value) if kind == "money" else _format(value, "text"), ""))
        return out
    if estimate.get("shown") is not None and panel["kind"] != "aggregate":
        level = f"{(estimate.get('level') or 0.95) * 100:.0f} %"
        unit = panel.get("outcome_unit") or ""
        shown = (
            _money(estimate["shown"])
            if kind == "money"
            else f"{_format(estimate['shown'], 'number')} {unit}".strip()
        )
        out.append(
            (
                title,
                shown,
                _("%(level)s interval %(interval)s")
                % {
                    "level": level,
                    "interval": _interval(
                        estimate.get("ci_low_shown"), estimate.get("ci_high_shown"), kind
                    ),
                },
            )
        )
    if panel["kind"] == "cost_trajectory":
        month = figures.get("saving_positive_from_month")
        interval = figures.get("saving_positive_from_month_ci") or [None, None]
        out.append(
            (
                _("Month since inclusion from which the saving stays positive"),
                "–" if month is None else str(month),
                _("interval %(low)s – %(high)s")
                % {
                    "low": "–" if interval[0] is None else interval[0],
                    "high": _("not reached") if interval[1] is None else interval[1],
                },
            )
        )
        projection = panel.get("projection")
        if projection:
            out.append(
                (
                    _("Projected saving at month %(month)s since inclusion")
                    % {"month": (figures.get("horizon"))},
                    _money(projection["value"]),
                    _("uncertainty band %(interval)s")
                    % {"interval": _interval(projection["low"], projection["high"], "money")},
                )
            )
    return out


def key_figures(dashboard: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The headline figures: (label, value, note) each."""
    out: list[tuple[str, str, str]] = []
    settlement = dashboard.get("settlement") or {}
    if settlement.get("total") is not None:
        source = settlement.get("facts_source")
        out.append(
            (
                _("The contract would pay if it ended today"),
                _money(settlement["total"]),
                _("settled on the data as of %(day)s") % {"day": dashboard.get("as_of")}
                + (_("; other inputs from %(source)s") % {"source": source} if source else ""),
            )
        )
    break_even = dashboard.get("break_even")
    if break_even:
        if break_even.get("status") == "ok":
            out.append(
                (
                    _("The commissioner's break-even month (finance plan)"),
                    str(break_even["month"]),
                    _("from %(start)s the cumulative position stays at or above zero")
                    % {"start": break_even["start"][:7]},
                )
            )
        elif break_even.get("status") == "not_reached":
            out.append(
                (
                    _("The commissioner's break-even month (finance plan)"),
                    _("not reached"),
                    _("the cumulative position ends below zero"),
                )
            )
    participants = dashboard.get("participants")
    if participants and participants.get("included") is not None:
        out.append(
            (
                _("Included (%(unit)s)") % {"unit": label(participants.get("unit"))},
                str(participants["included"]),
                label(participants.get("label")),
            )
        )
    for panel in dashboard.get("panels") or []:
        if panel.get("paid"):
            out += _panel_figures(panel)
    return out


def panel_notes(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """The panels that show no figures, with why: an error (as the settlement gives it),
    data not imported yet, or a group too small to publish."""
    return [item["note"] for item in dashboard_sections(dashboard) if "note" in item]
