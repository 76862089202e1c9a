"""The dashboard laid out as tables: one per chart, also its accessible form and its CSV.

Pages, CSV downloads, the JSON endpoint and the PDF report all show these tables
(or the dashboard dict they come from), so what is suppressed in the dashboard is
suppressed everywhere.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from utfall.services.council.suppression import SUPPRESSED

THIN_SPACE = "\u202f"  # narrow no-break space: Swedish digit grouping

__all__ = ["Column", "Table", "dashboard_tables", "dimension_label", "table_csv"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | money | number | share | int | bool


@dataclass
class Table:
    """One table of the dashboard; ``chart`` names the chart drawn from it (charts.py)."""

    id: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    chart: str | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def cells(self) -> list[dict[str, Any]]:
        """Rows as shown: a suppressed row says so in its first column only."""
        shown = []
        for row in self.rows:
            if row.get(SUPPRESSED):
                kept = [row.get(c.key) for c in self.columns if c.key in row]
                label = _("Suppressed (fewer than 5 individuals)")
                shown.append(
                    {
                        "suppressed": True,
                        "values": [*kept, label] + [""] * (len(self.columns) - len(kept) - 1),
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


def dimension_label(name: str) -> str:
    """The readable name of a social dimension or a measure."""
    labels = {
        "mental_health": _("Mental health"),
        "risk_and_abuse": _("Risk and abuse"),
        "participation": _("Experienced participation"),
        "family_capacity": _("Family capacity"),
        "own_goal_attainment": _("Own goal attainment"),
        "school_results": _("School results"),
        "mean_change_lower_bound": _("Mean change in merit points, lower 95 % bound"),
        "share_improved": _("Share of children whose merit points rose"),
        "did_ci_low": _(
            "Contract: merit points against the reference group (difference in differences), "
            "lower 95 % bound"
        ),
        "age_band": _("Age band"),
        "earlier_placements": _("Placed in the year before inclusion"),
        "yes": _("yes"),
        "no": _("no"),
    }
    return str(labels.get(name, name))


def _format(value: Any, kind: str) -> str:
    if value is None:
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
        return _("yes") if value else _("no")
    if kind == "number":
        return f"{float(value):.2f}".replace(".", ",")
    if kind == "label":
        return dimension_label(str(value))
    return str(value)


def _costs(dashboard: dict[str, Any]) -> list[Table]:
    costs = dashboard.get("costs")
    if not costs:
        return []
    months = [
        Column("month", _("Month since inclusion"), "int"),
        Column("n", _("Children observed"), "int"),
        Column("expected", _("Expected cost (reference), SEK"), "money"),
        Column("observed", _("Observed cost, SEK"), "money"),
        Column("saving", _("Saving, SEK"), "money"),
        Column("cumulative", _("Cumulative saving, SEK"), "money"),
    ]
    return [
        Table(
            "costs",
            _("Cost of the included group against the historical reference"),
            months,
            costs["monthly"],
            chart="costs",
            description=_(
                "Monthly social-service costs (placements and outpatient care) of "
                "the included children and what the historical reference "
                "cohort's costs lead one to expect."
            ),
        ),
        Table(
            "cumulative",
            _("Cumulative net saving"),
            months,
            costs["monthly"],
            chart="cumulative",
            extra={"break_even_month": costs.get("break_even_month")},
        ),
    ]


def _school(dashboard: dict[str, Any]) -> list[Table]:
    school = dashboard.get("school") or {}
    rows = [dict(row, measure=row["measure"]) for row in school.get("thresholds", [])]
    if not rows:
        return []
    return [
        Table(
            "school",
            _("School results against the thresholds"),
            [
                Column("measure", _("Measure"), "label"),
                Column("value", _("Value"), "number"),
                Column("threshold", _("Threshold"), "number"),
                Column("met", _("Met"), "bool"),
            ],
            rows,
            chart="school",
        ),
    ]


def _social(dashboard: dict[str, Any]) -> list[Table]:
    rows = dashboard.get("social") or []
    if not rows:
        return []
    return [
        Table(
            "social",
            _("Social outcomes in six dimensions by measurement point"),
            [
                Column("dimension", _("Dimension"), "label"),
                Column("point", _("Measurement point"), "int"),
                Column("n", _("Individuals measured"), "int"),
                Column("mean", _("Mean score"), "number"),
                Column("share_improved", _("Share improved since point 1"), "share"),
                Column("share_reliably_improved", _("Share with reliable improvement"), "share"),
                Column("share_goal_reached", _("Share who reached their own goals"), "share"),
            ],
            rows,
            chart="social",
            description=_(
                "Reliable change: the Reliable Change Index of Jacobson & Truax "
                "(reliability 0.8 assumed) above 1.96."
            ),
        ),
    ]


def _subgroups(dashboard: dict[str, Any]) -> list[Table]:
    tables = []
    for name, rows in (dashboard.get("subgroups") or {}).items():
        tables.append(
            Table(
                f"subgroup-{name}".replace("_", "-"),
                _("Net saving by subgroup: %(name)s") % {"name": dimension_label(name)},
                [
                    Column("level", dimension_label(name), "label"),
                    Column("n", _("Children"), "int"),
                    Column("saving", _("Net saving, SEK"), "money"),
                    Column("saving_per_individual", _("Saving per child, SEK"), "money"),
                    Column("ci_low", _("95 % interval, low"), "money"),
                    Column("ci_high", _("95 % interval, high"), "money"),
                ],
                rows,
                chart="subgroup",
            )
        )
    return tables


def _individuals(dashboard: dict[str, Any]) -> list[Table]:
    if "individuals" not in dashboard:
        return []
    return [
        Table(
            "individuals",
            _("Status per included individual (pseudonyms)"),
            [
                Column("pseudonym", _("Pseudonym")),
                Column("included_on", _("Included on")),
                Column("months_since_inclusion", _("Months since inclusion"), "int"),
                Column("placed_this_month", _("Placed this month"), "bool"),
                Column("placement_days_last_3_months", _("Placement days, last 3 months"), "int"),
                Column("measurement_points", _("Measurement points"), "int"),
                Column("own_goal_reached", _("Own goals reached"), "bool"),
                Column("merit_change", _("Change in merit points"), "number"),
            ],
            dashboard["individuals"],
        ),
    ]


def _sick_leave(dashboard: dict[str, Any]) -> list[Table]:
    section = dashboard.get("sick_leave")
    if not section:
        return []
    columns = [
        Column("month_index", _("Contract month"), "int"),
        Column("month", _("Month")),
        Column("trend_ratio", _("Trend ratio SLT/SLT ref"), "number"),
        Column("expected_per_employee", _("Expected sick days per employee"), "number"),
        Column("observed_per_employee", _("Observed sick days per employee"), "number"),
        Column("saving_days_per_employee", _("Saved days per employee"), "number"),
        Column("cumulative_saving", _("Cumulative saving, SEK"), "money"),
    ]
    return [
        Table(
            "sick-leave",
            _("Expected and observed short-term sick days per employee"),
            columns,
            section["monthly"],
            chart="sick_leave",
            description=_(
                "Expected days: the reference month's days adjusted by the sick-"
                "leave trend index (SLT) of the month against the reference "
                "month."
            ),
        ),
        Table(
            "sick-leave-cumulative",
            _("Cumulative trend-adjusted saving"),
            columns,
            section["monthly"],
            chart="sick_leave_cumulative",
        ),
    ]


def _actors(dashboard: dict[str, Any]) -> list[Table]:
    actors = dashboard.get("actors")
    if not actors:
        return []
    return [
        Table(
            "actors",
            _("Each actor's activities, process outcomes and pay"),
            [
                Column("actor", _("Actor")),
                Column("budget", _("Budget, SEK"), "money"),
                Column("activity_delivered", _("Activities delivered"), "share"),
                Column("process_outcomes_attained", _("Process outcomes attained"), "share"),
                Column("activity_pay", _("Activity pay, SEK"), "money"),
                Column("process_pay", _("Process-outcome pay, SEK"), "money"),
                Column("pot_pay", _("Share of the joint pot, SEK"), "money"),
                Column("total_pay", _("Total, SEK"), "money"),
            ],
            actors["rows"],
            chart="actors",
        ),
    ]


def _outcome_values(dashboard: dict[str, Any]) -> list[Table]:
    rows = dashboard.get("outcome_values")
    if not rows:
        return []
    return [
        Table(
            "outcome-values",
            _("Value of the verified outcomes on the rate card"),
            [Column("name", _("Outcome")), Column("value", _("Value, SEK"), "money")],
            rows,
            chart="outcome_values",
        ),
    ]


def _settlement(dashboard: dict[str, Any]) -> list[Table]:
    settlement = dashboard.get("settlement") or {}
    if settlement.get("error") or not settlement.get("payments"):
        return []
    return [
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
            chart="settlement",
        ),
    ]


def dashboard_tables(dashboard: dict[str, Any]) -> list[Table]:
    """Every table of the dashboard, in page order."""
    return [
        *_costs(dashboard),
        *_settlement(dashboard),
        *_school(dashboard),
        *_sick_leave(dashboard),
        *_actors(dashboard),
        *_outcome_values(dashboard),
        *_social(dashboard),
        *_subgroups(dashboard),
        *_individuals(dashboard),
    ]


def table_csv(table: Table) -> str:
    """The table as CSV (raw values; a suppressed row carries only the word ``suppressed``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.key for c in table.columns] + ["suppressed"])
    for row in table.rows:
        if row.get(SUPPRESSED):
            writer.writerow(
                [row.get(c.key, "") if c.key in row else "" for c in table.columns] + ["true"]
            )
        else:
            writer.writerow(
                ["" if row.get(c.key) is None else row.get(c.key) for c in table.columns]
                + ["false"]
            )
    return out.getvalue()


