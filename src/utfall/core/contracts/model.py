"""The compiled contract: every formula parsed and checked, every term typed.

:func:`compile_contract` turns a validated :class:`ContractDocument` into a
frozen :class:`Contract`, collecting *every* problem it finds (unknown names,
type errors, cycles, parties that do not exist, defaults that do not fit) as
located findings rather than stopping at the first.
"""

from __future__ import annotations

import difflib
import graphlib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from utfall.core.contracts.data import DataDeclaration, compile_data
from utfall.core.contracts.evaluations import compile_evaluations
from utfall.core.contracts.schema import ContractDocument, PeriodDocument, TestCaseDocument
from utfall.core.contracts.values import Term, coerce_value
from utfall.core.contracts.yamlio import YamlDocument, read_yaml
from utfall.core.evaluation.spec import EvaluationSpec
from utfall.core.formula import FUNCTIONS, KEYWORDS, CompiledFormula, Type, Value, compile_formula
from utfall.core.formula.checker import names_in
from utfall.core.formula.parser import parse
from utfall.errors import ContractInvalid, Finding, FormulaError

__all__ = [
    "Contract",
    "Input",
    "Output",
    "Parameter",
    "Party",
    "Payment",
    "TestCase",
    "UpstreamLink",
    "compile_contract",
    "parse_contract",
]

NUMERIC_TYPES = {"money", "count", "number", "ratio"}


@dataclass(frozen=True)
class Party:
    """A party and its role."""

    id: str
    name: str
    role: str
    organisation_number: str | None = None


@dataclass(frozen=True)
class Parameter(Term):
    """A term with a default value."""

    default: Value = Decimal(0)


@dataclass(frozen=True)
class UpstreamLink:
    """A layered contract's input taken from another contract: its ``output`` or ``input``
    (``kind``) called ``name``, from that contract's settlement."""

    contract: str
    kind: str
    name: str

    def describe(self) -> str:
        """``contract norrkoping output premium_sek`` as messages and explanations say it."""
        return f"contract {self.contract} {self.kind} {self.name}"


@dataclass(frozen=True)
class Input(Term):
    """A measured outcome; ``evaluate`` names the contract's evaluation that yields it,
    ``from_contract`` the other contract whose settlement gives it (layered contracts)."""

    evaluate: str | None = None
    take: str | None = None
    at_least: Decimal | None = None
    from_contract: UpstreamLink | None = None


@dataclass(frozen=True)
class Output(Term):
    """A named, compiled formula."""

    formula: str = ""
    compiled: CompiledFormula | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Payment:
    """Who pays whom; the amount is a compiled money formula."""

    id: str
    payer: str
    payee: str
    label: str
    formula: str
    compiled: CompiledFormula = field(repr=False, compare=False)
    description: str | None = None


@dataclass(frozen=True)
class TestCase:
    """An embedded test case: inputs and overrides in, expected results out."""

    name: str
    inputs: Mapping[str, Any]
    parameters: Mapping[str, Any]
    expect_outputs: Mapping[str, Any]
    expect_payments: Mapping[str, Any]
    description: str | None = None


@dataclass(frozen=True)
class Contract:
    """An outcome contract, compiled and ready to settle."""

    id: str
    title: str
    version: str
    currency: str
    rounding: str
    description: str | None
    sources: tuple[str, ...]
    assumptions: tuple[str, ...]
    parties: tuple[Party, ...]
    periods: Mapping[str, PeriodDocument]
    parameters: Mapping[str, Parameter]
    inputs: Mapping[str, Input]
    outputs: Mapping[str, Output]
    order: tuple[str, ...]
    payments: tuple[Payment, ...]
    tests: tuple[TestCase, ...]
    text: str = field(repr=False)
    sha256: str
    source: str
    document: ContractDocument = field(repr=False, compare=False)
    data: DataDeclaration = field(default_factory=DataDeclaration, compare=False)
    evaluations: Mapping[str, EvaluationSpec] = field(default_factory=dict, compare=False)
    yaml: YamlDocument | None = field(default=None, repr=False, compare=False)

    def bound_evaluations(self) -> dict[str, list[str]]:
        """Evaluation name → the inputs that take a figure of it, in the contract's order."""
        bound: dict[str, list[str]] = {}
        for term in self.inputs.values():
            if term.evaluate:
                bound.setdefault(term.evaluate, []).append(term.name)
        return bound

    def upstream_links(self) -> dict[str, UpstreamLink]:
        """Input name → the other contract's output or input it takes (layered contracts)."""
        return {n: t.from_contract for n, t in self.inputs.items() if t.from_contract}

    def party(self, party_id: str) -> Party:
        """The party with this id."""
        for party in self.parties:
            if party.id == party_id:
                return party
        raise KeyError(party_id)

    def term(self, name: str) -> Term:
        """The parameter, input or output called ``name``."""
        for space in (self.parameters, self.inputs, self.outputs):
            if name in space:
                return space[name]
        raise KeyError(name)


