"""The fund dashboard's chart of the budget by year, as plain SVG drawn on the server.

No script is needed (the page's Content-Security-Policy allows none inline), the figures
are the table's, and every label goes through the formatting layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from utfall.services import formatting

__all__ = ["budget_chart"]

WIDTH = 640
HEIGHT = 240
LEFT = 48
BOTTOM = 28
TOP = 12
MILLION = Decimal(1_000_000)


def _at(value: Any) -> str:
    """A coordinate for an SVG attribute: always with a decimal point (a float in a
    template would be written in the reader's language, ``12,5``)."""
    return f"{float(value):.1f}"


def _step(top: Decimal) -> Decimal:
    for step in (
        Decimal(1),
        Decimal(2),
        Decimal(5),
        Decimal(10),
        Decimal(20),
        Decimal(25),
        Decimal(50),
        Decimal(100),
        Decimal(200),
        Decimal(500),
    ):
        if top / step <= 5:
            return step
    return Decimal(1000)


def budget_chart(rows: Sequence[Any]) -> dict[str, Any] | None:
    """Bars per year (budget, forecast, paid) in million kronor, with ticks and tooltips."""
    if not rows:
        return None
    language = formatting.language_of(get_language())
    series = (
        ("budget", _("Budget"), "#c9d8e6"),
        ("forecast", _("Forecast"), "#1f5f8b"),
        ("paid", _("Paid"), "#3a7d44"),
    )
    top = (
        max(max(Decimal(getattr(r, key)) for key, _label, _colour in series) for r in rows)
        / MILLION
    )
    step = _step(top or Decimal(1))
    ceiling = max(step, (top / step).to_integral_value(rounding="ROUND_CEILING") * step)
    plot_height = HEIGHT - BOTTOM - TOP
    plot_width = WIDTH - LEFT - 8
    group = Decimal(plot_width) / len(rows)
    bar = group * Decimal("0.8") / len(series)

    def y(value: Decimal) -> float:
        return float(TOP + plot_height - plot_height * (value / MILLION) / ceiling)

    bars = []
    for index, row in enumerate(rows):
        for position, (key, label, colour) in enumerate(series):
            value = Decimal(getattr(row, key))
            top_y = y(value)
            bars.append(
                {
                    "x": _at(LEFT + group * index + group * Decimal("0.1") + bar * position),
                    "y": _at(top_y),
                    "width": _at(float(bar) - 1),
                    "height": _at(float(TOP + plot_height) - top_y),
                    "colour": colour,
                    "title": f"{row.year} · {label}: {formatting.money(value, language, places=0)}",
                }
            )
    ticks = []
    value = Decimal(0)
    while value <= ceiling:
        ticks.append({"y": _at(y(value * MILLION)), "label": formatting.number(value, language)})
        value += step
    years = [
        {"x": _at(LEFT + group * index + group / 2), "label": str(row.year)}
        for index, row in enumerate(rows)
    ]
    return {
        "width": str(WIDTH),
        "height": str(HEIGHT),
        "left": str(LEFT),
        "label_x": str(LEFT - 6),
        "right": str(WIDTH - 8),
        "year_y": str(HEIGHT - 8),
        "bars": bars,
        "ticks": ticks,
        "years": years,
        "legend": [{"label": label, "colour": colour} for _key, label, colour in series],
    }
