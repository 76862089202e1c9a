"""The Vega-Lite chart of an event study: one point per relative period with its interval.

Points with interval bars, a zero line and the reference period marked (a dashed rule
and a hollow point at 0), labels in Swedish or English. It reads the shared
event-study rows of an Estimate (``extras["event_study"]``: ``relative_period``,
``estimate``, ``ci_low``, ``ci_high``) and needs no Django, so ``utfall evaluate
--chart`` writes the same spec as the council page and its PDF report draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

__all__ = ["AXIS_FORMAT", "LABELS", "event_study_chart", "event_study_layers"]

AXIS_FORMAT = ",~f"
"""d3 format of numbers on axes: digit grouping, no trailing zeros; the separators come
from the format locale the chart is drawn with (vega-embed ``formatLocale``, vl-convert
``format_locale``)."""

LABELS = {
    "sv": {
        "x": "Period relativt införandet",
        "y": "Skattad effekt",
        "interval": "Konfidensintervall",
        "reference": "Referensperiod",
        "title": "Effekt per period före och efter införandet",
    },
    "en": {
        "x": "Period relative to adoption",
        "y": "Estimated effect",
        "interval": "Confidence interval",
        "reference": "Reference period",
        "title": "Effect by period before and after adoption",
    },
}
COLOUR = "#1f5f8b"
REFERENCE_COLOUR = "#c8553d"


def _frame(rows: Sequence[Mapping[str, Any]], reference: int | None) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {
                "relative_period": int(row["relative_period"]),
                "estimate": row.get("estimate"),
                "ci_low": row.get("ci_low"),
                "ci_high": row.get("ci_high"),
                "is_reference": reference is not None
                and int(row["relative_period"]) == int(reference),
            }
            for row in rows
        ],
        columns=["relative_period", "estimate", "ci_low", "ci_high", "is_reference"],
    )
    for column in ("estimate", "ci_low", "ci_high"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def event_study_layers(
    rows: Sequence[Mapping[str, Any]], *, reference: int | None, language: str = "sv"
) -> Any:
    """The chart's layers (points, interval bars, zero line, reference marker)."""
    text = LABELS["en" if language.startswith("en") else "sv"]
    frame = _frame(rows, reference)
    x = alt.X("relative_period:Q", title=text["x"], axis=alt.Axis(tickMinStep=1, format="d"))
    base = alt.Chart(frame).encode(x=x)
    tooltip = [
        alt.Tooltip("relative_period:Q", title=text["x"], format="d"),
        alt.Tooltip("estimate:Q", title=text["y"], format=",.4f"),
        alt.Tooltip("ci_low:Q", title=text["interval"] + " –", format=",.4f"),
        alt.Tooltip("ci_high:Q", title=text["interval"] + " +", format=",.4f"),
    ]
    bars = (
        base.transform_filter("isValid(datum.ci_low) && isValid(datum.ci_high)")
        .mark_rule(color=COLOUR, strokeWidth=1.5)
        .encode(
            y=alt.Y("ci_low:Q", title=text["y"], axis=alt.Axis(format=AXIS_FORMAT)), y2="ci_high:Q"
        )
    )
    points = base.mark_point(filled=True, size=60, color=COLOUR).encode(
        y=alt.Y("estimate:Q", title=text["y"], axis=alt.Axis(format=AXIS_FORMAT)),
        shape=alt.Shape(
            "is_reference:N",
            scale=alt.Scale(domain=[False, True], range=["circle", "diamond"]),
            legend=None,
        ),
        tooltip=tooltip,
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#333").encode(y="y:Q")
    layers: list[Any] = [zero, bars, points]
    if reference is not None:
        marker = pd.DataFrame({"x": [reference], "label": [f"{text['reference']}: {reference}"]})
        layers.append(
            alt.Chart(marker)
            .mark_rule(color=REFERENCE_COLOUR, strokeDash=[4, 3])
            .encode(x="x:Q", tooltip=["label:N"])
        )
        layers.append(
            alt.Chart(marker)
            .mark_text(align="left", dx=4, dy=-6, color=REFERENCE_COLOUR, fontSize=11)
            .encode(x="x:Q", y=alt.value(8), text="label:N")
        )
    return alt.layer(*layers)


def event_study_chart(
    rows: Sequence[Mapping[str, Any]],
    *,
    reference: int | None,
    language: str = "sv",
    title: str | None = None,
    width: int = 640,
    height: int = 260,
) -> dict[str, Any]:
    """The Vega-Lite spec (a dict) of an event study's rows."""
    text = LABELS["en" if language.startswith("en") else "sv"]
    spec: dict[str, Any] = (
        event_study_layers(rows, reference=reference, language=language)
        .properties(width=width, height=height, title=title or text["title"])
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=12)
        .to_dict()
    )
    return spec
