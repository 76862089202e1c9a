"""Contract services: parse facts, settle a contract on facts and data, run its tests.

Everything here takes parsed objects — the compiled contract, the facts, a
:class:`~utfall.services.tables.TableProvider` — never a path: the CLI reads
files (:mod:`utfall.adapters.files`), the platform its database. :func:`contract_settle`
is the one pipeline from tables to a settlement: every caller that wants to know
what a contract pays (``utfall settle``, the platform's statements, the council's
"what it would pay today", the fund's six-monthly payments) calls it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from utfall.core.contracts import CaseResult, Contract, Settlement, run_contract_tests, settle
from utfall.core.contracts.yamlio import read_yaml
from utfall.errors import FactsInvalid, Finding, UserError
from utfall.services.tables import TableProvider

__all__ = [
    "Facts",
    "SettlementRun",
    "contract_settle",
    "contract_test",
    "facts_parse",
    "parameter_overrides_parse",
]


@dataclass(frozen=True)
class Facts:
    """Facts for a settlement: input name → value, with the text they were read from.

    ``lines`` gives the line of each top-level name (YAML), for messages; ``source``
    names where the facts were written.
    """

    values: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None
    source: str | None = None
    lines: Mapping[str, int] = field(default_factory=dict)


def facts_parse(text: str, *, source: str, json_text: bool = False) -> Facts:
    """Facts from their text (YAML, or JSON with ``json_text``), exactly: numbers with
    decimals are read as ``Decimal``, never as floats."""
    lines: dict[str, int] = {}
    if json_text:
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
        except RecursionError:
            raise FactsInvalid(
                f"{source}: the facts cannot be read",
                [Finding("json-too-deep", "not readable JSON: nested too deeply", file=source)],
            ) from None
    else:
        try:
            document = read_yaml(text, source=source, what="the facts file")
        except ValueError as error:
            raise FactsInvalid(f"{source}: the facts cannot be read", [error.args[0]]) from None
        data = document.data
        lines = {str(p[0]): pos[0] for p, pos in document.positions.items() if len(p) == 1}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FactsInvalid(
            f"{source}: the facts cannot be read",
            [Finding("not-a-mapping", "facts are a mapping of input names to values", file=source)],
        )
    return Facts({str(k): v for k, v in data.items()}, text, source, lines)


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


@dataclass(frozen=True)
class SettlementRun:
    """A settlement with the evaluations behind it (by name) and the tables' SHA-256."""

    settlement: Settlement
    evaluations: Mapping[str, Any] = field(default_factory=dict)
    digests: Mapping[str, str] = field(default_factory=dict)


def contract_settle(
    contract: Contract,
    *,
    facts: Facts | None = None,
    tables: TableProvider | None = None,
    overrides: Mapping[str, Any] | None = None,
    until: dt.date | None = None,
) -> SettlementRun:
    """Settle ``contract`` on ``facts`` and, with ``tables``, on its data.

    With ``tables`` every input bound to an evaluation is computed from the data
    known on ``until`` (all of it without a day); the facts give the other inputs.
    An input may not come from both.
    """
    facts = facts or Facts()
    if not facts.values and tables is None and contract.inputs:
        raise UserError("give the facts to settle on: --facts FACTS.yaml (or --data-dir DIR)")
    values = dict(facts.values)
    origins: dict[str, str] = {}
    details: dict[str, dict[str, Any]] = {}
    evaluations: dict[str, Any] = {}
    digests: dict[str, str] = {}
    if tables is not None:
        from utfall.core.contracts.engine import resolve_parameters
        from utfall.services.bindings import inputs_evaluate

        # A rate card prices with the parameters, what-if values included.
        parameters, _ = resolve_parameters(contract, overrides)
        bound = inputs_evaluate(contract, tables, until=until, parameters=parameters)
        both = sorted(set(bound.values) & set(values))
        if both:
            raise UserError(
                f"{facts.source or 'the facts'}: {', '.join(both)} would come both from the "
                "facts and from the data"
            )
        values.update(bound.values)
        origins, details = bound.origins, bound.details
        evaluations, digests = bound.evaluations, bound.digests
    try:
        settlement = settle(
            contract,
            values,
            overrides=overrides,
            origins=origins,
            details=details,
            source=facts.source,
        )
    except FactsInvalid as error:
        located = [
            replace(f, line=facts.lines.get(f.path or "")) if f.file and f.line is None else f
            for f in error.findings
        ]
        raise FactsInvalid(error.summary, located) from None
    return SettlementRun(settlement, evaluations, digests)


def contract_test(contract: Contract) -> list[CaseResult]:
    """Run the embedded test cases of ``contract``."""
    return run_contract_tests(contract)
