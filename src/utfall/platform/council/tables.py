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
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from utfall.core.exports import spreadsheet_row
from utfall.platform.i18n import active_language as _language
from utfall.platform.messages import error_said
from utfall.services import formatting
from utfall.services import labels as contract_labels
from utfall.services.council.suppression import SUPPRESSED

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
    "spreadsheet_csv",
    "table_csv",
]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | money | number | share | int | bool | date | label | typed
    # | pseudonym (shown as text, marked as a code to compare)


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
                        "values": [_cell(row, c) for c in self.columns],
                    }
                )
        return shown

    @property
    def hash_columns(self) -> list[int]:
        """The positions of the columns that hold pseudonyms: shown to be compared, not
        read as figures (the page marks their cells ``data-hash``)."""
        return [i for i, column in enumerate(self.columns) if column.kind == "pseudonym"]

    @property
    def truncated(self) -> bool:
        return len(self.rows) > MAX_SHOWN_ROWS


def label(value: Any, fallback: str = "") -> str:
    """A declared label (``{"sv": …, "en": …}``) in the active language."""
    if isinstance(value, dict):
        return str(value.get(_language()) or value.get("sv") or fallback)
    if value is None:
        return fallback
    return str(value)


def _money_places(value: Any) -> int:
    """Whole kronor without decimals, öre with two."""
    try:
        return 0 if Decimal(str(value)) == Decimal(str(value)).to_integral_value() else 2
    except (InvalidOperation, ValueError):
        return 2


def _format(value: Any, kind: str) -> str:
    """A cell as a person reads it, through the formatting layer in the active language."""
    if value is None or value == "":
        return "–"
    language = _language()
    if kind == "money":
        return formatting.money(value, language, places=_money_places(value), unit=False)
    if kind == "share":
        return formatting.percent(value, language, places=0)
    if kind == "bool":
        return _("yes") if value in (True, "true") else _("no")
    if kind == "number":
        return formatting.number(value, language, 2)
    if kind == "int":
        shown = formatting.number(value, language, 0)
        return str(value) if shown == formatting.EMPTY else shown
    if kind == "decimal":
        shown = formatting.number(value, language)
        return str(value) if shown == formatting.EMPTY else shown
    if kind == "label":
        return label(value)
    return str(value)


def _typed(value: Any, of: str | None) -> str:
    """A contract figure by its declared type (money, number, boolean, list)."""
    if isinstance(value, list):
        return "; ".join(_typed(item, of) for item in value)
    if of == "money":
        return _money(value)
    if of in ("number", "ratio", "count", "share"):
        if isinstance(value, bool) or value in ("true", "false"):
            return _format(value, "bool")
        shown = formatting.number(value, _language())
        return str(value) if shown == formatting.EMPTY else shown
    if of == "boolean" or isinstance(value, bool) or value in ("true", "false"):
        return _format(value, "bool")
    return _format(value, "text")


def _cell(row: dict[str, Any], column: Column) -> str:
    if column.kind == "typed":
        return _typed(row.get(column.key), row.get("of") or row.get("type"))
    return _format(row.get(column.key), column.kind)


def _money(value: Any) -> str:
    if value is None:
        return "–"
    return formatting.money(value, _language(), places=_money_places(value))


def _interval(low: Any, high: Any, kind: str) -> str:
    if low is None or high is None:
        return ""
    if kind == "share_points":
        language = _language()
        return f"({formatting.percent(low, language)} – {formatting.percent(high, language)})"
    return f"({_format(low, kind)} – {_format(high, kind)})"


def unit_name(unit: Any) -> str:
    """A declared unit in the active language (``{"sv": …, "en": …}`` or a known word):
    the knowledge pages' one table of units."""
    from utfall.platform.knowledge.presentation import unit_label

    return unit_label(unit)


def _value_kind(panel: dict[str, Any]) -> str:
    return "money" if (panel.get("estimate") or {}).get("unit") == "money" else "number"


def _unit_suffix(kind: str) -> str:
    return ", " + _("SEK") if kind == "money" else ""


