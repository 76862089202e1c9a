"""The power curve as a Vega-Lite specification (a plain mapping, no plotting library)."""

from __future__ import annotations

from typing import Any

from utfall.core.design.power import Design

__all__ = ["payment_risk_chart", "power_curve_chart"]

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


def power_curve_chart(design: Design, *, title: str | None = None) -> dict[str, Any]:
    """Power against the treated units per group, one line per true effect, with the
    wanted power as a rule and the design's number of units as a point."""
    effect_field = "effect" if any("effect" in p for p in design.curve) else "effect_size"
    effect_title = "effect" if effect_field == "effect" else "effect size"
    values = [{**point, "effect_label": f"{point[effect_field]:.3g}"} for point in design.curve]
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "line"},
            "encoding": {
                "x": {"field": "n_per_group", "type": "quantitative", "title": "units per group"},
                "y": {
                    "field": "power",
                    "type": "quantitative",
                    "title": "power",
                    "scale": {"domain": [0, 1]},
                },
                "color": {"field": "effect_label", "type": "nominal", "title": effect_title},
                "tooltip": [
                    {"field": "n_per_group", "type": "quantitative"},
                    {"field": effect_field, "type": "quantitative", "format": ".3g"},
                    {"field": "power", "type": "quantitative", "format": ".3f"},
                ],
            },
        },
        {
            "data": {"values": [{"power": design.target_power}]},
            "mark": {"type": "rule", "strokeDash": [4, 4]},
            "encoding": {"y": {"field": "power", "type": "quantitative"}},
        },
    ]
    if design.n_per_group is not None and design.power is not None:
        layers.append(
            {
                "data": {"values": [{"n_per_group": design.n_per_group, "power": design.power}]},
                "mark": {"type": "point", "filled": True, "size": 60},
                "encoding": {
                    "x": {"field": "n_per_group", "type": "quantitative"},
                    "y": {"field": "power", "type": "quantitative"},
                },
            }
        )
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "title": title or f"Power of {design.method} (α = {design.alpha:g})",
        "width": 480,
        "height": 280,
        "data": {"values": values},
        "layer": layers,
    }


def payment_risk_chart(
    risk: Any,
    *,
    title: str = "Probability that each payment is triggered",
    x_title: str = "true effect",
    y_title: str = "probability triggered",
    color_title: str = "payment",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The probability that each payment is triggered against the true effect, one line
    per payment (``risk`` is a :class:`~utfall.core.design.simulation.PaymentRisk`);
    ``labels`` names the payments for people (payment id → label)."""
    names = labels or {}
    values = [
        {
            "effect": row["effect"],
            "payment": names.get(row["payment"], row["payment"]),
            "probability": row["probability_triggered"],
        }
        for row in risk.rows
    ]
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "title": title,
        "width": 480,
        "height": 260,
        "data": {"values": values},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "effect", "type": "quantitative", "title": x_title},
            "y": {
                "field": "probability",
                "type": "quantitative",
                "title": y_title,
                "scale": {"domain": [0, 1]},
                "axis": {"format": ".0%"},
            },
            "color": {"field": "payment", "type": "nominal", "title": color_title},
            "tooltip": [
                {"field": "payment", "type": "nominal"},
                {"field": "effect", "type": "quantitative", "format": ".3g"},
                {"field": "probability", "type": "quantitative", "format": ".0%"},
            ],
        },
    }
