"""Outcome vocabularies the reference contracts share across layers.

``SOCIAL_DIMENSIONS`` are Norrköping's six followed (non-paying) outcomes, each
measured for every child at 3–4 points (DESIGN.md 2.1). The synthetic data write
them, the imports accept them and the council dashboard reports them by these keys.
"""

from __future__ import annotations

__all__ = ["SOCIAL_DIMENSIONS"]

SOCIAL_DIMENSIONS = (
    "mental_health",
    "risk_and_abuse",
    "participation",
    "family_capacity",
    "own_goal_attainment",
    "school_results",
)
