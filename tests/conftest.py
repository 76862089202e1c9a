"""Fixtures shared across the test folders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis times each example (a 200 ms deadline) and the drawing of inputs (the too_slow
# health check). On two cores shared by three workers, Chromium and a PostgreSQL child run,
# a draw that takes 1.25 s says nothing about the code: timing is measured by the
# benchmarks in benchmarks/, not here. Each test's own settings still apply on top.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

SickLeaveDays = Callable[[Mapping[str, Any], str], tuple[Fraction, Fraction]]


def _sick_leave_days(given: Mapping[str, Any], reading: str) -> tuple[Fraction, Fraction]:
    """(S_e, S_n) of seed 004 with exact fractions, independent of the engine.

    Reading A (the seed's): S_e = Σ reference days, S_n = Σ observed·SLT_ref/SLT_i.
    Reading B: S_e = Σ reference·SLT_i/SLT_ref, S_n = Σ observed days.
    """
    months = list(
        zip(
            given["reference_days_per_employee"],
            given["observed_days_per_employee"],
            given["slt"],
            given["slt_reference"],
            strict=True,
        )
    )
    if reading == "A":
        expected = sum(Fraction(r) for r, _, _, _ in months)
        observed = sum(Fraction(o) * Fraction(ref) / Fraction(i) for _, o, i, ref in months)
    else:
        expected = sum(Fraction(r) * Fraction(i) / Fraction(ref) for r, _, i, ref in months)
        observed = sum(Fraction(o) for _, o, _, _ in months)
    return Fraction(expected), Fraction(observed)


@pytest.fixture(scope="session")
def sick_leave_days() -> SickLeaveDays:
    """The seed-004 expected and observed days of a sick-leave settlement's inputs."""
    return _sick_leave_days
