"""Settle a contract: facts and overrides in, every figure with its explanation out.

The contract is never changed: a what-if run passes parameter overrides, which
apply to this settlement only.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from utfall.core.contracts.layered import linked_value
from utfall.core.contracts.model import Contract, Output
from utfall.core.contracts.values import ORE, Term, coerce_value, format_value, json_value
from utfall.core.formula import Value, format_number
from utfall.errors import FactsInvalid, Finding, FormulaError

__all__ = ["Explanation", "PaymentLine", "Settlement", "settle"]


@dataclass(frozen=True)
class Explanation:
    """Why a figure has its value: its formula, the decisions taken, its inputs.

    ``children`` explain the names the formula uses, so the whole settlement can
    be read as a tree down to parameters and measured inputs. ``origin`` says
    where a leaf value came from (default, override, facts, an evaluation);
    ``details`` carries supporting figures (e.g. an estimate's CI).
    """

    name: str
    kind: str
    type: str
    value: Value
    formula: str | None = None
    notes: tuple[str, ...] = ()
    children: tuple[Explanation, ...] = ()
    description: str | None = None
    origin: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def shown(self) -> str:
        """The value as people read it (money with two decimals)."""
        return format_value(self.value, self.type)

    def as_dict(self) -> dict[str, Any]:
        """JSON form of the tree."""
        return {
            "name": self.name,
            "kind": self.kind,
            "type": self.type,
            "value": json_value(self.value, self.type),
            "formula": self.formula,
            "notes": list(self.notes),
            "origin": self.origin,
            "details": dict(self.details),
            "children": [c.as_dict() for c in self.children],
        }

    def lines(self, indent: str = "") -> list[str]:
        """The tree as indented text lines."""
        head = f"{indent}{self.name} = {self.shown()}"
        if self.formula:
            head += f"    [{' '.join(self.formula.split())}]"
        elif self.origin:
            head += f"    ({self.origin})"
        out = [head]
        for note in self.notes:
            out.append(f"{indent}  · {note}")
        for key, value in self.details.items():
            out.append(f"{indent}  · {key}: {value}")
        for child in self.children:
            out.extend(child.lines(indent + "    "))
        return out


@dataclass(frozen=True)
class PaymentLine:
    """One payment of a settlement."""

    id: str
    payer: str
    payee: str
    label: str
    amount: Decimal
    explanation: Explanation


@dataclass(frozen=True)
class Settlement:
    """The result of settling a contract on a set of facts."""

    contract_id: str
    contract_version: str
    contract_sha256: str
    parameters: Mapping[str, Value]
    overridden: frozenset[str]
    inputs: Mapping[str, Value]
    outputs: Mapping[str, Value]
    payments: tuple[PaymentLine, ...]
    explanations: Mapping[str, Explanation]
    contract: Contract = field(repr=False, compare=False)

    def explain(self, name: str) -> Explanation:
        """The explanation tree of an output, input, parameter or payment id."""
        if name in self.explanations:
            return self.explanations[name]
        for payment in self.payments:
            if payment.id == name:
                return payment.explanation
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """The machine form printed by ``utfall settle --json``."""
        contract = self.contract

        def shown(name: str, value: Value) -> Any:
            term = contract.term(name)
            return json_value(value, term.type, term.of)

        return {
            "contract": self.contract_id,
            "version": self.contract_version,
            "contract_sha256": self.contract_sha256,
            "parameters": {n: shown(n, v) for n, v in self.parameters.items()},
            "overridden": sorted(self.overridden),
            "inputs": {n: shown(n, v) for n, v in self.inputs.items()},
            "outputs": {n: shown(n, v) for n, v in self.outputs.items()},
            "payments": [
                {
                    "id": p.id,
                    "from": p.payer,
                    "to": p.payee,
                    "label": p.label,
                    "amount_sek": json_value(p.amount, "money"),
                }
                for p in self.payments
            ],
        }


def _suggest(name: str, known: Mapping[str, Any]) -> str:
    hint = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {hint[0]!r}?" if hint else ""


def resolve_parameters(
    contract: Contract, overrides: Mapping[str, Any] | None
) -> tuple[dict[str, Value], frozenset[str]]:
    """Defaults with overrides applied (checked); raise FactsInvalid on bad overrides."""
    findings: list[Finding] = []
    values: dict[str, Value] = {n: p.default for n, p in contract.parameters.items()}
    for name, raw in (overrides or {}).items():
        if name not in contract.parameters:
            message = f"unknown parameter{_suggest(name, contract.parameters)}"
            findings.append(Finding("unknown-parameter", message, path=name))
            continue
        try:
            values[name] = coerce_value(raw, contract.parameters[name])
        except ValueError as error:
            findings.append(Finding("bad-parameter", f"parameter: {error}", path=name))
    if findings:
        raise FactsInvalid(f"{len(findings)} problem(s) with the parameter overrides", findings)
    return values, frozenset((overrides or {}).keys())


def resolve_inputs(
    contract: Contract, facts: Mapping[str, Any], *, source: str | None = None
) -> dict[str, Value]:
    """Facts checked against the declared inputs; raise FactsInvalid naming each input."""
    findings: list[Finding] = []
    values: dict[str, Value] = {}
    for name, term in contract.inputs.items():
        if name not in facts:
            message = f"input is missing (expected {term.describe_type()})"
            findings.append(Finding("missing-input", message, file=source, path=name))
            continue
        try:
            values[name] = coerce_value(facts[name], term)
        except ValueError as error:
            findings.append(Finding("bad-input", f"input: {error}", file=source, path=name))
    for name in facts:
        if name not in contract.inputs:
            message = f"unknown input{_suggest(name, contract.inputs)}"
            findings.append(Finding("unknown-input", message, file=source, path=name))
    if findings:
        raise FactsInvalid(f"{len(findings)} problem(s) with the facts", findings)
    return values


def _check_output(contract: Contract, term: Output | Term, value: Value, what: str) -> None:
    kind = term.element_type
    values = value if isinstance(value, tuple) else (value,)
    for position, item in enumerate(values, start=1):
        if not isinstance(item, Decimal):
            continue
        where = f"{what} (value {position})" if isinstance(value, tuple) else what
        if kind == "money" and item != item.quantize(ORE):
            raise FormulaError(
                f"{where} is money but {format_number(item)} has fractions of an öre; "
                "say where to round with round(…) in the formula",
                name=term.name,
                contract=contract.id,
            )
        if kind == "count" and item != item.to_integral_value():
            raise FormulaError(
                f"{where} is a count but {format_number(item)} is not whole",
                name=term.name,
                contract=contract.id,
            )


def _unwrap_links(
    contract: Contract, facts: Mapping[str, Any], source: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The facts with every linked value ``{value, settlement}`` of an input taken from
    another contract unwrapped, and input name → the upstream settlement's SHA-256."""
    plain = dict(facts)
    links: dict[str, str] = {}
    findings: list[Finding] = []
    for name, term in contract.inputs.items():
        if term.from_contract is None or name not in plain:
            continue
        try:
            plain[name], sha = linked_value(plain[name])
        except ValueError as error:
            findings.append(Finding("bad-link", f"input: {error}", file=source, path=name))
            continue
        if sha is not None:
            links[name] = sha
    if findings:
        raise FactsInvalid(f"{len(findings)} problem(s) with the facts", findings)
    return plain, links


def settle(
    contract: Contract,
    facts: Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | None = None,
    origins: Mapping[str, str] | None = None,
    details: Mapping[str, Mapping[str, Any]] | None = None,
    source: str | None = None,
) -> Settlement:
    """Compute every output and payment of ``contract`` for ``facts``.

    ``overrides`` replace parameter defaults for this run only. ``origins`` and
    ``details`` annotate where inputs came from (e.g. an evaluation spec) in
    the explanation tree. An input taken from another contract (``from_contract``) may be
    given linked, ``{value: …, settlement: SHA-256}``: its explanation then names that
    upstream settlement. Raises :class:`FactsInvalid` for facts or overrides
    that do not fit, :class:`FormulaError` when a formula cannot be computed.
    """
    parameters, overridden = resolve_parameters(contract, overrides)
    facts, links = _unwrap_links(contract, facts, source)
    inputs = resolve_inputs(contract, facts, source=source)
    values: dict[str, Value] = {**parameters, **inputs}
    explanations: dict[str, Explanation] = {}
    for name, value in parameters.items():
        parameter = contract.parameters[name]
        explanations[name] = Explanation(
            name,
            "parameter",
            parameter.type,
            value,
            description=parameter.description,
            origin="override" if name in overridden else "contract term",
        )
    for name, value in inputs.items():
        term = contract.inputs[name]
        origin = (origins or {}).get(name, "facts")
        detail = dict((details or {}).get(name, {}))
        link = term.from_contract
        if link is not None and name in links:
            # Layered contracts: the explanation names the upstream settlement used.
            origin = f"from {link.describe()}, settlement {links[name]}"
            detail = {
                "from_contract": link.contract,
                link.kind: link.name,
                "settlement_sha256": links[name],
                **detail,
            }
        explanations[name] = Explanation(
            name,
            "input",
            term.type,
            value,
            description=term.description,
            origin=origin,
            details=detail,
        )

    def children(formula_names: frozenset[str], text: str) -> tuple[Explanation, ...]:
        ordered = sorted(formula_names, key=lambda n: (text.find(n), n))
        return tuple(explanations[n] for n in ordered)

    outputs: dict[str, Value] = {}
    for name in contract.order:
        output = contract.outputs[name]
        assert output.compiled is not None
        try:
            value, notes = output.compiled.evaluate(values, rounding=contract.rounding)
        except FormulaError as error:
            raise error.with_context(name=name, contract=contract.id) from None
        _check_output(contract, output, value, f"output {name!r}")
        values[name] = value
        outputs[name] = value
        explanations[name] = Explanation(
            name,
            "output",
            output.type,
            value,
            formula=output.formula,
            notes=notes,
            children=children(output.compiled.names, output.formula),
            description=output.description,
        )
    outputs = {n: outputs[n] for n in contract.outputs}

    lines: list[PaymentLine] = []
    for payment in contract.payments:
        try:
            amount, notes = payment.compiled.evaluate(values, rounding=contract.rounding)
        except FormulaError as error:
            raise error.with_context(name=f"payment {payment.id}", contract=contract.id) from None
        assert isinstance(amount, Decimal)
        _check_output(
            contract, Term(name=payment.id, type="money"), amount, f"payment {payment.id!r}"
        )
        if amount < 0:
            raise FormulaError(
                f"payment {payment.id!r} comes to {format_value(amount, 'money')} SEK; a payment "
                "cannot be negative (bound it with max(…, 0) or reverse its direction)",
                name=payment.id,
                contract=contract.id,
            )
        explanation = Explanation(
            payment.id,
            "payment",
            "money",
            amount,
            formula=payment.formula,
            notes=notes,
            children=children(payment.compiled.names, payment.formula),
            description=f"{payment.label}: {payment.payer} → {payment.payee}",
        )
        lines.append(
            PaymentLine(
                payment.id, payment.payer, payment.payee, payment.label, amount, explanation
            )
        )

    return Settlement(
        contract_id=contract.id,
        contract_version=contract.version,
        contract_sha256=contract.sha256,
        parameters=parameters,
        overridden=overridden,
        inputs=inputs,
        outputs=outputs,
        payments=tuple(lines),
        explanations=explanations,
        contract=contract,
    )