def _money(value: Any) -> str:
    return _format(value, "money") + " SEK" if value is not None else "–"


def _interval(low: Any, high: Any) -> str:
    if low is None or high is None:
        return ""
    return f"({_format(low, 'money')} – {_format(high, 'money')})"


def key_figures(dashboard: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The headline figures: (label, value, note) each."""
    out: list[tuple[str, str, str]] = []
    costs = dashboard.get("costs")
    if costs:
        level = f"{costs['level'] * 100:.0f} %"
        out.append(
            (
                _("Net saving to date"),
                _money(costs["net_saving"]),
                _("%(level)s interval %(interval)s")
                % {"level": level, "interval": _interval(costs["ci_low"], costs["ci_high"])},
            )
        )
        be = costs.get("break_even_month")
        be_ci = costs.get("break_even_month_ci") or [None, None]
        out.append(
            (
                _("Break-even month since inclusion"),
                "–" if be is None else str(be),
                _("interval %(low)s – %(high)s")
                % {
                    "low": "–" if be_ci[0] is None else be_ci[0],
                    "high": _("not reached") if be_ci[1] is None else be_ci[1],
                },
            )
        )
        out.append(
            (
                _("Projected saving at the end of follow-up"),
                _money(costs["projected_saving"]),
                _("uncertainty band %(interval)s")
                % {"interval": _interval(costs["projected_low"], costs["projected_high"])},
            )
        )
        out.append(
            (
                _("Included children"),
                str(dashboard.get("included", "–")),
                _("reference cohort: %(n)s") % {"n": costs.get("n_reference")},
            )
        )
    school = dashboard.get("school") or {}
    if school.get("thresholds"):
        out.append(
            (
                _("School thresholds"),
                _("met") if school["met"] else _("not met"),
                _("mean change %(change)s merit points, %(n)s children")
                % {"change": _format(school.get("mean_change"), "number"), "n": school.get("n")},
            )
        )
    sick = dashboard.get("sick_leave")
    if sick:
        out.append(
            (
                _("Trend-adjusted saving to date"),
                _money(sick["saving_to_date"]),
                _interval(sick["ci_low"], sick["ci_high"]),
            )
        )
        out.append(
            (
                _("Sick days saved"),
                _format(sick["saving_days"], "number"),
                _("%(employees)s employees, %(months)s months")
                % {"employees": sick["employees"], "months": sick["months_observed"]},
            )
        )
    actors = dashboard.get("actors")
    if actors:
        out.append(
            (
                _("Joint outcome pot"),
                _money(actors["joint_pot"]),
                _("released") if actors["pot_released"] else _("not released"),
            )
        )
        out.append(
            (
                _("Paid to the actors"),
                _money(actors["total_pay"]),
                _("withheld %(amount)s") % {"amount": _money(actors["withheld"])},
            )
        )
    settlement = dashboard.get("settlement") or {}
    if settlement.get("total") is not None:
        out.append(
            (
                _("The contract would pay if it ended today"),
                _money(settlement["total"]),
                _("from the data and, where no data covers an input, the contract's example facts"),
            )
        )
    return out
