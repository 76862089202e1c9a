"""Open data of the knowledge platform: projects in a format aligned with INDIGO.

A *knowledge document* holds published projects (outcome contracts) in the
structure of the INDIGO impact bond data standard (Government Outcomes Lab,
University of Oxford; ``schema/project.json`` of version 3): each project has
``name``, ``stage_development``, ``dates``, ``jurisdiction``,
``purpose_and_classifications``, ``outcome_payment_commitments`` (outcome
payers), ``investments`` (investors), ``service_provisions`` (providers),
``intermediary_services``, ``outcome_metrics``, ``results`` and ``documents``,
each value wrapped as ``{"value": ...}`` as INDIGO does. What INDIGO has no
place for (the contract's terms, formulas in plain language, payments, the
suppression of small cells) sits in a ``utfall`` object beside it. See
docs/knowledge.md and docs/knowledge.schema.json.

Aggregated results are published with small-cell suppression: a result row is
withheld (its numbers left out, ``suppressed: true``) when the group has fewer
than five individuals, when fewer than five reached the outcome, or when fewer
than five did not (the complement would reveal them). When a total is published
beside its subgroups and exactly one subgroup is withheld, the next smallest
subgroup is withheld too, so the withheld one cannot be computed by subtraction.

Everything here takes objects — compiled contracts, their aggregated results,
text — and never a path: the CLI reads and writes the files
(:mod:`utfall.adapters.knowledge`), the platform's knowledge app hands over the
published contracts it stores. Both build their documents with
:func:`knowledge_export`, so the open data of the command line and of the
platform are one format.

Public surface::

    MIN_CELL                                  5
    ResultRow                                 one aggregate: metric, period, group, n, count
    suppress_results(rows) -> list[PublishedResult]
    KnowledgeProject                          a contract with its results and publication facts
    knowledge_export(projects, published=) -> dict      the validated document
    project_from_contract(contract, ...) -> dict
    knowledge_document(projects, published=) -> dict
    knowledge_json_schema() -> dict
    knowledge_validate(data, file=) -> list[Finding]
    knowledge_validate_text(text, source=, fmt=) -> list[Finding]   JSON or the CSV table
    knowledge_csv(document) -> str            one row per project × outcome metric × result
    knowledge_dumps(document) -> str          indented JSON
    knowledge_render(document, fmt) -> str    JSON or CSV
    results_parse(text, source=) -> list[ResultRow]    aggregated results from CSV text
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from utfall.core.contracts import Contract, describe_formula, format_value
from utfall.core.contracts.schema import PeriodDocument
from utfall.core.exports import spreadsheet_mapping
from utfall.core.privacy import MIN_CELL, complementary_cell, small_cell_reason
from utfall.errors import DataInvalid, Finding, UserError

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "FORMAT_ID",
    "MIN_CELL",
    "RESULT_COLUMNS",
    "STAGES",
    "KnowledgeProject",
    "PublishedResult",
    "ResultRow",
    "knowledge_csv",
    "knowledge_document",
    "knowledge_dumps",
    "knowledge_export",
    "knowledge_json_schema",
    "knowledge_render",
    "knowledge_validate",
    "knowledge_validate_text",
    "project_from_contract",
    "provision_periods",
    "results_parse",
    "suppress_results",
]

Format = Literal["json", "csv"]
FORMATS: tuple[Format, ...] = ("json", "csv")

FORMAT_ID = "urn:utfall:schema:knowledge:1"
FORMAT_VERSION = "1.0"
INDIGO_VERSION = "3.0"
TOTAL_GROUP = "all"

# Contract roles → the INDIGO list that holds the organisation.
ROLE_SECTIONS = {
    "commissioner": "outcome_payment_commitments",
    "fund_administrator": "outcome_payment_commitments",
    "financier": "investments",
    "provider": "service_provisions",
    "intermediary": "intermediary_services",
}
STAGES = (
    "Early-stage design",
    "Late-stage design",
    "Contracted",
    "Implementation",
    "Service delivery complete",
    "Complete",
)
RESULT_COLUMNS = ("outcome_metric_id", "period_start", "period_end", "group", "n", "count")
CSV_COLUMNS = (
    "project_id",
    "project_name",
    "stage_development",
    "jurisdiction",
    "currency",
    "start_date_of_service_provision",
    "anticipated_end_date_of_service_provision",
    "outcome_payers",
    "investors",
    "service_providers",
    "intermediaries",
    "outcome_metric_id",
    "outcome_definition",
    "unit",
    "result_type",
    "period_start",
    "period_end",
    "group",
    "number_engaged_in_impact_bond",
    "number_with_positive_social_outcomes",
    "share_with_positive_social_outcomes",
    "suppressed",
)


# ---------------------------------------------------------------- results and suppression


@dataclass(frozen=True)
class ResultRow:
    """One aggregate: of ``n`` individuals in ``group``, ``count`` reached the outcome."""

    outcome_metric_id: str
    period_start: date
    period_end: date
    n: int
    count: int | None = None
    group: str = TOTAL_GROUP
    result_type: str = "Interim"


@dataclass(frozen=True)
class PublishedResult:
    """A result row as it may be published: numbers only when no cell is small."""

    row: ResultRow
    suppressed: bool
    reason: str | None = None

    @property
    def n(self) -> int | None:
        """The group size, or None when withheld."""
        return None if self.suppressed else self.row.n

    @property
    def count(self) -> int | None:
        """The number who reached the outcome, or None when withheld."""
        return None if self.suppressed else self.row.count

    @property
    def share(self) -> Decimal | None:
        """count / n to four decimals, or None."""
        if self.suppressed or self.row.count is None or not self.row.n:
            return None
        return (Decimal(self.row.count) / Decimal(self.row.n)).quantize(Decimal("0.0001"))


def _small(row: ResultRow) -> str | None:
    return small_cell_reason(row.n, row.count)


def suppress_results(rows: Iterable[ResultRow]) -> list[PublishedResult]:
    """Apply small-cell suppression (primary and complementary) to aggregated results."""
    rows = list(rows)
    for row in rows:
        if row.n < 0 or (row.count is not None and not 0 <= row.count <= row.n):
            raise ValueError(
                f"result {row.outcome_metric_id} {row.period_start}: count must be between 0 and n"
            )
    reasons: dict[int, str] = {}
    for index, row in enumerate(rows):
        reason = _small(row)
        if reason:
            reasons[index] = reason
    cells: dict[tuple[str, date, date], list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        cells[(row.outcome_metric_id, row.period_start, row.period_end)].append(index)
    for members in cells.values():
        totals = [i for i in members if rows[i].group == TOTAL_GROUP]
        subgroups = [i for i in members if rows[i].group != TOTAL_GROUP]
        if not totals or all(i in reasons for i in totals):
            continue
        withheld = [k for k, i in enumerate(subgroups) if i in reasons]
        extra = complementary_cell([rows[i].n for i in subgroups], withheld)
        if extra is not None:
            reasons[subgroups[extra]] = "withheld so that another withheld group cannot be derived"
        elif len(withheld) == 1:
            for i in totals:
                reasons[i] = "withheld so that a withheld group cannot be derived"
    return [
        PublishedResult(row, index in reasons, reasons.get(index)) for index, row in enumerate(rows)
    ]


def _date_cell(text: str, *, file: str, row: int, column: str, findings: list[Finding]) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        findings.append(
            Finding(
                "bad-date",
                f"{text!r} is not a date (YYYY-MM-DD)",
                file=file,
                row=row,
                field_name=column,
            )
        )
        return date.min


def _int_cell(
    text: str, *, file: str, row: int, column: str, findings: list[Finding], required: bool
) -> int | None:
    if not text.strip():
        if required:
            findings.append(
                Finding("missing", "a number is needed", file=file, row=row, field_name=column)
            )
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value != value.to_integral_value() or value < 0:
        findings.append(
            Finding(
                "bad-count",
                f"{text!r} is not a whole number of individuals (≥ 0)",
                file=file,
                row=row,
                field_name=column,
            )
        )
        return None
    return int(value)


def results_parse(text: str, *, source: str) -> list[ResultRow]:
    """Aggregated results from CSV text with the columns of :data:`RESULT_COLUMNS`
    (``group`` and ``count`` may be left out). DataInvalid lists every bad cell, each with
    ``source``, its row and its column."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    findings: list[Finding] = []
    required = ("outcome_metric_id", "period_start", "period_end", "n")
    for column in required:
        if column not in header:
            findings.append(
                Finding(
                    "missing-column",
                    f"the column {column!r} is missing",
                    file=source,
                    row=1,
                    field_name=column,
                )
            )
    unknown = [c for c in header if c not in RESULT_COLUMNS]
    for column in unknown:
        findings.append(
            Finding(
                "unknown-column",
                f"unknown column (known: {', '.join(RESULT_COLUMNS)})",
                file=source,
                row=1,
                field_name=column,
            )
        )
    if findings:
        raise DataInvalid(f"{source}: the results cannot be read", findings)
    rows: list[ResultRow] = []
    for number, record in enumerate(reader, start=2):
        metric = (record.get("outcome_metric_id") or "").strip()
        if not metric:
            findings.append(
                Finding(
                    "missing",
                    "an outcome metric id is needed",
                    file=source,
                    row=number,
                    field_name="outcome_metric_id",
                )
            )
        start = _date_cell(
            record.get("period_start") or "",
            file=source,
            row=number,
            column="period_start",
            findings=findings,
        )
        end = _date_cell(
            record.get("period_end") or "",
            file=source,
            row=number,
            column="period_end",
            findings=findings,
        )
        if start != date.min and end != date.min and end < start:
            findings.append(
                Finding(
                    "bad-period",
                    "period_end is before period_start",
                    file=source,
                    row=number,
                    field_name="period_end",
                )
            )
        n = _int_cell(
            record.get("n") or "",
            file=source,
            row=number,
            column="n",
            findings=findings,
            required=True,
        )
        count = _int_cell(
            record.get("count") or "",
            file=source,
            row=number,
            column="count",
            findings=findings,
            required=False,
        )
        if n is not None and count is not None and count > n:
            findings.append(
                Finding(
                    "count-above-n",
                    f"count {count} is larger than n {n}",
                    file=source,
                    row=number,
                    field_name="count",
                )
            )
        group = (record.get("group") or "").strip() or TOTAL_GROUP
        if n is not None:
            rows.append(ResultRow(metric, start, end, n, count, group))
    if findings:
        raise DataInvalid(f"{source}: {len(findings)} problem(s) in the results", findings)
    return rows


