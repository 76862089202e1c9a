"""Vega-Lite charts of the dashboard tables, built with Altair on the server.

A table says what to draw (:class:`~utfall.platform.council.tables.Chart`): lines over
a month or position, a cumulative area with a marker, bars per level. The page embeds
each spec with the vendored vega-embed; the PDF report renders the same spec to SVG
with vl-convert. A chart only ever draws the rows of its table, so suppressed cells
are absent from the charts too. Specs are cached by their table's content and the
language, so a repeated page does not rebuild them.

Numbers on axes and in tooltips carry d3 formats (:data:`AXIS_FORMAT`, grouping and
no trailing zeros); the separators come from the active language's format locale
(:func:`utfall.services.formatting.vega_format_locale`), which the page hands to
vega-embed (``formatLocale``) and :func:`chart_svg` to vl-convert, so an axis reads
``4 000 000`` in Swedish and ``4,000,000`` in English. A spec has no title: the card
or the report section around it is headed by the table's title.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

import altair as alt
import pandas as pd
from django.utils.translation import gettext as _

from utfall.platform.council.event_study_chart import AXIS_FORMAT, event_study_layers
from utfall.platform.council.tables import Chart, Table, label
from utfall.platform.i18n import active_language as _language
from utfall.services.council.suppression import SUPPRESSED
from utfall.services.formatting import language_of, vega_format_locale

__all__ = ["AXIS_FORMAT", "TOOLTIP_FORMAT", "chart_spec", "chart_svg", "format_locale"]

TOOLTIP_FORMAT = ",.2~f"
"""Tooltips: grouped, at most two decimals."""
MONTH_FORMAT = "%Y-%m"

WIDTH = 640
HEIGHT = 260
COLOURS = ["#1f5f8b", "#c8553d", "#3a7d44", "#8e6c8a", "#d9a404", "#5b5b5b"]
_CACHE_ENTRIES = 512
_cache: OrderedDict[str, dict[str, Any] | None] = OrderedDict()
_lock = threading.Lock()


def _frame(table: Table, chart: Chart) -> pd.DataFrame:
    rows = [row for row in table.rows if not row.get(SUPPRESSED)]
    frame = pd.DataFrame(
        [
            {key: _cell(row.get(key)) for key in (chart.x, *(k for k, _ in chart.series))}
            for row in rows
        ]
    )
    for key, _title in chart.series:
        if key in frame:
            frame[key] = pd.to_numeric(frame[key], errors="coerce")
    numeric_x = chart.type in ("lines", "area") and chart.x_type == "Q"
    if numeric_x and chart.x in frame:
        frame[chart.x] = pd.to_numeric(frame[chart.x], errors="coerce")
    return frame


def _cell(value: Any) -> Any:
    return label(value) if isinstance(value, dict) else value


def _legend() -> alt.Legend:
    return alt.Legend(orient="bottom", columns=3)


def _axis(x_type: str = "Q", **extra: Any) -> alt.Axis:
    """An axis whose numbers (or months) are written by the format locale."""
    if x_type == "T":
        return alt.Axis(format=MONTH_FORMAT, **extra)
    if x_type == "Q":
        return alt.Axis(format=AXIS_FORMAT, **extra)
    return alt.Axis(**extra)


def _x_tooltip(field: str, x_type: str, title: str) -> alt.Tooltip:
    if x_type == "T":
        return alt.Tooltip(f"{field}:T", title=title, format=MONTH_FORMAT)
    if x_type == "Q":
        return alt.Tooltip(f"{field}:Q", title=title, format=AXIS_FORMAT)
    return alt.Tooltip(f"{field}:{x_type}", title=title)


def _lines(table: Table, chart: Chart) -> alt.Chart:
    frame = _frame(table, chart)
    names = dict(chart.series)
    frame = frame[[chart.x, *names]].rename(columns=names)
    x_type = chart.x_type
    return (
        alt.Chart(frame)
        .transform_fold(list(names.values()), as_=["series", "value"])
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{chart.x}:{x_type}", title=chart.x_title, sort=None, axis=_axis(x_type)),
            y=alt.Y("value:Q", title=chart.y_title, axis=_axis()),
            color=alt.Color(
                "series:N",
                title=None,
                sort=list(names.values()),
                scale=alt.Scale(domain=list(names.values()), range=COLOURS),
                legend=_legend(),
            ),
            tooltip=[
                _x_tooltip(chart.x, x_type, chart.x_title),
                alt.Tooltip("series:N", title=_("Series")),
                alt.Tooltip("value:Q", title=chart.y_title, format=TOOLTIP_FORMAT),
            ],
        )
    )


def _grouped_lines(table: Table, chart: Chart) -> alt.Chart:
    """One line per group (the table's ``group`` column) over ordered categories."""
    key = chart.series[0][0]
    rows = [row for row in table.rows if not row.get(SUPPRESSED)]
    frame = pd.DataFrame(
        [
            {"group": _cell(r.get("group")), chart.x: _cell(r.get(chart.x)), key: r.get(key)}
            for r in rows
        ]
    )
    frame[key] = pd.to_numeric(frame[key], errors="coerce")
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{chart.x}:O", title=chart.x_title, sort=None),
            y=alt.Y(f"{key}:Q", title=chart.y_title, scale=alt.Scale(zero=False), axis=_axis()),
            color=alt.Color(
                "group:N", title=None, scale=alt.Scale(range=COLOURS), legend=_legend()
            ),
            tooltip=[
                alt.Tooltip("group:N", title=_("Group")),
                alt.Tooltip(f"{chart.x}:O", title=chart.x_title),
                alt.Tooltip(f"{key}:Q", title=chart.y_title, format=TOOLTIP_FORMAT),
            ],
        )
    )