_FIGURE_NAMES = {
    "estimate": lambda: _("Estimate"),
    "ci_low": lambda: _("Interval, low"),
    "ci_high": lambda: _("Interval, high"),
    "se": lambda: _("Standard error"),
    "std_error": lambda: _("Standard error"),
    "p_value": lambda: _("p-value"),
    "n": lambda: _("Individuals"),
    "n_treated": lambda: _("Individuals"),
    "n_control": lambda: _("Comparison"),
    "level": lambda: _("Confidence level"),
    "mean_before": lambda: _("Mean before"),
    "mean_after": lambda: _("Mean after"),
    "treated_before": lambda: _("Treated, before"),
    "treated_after": lambda: _("Treated, after"),
    "control_before": lambda: _("Comparison, before"),
    "control_after": lambda: _("Comparison, after"),
    "net_saving": lambda: _("Net saving"),
    "reduction": lambda: _("Reduction"),
    "statistic": lambda: _("Test statistic"),
    "df": lambda: _("Degrees of freedom"),
    "reps": lambda: _("Repetitions"),
    "seed": lambda: _("Random seed"),
    "n_clusters": lambda: _("Clusters"),
    "n_units": lambda: _("Units"),
    "n_periods": lambda: _("Periods"),
    "n_reference": lambda: _("Individuals in the reference"),
    "analytic_std_error": lambda: _("Standard error (analytic)"),
    "cumulative_saving": lambda: _("Cumulative saving"),
    "break_even_month": lambda: _("Break-even month"),
    "expected_cost": lambda: _("Expected cost"),
    "observed_cost": lambda: _("Observed cost"),
    "mean_treated": lambda: _("Mean, intervention group"),
    "mean_control": lambda: _("Mean, comparison group"),
    "trend_slope": lambda: _("Trend slope"),
    "trend_intercept": lambda: _("Trend intercept"),
    "expected_days_per_employee": lambda: _("Expected days per employee"),
    "observed_days_per_employee": lambda: _("Observed days per employee"),
    "value": lambda: _("Value"),
    "relative_magnitude": lambda: _("Relative size"),
    "difference_in_means": lambda: _("Difference in means"),
    "included": lambda: _("Included"),
    "earned_ore": lambda: _("Earned (öre)"),
    "rows": lambda: _("Rows"),
    "baseline": lambda: _("Baseline"),
    "baseline_count": lambda: _("Count at baseline"),
    "baseline_n": lambda: _("Individuals at baseline"),
    "baseline_share": lambda: _("Share at baseline"),
    "share": lambda: _("Share"),
    "count": lambda: _("Count"),
    "change": lambda: _("Change"),
    "sd_change": lambda: _("Standard deviation of the change"),
    "follow_up": lambda: _("Follow-up"),
    "mean_baseline": lambda: _("Mean at baseline"),
    "mean_follow_up": lambda: _("Mean at follow-up"),
    "cohens_dz": lambda: _("Cohen's d (paired)"),
    "cohens_dav": lambda: _("Cohen's d (average spread)"),
    "n_units_any_wave": lambda: _("Units in any wave"),
    "mixed_estimate": lambda: _("Mixed model: estimate"),
    "mixed_std_error": lambda: _("Mixed model: standard error"),
    "mixed_p_value": lambda: _("Mixed model: p-value"),
    "mixed_ci_low": lambda: _("Mixed model: interval, low"),
    "mixed_ci_high": lambda: _("Mixed model: interval, high"),
    "mixed_n_units": lambda: _("Mixed model: units"),
    "mixed_n_obs": lambda: _("Mixed model: observations"),
    "mixed_unit_variance": lambda: _("Mixed model: variance between units"),
    "mixed_residual_variance": lambda: _("Mixed model: residual variance"),
    "units": lambda: _("Units"),
    "n_groups": lambda: _("Groups"),
    "events": lambda: _("Events"),
    "anticipation": lambda: _("Periods of anticipation"),
    "event_study_critical_value": lambda: _("Critical value of the event study"),
    "first_saving_month": lambda: _("First month with a saving"),
    "expected_days": lambda: _("Expected days"),
    "observed_days": lambda: _("Observed days"),
    "saving_days": lambda: _("Days saved"),
    "employees": lambda: _("Employees"),
    "mean_headcount": lambda: _("Mean headcount"),
    "value_sek": lambda: _("Value (SEK)"),
    "value_before_caps_sek": lambda: _("Value before the caps (SEK)"),
    "cap_total_sek": lambda: _("Cap in total (SEK)"),
    "participants_included": lambda: _("Participants included"),
    "participants_paid": lambda: _("Participants paid for"),
    "explanation.change_ci": lambda: _("Confidence interval of the change"),
}


