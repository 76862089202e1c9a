"""Reads of the design stage: the latest pre-registration, and the check at settlement."""

from __future__ import annotations

from typing import Any

from utfall.core.ledger import KIND_IMPORT, KIND_PRE_REGISTRATION
from utfall.platform.contracts import selectors as contract_selectors
from utfall.platform.contracts.models import Contract
from utfall.platform.settlements.models import LedgerRecord
from utfall.services.design import registration_compare

__all__ = ["registration_for_statement", "registration_latest"]


def registration_latest(*, contract: Contract) -> LedgerRecord | None:
    """The newest ``pre_registration`` entry of ``contract`` (None when there is none)."""
    return (
        LedgerRecord.objects.filter(
            contract_identifier=contract.identifier, kind=KIND_PRE_REGISTRATION
        )
        .order_by("-sequence")
        .first()
    )


def registration_for_statement(*, statement: Any) -> dict[str, Any]:
    """What the statement page shows: whether the evaluations were registered before the
    first import, and, per evaluation the statement settles on, whether the spec used is
    the registered one, with every deviation."""
    contract = statement.contract
    entry = registration_latest(contract=contract)
    if entry is None:
        return {"registered": False}
    first_import = (
        LedgerRecord.objects.filter(contract_identifier=contract.identifier, kind=KIND_IMPORT)
        .order_by("sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    parsed = contract_selectors.parsed_version(statement.version)
    compared = registration_compare(
        entry.attributes.get("registration") or {}, parsed, list(parsed.bound_evaluations())
    )
    rows = [{"evaluation": name, **result} for name, result in compared["evaluations"].items()]
    return {
        "registered": True,
        "sequence": entry.sequence,
        "recorded_at": entry.recorded_at,
        "before_import": first_import is None or entry.sequence < first_import,
        "same_contract": compared["same_contract"],
        "all_match": all(row["matches"] for row in rows),
        "evaluations": rows,
    }
