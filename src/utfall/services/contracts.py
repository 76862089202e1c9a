"""Contract services: load a contract file, load facts, settle, run embedded tests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from utfall.core.contracts import (
    CaseResult,
    Contract,
    Settlement,
    parse_contract,
    run_contract_tests,
    settle,
)
from utfall.core.contracts.yamlio import read_yaml
from utfall.errors import FactsInvalid, Finding, UserError
from utfall.services.files import read_text

__all__ = [
    "contract_load",
    "contract_settle",
    "contract_test",
    "facts_load",
    "parameter_overrides_parse",
]


def contract_load(path: Path | str) -> Contract:
    """Read and compile the contract in ``path`` (ContractInvalid lists every problem)."""
    text = read_text(path, what="contract")
    return parse_contract(text, source=str(path))


def facts_load(path: Path | str) -> dict[str, Any]:
    """Read facts (YAML or JSON: input name → value, lists for series), exactly.

    Numbers with decimals are read as ``Decimal``, never as floats.
    """
    return _facts_read(path)[0]


def _facts_read(path: Path | str) -> tuple[dict[str, Any], dict[str, int]]:
    """Facts and the line of each top-level name (YAML only)."""
    text = read_text(path, what="facts")
    source = str(path)
    lines: dict[str, int] = {}
    if Path(path).suffix.lower() == ".json":
        try:
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise FactsInvalid(
                f"{source}: the facts cannot be read",
                [
                    Finding(
                        "json-syntax",
                        f"not valid JSON: {error.msg}",
                        file=source,
                        line=error.lineno,
                        column=error.colno,
                    )
                ],
            ) from None
    else:
        try:
            document = read_yaml(text, source=source, what="the facts file")
        except ValueError as error:
            raise FactsInvalid(f"{source}: the facts cannot be read", [error.args[0]]) from None
        data = document.data
        lines = {str(p[0]): pos[0] for p, pos in document.positions.items() if len(p) == 1}
    if not isinstance(data, dict):
        raise FactsInvalid(
            f"{source}: the facts cannot be read",
            [Finding("not-a-mapping", "facts are a mapping of input names to values", file=source)],
        )
    return {str(k): v for k, v in data.items()}, lines


def parameter_overrides_parse(items: Iterable[str]) -> dict[str, str]:
    """``["reading=A", "premium_cap_sek=1000000"]`` → a mapping; values stay text.

    The contract converts each value to its parameter's type (and says so if it cannot).
    """
    overrides: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--param {item!r}: write it as NAME=VALUE")
        overrides[name.strip()] = value.strip()
    return overrides


def contract_settle(
    *,
    contract_path: Path | str,
    facts_path: Path | str | None = None,
    data_dir: Path | str | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settlement:
    """Settle the contract in ``contract_path``.

    Inputs come from the facts file, and, with ``data_dir``, inputs bound to an
    evaluation spec are computed from the data there (see
    :mod:`utfall.services.bindings`). An input may not come from both.
    """
    contract = contract_load(contract_path)
    if facts_path is None and data_dir is None:
        raise UserError("give the facts to settle on: --facts FACTS.yaml (or --data-dir DIR)")
    facts: dict[str, Any] = {}
    lines: dict[str, int] = {}
    if facts_path is not None:
        facts, lines = _facts_read(facts_path)
    origins: dict[str, str] = {}
    details: dict[str, dict[str, Any]] = {}
    if data_dir is not None:
        from utfall.services.bindings import inputs_evaluate

        directory = Path(data_dir)
        if not directory.is_dir():
            raise UserError(f"{directory}: no such data directory")
        if not any(term.evaluate for term in contract.inputs.values()):
            raise UserError(f"{contract_path}: no input is bound to an evaluation ('evaluate:')")
        bound = inputs_evaluate(contract, data_dir=directory)
        both = sorted(set(bound.values) & set(facts))
        if both:
            raise UserError(
                f"{facts_path}: {', '.join(both)} would come both from the facts and from the data"
            )
        facts = {**facts, **bound.values}
        origins, details = bound.origins, bound.details
    try:
        return settle(
            contract,
            facts,
            overrides=overrides,
            origins=origins,
            details=details,
            source=str(facts_path) if facts_path else None,
        )
    except FactsInvalid as error:
        located = [
            replace(f, line=lines.get(f.path or "")) if f.file and f.line is None else f
            for f in error.findings
        ]
        raise FactsInvalid(error.summary, located) from None


def contract_test(path: Path | str) -> tuple[Contract, list[CaseResult]]:
    """Run the embedded test cases of the contract in ``path``."""
    contract = contract_load(path)
    return contract, run_contract_tests(contract)
