"""Synthetic data for the reference contracts (``utfall synth``).

Each scenario writes Parquet tables (and CSV on request) plus a
``manifest.json`` that lists the tables and records the *planted* effects, so
a test or a reader can check that an estimator recovers what was put in.
Output is deterministic for a seed and is written in chunks, so memory stays
bounded however large ``size`` is. Identifiers are pseudonymous (``P-000123``
for children, integers for employees, ``K-01`` for constellations); nothing
looks like a Swedish personal identity number.

Scenarios: ``norrkoping`` (placed children, DESIGN.md 2.1), ``sick-leave``
(short-term sick leave, 2.2), ``early-support`` (the actors' reports of
Hässelby-Vällingby, 2.3), ``collective-impact`` (an investment round of the Husby
collective-impact platform, 2.3), ``fund`` (national outcomes fund, 2.4), ``ips``
(supported employment paid by a rate card, 2.3; only its contract's declared
tables, as CSV), ``homeless-families`` (households of the Malmö rate card, 2.3;
likewise) and ``diabetes`` (participants of Region Stockholm's health bond, 2.3;
likewise). A scenario's manifest names the reference contracts whose
declared tables it writes (``contracts``). The table layouts are documented in ``docs/data.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from utfall.synth import (
    collective_impact,
    diabetes,
    early_support,
    fund,
    homeless_families,
    ips,
    norrkoping,
    sick_leave,
)
from utfall.synth._io import NullProgress, ProgressReporter, write_manifest

__all__ = ["DEFAULT_SEED", "SCENARIOS", "NullProgress", "ProgressReporter", "generate"]

DEFAULT_SEED = 2016
FORMAT_VERSION = 1

Generator = Callable[..., dict[str, Any]]
CONTRACT_SCENARIOS = ("norrkoping", "sick-leave", "early-support", "collective-impact")
"""Scenarios that also write their reference contracts' declared tables."""

SCENARIOS: dict[str, Generator] = {
    "norrkoping": norrkoping.generate,
    "sick-leave": sick_leave.generate,
    "early-support": early_support.generate,
    "collective-impact": collective_impact.generate,
    "fund": fund.generate,
    "ips": ips.generate,
    "homeless-families": homeless_families.generate,
    "diabetes": diabetes.generate,
}


def generate(
    scenario: str,
    out: Path,
    *,
    seed: int = DEFAULT_SEED,
    size: int | None = None,
    csv: bool = False,
    progress: ProgressReporter | None = None,
    contract_tables: bool = True,
) -> dict[str, Any]:
    """Generate ``scenario`` into directory ``out`` and return its manifest.

    ``size`` is scenario-specific (included children, employees,
    constellations); ``None`` takes the scenario's default. Raises
    ``KeyError`` for an unknown scenario and ``ValueError`` for a bad size.
    """
    if scenario not in SCENARIOS:
        raise KeyError(scenario)
    out.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = (
        {"contract_tables": contract_tables} if scenario in (CONTRACT_SCENARIOS) else {}
    )
    body = SCENARIOS[scenario](out, seed=seed, size=size, csv=csv, progress=progress, **options)
    manifest = {
        "format_version": FORMAT_VERSION,
        "scenario": scenario,
        "seed": seed,
        "size": size,
        **body,
    }
    write_manifest(out, manifest)
    return manifest