# ---------------------------------------------------------------- the document


def _v(value: Any) -> dict[str, Any]:
    return {"value": value}


def _number(value: Decimal | int) -> int | float:
    """A JSON number; money has at most two decimals, which a float holds exactly in text."""
    if isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else float(value)


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def _plain(formula: str, lang: str) -> str:
    try:
        return describe_formula(formula, lang=lang)
    except Exception:  # a reading aid only; the formula itself is exported as well
        return ""


def _result_item(published: PublishedResult) -> dict[str, Any]:
    row = published.row
    item: dict[str, Any] = {
        "outcome_metric_id": _v(row.outcome_metric_id),
        "result_level": _v("Outcome level"),
        "result_type": _v(row.result_type),
        "period": {
            "start_date": _v(row.period_start.isoformat()),
            "end_date": _v(row.period_end.isoformat()),
        },
    }
    extension: dict[str, Any] = {"group": row.group, "suppressed": published.suppressed}
    if published.suppressed:
        extension["suppression_reason"] = published.reason
    else:
        item["number_engaged_in_impact_bond"] = _v(row.n)
        if row.count is not None:
            item["number_with_positive_social_outcomes"] = _v(row.count)
            share = published.share
            if share is not None:
                extension["share_with_positive_social_outcomes"] = float(share)
    item["utfall"] = extension
    return item