def _term_fields(
    name: str, doc: Any, findings: list[Finding], yaml_doc: YamlDocument, path: tuple[Any, ...]
) -> dict[str, Any]:
    bounds: dict[str, Decimal | None] = {"minimum": None, "maximum": None}
    for key, attribute in (("min", "minimum"), ("max", "maximum")):
        raw = getattr(doc, key)
        if raw is None:
            continue
        element = (doc.of or "number") if doc.type == "series" else doc.type
        if element not in NUMERIC_TYPES:
            findings.append(
                yaml_doc.finding(
                    "bound-on-non-number", f"'{key}' applies to numbers only", (*path, key)
                )
            )
            continue
        try:
            bounds[attribute] = coerce_value(raw, Term(name=name, type="number"))  # type: ignore[assignment]
        except ValueError as error:
            findings.append(yaml_doc.finding("bad-bound", f"'{key}': {error}", (*path, key)))
    if (
        bounds["minimum"] is not None
        and bounds["maximum"] is not None
        and bounds["minimum"] > bounds["maximum"]
    ):
        findings.append(yaml_doc.finding("bad-bound", "'min' is above 'max'", (*path, "min")))
    return {
        "name": name,
        "type": doc.type,
        "of": doc.of,
        "length": doc.length,
        "choices": tuple(doc.choices) if doc.choices else None,
        "unit": doc.unit,
        "description": doc.description,
        "source": getattr(doc, "source", None),
        **bounds,
    }


def _check_multiple_testing(
    document: ContractDocument,
    inputs: Mapping[str, Input],
    yaml_doc: YamlDocument,
    findings: list[Finding],
) -> None:
    """Every input of a multiple-testing family is a boolean decided by an evaluation."""
    block = document.multiple_testing
    if block is None:
        return
    for index, name in enumerate(block.family):
        path = ("multiple_testing", "family", index)
        term = inputs.get(name)
        if block.family.index(name) != index:
            reason = f"input {name!r} is listed twice"
        elif term is None:
            reason = f"{name!r} is not an input of the contract ({', '.join(inputs) or 'none'})"
        elif term.type != "boolean" or not term.evaluate:
            reason = (
                f"input {name!r} must be boolean and decided by an evaluation "
                "('evaluate:' with 'at_least' or a true/false figure)"
            )
        else:
            continue
        findings.append(yaml_doc.finding("bad-multiple-testing", reason, path))


def _formula_finding(
    yaml_doc: YamlDocument, error: FormulaError, path: tuple[Any, ...], code: str = "formula"
) -> Finding:
    where = ""
    if error.line is not None and error.column is not None:
        where = f" (formula line {error.line}, column {error.column})"
    detail = "\n".join(error.detail)
    message = f"{error.reason}{where}" + (f"\n{detail}" if detail else "")
    return yaml_doc.finding(code, message, path)


def _ordered_names(text: str) -> list[str]:
    """Names a formula refers to, in order of first appearance."""
    tree = parse(text)
    names = names_in(tree)
    order: dict[str, int] = {}
    for name in names:
        order[name] = text.find(name)
    return sorted(names, key=lambda n: order[n])


