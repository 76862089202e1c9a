"""Pre-registration: what an evaluation will be, fixed before its outcome data exist.

A registration holds, per evaluation, the evaluation spec as the contract version
states it, its SHA-256 (RFC 8785 canonical JSON), the design figures, and the contract
version's own SHA-256. It is written to the ledger as a ``pre_registration`` entry
before any outcome data are imported (decision 0718). At settlement,
:func:`spec_deviations` compares the spec used with the registered one, key by key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from utfall.core.evaluation.spec import EvaluationSpec
from utfall.core.ledger.canonical import canonical_sha256

__all__ = ["registration_record", "spec_deviations", "spec_record"]

_FIGURES = (
    "method",
    "alpha",
    "target_power",
    "alternative",
    "power",
    "n_per_group",
    "n_control",
    "mde",
    "mde_effect_size",
    "effect",
    "effect_size",
    "sd",
    "design_effect",
    "clusters_per_group",
    "n_reference",
)


def spec_record(spec: EvaluationSpec) -> dict[str, Any]:
    """The spec as registered: every key that changes the figure, JSON-ready (no source
    file or line numbers, which do not)."""
    data = spec.model_dump(mode="json", exclude={"source", "lines"})
    return {key: value for key, value in sorted(data.items())}


def registration_record(
    *,
    contract_id: str,
    contract_version: str,
    contract_sha256: str,
    specs: Mapping[str, EvaluationSpec],
    designs: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The content of a pre-registration: the contract version and, per evaluation, its
    spec, the spec's SHA-256 and its design figures (the power curve left out)."""
    evaluations: dict[str, Any] = {}
    for name, spec in sorted(specs.items()):
        record = spec_record(spec)
        figures = designs.get(name, {})
        evaluations[name] = {
            "spec": record,
            "spec_sha256": canonical_sha256(record),
            "design": {key: figures[key] for key in _FIGURES if key in figures},
        }
    return {
        "contract": contract_id,
        "contract_version": contract_version,
        "contract_sha256": contract_sha256,
        "evaluations": evaluations,
    }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def spec_deviations(registered: Mapping[str, Any], used: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every key whose value differs between the registered spec and the one used:
    ``{"key", "registered", "used"}`` with dotted keys (``ci.level``), sorted by key;
    a key absent on one side shows ``None`` there. Empty when the specs agree."""
    before, after = _flatten(registered), _flatten(used)
    return [
        {"key": key, "registered": before.get(key), "used": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]
