"""The design stage of an evaluation, before anyone signs (pure Python, no Django).

* :func:`design` — minimum detectable effect, units needed and power for the methods
  of :mod:`utfall.core.design.power` (difference in means, proportions, DiD with
  clusters, the historical reference, the trend-adjusted saving);
* :func:`power_curve_chart` — the power curve as a Vega-Lite specification;
* :func:`payment_risk` — the probability that each payment is triggered, and its
  distribution, by simulating the evaluation under a range of true effects;
* :func:`registration_record` and :func:`spec_deviations` — pre-registration of the
  spec and design figures, and the comparison at settlement.

Reading a spec file or data is the job of :mod:`utfall.services.design`.
"""

from __future__ import annotations

from utfall.core.design.chart import payment_risk_chart, power_curve_chart
from utfall.core.design.power import Design, DesignSample, design, design_sample, power_at
from utfall.core.design.registration import registration_record, spec_deviations, spec_record
from utfall.core.design.simulation import (
    SIMULATED_METHODS,
    PaymentRisk,
    draw_frame,
    payment_risk,
    trend_index_frame,
)
from utfall.core.design.spec import DATA_METHODS, DESIGN_METHODS, DesignSpec, design_spec_validate

__all__ = [
    "DATA_METHODS",
    "DESIGN_METHODS",
    "SIMULATED_METHODS",
    "Design",
    "DesignSample",
    "DesignSpec",
    "PaymentRisk",
    "design",
    "design_sample",
    "design_spec_validate",
    "draw_frame",
    "payment_risk",
    "payment_risk_chart",
    "power_at",
    "power_curve_chart",
    "registration_record",
    "spec_deviations",
    "spec_record",
    "trend_index_frame",
]
