"""Vega-Lite charts of the dashboard tables, built with Altair on the server.

The page embeds each spec with the vendored vega-embed; the PDF report renders
the same spec to SVG with vl-convert. A chart only ever draws the rows of its
table, so suppressed cells are absent from the charts too.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
from django.utils.translation import gettext as _

from utfall.platform.council.tables import Table, dimension_label
from utfall.services.council.suppression import SUPPRESSED

__all__ = ["chart_spec", "chart_svg"]

WIDTH = 640
HEIGHT = 260
COLOURS = ["#1f5f8b", "#c8553d", "#3a7d44", "#8e6c8a", "#d9a404", "#5b5b5b"]


def _frame(table: Table, numeric: dict[str, str]) -> pd.DataFrame:
    rows = [row for row in table.rows if not row.get(SUPPRESSED)]
    frame = pd.DataFrame(rows)
    for key in numeric:
        if key in frame:
            frame[key] = pd.to_numeric(frame[key], errors="coerce")
    return frame


def _lines(table: Table, x: str, x_title: str, series: dict[str, str], y_title: str) -> alt.Chart:
    frame = _frame(table, {**{x: x}, **series})
    frame = frame[[x, *series]].rename(columns=series)
    return (
        alt.Chart(frame)
        .transform_fold(list(series.values()), as_=["series", "value"])
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title),
            y=alt.Y("value:Q", title=y_title),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(range=COLOURS),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip(f"{x}:Q", title=x_title),
                "series:N",
                alt.Tooltip("value:Q", format=",.2f"),
            ],
        )
    )


def _area(table: Table, x: str, x_title: str, y: str, y_title: str) -> alt.Chart:
    frame = _frame(table, {x: x, y: y})[[x, y]]
    base = alt.Chart(frame).encode(x=alt.X(f"{x}:Q", title=x_title))
    area = base.mark_area(opacity=0.35, color=COLOURS[0], line=True).encode(
        y=alt.Y(f"{y}:Q", title=y_title),
        tooltip=[
            alt.Tooltip(f"{x}:Q", title=x_title),
            alt.Tooltip(f"{y}:Q", title=y_title, format=",.0f"),
        ],
    )
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="#333").encode(y="y:Q")
    layers: list[alt.Chart] = [area, zero]
    break_even = table.extra.get("break_even_month")
    if break_even is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"x": [break_even], "label": [_("break-even")]}))
            .mark_rule(color=COLOURS[1], strokeDash=[4, 3])
            .encode(x="x:Q", tooltip=["label:N", "x:Q"])
        )
    return alt.layer(*layers)


def _bars(
    table: Table, x: str, x_title: str, y: str, y_title: str, *, horizontal: bool = False
) -> alt.Chart:
    frame = _frame(table, {y: y})
    frame[x] = frame[x].map(lambda v: dimension_label(str(v)))
    category = alt.Y if horizontal else alt.X
    value = alt.X if horizontal else alt.Y
    return (
        alt.Chart(frame)
        .mark_bar(color=COLOURS[0])
        .encode(
            category(f"{x}:N", title=x_title, sort=None, axis=alt.Axis(labelLimit=360)),
            value(f"{y}:Q", title=y_title),
            tooltip=[
                alt.Tooltip(f"{x}:N", title=x_title),
                alt.Tooltip(f"{y}:Q", title=y_title, format=",.0f"),
            ],
        )
    )


def _social(table: Table) -> alt.Chart:
    frame = _frame(table, {"share_improved": "", "share_goal_reached": "", "point": ""})
    if "share_improved" not in frame:
        frame["share_improved"] = None
    if "share_goal_reached" in frame:
        goals = frame["dimension"] == "own_goal_attainment"
        frame.loc[goals, "share_improved"] = frame.loc[goals, "share_goal_reached"]
    frame = frame[frame["share_improved"].notna()].copy()
    frame["dimension"] = frame["dimension"].map(dimension_label)
    title = _("Share improved since point 1 (own goals: share reached)")
    return (
        alt.Chart(frame[["dimension", "point", "share_improved"]])
        .mark_line(point=True)
        .encode(
            x=alt.X("point:O", title=_("Measurement point")),
            y=alt.Y(
                "share_improved:Q",
                title=title,
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color(
                "dimension:N",
                title=None,
                scale=alt.Scale(range=COLOURS),
                legend=alt.Legend(orient="bottom", columns=3),
            ),
            tooltip=["dimension:N", "point:O", alt.Tooltip("share_improved:Q", format=".0%")],
        )
    )


def _actors(table: Table) -> alt.Chart:
    frame = _frame(table, {"activity_pay": "", "process_pay": "", "pot_pay": ""})
    parts = {
        "activity_pay": _("Activity pay"),
        "process_pay": _("Process-outcome pay"),
        "pot_pay": _("Share of the joint pot"),
    }
    frame = frame[["actor", *parts]].rename(columns=parts)
    return (
        alt.Chart(frame)
        .transform_fold(list(parts.values()), as_=["part", "sek"])
        .mark_bar()
        .encode(
            x=alt.X("actor:N", title=_("Actor")),
            y=alt.Y("sek:Q", title="SEK", stack="zero"),
            color=alt.Color(
                "part:N",
                title=None,
                scale=alt.Scale(range=COLOURS),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["actor:N", "part:N", alt.Tooltip("sek:Q", format=",.0f")],
        )
    )


def _build(table: Table) -> alt.TopLevelMixin | None:
    kind = table.chart
    if kind == "costs":
        return _lines(
            table,
            "month",
            _("Month since inclusion"),
            {"expected": _("Expected (reference)"), "observed": _("Observed")},
            "SEK",
        )
    if kind == "cumulative":
        return _area(
            table, "month", _("Month since inclusion"), "cumulative", _("Cumulative saving, SEK")
        )
    if kind == "sick_leave":
        return _lines(
            table,
            "month_index",
            _("Contract month"),
            {
                "expected_per_employee": _("Expected (trend-adjusted)"),
                "observed_per_employee": _("Observed"),
            },
            _("Sick days per employee"),
        )
    if kind == "sick_leave_cumulative":
        return _area(
            table,
            "month_index",
            _("Contract month"),
            "cumulative_saving",
            _("Cumulative saving, SEK"),
        )
    if kind == "subgroup":
        return _bars(
            table,
            "level",
            table.columns[0].label,
            "saving_per_individual",
            _("Saving per child, SEK"),
        )
    if kind == "settlement":
        return _bars(table, "label", _("Payment"), "amount", "SEK", horizontal=True)
    if kind == "outcome_values":
        return _bars(table, "name", _("Outcome"), "value", "SEK", horizontal=True)
    if kind == "school":
        return None
    if kind == "social":
        return _social(table)
    if kind == "actors":
        return _actors(table)
    return None


def chart_spec(table: Table) -> dict[str, Any] | None:
    """The Vega-Lite spec (a dict) of the table's chart, or None if it has none."""
    if not table.chart or not [r for r in table.rows if not r.get(SUPPRESSED)]:
        return None
    chart = _build(table)
    if chart is None:
        return None
    chart = (
        chart.properties(width=WIDTH, height=HEIGHT, title=table.title)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=12)
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec


def chart_svg(spec: dict[str, Any]) -> str:
    """The chart as SVG text (vl-convert, no browser), for the PDF report."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(spec))