def figure_name(name: str) -> str:
    """What an evaluation's named figure (``p_value``, ``ci_low``) is called on a page."""
    known = _FIGURE_NAMES.get(str(name))
    return known() if known else contract_labels.label(None, "output", str(name), _language())


def declared(document: Any, kind: str, name: Any) -> str:
    """The contract's label of a part (an output, an input, a payment, a party) in the active
    language; a readable form of the identifier where the contract declares none."""
    if name is None or name == "":
        return ""
    return contract_labels.label(document, kind, str(name), _language())


def _number_first(rows: list[dict[str, Any]], key: str = "label") -> list[dict[str, Any]]:
    """Rows whose labels all start with a number (age groups ``6-12``, ``13-15``) in the
    order of that number, not as text; any other rows as they come."""
    keys = []
    for row in rows:
        found = re.match(r"\s*(\d+(?:[.,]\d+)?)", label(row.get(key)))
        if found is None:
            return rows
        keys.append(Decimal(found.group(1).replace(",", ".")))
    order = sorted(range(len(rows)), key=lambda i: keys[i])
    return [rows[i] for i in order]


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
                _("SEK"),
            ),
            description=label(panel.get("description")),
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
            description=label(panel.get("description")),
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
            description=label(panel.get("description")),
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
                _("SEK"),
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
            description=label(panel.get("description")),
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
            description=label(panel.get("description")),
        )
    ]


def _estimate(panel: dict[str, Any]) -> list[Table]:
    tables = []
    for series in panel.get("series") or []:
        rows = [{"position": i + 1, "value": v} for i, v in enumerate(series["values"])]
        name = figure_name(series["name"])
        tables.append(
            Table(
                f"{panel['id']}-{series['name']}".replace(".", "-").replace("_", "-"),
                f"{label(panel['label'])}: {name}",
                [Column("position", _("Position"), "int"), Column("value", _("Value"), "number")],
                rows,
                chart=Chart("lines", "position", _("Position"), (("value", name),), _("Value")),
            )
        )
    return tables


