"""The result every estimator returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Estimate"]


def _clean(value: Any) -> Any:
    """JSON-friendly: NaN/inf become None, numpy scalars become Python numbers."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its uncertainty and the counts behind it.

    ``extras`` holds method-specific named results (e.g. ``cumulative_saving``,
    ``break_even_month``, a monthly series) that a contract input may ``take``.
    ``subgroups`` holds one Estimate per level of the subgroup column, each with
    ``label`` set to the level.
    """

    method: str
    estimate: float
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_treated: int | None
    n_control: int | None
    n_obs: int
    ci_method: str = "analytic"
    level: float = 0.95
    seed: int | None = None
    label: str | None = None
    outcome: str | None = None
    estimand: str | None = None
    notes: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)
    subgroups: tuple[Estimate, ...] = ()

    @classmethod
    def exact(cls, method: str, estimate: float, n_obs: int, **fields: Any) -> Estimate:
        """A figure counted or summed, not estimated: no standard error, interval or
        p-value (an aggregate, a rate card's count, a share's change to date)."""
        return cls(
            method=method,
            estimate=estimate,
            std_error=None,
            ci_low=None,
            ci_high=None,
            p_value=None,
            n_treated=fields.pop("n_treated", None),
            n_control=fields.pop("n_control", None),
            n_obs=n_obs,
            ci_method="none",
            **fields,
        )

    def take(self, name: str) -> Any:
        """A named figure: ``estimate``, ``std_error``, … or an extra."""
        if name in {
            "estimate",
            "std_error",
            "ci_low",
            "ci_high",
            "p_value",
            "n_treated",
            "n_control",
            "n_obs",
        }:
            return getattr(self, name)
        if name in self.extras:
            return self.extras[name]
        head, dot, rest = name.partition(".")
        nested = self.extras.get(head)
        if dot and isinstance(nested, dict):
            # A figure inside a table of extras, e.g. ``monthly.observed_days_per_employee``.
            if rest in nested:
                return nested[rest]
            inner = ", ".join(f"{head}.{key}" for key in sorted(nested))
            raise KeyError(f"{self.method} gives no figure {name!r}; {head} holds: {inner}")
        known = sorted(["estimate", "std_error", "ci_low", "ci_high", "p_value", *self.extras])
        raise KeyError(f"{self.method} gives no figure {name!r}; it gives: {', '.join(known)}")

    def as_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``utfall evaluate --json``."""
        out: dict[str, Any] = {
            "method": self.method,
            "outcome": self.outcome,
            "estimand": self.estimand,
            "label": self.label,
            "estimate": self.estimate,
            "std_error": self.std_error,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "ci_method": self.ci_method,
            "level": self.level,
            "p_value": self.p_value,
            "n_treated": self.n_treated,
            "n_control": self.n_control,
            "n_obs": self.n_obs,
            "seed": self.seed,
            "notes": list(self.notes),
            "extras": self.extras,
            "subgroups": [s.as_dict() for s in self.subgroups],
        }
        if "event_study" in self.extras:
            # The shared event-study interface (issue 16): also a top-level key of --json.
            out["event_study"] = self.extras["event_study"]
        if "sensitivity" in self.extras:
            # Rambachan–Roth robust intervals and breakdown value, also top-level in --json.
            out["sensitivity"] = self.extras["sensitivity"]
        cleaned: dict[str, Any] = _clean(out)
        return cleaned