def provision_periods(contract: Contract) -> dict[str, PeriodDocument]:
    """The contract's periods in which the service is provided: every period but the ones an
    evaluation compares against.

    An evaluation that counts months in several periods (``periods:``) compares the later
    ones with any of them that is over before the others it lists begin — a reference or
    baseline period, which lies before the service. When that would leave no period, all
    of them are returned.
    """
    compared: set[str] = set()
    for spec in contract.evaluations.values():
        listed = [name for name in spec.periods if name in contract.periods]
        for name in listed:
            others = [contract.periods[o] for o in listed if o != name]
            if others and all(contract.periods[name].end < o.start for o in others):
                compared.add(name)
    provision = {n: p for n, p in contract.periods.items() if n not in compared}
    return provision or dict(contract.periods)


def _validation(contract: Contract, evaluation: str) -> tuple[str, str]:
    """How an outcome is validated (the evaluation's method and label) and on what data
    (the label of the table it reads), from the contract's declaration."""
    spec = contract.evaluations.get(evaluation)
    if spec is None:
        return f"utfall evaluation {evaluation}", ""
    document = contract.document.evaluations.get(evaluation) if contract.document else None
    label = document.label.en if document is not None and document.label else ""
    method = f"utfall evaluation {evaluation}: {spec.method}" + (f" ({label})" if label else "")
    try:
        table = contract.data.table(spec.data)
    except KeyError:
        return method, ""
    return method, f"{table.label.en} ({table.name})"


