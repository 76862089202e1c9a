"""Outcome contracts as code: the document, its compilation and its settlement.

Public surface::

    parse_contract(text, source=...) -> Contract          # raises ContractInvalid
    settle(contract, facts, overrides=...) -> Settlement   # raises FactsInvalid
    run_contract_tests(contract) -> list[CaseResult]
    describe_formula(formula, lang="sv") -> str
    contract_json_schema() -> dict
"""

from __future__ import annotations

from typing import Any

from utfall.core.contracts.engine import Explanation, PaymentLine, Settlement, settle
from utfall.core.contracts.model import (
    Contract,
    Input,
    Output,
    Parameter,
    Party,
    Payment,
    TestCase,
    parse_contract,
)
from utfall.core.contracts.schema import ContractDocument
from utfall.core.contracts.testing import CaseResult, run_contract_tests
from utfall.core.contracts.values import format_value, json_value
from utfall.core.formula import describe_formula

__all__ = [
    "CaseResult",
    "Contract",
    "Explanation",
    "Input",
    "Output",
    "Parameter",
    "Party",
    "Payment",
    "PaymentLine",
    "Settlement",
    "TestCase",
    "contract_json_schema",
    "describe_formula",
    "format_value",
    "json_value",
    "parse_contract",
    "run_contract_tests",
    "settle",
]


def contract_json_schema() -> dict[str, Any]:
    """The JSON Schema of a contract document (by alias: ``from``/``to``)."""
    schema = ContractDocument.model_json_schema(by_alias=True)
    # A label or summary may be one string for both languages (their shorthand).
    for name in ("LabelDocument", "SummaryDocument"):
        label = schema.get("$defs", {}).get(name)
        if label is not None:
            schema["$defs"][name] = {
                "title": label.get("title", name),
                "description": label.get("description", ""),
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {k: v for k, v in label.items() if k not in ("title", "description")},
                ],
            }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:utfall:schema:contract:1"
    return schema
