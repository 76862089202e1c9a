"""The design page's form: the assumptions of one evaluation, as a person types them.

Numbers go through :class:`~utfall.platform.web.forms.NumberField`, so ``0,05`` and ``1,5``
read as well as ``0.05`` and ``1.5``. The form only parses; the design spec it gives is
validated by :func:`utfall.core.design.design_spec_validate` in the service.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from utfall.core.design.spec import DATA_METHODS, DESIGN_METHODS
from utfall.platform.web.forms import NumberField

__all__ = ["EFFECT_KINDS", "METHOD_LABELS", "DesignForm", "initial_for"]

METHOD_LABELS = {
    "difference_in_means": _("Difference in means"),
    "proportions": _("Difference in proportions"),
    "did": _("Difference in differences"),
    "twfe": _("Two-way fixed effects (panel)"),
    "historical_reference": _("Comparison with the historical reference"),
    "trend_adjusted": _("Trend-adjusted saving"),
}
assert set(METHOD_LABELS) == set(DESIGN_METHODS)

EFFECT_KINDS = {
    "standardised": _("Standardised effect size (Cohen's d or h)"),
    "units": _("Effect in the outcome's units, with its standard deviation"),
    "proportions": _("Two proportions (comparison and intervention group)"),
}

# The design method each evaluation method is planned with first (the service names the
# others it allows).
_PLANNED_FIRST = {
    "difference_in_means": "difference_in_means",
    "share_change": "proportions",
    "did": "did",
    "twfe": "twfe",
    "staggered_did": "did",
    "historical_reference": "historical_reference",
    "trend_adjusted": "trend_adjusted",
}


# Methods whose draws correlate a unit's outcomes over time (autocorrelation applies).
SERIAL_METHODS = ("did", "twfe", "trend_adjusted", "historical_reference")


def _number(label: Any, *, required: bool = False, help_text: Any = "") -> NumberField:
    return NumberField(label=label, required=required, help_text=help_text)


class DesignForm(forms.Form):
    """One evaluation's design assumptions."""

    evaluation = forms.ChoiceField(label=_("Evaluation"))
    method = forms.ChoiceField(label=_("Evaluation method"), choices=list(METHOD_LABELS.items()))
    alpha = _number(_("Significance level (alpha)"), required=True)
    power = _number(_("Power wanted"), required=True)
    effect_kind = forms.ChoiceField(
        label=_("The effect to detect, given as"),
        choices=list(EFFECT_KINDS.items()),
        widget=forms.RadioSelect,
    )
    effect_size = _number(_("Standardised effect size"))
    effect = _number(_("Effect (outcome units)"))
    sd = _number(_("Standard deviation of the outcome"))
    p_control = _number(_("Proportion in the comparison group"))
    p_treated = _number(_("Proportion in the intervention group"))
    n_per_group = forms.IntegerField(
        label=_("Units in the intervention group (optional)"),
        required=False,
        min_value=2,
        help_text=_("Given, the page shows the power and the minimum detectable effect there."),
    )
    cluster_size = _number(_("Units per cluster"), help_text=_("1 when units are not clustered."))
    icc = _number(_("Intra-cluster correlation"))
    autocorrelation = _number(
        _("Correlation of a unit's outcome before and after"),
        help_text=_("For difference in differences and the trend-adjusted saving."),
    )
    n_reference = forms.IntegerField(
        label=_("Units in the historical reference cohort"), required=False, min_value=2
    )
    months = forms.IntegerField(
        label=_("Months of follow-up"),
        required=False,
        min_value=1,
        max_value=240,
        help_text=_(
            "For the payment risk of the historical reference and the trend-adjusted saving."
        ),
    )
    reference_mean = _number(
        _("Reference level per individual and month"),
        help_text=_("The reference cohort's mean cost, or the reference period's sick days."),
    )
    trend = _number(
        _("Change of the reference level per month"),
        help_text=_("For the historical reference."),
    )
    trend_ratio = _number(
        _("Trend index of the contract months against the reference months"),
        help_text=_("For the trend-adjusted saving; 1 when there is no trend."),
    )

    def __init__(self, *args: Any, evaluations: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["evaluation"].choices = evaluations

    def design_spec(self) -> dict[str, Any]:
        """The design spec the cleaned form gives (only the keys that apply)."""
        data = self.cleaned_data
        method = data["method"]
        raw: dict[str, Any] = {
            "method": method,
            "alpha": _float(data["alpha"]),
            "power": _float(data["power"]),
        }
        kind = data["effect_kind"]
        if kind == "standardised":
            raw["effect_size"] = _float(data.get("effect_size"))
        elif kind == "units":
            raw["effect"] = _float(data.get("effect"))
            raw["sd"] = _float(data.get("sd"))
        else:
            raw["p_control"] = _float(data.get("p_control"))
            raw["p_treated"] = _float(data.get("p_treated"))
        if method in ("historical_reference", "trend_adjusted") and "sd" not in raw:
            raw["sd"] = _float(data.get("sd"))
        if data.get("n_per_group"):
            raw["n_per_group"] = data["n_per_group"]
        if method in ("did", "twfe", "difference_in_means", "proportions"):
            for key in ("cluster_size", "icc"):
                if data.get(key) is not None:
                    raw[key] = _float(data[key])
        if method in SERIAL_METHODS and data.get("autocorrelation") is not None:
            raw["autocorrelation"] = _float(data["autocorrelation"])
        if method == "historical_reference" and data.get("n_reference"):
            raw["n_reference"] = data["n_reference"]
        if method in DATA_METHODS:
            if data.get("months"):
                raw["months"] = data["months"]
            if data.get("reference_mean") is not None:
                raw["reference_mean"] = _float(data["reference_mean"])
            key = "trend" if method == "historical_reference" else "trend_ratio"
            if data.get(key) is not None:
                raw[key] = _float(data[key])
        return {key: value for key, value in raw.items() if value is not None}


def _float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def initial_for(
    evaluation: str,
    evaluation_method: str | None,
    level: float | None,
    *,
    options: dict[str, Any] | None = None,
    stored: dict[str, Any] | None = None,
) -> dict:
    """Assumptions to start from for the chosen evaluation: its method as planned, the
    significance level of its interval, and an effect that computes as it stands. For a
    historical reference the months are those its ``options.horizon`` evaluates;
    ``stored`` (from the contract's stored data, see
    :func:`utfall.platform.design.services.stored_defaults`) gives the SD, the units and
    the reference level where the data has them."""
    method = _PLANNED_FIRST.get(evaluation_method or "", "difference_in_means")
    alpha = Decimal(str(round(1 - level, 4))) if level else Decimal("0.05")
    initial: dict[str, Any] = {
        "evaluation": evaluation,
        "method": method,
        "alpha": alpha,
        "power": Decimal("0.80"),
        "effect_kind": "proportions" if method == "proportions" else "units",
        "effect_size": Decimal("0.5"),
        "effect": Decimal("10"),
        "sd": Decimal("30"),
        "p_control": Decimal("0.50"),
        "p_treated": Decimal("0.65"),
        "cluster_size": Decimal("1"),
        "icc": Decimal("0"),
    }
    if method in SERIAL_METHODS:
        initial["autocorrelation"] = Decimal("0.5")
    if method in DATA_METHODS:
        horizon = (options or {}).get("horizon")
        start = (options or {}).get("start_month") or 0
        if method == "historical_reference":
            initial["months"] = horizon + 1 - start if isinstance(horizon, int) else 12
            initial["trend"] = Decimal("0")
        else:
            initial["months"] = 36
            initial["trend_ratio"] = Decimal("1")
        initial["reference_mean"] = Decimal("0")
    for key, value in (stored or {}).items():
        initial[key] = Decimal(str(round(value, 4))) if isinstance(value, float) else value
    return initial