def project_from_contract(
    contract: Contract,
    *,
    results: Sequence[ResultRow] = (),
    stage: str = "Contracted",
    jurisdiction: str = "SE",
    policy_sector: str | None = None,
    sha256: str | None = None,
    url: str | None = None,
    lessons: Sequence[str] = (),
    documents: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """One project of the knowledge document, from a compiled contract and its aggregated
    results (suppressed here: raw small cells never reach the document)."""
    if stage not in STAGES:
        raise UserError(f"stage {stage!r}: choose one of {', '.join(STAGES)}")
    sections: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for party in contract.parties:
        section = ROLE_SECTIONS.get(party.role)
        if section is None:
            continue
        entry: dict[str, Any] = {"organisation_id": _v(party.id)}
        if section in ("outcome_payment_commitments", "investments"):
            entry["id"] = f"{party.id}"
        sections[section].append(entry)
    validators = ",".join(p.id for p in contract.parties if p.role == "evaluator")
    metric_ids = set(contract.inputs)
    metrics = []
    for name, term in contract.inputs.items():
        metric: dict[str, Any] = {
            "id": name,
            "definition": _v(_text(term.description) or name),
        }
        if term.unit:
            metric["unit_description_of_service_user_or_beneficiaries"] = _v(term.unit)
        if term.evaluate:
            method, source = _validation(contract, term.evaluate)
            metric["outcome_validation_method"] = _v(method)
            if source:
                metric["data_source_for_outcome_validation"] = _v(source)
        if policy_sector:
            metric["policy_sector"] = _v(policy_sector)
        metric["utfall"] = {"type": term.describe_type()}
        metrics.append(metric)
    unknown = sorted({r.outcome_metric_id for r in results} - metric_ids)
    if unknown:
        raise UserError(
            f"results name outcome metrics the contract {contract.id!r} does not have: "
            f"{', '.join(unknown)} (its outcome metrics are its inputs: "
            f"{', '.join(sorted(metric_ids))})"
        )
    published = suppress_results(results)
    result_items = [_result_item(p) for p in published]
    if validators:
        for item in result_items:
            item["outcomes_validator_organisation_ids"] = _v(validators)
    provision = list(provision_periods(contract).values())
    starts = [p.start for p in provision]
    ends = [p.end for p in provision]
    dates: dict[str, Any] = {}
    if starts:
        dates["start_date_of_service_provision"] = _v(min(starts).isoformat())
    if ends:
        dates["anticipated_end_date_of_service_provision"] = _v(max(ends).isoformat())
    purpose: dict[str, Any] = {"social_challenge": _v(_text(contract.title))}
    if contract.description:
        purpose["intervention"] = _v(_text(contract.description))
    if policy_sector:
        purpose["policy_sector"] = _v(policy_sector)
    docs = [{"title": _v(d["title"]), "url": _v(d["url"])} for d in documents]
    project: dict[str, Any] = {
        "id": f"utfall-{contract.id}",
        "status": "PUBLIC",
        "name": _v(_text(contract.title)),
        "stage_development": _v(stage),
        "dates": dates,
        "jurisdiction": {"jurisdiction": _v(jurisdiction)},
        "purpose_and_classifications": purpose,
        "outcome_payment_commitments": sections["outcome_payment_commitments"],
        "investments": sections["investments"],
        "service_provisions": sections["service_provisions"],
        "intermediary_services": sections["intermediary_services"],
        "outcome_metrics": metrics,
        "results": result_items,
        "documents": docs,
        "sources": [
            {"id": f"source-{i + 1}", "name": _v(_text(text))}
            for i, text in enumerate(contract.sources)
        ],
        "utfall": {
            "contract_id": contract.id,
            "contract_version": contract.version,
            "currency": contract.currency,
            "rounding": contract.rounding,
            "parties": [{"id": p.id, "name": p.name, "role": p.role} for p in contract.parties],
            "terms": [
                {
                    "name": name,
                    "type": parameter.describe_type(),
                    "value": format_value(parameter.default, parameter.type, parameter.of),
                    "unit": parameter.unit or "",
                    "description": _text(parameter.description),
                    "source": _text(parameter.source),
                }
                for name, parameter in contract.parameters.items()
            ],
            "formulas": [
                {
                    "name": name,
                    "formula": output.formula.strip(),
                    "plain_sv": _plain(output.formula, "sv"),
                    "plain_en": _plain(output.formula, "en"),
                    "description": _text(output.description),
                }
                for name, output in contract.outputs.items()
            ],
            "payments": [
                {
                    "id": payment.id,
                    "payer": payment.payer,
                    "payee": payment.payee,
                    "label": payment.label,
                    "formula": payment.formula.strip(),
                    "plain_sv": _plain(payment.formula, "sv"),
                    "plain_en": _plain(payment.formula, "en"),
                }
                for payment in contract.payments
            ],
            "assumptions": [_text(a) for a in contract.assumptions],
            "lessons": [_text(lesson) for lesson in lessons if _text(lesson)],
            "minimum_cell_size": MIN_CELL,
        },
    }
    if sha256:
        project["utfall"]["sha256"] = sha256
    if url:
        project["utfall"]["url"] = url
    return project


def knowledge_document(
    projects: Sequence[Mapping[str, Any]],
    *,
    published: date,
    publisher: str = "utfall knowledge platform",
) -> dict[str, Any]:
    """The document: format header, the organisations named, and the projects."""
    organisations: dict[str, dict[str, Any]] = {}
    for project in projects:
        for party in project["utfall"]["parties"]:
            key = party["id"]
            organisations.setdefault(key, {"id": key, "name": _v(party["name"])})
    return {
        "$schema": FORMAT_ID,
        "format": {
            "name": "utfall knowledge platform open data",
            "version": FORMAT_VERSION,
            "aligned_with": f"INDIGO impact bond data standard {INDIGO_VERSION} (project)",
            "minimum_cell_size": MIN_CELL,
        },
        "published": published.isoformat(),
        "publisher": publisher,
        "organisations": sorted(organisations.values(), key=lambda o: o["id"]),
        "projects": list(projects),
    }


# ---------------------------------------------------------------- schema and validation


def _value(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"value": schema},
        "required": ["value"],
        "additionalProperties": False,
    }


