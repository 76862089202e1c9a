"""What a design asks for: the design spec, validated before anything is computed.

A design spec names the evaluation method it plans for, the test's ``alpha`` and the
wanted ``power``, and the effect to detect: standardised (``effect_size``: Cohen's d,
or Cohen's h for proportions), in outcome units (``effect`` with ``sd``, or with the
``sd`` read from data), or as two proportions (``p_control``, ``p_treated``). Without
an effect it gives the minimum detectable effect at ``n_per_group``.
:func:`design_spec_validate` raises :class:`~utfall.errors.SpecInvalid` naming the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from utfall.errors import SpecInvalid

__all__ = ["DATA_METHODS", "DESIGN_METHODS", "DesignSpec", "design_spec_validate"]

DESIGN_METHODS = (
    "difference_in_means",
    "proportions",
    "did",
    "twfe",
    "historical_reference",
    "trend_adjusted",
)
DATA_METHODS = ("historical_reference", "trend_adjusted")
"""Methods whose variance comes from data: the reference cohort's, or the employees'."""

Locator = Callable[[tuple[str, ...]], str]


class DesignSpec(BaseModel):
    """A validated design spec (see docs/evaluation.md, "The design stage")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal[
        "difference_in_means",
        "proportions",
        "did",
        "twfe",
        "historical_reference",
        "trend_adjusted",
    ]
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    power: float = Field(default=0.80, gt=0.05, lt=1)
    alternative: Literal["two-sided", "one-sided"] = Field(
        default="two-sided", description="one-sided: the test in the direction of the effect."
    )
    effect_size: float | None = Field(default=None, description="Cohen's d (or h).")
    effect: float | None = Field(default=None, description="The effect in outcome units.")
    sd: float | None = Field(default=None, gt=0, description="The outcome's SD.")
    p_control: float | None = Field(default=None, gt=0, lt=1)
    p_treated: float | None = Field(default=None, gt=0, lt=1)
    n_per_group: int | None = Field(default=None, ge=2, description="Treated units available.")
    ratio: float = Field(default=1.0, gt=0, description="Comparison units per treated unit.")
    cluster_size: float = Field(default=1.0, ge=1, description="Mean units per cluster.")
    icc: float = Field(default=0.0, ge=0, lt=1, description="Intra-cluster correlation.")
    autocorrelation: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="Correlation of a unit's outcome before and after (did, trend_adjusted).",
    )
    data: str | None = Field(default=None, description="The reference or employee table.")
    outcome: str | None = None
    unit: str | None = None
    time: str | None = None
    baseline: Any = None
    follow_up: Any = None
    n_reference: int | None = Field(default=None, ge=2)
    months: int | None = Field(
        default=None,
        ge=1,
        le=240,
        description="Payment risk of historical_reference/trend_adjusted: months of follow-up.",
    )
    reference_mean: float = Field(
        default=0.0,
        description="Payment risk: the reference level per individual (employee) and month.",
    )
    trend: float = Field(
        default=0.0,
        description="historical_reference: change of the reference level per month.",
    )
    trend_ratio: float = Field(
        default=1.0,
        gt=0,
        description="trend_adjusted: the trend index of the contract months over the reference's.",
    )
    effects: list[float] = Field(
        default_factory=list, description="True effects (outcome units) for payment risk."
    )
    reps: int = Field(default=500, ge=10, le=100_000)
    seed: int | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _one_effect(self) -> DesignSpec:
        given = [
            key
            for key, value in (
                ("effect_size", self.effect_size),
                ("effect", self.effect),
                ("p_treated", self.p_treated),
            )
            if value is not None
        ]
        if len(given) > 1:
            raise ValueError(f"give one effect: {' or '.join(given)}, not both")
        if self.effect_size is not None and self.effect_size == 0:
            raise ValueError(
                "effect_size: a zero effect cannot be detected; give the effect to detect"
            )
        if self.effect is not None and self.effect == 0:
            raise ValueError("effect: a zero effect cannot be detected; give the effect to detect")
        if not given and self.n_per_group is None:
            raise ValueError(
                "give the effect to detect (effect_size, or effect with sd) or n_per_group "
                "(then the minimum detectable effect is computed)"
            )
        if self.method == "proportions":
            if self.p_treated is not None and self.p_control is None:
                raise ValueError("p_treated needs p_control")
            if self.p_treated is not None and self.p_treated == self.p_control:
                raise ValueError("p_treated equals p_control: there is no effect to detect")
            if self.effect is not None:
                raise ValueError("proportions take p_control and p_treated, or effect_size (h)")
        elif self.p_control is not None or self.p_treated is not None:
            raise ValueError(f"p_control/p_treated are for method proportions, not {self.method}")
        if self.method in DATA_METHODS:
            if self.data is None and self.sd is None:
                raise ValueError(f"{self.method} reads the variance from data: give data (or sd)")
            if self.data is not None and self.outcome is None:
                raise ValueError("data needs outcome: the column whose variance is used")
        elif self.data is not None:
            raise ValueError(
                f"data is read for historical_reference and trend_adjusted, not {self.method}"
            )
        if self.effect is not None and self.sd is None and self.data is None:
            raise ValueError("effect needs sd (the outcome's standard deviation)")
        return self


def _message(error: ValidationError, source: str, locate: Locator | None) -> str:
    first = error.errors()[0]
    key = tuple(str(part) for part in first["loc"])
    where = locate(key) if locate and key else source
    text = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {'.'.join(key)}: {text}" if key else f"{where}: {text}"


def design_spec_validate(
    raw: Mapping[str, Any], *, source: str = "design spec", locate: Locator | None = None
) -> DesignSpec:
    """Validate a design spec mapping; raise SpecInvalid naming the key that is wrong."""
    if not isinstance(raw, Mapping):
        raise SpecInvalid(f"{source}: a design spec is a mapping of keys (method, alpha, …)")
    if "method" not in raw:
        raise SpecInvalid(
            f"{source}: method: give the evaluation method ({', '.join(DESIGN_METHODS)})"
        )
    try:
        return DesignSpec.model_validate({**raw, "source": source})
    except ValidationError as error:
        raise SpecInvalid(_message(error, source, locate)) from None