def _area(table: Table, chart: Chart) -> alt.LayerChart:
    key = chart.series[0][0]
    frame = _frame(table, chart)[[chart.x, key]].dropna()
    base = alt.Chart(frame).encode(
        x=alt.X(f"{chart.x}:{chart.x_type}", title=chart.x_title, axis=_axis(chart.x_type))
    )
    area = base.mark_area(opacity=0.35, color=COLOURS[0], line=True).encode(
        y=alt.Y(f"{key}:Q", title=chart.y_title, axis=_axis()),
        tooltip=[
            _x_tooltip(chart.x, chart.x_type, chart.x_title),
            alt.Tooltip(f"{key}:Q", title=chart.y_title, format=",.0f"),
        ],
    )
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="#333").encode(y="y:Q")
    layers: list[alt.Chart] = [area, zero]
    if chart.marker is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"x": [chart.marker], "label": [chart.marker_label]}))
            .mark_rule(color=COLOURS[1], strokeDash=[4, 3])
            .encode(
                x="x:Q",
                tooltip=[
                    alt.Tooltip("label:N", title=_("Marker")),
                    alt.Tooltip("x:Q", title=chart.x_title, format=AXIS_FORMAT),
                ],
            )
        )
    return alt.layer(*layers)


def _bars(table: Table, chart: Chart, *, horizontal: bool) -> alt.Chart:
    key, title = chart.series[0]
    frame = _frame(table, chart)
    category = alt.Y if horizontal else alt.X
    value = alt.X if horizontal else alt.Y
    return (
        alt.Chart(frame)
        .mark_bar(color=COLOURS[0])
        .encode(
            category(f"{chart.x}:N", title=chart.x_title, sort=None, axis=alt.Axis(labelLimit=360)),
            value(f"{key}:Q", title=chart.y_title, axis=_axis()),
            tooltip=[
                alt.Tooltip(f"{chart.x}:N", title=chart.x_title),
                alt.Tooltip(f"{key}:Q", title=title, format=TOOLTIP_FORMAT),
            ],
        )
    )


def _build(table: Table) -> Any:
    chart = table.chart
    assert chart is not None
    if chart.type == "lines":
        return _lines(table, chart)
    if chart.type == "grouped_lines":
        return _grouped_lines(table, chart)
    if chart.type == "area":
        return _area(table, chart)
    if chart.type in ("bars", "hbars"):
        return _bars(table, chart, horizontal=chart.type == "hbars")
    if chart.type == "event_study":
        rows = [row for row in table.rows if not row.get(SUPPRESSED)]
        return event_study_layers(rows, reference=chart.marker, language=_language())
    return None


def _key(table: Table) -> str:
    content = [_language(), table.title, repr(table.chart), table.rows]
    return hashlib.sha256(json.dumps(content, default=str, sort_keys=True).encode()).hexdigest()


def chart_spec(table: Table) -> dict[str, Any] | None:
    """The Vega-Lite spec (a dict) of the table's chart, or None if it has none."""
    if table.chart is None or not [r for r in table.rows if not r.get(SUPPRESSED)]:
        return None
    key = _key(table)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    built = _build(table)
    spec: dict[str, Any] | None = None
    if built is not None:
        spec = (
            built.properties(width=WIDTH, height=HEIGHT)
            .configure_view(stroke=None)
            .configure_axis(labelFontSize=11, titleFontSize=12)
            .to_dict()
        )
    with _lock:
        _cache[key] = spec
        while len(_cache) > _CACHE_ENTRIES:
            _cache.popitem(last=False)
    return spec


def format_locale(language: str | None = None) -> dict[str, Any]:
    """The d3 format locale charts are drawn with (the active language by default)."""
    return vega_format_locale(language_of(language) if language else _language())


def chart_svg(spec: dict[str, Any], language: str | None = None) -> str:
    """The chart as SVG text (vl-convert, no browser), for the PDF report, its numbers in
    ``language`` (the active language by default)."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(spec, format_locale=format_locale(language)))