def knowledge_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a knowledge document (docs/knowledge.schema.json)."""
    text = {"type": "string"}
    nonempty = {"type": "string", "minLength": 1}
    iso_date = {"type": "string", "pattern": r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"}
    organisation_ref = {"$ref": "#/$defs/organisation_reference"}
    party_list = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"id": text, "organisation_id": organisation_ref, "notes": text},
            "required": ["organisation_id"],
            "additionalProperties": False,
        },
    }
    count_at_least_cell = {
        "type": "object",
        "properties": {"value": {"type": "integer", "minimum": MIN_CELL}},
        "required": ["value"],
        "additionalProperties": False,
    }
    result = {
        "type": "object",
        "properties": {
            "outcome_metric_id": _value(nonempty),
            "result_level": _value({"enum": ["Project level", "Outcome level"]}),
            "result_type": _value({"enum": ["Interim", "Final"]}),
            "period": {
                "type": "object",
                "properties": {"start_date": _value(iso_date), "end_date": _value(iso_date)},
                "required": ["start_date", "end_date"],
                "additionalProperties": False,
            },
            "number_engaged_in_impact_bond": count_at_least_cell,
            "number_with_positive_social_outcomes": count_at_least_cell,
            "outcomes_validator_organisation_ids": _value(text),
            "utfall": {
                "type": "object",
                "properties": {
                    "group": nonempty,
                    "suppressed": {"type": "boolean"},
                    "suppression_reason": nonempty,
                    "share_with_positive_social_outcomes": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 1,
                    },
                },
                "required": ["group", "suppressed"],
                "additionalProperties": False,
            },
        },
        "required": ["outcome_metric_id", "result_type", "period", "utfall"],
        "additionalProperties": False,
        # A withheld row carries no numbers; a published one carries at least n.
        "if": {"properties": {"utfall": {"properties": {"suppressed": {"const": True}}}}},
        "then": {
            "not": {
                "anyOf": [
                    {"required": ["number_engaged_in_impact_bond"]},
                    {"required": ["number_with_positive_social_outcomes"]},
                ]
            },
            "properties": {"utfall": {"required": ["suppression_reason"]}},
        },
        "else": {"required": ["number_engaged_in_impact_bond"]},
    }
    metric = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
            "definition": _value(nonempty),
            "target_population": _value(text),
            "unit_description_of_service_user_or_beneficiaries": _value(text),
            "outcome_validation_method": _value(text),
            "data_source_for_outcome_validation": _value(text),
            "policy_sector": _value(text),
            "utfall": {"type": "object"},
        },
        "required": ["id", "definition"],
        "additionalProperties": False,
    }
    formula = {
        "type": "object",
        "properties": {
            "name": nonempty,
            "formula": nonempty,
            "plain_sv": text,
            "plain_en": text,
            "description": text,
        },
        "required": ["name", "formula"],
        "additionalProperties": False,
    }
    project = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
            "status": {"enum": ["PUBLIC"]},
            "name": _value(nonempty),
            "alternative_names": _value(text),
            "stage_development": _value({"enum": list(STAGES)}),
            "dates": {
                "type": "object",
                "properties": {
                    key: _value(iso_date)
                    for key in (
                        "outcomes_contract_signed",
                        "contracts_between_all_parties_signed",
                        "anticipated_completion_date",
                        "actual_completion_date",
                        "start_date_of_service_provision",
                        "anticipated_end_date_of_service_provision",
                        "actual_end_date_of_service_provision",
                    )
                },
                "additionalProperties": False,
            },
            "jurisdiction": {
                "type": "object",
                "properties": {"jurisdiction": _value({"type": "string", "pattern": "^[A-Z]{2}$"})},
                "required": ["jurisdiction"],
                "additionalProperties": False,
            },
            "purpose_and_classifications": {
                "type": "object",
                "properties": {
                    "social_challenge": _value(text),
                    "intervention": _value(text),
                    "policy_sector": _value(text),
                },
                "additionalProperties": False,
            },
            "outcome_payment_commitments": party_list,
            "investments": party_list,
            "service_provisions": party_list,
            "intermediary_services": party_list,
            "outcome_metrics": {"type": "array", "items": metric, "minItems": 1},
            "results": {"type": "array", "items": result},
            "documents": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"title": _value(nonempty), "url": _value(nonempty)},
                    "required": ["title", "url"],
                    "additionalProperties": False,
                },
            },
            "sources": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": nonempty, "name": _value(text), "url": _value(text)},
                    "required": ["id", "name"],
                    "additionalProperties": False,
                },
            },
            "utfall": {
                "type": "object",
                "properties": {
                    "contract_id": nonempty,
                    "contract_version": nonempty,
                    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                    "rounding": text,
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "url": text,
                    "parties": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"id": nonempty, "name": nonempty, "role": nonempty},
                            "required": ["id", "name", "role"],
                            "additionalProperties": False,
                        },
                    },
                    "terms": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": nonempty,
                                "type": nonempty,
                                "value": text,
                                "unit": text,
                                "description": text,
                                "source": text,
                            },
                            "required": ["name", "type", "value"],
                            "additionalProperties": False,
                        },
                    },
                    "formulas": {"type": "array", "items": formula},
                    "payments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "id": nonempty,
                                "payer": nonempty,
                                "payee": nonempty,
                                "label": text,
                                "formula": nonempty,
                                "plain_sv": text,
                                "plain_en": text,
                            },
                            "required": ["id", "payer", "payee", "formula"],
                            "additionalProperties": False,
                        },
                    },
                    "assumptions": {"type": "array", "items": text},
                    "lessons": {"type": "array", "items": text},
                    "minimum_cell_size": {"const": MIN_CELL},
                },
                "required": [
                    "contract_id",
                    "contract_version",
                    "currency",
                    "parties",
                    "terms",
                    "formulas",
                    "payments",
                ],
                "additionalProperties": False,
            },
        },
        "required": [
            "id",
            "status",
            "name",
            "stage_development",
            "jurisdiction",
            "outcome_metrics",
            "results",
            "utfall",
        ],
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": FORMAT_ID,
        "title": "utfall knowledge platform open data (aligned with INDIGO 3.0 project data)",
        "description": (
            "Published outcome contracts with their outcome metrics and aggregated results. "
            'Field names and the {"value": …} wrapping follow the INDIGO impact bond data '
            "standard (Government Outcomes Lab); what INDIGO has no place for is in 'utfall'. "
            f"Result rows with fewer than {MIN_CELL} individuals in any cell are withheld."
        ),
        "type": "object",
        "properties": {
            "$schema": {"const": FORMAT_ID},
            "format": {
                "type": "object",
                "properties": {
                    "name": nonempty,
                    "version": {"const": FORMAT_VERSION},
                    "aligned_with": text,
                    "minimum_cell_size": {"const": MIN_CELL},
                },
                "required": ["name", "version"],
                "additionalProperties": False,
            },
            "published": {"type": "string", "format": "date"},
            "publisher": nonempty,
            "organisations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": nonempty, "name": _value(nonempty)},
                    "required": ["id", "name"],
                    "additionalProperties": False,
                },
            },
            "projects": {"type": "array", "items": project},
        },
        "required": ["$schema", "format", "published", "organisations", "projects"],
        "additionalProperties": False,
        "$defs": {"organisation_reference": _value(nonempty)},
    }


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _semantic_findings(data: Mapping[str, Any], file: str | None) -> list[Finding]:
    """What the schema cannot say: references resolve, cells are not small, ids are unique."""
    findings: list[Finding] = []
    organisations = {o.get("id") for o in data.get("organisations", []) if isinstance(o, dict)}
    seen_projects: set[str] = set()
    for p_index, project in enumerate(data.get("projects", [])):
        if not isinstance(project, dict):
            continue
        base = f"projects[{p_index}]"
        pid = project.get("id")
        if pid in seen_projects:
            findings.append(
                Finding(
                    "duplicate-id",
                    f"project id {pid!r} appears twice",
                    file=file,
                    path=f"{base}.id",
                )
            )
        seen_projects.add(str(pid))
        metric_ids = {
            m.get("id") for m in project.get("outcome_metrics", []) if isinstance(m, dict)
        }
        for section in (
            "outcome_payment_commitments",
            "investments",
            "service_provisions",
            "intermediary_services",
        ):
            for i, entry in enumerate(project.get(section, []) or []):
                ref = (
                    (entry.get("organisation_id") or {}).get("value")
                    if isinstance(entry, dict)
                    else None
                )
                if ref is not None and ref not in organisations:
                    findings.append(
                        Finding(
                            "unknown-organisation",
                            f"organisation {ref!r} is not in the document's organisations",
                            file=file,
                            path=f"{base}.{section}[{i}].organisation_id.value",
                        )
                    )
        for r_index, result in enumerate(project.get("results", []) or []):
            if not isinstance(result, dict):
                continue
            where = f"{base}.results[{r_index}]"
            metric = (result.get("outcome_metric_id") or {}).get("value")
            if metric is not None and metric not in metric_ids:
                findings.append(
                    Finding(
                        "unknown-metric",
                        f"outcome metric {metric!r} is not in outcome_metrics",
                        file=file,
                        path=f"{where}.outcome_metric_id.value",
                    )
                )
            n = (result.get("number_engaged_in_impact_bond") or {}).get("value")
            count = (result.get("number_with_positive_social_outcomes") or {}).get("value")
            if isinstance(n, int) and isinstance(count, int):
                if count > n:
                    findings.append(
                        Finding(
                            "count-above-n",
                            f"{count} reached the outcome of a group of {n}",
                            file=file,
                            path=f"{where}.number_with_positive_social_outcomes.value",
                        )
                    )
                elif n - count < MIN_CELL:
                    findings.append(
                        Finding(
                            "small-cell",
                            f"{n - count} individual(s) did not reach the outcome: fewer than "
                            f"{MIN_CELL}, so the row must be withheld",
                            file=file,
                            path=f"{where}.number_with_positive_social_outcomes.value",
                        )
                    )
    return findings


def knowledge_validate(data: Any, *, file: str | None = None) -> list[Finding]:
    """Every problem of a knowledge document, located by JSON path (empty: valid)."""
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(knowledge_json_schema(), format_checker=FormatChecker())
    findings = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        message = error.message
        if error.validator == "minimum" and "value" in list(error.path)[-1:]:
            message = f"{error.instance} is fewer than {MIN_CELL} individuals: withhold the row"
        findings.append(
            Finding(
                f"schema-{error.validator}",
                message,
                file=file,
                path=_json_path(error.absolute_path),
            )
        )
    if isinstance(data, dict):
        findings.extend(_semantic_findings(data, file))
    return findings


def _validate_csv(text: str, file: str) -> list[Finding]:
    findings: list[Finding] = []
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in CSV_COLUMNS if c not in header]
    for column in missing:
        findings.append(
            Finding("missing-column", "the column is missing", file=file, row=1, field_name=column)
        )
    for column in header:
        if column not in CSV_COLUMNS:
            findings.append(
                Finding("unknown-column", "unknown column", file=file, row=1, field_name=column)
            )
    if missing:
        return findings
    for number, record in enumerate(reader, start=2):
        for column in ("project_id", "project_name", "outcome_metric_id"):
            if not (record.get(column) or "").strip():
                findings.append(
                    Finding(
                        "missing", "a value is needed", file=file, row=number, field_name=column
                    )
                )
        suppressed = (record.get("suppressed") or "").strip().lower()
        if suppressed not in ("", "true", "false"):
            findings.append(
                Finding(
                    "bad-boolean",
                    f"{suppressed!r}: write true or false",
                    file=file,
                    row=number,
                    field_name="suppressed",
                )
            )
        numbers = {}
        for column in ("number_engaged_in_impact_bond", "number_with_positive_social_outcomes"):
            cell = (record.get(column) or "").strip()
            if not cell:
                continue
            if suppressed == "true":
                findings.append(
                    Finding(
                        "suppressed-with-number",
                        "a withheld row must not carry numbers",
                        file=file,
                        row=number,
                        field_name=column,
                    )
                )
                continue
            try:
                numbers[column] = int(cell)
            except ValueError:
                findings.append(
                    Finding(
                        "bad-count",
                        f"{cell!r} is not a whole number",
                        file=file,
                        row=number,
                        field_name=column,
                    )
                )
                continue
            if numbers[column] < MIN_CELL:
                findings.append(
                    Finding(
                        "small-cell",
                        f"{cell} is fewer than {MIN_CELL}: withhold the row",
                        file=file,
                        row=number,
                        field_name=column,
                    )
                )
        n = numbers.get("number_engaged_in_impact_bond")
        count = numbers.get("number_with_positive_social_outcomes")
        if n is not None and count is not None and n - count < MIN_CELL:
            findings.append(
                Finding(
                    "small-cell",
                    f"{n - count} did not reach the outcome: withhold the row",
                    file=file,
                    row=number,
                    field_name="number_with_positive_social_outcomes",
                )
            )
        for column in (
            "period_start",
            "period_end",
            "start_date_of_service_provision",
            "anticipated_end_date_of_service_provision",
        ):
            cell = (record.get(column) or "").strip()
            if cell:
                try:
                    date.fromisoformat(cell)
                except ValueError:
                    findings.append(
                        Finding(
                            "bad-date",
                            f"{cell!r} is not a date (YYYY-MM-DD)",
                            file=file,
                            row=number,
                            field_name=column,
                        )
                    )
    return findings


def knowledge_validate_text(text: str, *, source: str, fmt: Format = "json") -> list[Finding]:
    """Every problem of a knowledge document's text: JSON against the schema (and what the
    schema cannot say), or the CSV export's table, each located in ``source``."""
    if fmt == "csv":
        return _validate_csv(text, source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return [
            Finding(
                "json-syntax",
                f"not valid JSON: {error.msg}",
                file=source,
                line=error.lineno,
                column=error.colno,
            )
        ]
    except RecursionError:
        return [Finding("json-too-deep", "not readable JSON: nested too deeply", file=source)]
    return knowledge_validate(data, file=source)


# ---------------------------------------------------------------- CSV


def _names(project: Mapping[str, Any], section: str) -> str:
    return ";".join(e["organisation_id"]["value"] for e in project.get(section, []))


def knowledge_csv(document: Mapping[str, Any]) -> str:
    """The document as one CSV table: a row per project × outcome metric × result (a metric
    without results has one row with empty result columns)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for project in document["projects"]:
        dates = project.get("dates", {})
        base = {
            "project_id": project["id"],
            "project_name": project["name"]["value"],
            "stage_development": project["stage_development"]["value"],
            "jurisdiction": project["jurisdiction"]["jurisdiction"]["value"],
            "currency": project["utfall"]["currency"],
            "start_date_of_service_provision": dates.get("start_date_of_service_provision", {}).get(
                "value", ""
            ),
            "anticipated_end_date_of_service_provision": dates.get(
                "anticipated_end_date_of_service_provision", {}
            ).get("value", ""),
            "outcome_payers": _names(project, "outcome_payment_commitments"),
            "investors": _names(project, "investments"),
            "service_providers": _names(project, "service_provisions"),
            "intermediaries": _names(project, "intermediary_services"),
        }
        by_metric: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for result in project.get("results", []):
            by_metric[result["outcome_metric_id"]["value"]].append(result)
        for metric in project["outcome_metrics"]:
            row = dict(base)
            row.update(
                outcome_metric_id=metric["id"],
                outcome_definition=metric["definition"]["value"],
                unit=metric.get("unit_description_of_service_user_or_beneficiaries", {}).get(
                    "value", ""
                ),
            )
            results = by_metric.get(metric["id"]) or [None]
            for result in results:
                line = dict(row)
                if result is not None:
                    extension = result["utfall"]
                    line.update(
                        result_type=result["result_type"]["value"],
                        period_start=result["period"]["start_date"]["value"],
                        period_end=result["period"]["end_date"]["value"],
                        group=extension["group"],
                        number_engaged_in_impact_bond=result.get(
                            "number_engaged_in_impact_bond", {}
                        ).get("value", ""),
                        number_with_positive_social_outcomes=result.get(
                            "number_with_positive_social_outcomes", {}
                        ).get("value", ""),
                        share_with_positive_social_outcomes=extension.get(
                            "share_with_positive_social_outcomes", ""
                        ),
                        suppressed="true" if extension["suppressed"] else "false",
                    )
                writer.writerow(spreadsheet_mapping(line))
    return out.getvalue()


def knowledge_dumps(document: Mapping[str, Any]) -> str:
    """The document as indented UTF-8 JSON text."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def knowledge_render(document: Mapping[str, Any], fmt: Format) -> str:
    """The document as text: indented JSON, or the one CSV table."""
    if fmt not in FORMATS:
        raise UserError(f"{fmt!r}: open data is written as {' or '.join(FORMATS)}")
    return knowledge_csv(document) if fmt == "csv" else knowledge_dumps(document)


@dataclass(frozen=True)
class KnowledgeProject:
    """A contract to publish, with its aggregated results and what its publisher says of it
    (stage, policy sector, lessons, documents). ``sha256`` defaults to the contract text's."""

    contract: Contract
    results: Sequence[ResultRow] = ()
    stage: str = "Contracted"
    jurisdiction: str = "SE"
    policy_sector: str | None = None
    sha256: str | None = None
    url: str | None = None
    lessons: Sequence[str] = ()
    documents: Sequence[Mapping[str, str]] = ()


def knowledge_export(
    projects: Sequence[KnowledgeProject],
    *,
    published: date,
    publisher: str = "utfall knowledge platform",
) -> dict[str, Any]:
    """The open-data document of ``projects``: small cells withheld, validated.

    The one way a knowledge document is made, by ``utfall knowledge export`` and by the
    platform's downloads alike. A document that does not validate is a bug, not a user
    error (AssertionError).
    """
    document = knowledge_document(
        [
            project_from_contract(
                item.contract,
                results=item.results,
                stage=item.stage,
                jurisdiction=item.jurisdiction,
                policy_sector=item.policy_sector,
                sha256=item.sha256 or item.contract.sha256,
                url=item.url,
                lessons=item.lessons,
                documents=item.documents,
            )
            for item in projects
        ],
        published=published,
        publisher=publisher,
    )
    findings = knowledge_validate(document)
    if findings:
        raise AssertionError("the export does not validate: " + "; ".join(map(str, findings)))
    return document