def _check_names(
    document: ContractDocument, yaml_doc: YamlDocument, findings: list[Finding]
) -> None:
    import re

    seen: dict[str, str] = {}
    for space in ("parameters", "inputs", "outputs"):
        for name in getattr(document, space):
            path = (space, name)
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                findings.append(
                    yaml_doc.finding(
                        "bad-name",
                        f"{name!r} is not a valid name (lower-case letters, digits, _)",
                        path,
                    )
                )
            elif name in KEYWORDS or name in FUNCTIONS:
                findings.append(
                    yaml_doc.finding(
                        "reserved-name", f"{name!r} is reserved by the formula language", path
                    )
                )
            if name in seen:
                findings.append(
                    yaml_doc.finding(
                        "duplicate-name", f"{name!r} is already a name in {seen[name]}", path
                    )
                )
            else:
                seen[name] = space


def compile_contract(document: ContractDocument, yaml_doc: YamlDocument, text: str) -> Contract:
    """Compile a validated document; raise :class:`ContractInvalid` with every finding."""
    findings: list[Finding] = []
    _check_names(document, yaml_doc, findings)

    party_ids = [p.id for p in document.parties]
    for index, party_id in enumerate(party_ids):
        if party_ids.index(party_id) != index:
            findings.append(
                yaml_doc.finding(
                    "duplicate-party",
                    f"party {party_id!r} is listed twice",
                    ("parties", index, "id"),
                )
            )
    parties = tuple(Party(p.id, p.name, p.role, p.organisation_number) for p in document.parties)

    parameters: dict[str, Parameter] = {}
    for name, parameter_doc in document.parameters.items():
        path = ("parameters", name)
        fields = _term_fields(name, parameter_doc, findings, yaml_doc, path)
        probe = Term(**fields)
        try:
            default = coerce_value(parameter_doc.default, probe)
        except ValueError as error:
            findings.append(
                yaml_doc.finding("bad-default", f"default of {name!r}: {error}", (*path, "default"))
            )
            default = Decimal(0)
        parameters[name] = Parameter(**fields, default=default)

    inputs: dict[str, Input] = {}
    for name, input_doc in document.inputs.items():
        fields = _term_fields(name, input_doc, findings, yaml_doc, ("inputs", name))
        at_least = None
        if input_doc.at_least is not None:
            try:
                at_least = coerce_value(input_doc.at_least, Term(name=name, type="number"))
            except ValueError as error:
                findings.append(
                    yaml_doc.finding(
                        "bad-binding", f"'at_least': {error}", ("inputs", name, "at_least")
                    )
                )
        link = None
        if input_doc.from_contract is not None:
            source = input_doc.from_contract
            kind = "output" if source.output is not None else "input"
            link = UpstreamLink(source.contract, kind, str(source.output or source.input))
            if source.contract == document.id:
                findings.append(
                    yaml_doc.finding(
                        "bad-link",
                        f"input {name!r} takes from contract {source.contract!r}, which is "
                        "this contract: a contract cannot take its own figures",
                        ("inputs", name, "from_contract", "contract"),
                    )
                )
        inputs[name] = Input(
            **fields,
            evaluate=input_doc.evaluate,
            take=input_doc.take,
            at_least=at_least if isinstance(at_least, Decimal) else None,
            from_contract=link,
        )

    data = compile_data(
        document.data, yaml_doc, findings, parties=[(p.id, p.role) for p in document.parties]
    )
    evaluations = compile_evaluations(
        document.evaluations, data, parameters, document.periods, yaml_doc, findings
    )
    for name, term in inputs.items():
        if term.evaluate and term.evaluate not in document.evaluations:
            known = ", ".join(document.evaluations) or "the contract has none under evaluations:"
            findings.append(
                yaml_doc.finding(
                    "unknown-evaluation",
                    f"input {name!r} takes {term.evaluate!r}, which is not an evaluation "
                    f"of the contract ({known})",
                    ("inputs", name, "evaluate"),
                )
            )

    _check_multiple_testing(document, inputs, yaml_doc, findings)

    env: dict[str, Type] = {n: t.formula_type for n, t in (*parameters.items(), *inputs.items())}

    # Outputs: parse, order by dependency, then type-check in that order.
    parsed: dict[str, set[str]] = {}
    for name, output_doc in document.outputs.items():
        try:
            parsed[name] = names_in(parse(output_doc.formula))
        except FormulaError as error:
            findings.append(_formula_finding(yaml_doc, error, ("outputs", name, "formula")))
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name, names in parsed.items():
        sorter.add(name, *(n for n in names if n in document.outputs))
    order: tuple[str, ...] = ()
    try:
        order = tuple(n for n in sorter.static_order() if n in parsed)
    except graphlib.CycleError as error:
        cycle = list(error.args[1])
        shown = " → ".join(reversed(cycle))
        findings.append(
            yaml_doc.finding(
                "cycle",
                f"outputs depend on each other in a cycle: {shown}",
                ("outputs", cycle[0], "formula"),
            )
        )

    outputs: dict[str, Output] = {}
    failed = set(document.outputs) - set(parsed)
    for name in order:
        out_doc = document.outputs[name]
        formula_path: tuple[Any, ...] = ("outputs", name, "formula")
        if parsed[name] & failed:
            failed.add(name)  # already reported where the problem is
            continue
        try:
            compiled = compile_formula(out_doc.formula, env)
        except FormulaError as error:
            findings.append(_formula_finding(yaml_doc, error, formula_path))
            failed.add(name)
            continue
        declared: str | None = out_doc.type
        kind = compiled.type.kind
        if declared is None:
            declared = {
                "number": "number",
                "boolean": "boolean",
                "text": "choice",
                "series": "series",
            }[kind]
        expected_kind = (
            "number"
            if declared in NUMERIC_TYPES
            else {"boolean": "boolean", "choice": "text", "series": "series"}[declared]
        )
        if expected_kind != kind:
            findings.append(
                yaml_doc.finding(
                    "output-type",
                    f"output {name!r} is declared {declared} but its formula gives {compiled.type}",
                    ("outputs", name, "type"),
                )
            )
            failed.add(name)
            continue
        env[name] = compiled.type
        outputs[name] = Output(
            name=name,
            type=declared,
            of=out_doc.of,
            length=compiled.type.length,
            unit=out_doc.unit,
            description=out_doc.description,
            formula=out_doc.formula,
            compiled=compiled,
        )
    # Keep the document's order for display; ``order`` is the order of computation.
    outputs = {n: outputs[n] for n in document.outputs if n in outputs}

    payments: list[Payment] = []
    payment_ids: set[str] = set()
    for index, payment_doc in enumerate(document.payments):
        payment_path: tuple[Any, ...] = ("payments", index)
        if payment_doc.id in payment_ids:
            findings.append(
                yaml_doc.finding(
                    "duplicate-payment",
                    f"payment {payment_doc.id!r} is listed twice",
                    (*payment_path, "id"),
                )
            )
        payment_ids.add(payment_doc.id)
        for key, party_id in (("from", payment_doc.payer), ("to", payment_doc.payee)):
            if party_id not in party_ids:
                hint = difflib.get_close_matches(party_id, party_ids, n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                findings.append(
                    yaml_doc.finding(
                        "unknown-party",
                        f"unknown party {party_id!r}{suggestion}",
                        (*payment_path, key),
                    )
                )
        if payment_doc.payer == payment_doc.payee:
            findings.append(
                yaml_doc.finding("self-payment", "a party cannot pay itself", (*payment_path, "to"))
            )
        try:
            if names_in(parse(payment_doc.amount)) & failed:
                continue
            compiled = compile_formula(payment_doc.amount, env)
        except FormulaError as error:
            findings.append(_formula_finding(yaml_doc, error, (*payment_path, "amount")))
            continue
        if compiled.type.kind != "number":
            findings.append(
                yaml_doc.finding(
                    "payment-type",
                    f"a payment amount must be money, but this formula gives {compiled.type}",
                    (*payment_path, "amount"),
                )
            )
            continue
        payments.append(
            Payment(
                payment_doc.id,
                payment_doc.payer,
                payment_doc.payee,
                payment_doc.label.sv,
                payment_doc.amount,
                compiled,
                payment_doc.description,
            )
        )

    tests = tuple(
        _compile_test(i, t, document, yaml_doc, findings, payment_ids)
        for i, t in enumerate(document.tests)
    )

    if findings:
        raise ContractInvalid(
            f"{yaml_doc.source}: the contract has {len(findings)} problem(s)", findings
        )
    return Contract(
        id=document.id,
        title=document.title,
        version=document.version,
        currency=document.currency,
        rounding=document.rounding,
        description=document.description,
        sources=tuple(document.sources),
        assumptions=tuple(document.assumptions),
        parties=parties,
        periods=dict(document.periods),
        parameters=parameters,
        inputs=inputs,
        outputs=outputs,
        order=order,
        payments=tuple(payments),
        tests=tests,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source=yaml_doc.source,
        document=document,
        data=data,
        evaluations=evaluations,
        yaml=yaml_doc,
    )


def _compile_test(
    index: int,
    case: TestCaseDocument,
    document: ContractDocument,
    yaml_doc: YamlDocument,
    findings: list[Finding],
    payment_ids: set[str],
) -> TestCase:
    path = ("tests", index)
    checks = (
        ("parameters", case.parameters, document.parameters, "parameter"),
        ("inputs", case.inputs, document.inputs, "input"),
    )
    for key, given, known, what in checks:
        for name in given:
            if name not in known:
                hint = difflib.get_close_matches(name, list(known), n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                findings.append(
                    yaml_doc.finding(
                        "test-unknown-name",
                        f"test {case.name!r}: unknown {what} {name!r}{suggestion}",
                        (*path, key, name),
                    )
                )
    for name in case.expect.outputs:
        if name not in document.outputs:
            findings.append(
                yaml_doc.finding(
                    "test-unknown-name",
                    f"test {case.name!r}: unknown output {name!r}",
                    (*path, "expect", "outputs", name),
                )
            )
    for name in case.expect.payments:
        if name not in payment_ids:
            findings.append(
                yaml_doc.finding(
                    "test-unknown-name",
                    f"test {case.name!r}: unknown payment {name!r}",
                    (*path, "expect", "payments", name),
                )
            )
    return TestCase(
        name=case.name,
        description=case.description,
        inputs=dict(case.inputs),
        parameters=dict(case.parameters),
        expect_outputs=dict(case.expect.outputs),
        expect_payments=dict(case.expect.payments),
    )


def _pydantic_findings(error: ValidationError, yaml_doc: YamlDocument) -> list[Finding]:
    findings = []
    for item in error.errors():
        path = tuple(item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown field {path[-1]!r}"
        elif item["type"] == "missing":
            message = f"required field {path[-1]!r} is missing"
        findings.append(yaml_doc.finding(f"schema:{item['type']}", message, path))
    return findings


def parse_contract(text: str, *, source: str = "<contract>") -> Contract:
    """Parse, validate and compile a contract from its YAML text.

    Raises :class:`ContractInvalid` listing every problem with its location.
    """
    try:
        yaml_doc = read_yaml(text, source=source, what="the contract")
    except ValueError as error:
        finding = error.args[0]
        raise ContractInvalid(f"{source}: the contract cannot be read", [finding]) from None
    if not isinstance(yaml_doc.data, dict):
        raise ContractInvalid(
            f"{source}: the contract cannot be read",
            [
                Finding(
                    "not-a-mapping",
                    "a contract is a YAML mapping (key: value lines)",
                    file=source,
                    line=1,
                )
            ],
        )
    try:
        document = ContractDocument.model_validate(yaml_doc.data)
    except ValidationError as error:
        findings = _pydantic_findings(error, yaml_doc)
        raise ContractInvalid(
            f"{source}: the contract has {len(findings)} problem(s)", findings
        ) from None
    return compile_contract(document, yaml_doc, text)