def _thresholds(panel: dict[str, Any], document: Any = None) -> list[Table]:
    rows = [
        {
            **row,
            "input_label": declared(document, "input", row.get("input")),
            "take_label": figure_name(row.get("take") or "estimate"),
        }
        for row in panel.get("bound") or []
        if "at_least" in row
    ]
    if not rows:
        return []
    return [
        Table(
            f"{panel['id']}-thresholds",
            _("%(evaluation)s: the contract's thresholds") % {"evaluation": label(panel["label"])},
            [
                Column("input_label", _("Input")),
                Column("take_label", _("Figure")),
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
        group = {**group, "rows": _number_first(list(group["rows"]))}
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
        ) % {"reference": formatting.number(reference, _language(), 0)}
    else:
        description = _(
            "Each period is compared with the last period before adoption; no period is "
            "left out as a reference."
        )
    if test and test.get("p_value") is not None:
        description += " " + _(
            "Joint test of no effect before adoption: p = %(p)s (%(df)s periods)."
        ) % {
            "p": formatting.number(test["p_value"], _language(), 3),
            "df": formatting.number(test.get("df"), _language(), 0),
        }
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
    rows = [{**row, "label": figure_name(row["name"])} for row in panel.get("named") or []]
    if not rows:
        return []
    return [
        Table(
            f"{panel['id']}-figures",
            _("%(evaluation)s: the evaluation's named figures")
            % {"evaluation": label(panel["label"])},
            [Column("label", _("Figure")), Column("number", _("Value"), "decimal")],
            rows,
            description=_("What a contract input may take from the evaluation, by name."),
        )
    ]


def panel_tables(panel: dict[str, Any], document: Any = None) -> list[Table]:
    """The tables of one panel, by its kind, then its thresholds, subgroups and the
    evaluation's named figures."""
    if panel.get("status") != "ok":
        return []
    tables = LAYOUTS.get(panel.get("kind", ""), _estimate)(panel)
    return [
        *tables,
        *_event_study(panel),
        *_thresholds(panel, document),
        *_subgroups(panel),
        *_named(panel),
    ]


def _settlement(dashboard: dict[str, Any], document: Any = None) -> list[Table]:
    settlement = dashboard.get("settlement") or {}
    if settlement.get("error") or not settlement.get("outputs"):
        return []
    tables = []
    if settlement.get("payments"):
        payments = [
            {
                **row,
                "label": declared(document, "payment", row.get("id")) or row.get("label"),
                "from_label": declared(document, "party", row.get("from")),
                "to_label": declared(document, "party", row.get("to")),
            }
            for row in settlement["payments"]
        ]
        tables.append(
            Table(
                "settlement",
                _("What the contract would pay if it ended today"),
                [
                    Column("label", _("Payment")),
                    Column("from_label", _("From")),
                    Column("to_label", _("To")),
                    Column("amount", _("Amount, SEK"), "money"),
                ],
                payments,
                chart=Chart("hbars", "label", _("Payment"), (("amount", _("SEK")),), _("SEK")),
            )
        )
    tables.append(
        Table(
            "outputs",
            _("The contract's figures today"),
            [
                Column("label", _("Figure")),
                Column("value", _("Value"), "typed"),
                Column("summary", _("What it is")),
            ],
            [
                {
                    **row,
                    "label": declared(document, "output", row["name"]),
                    "summary": contract_labels.summary(document, "output", row["name"], _language())
                    or row.get("description")
                    or "",
                    "of": row.get("of") if row.get("type") == "series" else row.get("type"),
                }
                for row in settlement["outputs"]
            ],
            description=_("The formulas are in the contract and in the CSV download."),
            extra={"csv_columns": [Column("name", _("Name")), Column("formula", _("Formula"))]},
        )
    )
    return tables


def _series(dashboard: dict[str, Any], document: Any = None) -> list[Table]:
    tables = []
    for series in dashboard.get("series") or []:
        kind = "money" if series.get("of") == "money" else "number"
        name = declared(document, "output", series["name"])
        summary = contract_labels.summary(document, "output", series["name"], _language())
        summary = summary or series.get("description") or ""
        tables.append(
            Table(
                f"output-{series['name']}".replace("_", "-"),
                name,
                [
                    Column("position", _("Position"), "int"),
                    Column("shown", _("Value") + _unit_suffix(kind), kind),
                ],
                series["points"],
                chart=Chart(
                    "lines",
                    "position",
                    _("Position"),
                    (("value", name),),
                    _("Value") + _unit_suffix(kind),
                ),
                description=summary,
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
            columns.append(Column(column["key"], _("Pseudonym"), "pseudonym"))
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


def _panel_note(panel: dict[str, Any], document: Any = None) -> dict[str, Any]:
    return {
        "id": panel["id"],
        "title": label(panel["label"]),
        "status": panel["status"],
        "paid": panel.get("paid", False),
        "error": error_said(panel.get("error"), document=document),
    }


def dashboard_sections(dashboard: dict[str, Any], document: Any = None) -> list[dict[str, Any]]:
    """The dashboard in page order, each item a table (``{"table": …}``) or a panel that
    shows no figures (``{"note": …}``): the evaluations the contract pays on, what it
    would pay today, the followed evaluations, the series among its figures, the status
    per individual. ``document`` (the contract) gives the labels of its parts."""
    panels = dashboard.get("panels") or []

    def of(selected: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for panel in selected:
            if panel.get("status") == "ok":
                items += [{"table": table} for table in panel_tables(panel, document)]
            else:
                items.append({"note": _panel_note(panel, document)})
        return items

    return [
        *of([p for p in panels if p.get("paid")]),
        *({"table": t} for t in _settlement(dashboard, document)),
        *of([p for p in panels if not p.get("paid")]),
        *({"table": t} for t in _series(dashboard, document)),
        *({"table": t} for t in _individuals(dashboard)),
    ]


def dashboard_tables(dashboard: dict[str, Any], document: Any = None) -> list[Table]:
    """Every table of the dashboard, in page order."""
    return [item["table"] for item in dashboard_sections(dashboard, document) if "table" in item]


def table_csv(table: Table, *, excel: bool = False) -> str:
    """The table as CSV; text a spreadsheet would run as a formula is neutralised (decision
    0623).

    The plain form (``excel`` False) is for programs: comma-separated, the columns' keys as
    headers, raw values (a decimal point), a suppressed row carrying only ``true`` in the
    ``suppressed`` column. The form for Excel (decision 0825) is for people with a
    Swedish spreadsheet: semicolons, the headers in the active language, decimal commas,
    labels instead of identifiers, and a byte-order mark so Excel reads UTF-8.
    """
    columns = [*table.columns, *table.extra.get("csv_columns", [])]
    if excel:
        header = [c.label for c in table.columns] + [_("Suppressed")]
        rows = []
        for row in table.rows:
            suppressed = bool(row.get(SUPPRESSED))
            values = [
                "" if suppressed and c.key not in row else _spreadsheet_value(row, c)
                for c in table.columns
            ]
            rows.append([*values, _("yes") if suppressed else _("no")])
        return spreadsheet_csv(header, rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(spreadsheet_row([c.key for c in columns] + ["suppressed"]))
    for row in table.rows:
        if row.get(SUPPRESSED):
            writer.writerow(
                spreadsheet_row(
                    [row.get(c.key, "") if c.key in row else "" for c in columns] + ["true"]
                )
            )
        else:
            writer.writerow(
                spreadsheet_row([_csv_value(row.get(c.key)) for c in columns] + ["false"])
            )
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        return label(value)
    return value


_NUMERIC = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def spreadsheet_number(value: Any) -> Any:
    """A number as a Swedish spreadsheet reads it: a decimal comma, no digit grouping, a
    hyphen-minus (Excel reads U+2212 as text); anything else unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)) or (
        isinstance(value, str) and _NUMERIC.match(value.strip())
    ):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            return value
        if not amount.is_finite():
            return ""
        text = format(amount, "f")
        return text.replace(".", ",")
    return value


def _spreadsheet_value(row: dict[str, Any], column: Column) -> Any:
    value = row.get(column.key)
    if value is None or value == "":
        return ""
    if isinstance(value, dict):
        return label(value)
    if isinstance(value, list):
        return "; ".join(str(spreadsheet_number(item)) for item in value)
    if column.kind == "bool" or isinstance(value, bool) or value in ("true", "false"):
        return _("yes") if value in (True, "true") else _("no")
    if column.kind in ("money", "number", "int", "share", "typed"):
        return spreadsheet_number(value)
    return value


def spreadsheet_csv(header: list[str], rows: list[list[Any]]) -> str:
    """Rows as CSV for a spreadsheet set to Swedish: semicolon-separated, a byte-order mark
    first (UTF-8 in Excel), each cell neutralised against formulas (decision 0623).
    Numbers in the rows should already be :func:`spreadsheet_number`."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(spreadsheet_row(header))
    for row in rows:
        writer.writerow(spreadsheet_row(row))
    return out.getvalue()


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
        shown = _money(value) if kind == "money" else _typed(value, "number")
        out.append((title, shown, ""))
        return out
    if estimate.get("shown") is not None and panel["kind"] != "aggregate":
        level = formatting.percent(estimate.get("level") or 0.95, _language(), places=0)
        unit = panel.get("outcome_unit") or ""
        if kind != "money" and unit == "share":
            kind = "share_points"
        if kind == "money":
            shown = _money(estimate["shown"])
        elif kind == "share_points":
            shown = formatting.percent(estimate["shown"], _language(), places=1)
        else:
            shown = f"{_format(estimate['shown'], 'number')} {unit_name(unit)}".strip()
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
                _format(month, "int"),
                _("interval %(low)s – %(high)s")
                % {
                    "low": _format(interval[0], "int"),
                    "high": _("not reached")
                    if interval[1] is None
                    else _format(interval[1], "int"),
                },
            )
        )
        projection = panel.get("projection")
        if projection:
            out.append(
                (
                    _("Projected saving at month %(month)s since inclusion")
                    % {"month": _format(figures.get("horizon"), "int")},
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
                _("settled on the data as of %(day)s")
                % {"day": formatting.date(dashboard.get("as_of"), _language())}
                + (_("; the other inputs as the newest statement settled them") if source else ""),
            )
        )
    break_even = dashboard.get("break_even")
    if break_even:
        if break_even.get("status") == "ok":
            out.append(
                (
                    _("The commissioner's break-even month (finance plan)"),
                    _format(break_even["month"], "int"),
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
                _format(participants["included"], "int"),
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
