"""Open data of the knowledge platform in the INDIGO impact bond data standard, 4.1.0.

INDIGO (Government Outcomes Lab, University of Oxford) publishes one JSON document
per *project* (an impact bond or outcome contract) and per *fund*; its database
(``INDIGO-Initiative/database-app``) adds the project's ``id`` and an
``organisations`` list to the project data, and keeps a value or a list item only
when its ``status`` is ``PUBLIC``. The export follows that shape:

* :func:`project_document` — one INDIGO project document per contract: dates,
  jurisdiction, overall project finance, purpose, service and beneficiaries,
  organisations, outcome payment commitments, investments, service provisions,
  intermediary services, outcome metrics, outcome pricings, outcome payment plans
  and payments, transactions, results, documents and sources, each value carrying
  ``"status": "PUBLIC"`` where INDIGO gives it one;
* :func:`fund_document` — INDIGO's fund object for an outcomes fund (budget,
  dimensions of scale, the projects it pays outcomes for);
* :func:`knowledge_package` — every project and fund of a download in one file.

What INDIGO has no place for (the contract's terms, formulas in plain language,
its id, version and SHA-256, the suppression of small cells, the amounts as exact
text) sits in one ``utfall_extension`` object per document and per result. The field
mapping is docs/knowledge.md; INDIGO's schema is not copied (its repository has no
licence): ``docs/knowledge.schema.json`` is the export's own schema.

Aggregated results are published with small-cell suppression: a result row is
withheld (its numbers left out, ``suppressed: true``) when the group has fewer
than five individuals, when fewer than five reached the outcome, or when fewer
than five did not (the complement would reveal them). When a total is published
beside its subgroups and exactly one subgroup is withheld, the next smallest
subgroup is withheld too, so the withheld one cannot be computed by subtraction.

Everything here takes objects — compiled contracts, aggregated results, payments
signed on the settlement ledger, the fund's state — and never a path: the CLI reads
and writes the files (:mod:`utfall.adapters.knowledge`), the platform's knowledge
app hands over what it stores. Both build their documents with
:func:`knowledge_export`, so the open data of the command line and of the
platform are one format.

Public surface::

    INDIGO_VERSION                            "4.1.0"
    MIN_CELL                                  5
    ResultRow                                 one aggregate: metric, period, group, n, count
    suppress_results(rows) -> list[PublishedResult]
    SettledPayment                            a payment of a signed settlement statement
    statement_payments(statements) -> list[SettledPayment]   corrected statements left out
    KnowledgeProject                          a contract with its results, payments, facts
    KnowledgeFund                             an outcomes fund: its state and projects
    knowledge_export(projects, funds=, published=) -> dict   the validated package
    project_document(project, published=) -> dict           one INDIGO project
    fund_document(fund, published=) -> dict                  one INDIGO fund
    knowledge_package(projects, funds, published=) -> dict
    open_data_figures(contract) -> OpenDataFigures           the declared finance figures
    knowledge_json_schema() -> dict
    knowledge_validate(data, file=) -> list[Finding]          a package, project or fund
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
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from utfall.core.contracts import Contract, describe_formula, format_value
from utfall.core.contracts.schema import PeriodDocument, PolicySector
from utfall.core.exports import spreadsheet_mapping
from utfall.core.formula import compile_formula
from utfall.core.fund import FundState, PaymentKind
from utfall.core.ledger.statement import Statement
from utfall.core.privacy import MIN_CELL, complementary_cell, small_cell_reason
from utfall.errors import DataInvalid, Finding, UserError

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "FORMAT_ID",
    "INDIGO_VERSION",
    "MIN_CELL",
    "RESULT_COLUMNS",
    "STAGES",
    "KnowledgeFund",
    "KnowledgeProject",
    "OpenDataFigures",
    "PublishedResult",
    "ResultRow",
    "SettledPayment",
    "fund_document",
    "fund_id",
    "knowledge_csv",
    "knowledge_dumps",
    "knowledge_export",
    "knowledge_json_schema",
    "knowledge_package",
    "knowledge_render",
    "knowledge_validate",
    "knowledge_validate_text",
    "open_data_figures",
    "project_document",
    "project_id",
    "provision_periods",
    "results_parse",
    "statement_payments",
    "suppress_results",
]

Format = Literal["json", "csv"]
FORMATS: tuple[Format, ...] = ("json", "csv")

FORMAT_ID = "urn:utfall:schema:knowledge:2"
FORMAT_VERSION = "2.0"
INDIGO_VERSION = "4.1.0"
EXTENSION = "utfall_extension"
PUBLIC = "PUBLIC"
TOTAL_GROUP = "all"

# Contract roles → the INDIGO list that holds the organisation.
ROLE_SECTIONS = {
    "commissioner": "outcome_payment_commitments",
    "fund_administrator": "outcome_payment_commitments",
    "financier": "investments",
    "provider": "service_provisions",
    "intermediary": "intermediary_services",
}
OUTCOME_PAYER_ROLES = ("commissioner", "fund_administrator")
# INDIGO 4.1.0's project stages; the two design stages moved to its pipeline model (3.0.0).
STAGES = ("Contracted", "Implementation", "Service delivery complete", "Complete")
DESIGN_STAGES = ("Early-stage design", "Late-stage design")
POLICY_SECTORS: tuple[str, ...] = get_args(PolicySector)
# INDIGO's suggested configurations, by the role of whom the outcome payers pay.
CONFIGURATIONS = {
    "financier": "Intermediated structure",
    "intermediary": "Managed structure",
    "provider": "Direct structure",
}
FRAMEWORK = "Framework structure"
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


# ---------------------------------------------------------------- the documents


def _v(value: Any) -> dict[str, Any]:
    return {"value": value}


def _vs(value: Any) -> dict[str, Any]:
    """A value INDIGO gives its own status: it is kept only while the status is PUBLIC."""
    return {"value": value, "status": PUBLIC}


def _number(value: Decimal | int) -> int | float:
    """A JSON number; money has at most two decimals, which a float holds exactly in text."""
    if isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else float(value)


def _money_text(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _percent(share: Decimal) -> int | float:
    return _number((share * 100).quantize(Decimal("0.01")).normalize())


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def _plain(formula: str, lang: str) -> str:
    try:
        return describe_formula(formula, lang=lang)
    except Exception:  # a reading aid only; the formula itself is exported as well
        return ""


def project_id(contract: Contract) -> str:
    """The project's id in the open data (INDIGO assigns ``INDIGO-POJ-…`` ids of its own)."""
    return f"utfall-{contract.id}"


def fund_id(administrator: str) -> str:
    """The id of the fund an administrator party runs, as projects and the fund say it."""
    return f"utfall-fund-{administrator}"


@dataclass(frozen=True)
class SettledPayment:
    """A payment of a signed settlement statement (the ledger), as the open data shows it.

    ``period_start``/``period_end`` are the settlement's period when it has one."""

    payment_id: str
    payer: str
    payee: str
    amount: Decimal
    signed_on: date
    period_start: date | None = None
    period_end: date | None = None


def statement_payments(
    statements: Iterable[Statement],
    *,
    periods: Mapping[str, tuple[date | None, date | None]] | None = None,
) -> list[SettledPayment]:
    """The payments of signed settlement statements, in the order they were signed, leaving
    out every statement a later one corrects (``supersedes``). ``periods`` gives a
    statement's settlement period by its SHA-256, where one is known."""
    signed = sorted(statements, key=lambda s: s.signed_at)
    corrected = {s.supersedes for s in signed if s.supersedes}
    payments = []
    for statement in signed:
        sha256 = statement.sha256()
        if sha256 in corrected:
            continue
        start, end = (periods or {}).get(sha256, (None, None))
        for line in statement.payments:
            payments.append(
                SettledPayment(
                    line.id,
                    line.payer,
                    line.payee,
                    line.amount,
                    statement.signed_at.date(),
                    period_start=start,
                    period_end=end,
                )
            )
    return payments


@dataclass(frozen=True)
class OpenDataFigures:
    """The finance figures the contract's ``open_data`` declares, computed from the
    parameters' values (None where it declares none)."""

    investment_commitment: Decimal | None = None
    maximum_outcome_payment: Decimal | None = None
    maximum_loss_share: Decimal | None = None
    maximum_return_share: Decimal | None = None


def _figure(contract: Contract, name: str, formula: str | None) -> Decimal | None:
    if not formula:
        return None
    env = {n: p.formula_type for n, p in contract.parameters.items()}
    values = {n: p.default for n, p in contract.parameters.items()}
    try:
        value, _notes = compile_formula(formula, env).evaluate(values, rounding=contract.rounding)
    except UserError as error:
        raise UserError(f"{contract.id}: open_data.{name}: {error}") from None
    if not isinstance(value, Decimal) or isinstance(value, bool):
        raise UserError(f"{contract.id}: open_data.{name} must compute a number")
    return value


def open_data_figures(contract: Contract) -> OpenDataFigures:
    """The contract's declared finance figures (``open_data``), from its parameters."""
    declared = getattr(contract.document, "open_data", None) if contract.document else None
    if declared is None:
        return OpenDataFigures()
    return OpenDataFigures(
        investment_commitment=_figure(
            contract, "investment_commitment", declared.investment_commitment
        ),
        maximum_outcome_payment=_figure(
            contract, "maximum_outcome_payment", declared.maximum_outcome_payment
        ),
        maximum_loss_share=_figure(contract, "maximum_loss_share", declared.maximum_loss_share),
        maximum_return_share=_figure(
            contract, "maximum_return_share", declared.maximum_return_share
        ),
    )


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


def _months(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` inclusive, a month begun counted."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    return months + (1 if end.day >= start.day else 0)


def _payment_metrics(contract: Contract) -> dict[str, list[str]]:
    """Payment id → the contract inputs (outcome metrics) its amount depends on, evaluated
    ones first, each in the contract's order."""
    outputs = contract.outputs

    def names(formula_names: Iterable[str], seen: set[str]) -> set[str]:
        found: set[str] = set()
        for name in formula_names:
            if name in seen:
                continue
            seen.add(name)
            if name in contract.inputs:
                found.add(name)
            elif name in outputs:
                compiled = outputs[name].compiled
                if compiled is not None:
                    found |= names(compiled.names, seen)
        return found

    order = list(contract.inputs)
    declared = getattr(contract.document, "open_data", None) if contract.document else None
    priced_on = dict(declared.priced_on) if declared is not None else {}
    unknown = sorted(set(priced_on) - {p.id for p in contract.payments})
    if unknown:
        raise UserError(f"{contract.id}: open_data.priced_on names no payment {', '.join(unknown)}")
    result = {}
    for payment in contract.payments:
        used = names(payment.compiled.names, set())
        ranked = sorted(used, key=lambda n: (contract.inputs[n].evaluate is None, order.index(n)))
        metric = priced_on.get(payment.id)
        if metric is not None:
            if metric not in used:
                raise UserError(
                    f"{contract.id}: open_data.priced_on.{payment.id}: {metric!r} is not an "
                    f"input the payment depends on ({', '.join(ranked)})"
                )
            ranked = [metric, *(n for n in ranked if n != metric)]
        result[payment.id] = ranked
    return result


def _result_item(published: PublishedResult, validators: str) -> dict[str, Any]:
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
        item["notes"] = (
            f"Withheld (small cells, fewer than {MIN_CELL} individuals): {published.reason}"
        )
    else:
        item["number_engaged_in_impact_bond"] = _v(row.n)
        if row.count is not None:
            item["number_with_positive_social_outcomes"] = _v(row.count)
            share = published.share
            if share is not None:
                extension["share_with_positive_social_outcomes"] = float(share)
    if validators:
        item["outcomes_validator_organisation_ids"] = _v(validators)
    item["status"] = PUBLIC
    item[EXTENSION] = extension
    return item


def _money_block(currency: str, amount: Decimal) -> dict[str, Any]:
    return {"currency": _v(currency), "amount": _v(_number(amount))}


@dataclass(frozen=True)
class KnowledgeProject:
    """A contract to publish, with its aggregated results, the payments signed on the
    settlement ledger (None: the ledger was not consulted) and what its publisher says
    of it (stage, policy sector, lessons, documents). ``sha256`` defaults to the contract
    text's."""

    contract: Contract
    results: Sequence[ResultRow] = ()
    payments: Sequence[SettledPayment] | None = None
    stage: str = "Contracted"
    jurisdiction: str = "SE"
    policy_sector: str | None = None
    sha256: str | None = None
    url: str | None = None
    lessons: Sequence[str] = ()
    documents: Sequence[Mapping[str, str]] = ()


def project_document(
    project: KnowledgeProject,
    *,
    published: date,
    publisher: str = "utfall knowledge platform",
) -> dict[str, Any]:
    """One INDIGO 4.1.0 project document of a contract, from its declaration, its
    aggregated results (suppressed here: raw small cells never reach the document) and
    the payments of its signed settlements."""
    contract = project.contract
    stage = project.stage
    if stage not in STAGES and stage not in DESIGN_STAGES:
        raise UserError(f"stage {stage!r}: choose one of {', '.join(STAGES)}")
    declared = getattr(contract.document, "open_data", None) if contract.document else None
    figures = open_data_figures(contract)
    currency = contract.currency
    jurisdiction = project.jurisdiction
    named_sector = project.policy_sector or (declared.policy_sector if declared else None)
    # INDIGO's field takes its own list only; another sector is kept in the extension.
    policy_sector = named_sector if named_sector in POLICY_SECTORS else None
    parties = {p.id: p for p in contract.parties}
    payers = [p for p in contract.parties if p.role in OUTCOME_PAYER_ROLES]
    investors = [p for p in contract.parties if p.role == "financier"]
    validators = ",".join(p.id for p in contract.parties if p.role == "evaluator")
    settled = list(project.payments) if project.payments is not None else None

    sources: list[dict[str, Any]] = [
        {
            "id": "source-contract",
            "name": _v(
                f"{_text(contract.title)} (utfall contract {contract.id} {contract.version})"
            ),
            "type": _v("Contract"),
            "status": PUBLIC,
        }
    ]
    if project.url:
        sources[0]["url"] = _v(project.url)
    for index, text in enumerate(contract.sources):
        sources.append(
            {
                "id": f"source-{index + 1}",
                "name": _v(_text(text)),
                "type": _v("Report"),
                "status": PUBLIC,
            }
        )
    declared_sources = "source-contract"
    if declared is not None and declared.source:
        sources.append(
            {
                "id": "source-open-data",
                "name": _v(_text(declared.source)),
                "type": _v("Report"),
                "status": PUBLIC,
            }
        )
        declared_sources = "source-contract,source-open-data"

    # Dates: the periods in which the service is provided; completion at the last period's end.
    provision = list(provision_periods(contract).values())
    dates: dict[str, Any] = {}
    service_start = min((p.start for p in provision), default=None)
    service_end = max((p.end for p in provision), default=None)
    if service_start is not None and service_end is not None:
        dates["start_date_of_service_provision"] = _vs(service_start.isoformat())
        dates["anticipated_end_date_of_service_provision"] = _vs(service_end.isoformat())
        dates["anticipated_duration_of_service_provision"] = _vs(
            _months(service_start, service_end)
        )
    if contract.periods:
        completion = max(p.end for p in contract.periods.values())
        dates["anticipated_completion_date"] = _vs(completion.isoformat())
    if dates:
        dates["source_ids"] = "source-contract"

    # Overall project finance.
    finance: dict[str, Any] = {}
    if figures.investment_commitment is not None:
        finance["total_investment_commitment"] = {
            "currency": _vs(currency),
            "amount": {"exact": _vs(_number(figures.investment_commitment))},
        }
    if figures.maximum_outcome_payment is not None:
        finance["maximum_potential_outcome_payment_v2"] = {
            "currency": _vs(currency),
            "amount": _vs(_number(figures.maximum_outcome_payment)),
        }
    if figures.maximum_loss_share is not None:
        finance["maximum_potential_loss"] = _vs(str(_percent(figures.maximum_loss_share)))
    if figures.maximum_return_share is not None:
        finance["maximum_potential_return"] = _vs(str(_percent(figures.maximum_return_share)))
    payee_roles = {
        parties[p.payee].role
        for p in contract.payments
        if p.payer in parties
        and parties[p.payer].role in OUTCOME_PAYER_ROLES
        and p.payee in parties
    } & set(CONFIGURATIONS)
    if payee_roles:
        configuration = (
            CONFIGURATIONS[next(iter(payee_roles))] if len(payee_roles) == 1 else FRAMEWORK
        )
        finance["configuration_contracting_parties"] = _vs(configuration)
    payer_ids = {p.id for p in payers}
    outcome_paid: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    if settled is not None:
        for line in settled:
            if line.payer in payer_ids:
                outcome_paid[line.payer] += line.amount
        finance["total_outcome_payments_made"] = {
            "currency": _vs(currency),
            "amount": _vs(_number(sum(outcome_paid.values(), Decimal("0.00")))),
        }
    if finance:
        finance["source_ids"] = declared_sources
        if figures.maximum_return_share is not None:
            finance["notes"] = (
                "The maximum potential return is over the whole contract term, not annual."
            )

    # Purpose, service and beneficiaries.
    purpose: dict[str, Any] = {"social_challenge": _vs(_text(contract.title))}
    if contract.description:
        purpose["intervention"] = _vs(_text(contract.description))
    if policy_sector:
        purpose["policy_sector"] = _v(policy_sector)
    beneficiaries: dict[str, Any] = {}
    participants = (
        contract.document.data.participants
        if contract.document and contract.document.data
        else None
    )
    population = None
    if declared is not None and declared.target_population is not None:
        population = declared.target_population.en
    elif participants is not None:
        population = participants.label.en + (
            f": {_text(participants.description)}" if participants.description else ""
        )
    if population:
        beneficiaries["target_population"] = _vs(_text(population))
    if declared is not None and declared.targeted_number is not None:
        beneficiaries["targeted_number_service_users_or_beneficiaries_total"] = _vs(
            declared.targeted_number
        )
    unit_type = declared.unit_type if declared is not None else "Individual"
    if beneficiaries:
        beneficiaries["unit_type_targeted_service_users_or_beneficiaries"] = _vs(unit_type)
        unit = declared.unit if declared is not None and declared.unit is not None else None
        if unit is None and participants is not None:
            unit = participants.unit
        if unit_type == "Other" and unit is not None:
            beneficiaries["unit_description_of_service_user_or_beneficiaries"] = _vs(unit.en)
        beneficiaries["source_ids"] = declared_sources

    # Organisations and their roles.
    organisations = []
    for party in contract.parties:
        organisation: dict[str, Any] = {
            "id": party.id,
            "name": _v(party.name),
            "country": _v(jurisdiction),
        }
        if party.organisation_number and jurisdiction == "SE":
            digits = party.organisation_number.replace("-", "")
            organisation["org-ids"] = {"primary": _v(f"SE-BLV-{digits}")}
        organisations.append(organisation)
    service_period: dict[str, Any] = {}
    if service_start is not None and service_end is not None:
        service_period = {
            "start_date": _v(service_start.isoformat()),
            "end_date": _v(service_end.isoformat()),
        }
    commitments = []
    for party in payers:
        entry: dict[str, Any] = {"organisation_id": _v(party.id)}
        if figures.maximum_outcome_payment is not None and len(payers) == 1:
            entry["maximum_potential_outcome_payment"] = _money_block(
                currency, figures.maximum_outcome_payment
            )
        if service_period:
            entry["period"] = dict(service_period)
        if settled is not None:
            entry["total_outcome_payments"] = _money_block(currency, outcome_paid[party.id])
        entry["status"] = PUBLIC
        commitments.append(entry)
    investments = []
    for party in investors:
        entry = {"id": party.id, "organisation_id": _v(party.id)}
        if figures.investment_commitment is not None and len(investors) == 1:
            entry["investment_commitment"] = {
                "currency": _v(currency),
                "amount": {"exact": _v(_number(figures.investment_commitment))},
            }
        if figures.maximum_loss_share is not None:
            entry["maximum_potential_loss"] = _v(str(_percent(figures.maximum_loss_share)))
        if figures.maximum_return_share is not None:
            entry["maximum_potential_return"] = _v(_percent(figures.maximum_return_share))
        entry["status"] = PUBLIC
        investments.append(entry)
    provisions = []
    for party in contract.parties:
        if party.role != "provider":
            continue
        entry = {"id": party.id, "organisation_id": _v(party.id)}
        if contract.description:
            entry["intervention"] = _v(_text(contract.description))
        if service_period:
            entry["planned_service"] = dict(service_period)
        entry["status"] = PUBLIC
        provisions.append(entry)
    intermediaries = [
        {"organisation_id": _v(p.id), "status": PUBLIC}
        for p in contract.parties
        if p.role == "intermediary"
    ]

    # Outcome metrics: everything the contract measures (its inputs, with the targeted
    # number), and every evaluation it follows without paying on it (no input takes it).
    def outcome_metric(
        name: str,
        definition: str | None,
        evaluation: str | None,
        extension: dict[str, Any],
        *,
        targeted: bool,
    ) -> dict[str, Any]:
        metric: dict[str, Any] = {"id": name, "definition": _v(_text(definition) or name)}
        if population:
            metric["target_population"] = _v(_text(population))
        if targeted and declared is not None and declared.targeted_number is not None:
            metric["targeted_number_of_service_users_or_beneficiaries_total"] = _v(
                declared.targeted_number
            )
            metric["unit_type_of_targeted_service_users_or_beneficiaries"] = _v(unit_type)
        if evaluation:
            method, data_source = _validation(contract, evaluation)
            metric["outcome_validation_method"] = _v(method)
            if data_source:
                metric["data_source_for_outcome_validation"] = _v(data_source)
        if policy_sector:
            metric["policy_sector"] = _v(policy_sector)
        metric["status"] = PUBLIC
        metric[EXTENSION] = extension
        return metric

    metrics = [
        outcome_metric(
            name,
            term.description,
            term.evaluate,
            {"type": term.describe_type(), "unit": term.unit or ""},
            targeted=True,
        )
        for name, term in contract.inputs.items()
    ]
    taken = {term.evaluate for term in contract.inputs.values() if term.evaluate}
    for name in contract.evaluations:
        if name in taken or name in contract.inputs:
            continue
        document = contract.document.evaluations.get(name) if contract.document else None
        definition = (
            (document.description or (document.label.en if document.label else None))
            if document
            else None
        )
        metrics.append(
            outcome_metric(
                name,
                definition,
                name,
                {"type": "followed evaluation", "unit": "", "pays": False},
                targeted=False,
            )
        )

    # Outcome pricings and payment plans: one per payment of the contract.
    depends = _payment_metrics(contract)
    labels_en = {
        p.id: p.label.en for p in (contract.document.payments if contract.document else [])
    }
    pricings = []
    plans = []
    for payment in contract.payments:
        used = depends.get(payment.id, [])
        pricing: dict[str, Any] = {}
        if used:
            pricing["outcome_metric_id"] = _v(used[0])
        pricing["currency"] = _v(currency)
        formula = payment.formula.strip()
        if formula in contract.outputs:  # the amount is an output: say that output's formula
            formula = contract.outputs[formula].formula.strip()
        plain = _plain(formula, "en")
        label = labels_en.get(payment.id) or payment.label or payment.id
        pricing["price_description"] = _v(
            f"{_text(label)} ({payment.payer} → {payment.payee}): {_text(plain or formula)}"
        )
        pricing["status"] = PUBLIC
        pricing[EXTENSION] = {"payment_id": payment.id, "outcome_metric_ids": used}
        pricings.append(pricing)
        plan: dict[str, Any] = {"id": _v(payment.id)}
        if service_period:
            plan["period"] = dict(service_period)
        plan["status"] = PUBLIC
        plans.append(plan)

    # Outcome payments and transactions: what the signed settlements paid.
    outcome_payments = []
    transactions = []
    metric_of: dict[str, str | None] = {
        p.id: next(iter(depends.get(p.id, [])), None) for p in contract.payments
    }
    # A payment of nothing moves no money: it is not an outcome payment or a transaction.
    for settled_payment in [p for p in settled or [] if p.amount != 0]:
        start = settled_payment.period_start or settled_payment.signed_on
        end = settled_payment.period_end or settled_payment.signed_on
        is_outcome = settled_payment.payer in payer_ids
        if is_outcome:
            item: dict[str, Any] = {"outcome_payment_plan_id": _v(settled_payment.payment_id)}
            if metric_of.get(settled_payment.payment_id):
                item["outcome_metric_id"] = _v(metric_of[settled_payment.payment_id])
            item.update(
                period={"start_date": _v(start.isoformat()), "end_date": _v(end.isoformat())},
                payer_organisation_id=_v(settled_payment.payer),
                recipient_organisation_id=_v(settled_payment.payee),
                type=_v("Actual"),
                money=_money_block(currency, settled_payment.amount),
                status=PUBLIC,
            )
            item[EXTENSION] = {"amount_sek": _money_text(settled_payment.amount)}
            outcome_payments.append(item)
        transaction: dict[str, Any] = {}
        if is_outcome and metric_of.get(settled_payment.payment_id):
            transaction["outcome_metric_id"] = _v(metric_of[settled_payment.payment_id])
        if settled_payment.payer in {p.id for p in investors}:
            transaction["investment_id"] = _v(settled_payment.payer)
        transaction.update(
            date=_v(settled_payment.signed_on.isoformat()),
            sending_organisation_id=_v(settled_payment.payer),
            receiving_organisation_id=_v(settled_payment.payee),
            transaction_type=_v("Outcome Payment" if is_outcome else "Other"),
            money=_money_block(currency, settled_payment.amount),
            status=PUBLIC,
        )
        transaction[EXTENSION] = {
            "payment_id": settled_payment.payment_id,
            "amount_sek": _money_text(settled_payment.amount),
        }
        transactions.append(transaction)

    published_results = suppress_results(project.results)
    unknown = sorted({r.outcome_metric_id for r in project.results} - set(contract.inputs))
    if unknown:
        raise UserError(
            f"results name outcome metrics the contract {contract.id!r} does not have: "
            f"{', '.join(unknown)} (its outcome metrics are its inputs: "
            f"{', '.join(sorted(contract.inputs))})"
        )

    document: dict[str, Any] = {
        "id": project_id(contract),
        "status": PUBLIC,
        "name": _v(_text(contract.title)),
    }
    label = contract.document.label if contract.document else None
    if label is not None and _text(label.en) != _text(contract.title):
        document["alternative_names"] = _v(_text(label.en))
    if stage in STAGES:
        document["stage_development"] = {
            "value": stage,
            "source_ids": "source-contract",
            "status": PUBLIC,
        }
    document.update(
        {
            "dates": dates,
            "jurisdiction": {"jurisdiction": _vs(jurisdiction)},
            "overall_project_finance": finance,
            "purpose_and_classifications": purpose,
            "service_and_beneficiaries": beneficiaries,
            "organisations": organisations,
            "outcome_funds": [
                {"id": fund_id(p.id), "status": PUBLIC}
                for p in contract.parties
                if p.role == "fund_administrator"
            ],
            "outcome_payment_commitments": commitments,
            "investments": investments,
            "service_provisions": provisions,
            "intermediary_services": intermediaries,
            "outcome_metrics": metrics,
            "outcome_pricings": pricings,
            "outcome_payment_plans": plans,
            "outcome_payments": outcome_payments,
            "transactions": transactions,
            "results": [_result_item(p, validators) for p in published_results],
            "documents": [
                {"title": _v(d["title"]), "url": _v(d["url"]), "status": PUBLIC}
                for d in project.documents
            ],
            "sources": sources,
        }
    )
    extension: dict[str, Any] = {
        "kind": "project",
        "format": _format(),
        "published": published.isoformat(),
        "publisher": publisher,
        "contract_id": contract.id,
        "contract_version": contract.version,
        "currency": currency,
        "rounding": contract.rounding,
        "stage_development": stage,
        "policy_sector": named_sector or "",
        "parties": [{"id": p.id, "name": p.name, "role": p.role} for p in contract.parties],
        "finance": {
            key: (_money_text(value) if "share" not in key else str(value))
            for key, value in (
                ("investment_commitment_sek", figures.investment_commitment),
                ("maximum_outcome_payment_sek", figures.maximum_outcome_payment),
                ("maximum_loss_share", figures.maximum_loss_share),
                ("maximum_return_share", figures.maximum_return_share),
            )
            if value is not None
        },
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
        "lessons": [_text(lesson) for lesson in project.lessons if _text(lesson)],
        "minimum_cell_size": MIN_CELL,
    }
    if declared is not None and declared.target_population is not None:
        extension["target_population_sv"] = _text(declared.target_population.sv)
    if participants is not None:
        extension["beneficiary_unit"] = participants.unit.en
    sha256 = project.sha256 or contract.sha256
    if sha256:
        extension["sha256"] = sha256
    if project.url:
        extension["url"] = project.url
    document[EXTENSION] = extension
    return document


def _format() -> dict[str, Any]:
    return {
        "name": "utfall knowledge platform open data",
        "version": FORMAT_VERSION,
        "schema": FORMAT_ID,
        "standard": f"INDIGO impact bond data standard {INDIGO_VERSION}",
        "minimum_cell_size": MIN_CELL,
    }


@dataclass(frozen=True)
class KnowledgeFund:
    """An outcomes fund to publish: the party that administers it (its id names the fund,
    as the projects it pays outcomes for refer to it), its state (budget, commitments,
    payments) and the projects. ``active`` is INDIGO's stage (Active or Inactive)."""

    administrator: str
    name: str
    host: str
    state: FundState
    projects: Sequence[str] = ()
    purpose: str = ""
    mechanism: str = ""
    jurisdiction: str = "SE"
    aspired_contracts: int | None = None
    active: bool = True
    documents: Sequence[Mapping[str, str]] = field(default_factory=tuple)


def fund_document(
    fund: KnowledgeFund, *, published: date, publisher: str = "utfall knowledge platform"
) -> dict[str, Any]:
    """INDIGO's fund object for an outcomes fund: its dates from the budget years, the
    outcome funding aspired (the ceiling on outcome payments, else the budget) and paid,
    the number of outcome contracts, its organisation and the projects it pays for."""
    state = fund.state
    budget = state.budget
    years = budget.years
    ceiling = budget.outcome_payment_ceiling
    aspiration = ceiling if ceiling is not None else budget.total
    paid_outcomes = state.paid(kind=PaymentKind.OUTCOME_PAYMENT)
    scale: dict[str, Any] = {
        "total_outcome_fund_value_outcomes_funding": {
            "currency": _v("SEK"),
            "aspiration": {"amount": _v(_number(aspiration))},
            "actual": {"amount": _v(_number(paid_outcomes))},
        },
        "number_of_outcome_contracts": {"actual": _v(len(fund.projects))},
        "number_of_contributing_outcome_funders": {"actual": _v(1)},
    }
    if fund.aspired_contracts is not None:
        scale["number_of_outcome_contracts"]["aspiration"] = _v(fund.aspired_contracts)
    document: dict[str, Any] = {
        "id": fund_id(fund.administrator),
        "status": PUBLIC,
        "name": _v(_text(fund.name)),
        "stage_development": _v("Active" if fund.active else "Inactive"),
        "host_institution_of_outcome_fund": _v(_text(fund.host)),
    }
    if fund.mechanism:
        document["mechanism"] = _v(_text(fund.mechanism))
    if years:
        document["dates"] = {
            "launch_date": _v(f"{years[0]}"),
            "anticipated_end_date": _v(f"{years[-1]}-12-31"),
        }
    if fund.purpose:
        document["purpose_and_classifications"] = {"purpose": _v(_text(fund.purpose))}
    document.update(
        {
            "dimensions_of_scale": scale,
            "country": _v(fund.jurisdiction),
            "organisations": [{"organisation_id": _v(fund.administrator)}],
            "geographic_areas_for_outcome_payment": [{"country": _v(fund.jurisdiction)}],
            "documents": [
                {"title": _v(d["title"]), "url": _v(d["url"]), "status": PUBLIC}
                for d in fund.documents
            ],
        }
    )
    document[EXTENSION] = {
        "kind": "fund",
        "format": _format(),
        "published": published.isoformat(),
        "publisher": publisher,
        "budget_sek": _money_text(budget.total),
        "budget_by_year_sek": {str(y): _money_text(a) for y, a in budget.by_year().items()},
        "outcome_payment_ceiling_sek": _money_text(ceiling) if ceiling is not None else None,
        "committed_sek": _money_text(state.committed()),
        "paid_sek": _money_text(state.paid()),
        "paid_by_kind_sek": {k: _money_text(state.paid(kind=k)) for k in PaymentKind.ALL},
        "project_ids": list(fund.projects),
    }
    return document


def knowledge_package(
    projects: Sequence[Mapping[str, Any]],
    funds: Sequence[Mapping[str, Any]] = (),
    *,
    published: date,
    publisher: str = "utfall knowledge platform",
) -> dict[str, Any]:
    """Every project and fund document of a download in one file (INDIGO's all-data
    download, as one JSON)."""
    return {
        EXTENSION: {
            "kind": "package",
            "format": _format(),
            "published": published.isoformat(),
            "publisher": publisher,
        },
        "projects": list(projects),
        "funds": list(funds),
    }


# ---------------------------------------------------------------- schema and validation


def _obj(
    properties: Mapping[str, Any], required: Sequence[str] = (), *, closed: bool = True
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties)}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def _value(schema: dict[str, Any]) -> dict[str, Any]:
    """INDIGO's ``{"value": …}``."""
    return _obj({"value": schema}, ["value"])


def _value_status(schema: dict[str, Any]) -> dict[str, Any]:
    """INDIGO's ``{"value": …, "status": …}``: published only while PUBLIC."""
    return _obj({"value": schema, "status": {"const": PUBLIC}}, ["value", "status"])


def _item(
    properties: Mapping[str, Any], required: Sequence[str] = (), *, extension: bool = False
) -> dict[str, Any]:
    """An item of one of INDIGO's lists: kept only while its ``status`` is PUBLIC."""
    props = {**properties, "status": {"const": PUBLIC}, "notes": {"type": "string"}}
    if extension:
        props[EXTENSION] = {"type": "object"}
    return _obj(props, [*required, "status"])


def knowledge_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the open data: an INDIGO 4.1.0 project document,
    a fund document, or a package of both (docs/knowledge.schema.json). It is the
    export's own schema, written from the field mapping in docs/knowledge.md, not
    INDIGO's."""
    text = {"type": "string"}
    nonempty = {"type": "string", "minLength": 1}
    number = {"type": "number"}
    iso_date = {"type": "string", "pattern": r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"}
    identifier = {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"}
    reference = _value(nonempty)
    money = _obj({"currency": _value(nonempty), "amount": _value(number)}, ["currency", "amount"])
    money_status = _obj(
        {"currency": _value_status(nonempty), "amount": _value_status(number)},
        ["currency", "amount"],
    )
    period = _obj({"start_date": _value(iso_date), "end_date": _value(iso_date)})
    count_at_least_cell = _value({"type": "integer", "minimum": MIN_CELL})
    result = _item(
        {
            "outcome_metric_id": reference,
            "result_level": _value({"enum": ["Project level", "Outcome level"]}),
            "result_type": _value({"enum": ["Interim", "Final"]}),
            "period": _obj(
                {"start_date": _value(iso_date), "end_date": _value(iso_date)},
                ["start_date", "end_date"],
            ),
            "number_engaged_in_impact_bond": count_at_least_cell,
            "number_with_positive_social_outcomes": count_at_least_cell,
            "outcomes_validator_organisation_ids": _value(text),
            EXTENSION: _obj(
                {
                    "group": nonempty,
                    "suppressed": {"type": "boolean"},
                    "suppression_reason": nonempty,
                    "share_with_positive_social_outcomes": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 1,
                    },
                },
                ["group", "suppressed"],
            ),
        },
        ["outcome_metric_id", "result_type", "period", EXTENSION],
    )
    # A withheld row carries no numbers; a published one carries at least n.
    result["if"] = {"properties": {EXTENSION: {"properties": {"suppressed": {"const": True}}}}}
    result["then"] = {
        "not": {
            "anyOf": [
                {"required": ["number_engaged_in_impact_bond"]},
                {"required": ["number_with_positive_social_outcomes"]},
            ]
        },
        "properties": {EXTENSION: {"required": ["suppression_reason"]}},
    }
    result["else"] = {"required": ["number_engaged_in_impact_bond"]}
    format_block = _obj(
        {
            "name": nonempty,
            "version": {"const": FORMAT_VERSION},
            "schema": {"const": FORMAT_ID},
            "standard": {"const": f"INDIGO impact bond data standard {INDIGO_VERSION}"},
            "minimum_cell_size": {"const": MIN_CELL},
        },
        ["name", "version", "standard"],
    )
    organisation = _obj(
        {
            "id": nonempty,
            "name": _value(nonempty),
            "country": _value({"type": "string", "pattern": "^[A-Z]{2}$"}),
            "org-ids": _obj({"primary": _value(nonempty)}),
        },
        ["id", "name"],
    )
    extension_common = {
        "format": format_block,
        "published": {"type": "string", "format": "date"},
        "publisher": nonempty,
    }
    project = _obj(
        {
            "id": identifier,
            "status": {"const": PUBLIC},
            "name": _value(nonempty),
            "alternative_names": _value(text),
            "stage_development": _obj(
                {
                    "value": {"enum": list(STAGES)},
                    "source_ids": text,
                    "status": {"const": PUBLIC},
                },
                ["value", "status"],
            ),
            "dates": _obj(
                {
                    **{
                        key: _value_status(iso_date)
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
                    "anticipated_duration_of_service_provision": _value_status(number),
                    "actual_duration_of_service_provision": _value_status(number),
                    "source_ids": text,
                    "notes": text,
                }
            ),
            "jurisdiction": _obj(
                {"jurisdiction": _value_status({"type": "string", "pattern": "^[A-Z]{2}$"})},
                ["jurisdiction"],
            ),
            "overall_project_finance": _obj(
                {
                    "total_investment_commitment": _obj(
                        {
                            "currency": _value_status(nonempty),
                            "amount": _obj({"exact": _value_status(number)}, ["exact"]),
                        },
                        ["currency", "amount"],
                    ),
                    "maximum_potential_outcome_payment_v2": money_status,
                    "maximum_potential_loss": _value_status(text),
                    "maximum_potential_return_type": _value_status(
                        {"enum": ["IRR", "Average annual return"]}
                    ),
                    "maximum_potential_return": _value_status(text),
                    "configuration_contracting_parties": _value_status(text),
                    "total_outcome_payments_made": money_status,
                    "source_ids": text,
                    "notes": text,
                }
            ),
            "purpose_and_classifications": _obj(
                {
                    "social_challenge": _value_status(text),
                    "intervention": _value_status(text),
                    "policy_sector": _value({"enum": list(POLICY_SECTORS)}),
                }
            ),
            "service_and_beneficiaries": _obj(
                {
                    "target_population": _value_status(text),
                    "targeted_number_service_users_or_beneficiaries_total": _value_status(number),
                    "unit_type_targeted_service_users_or_beneficiaries": _value_status(
                        {"enum": ["Individual", "Other"]}
                    ),
                    "unit_description_of_service_user_or_beneficiaries": _value_status(text),
                    "source_ids": text,
                    "notes": text,
                }
            ),
            "organisations": {"type": "array", "items": organisation},
            "outcome_funds": {"type": "array", "items": _item({"id": nonempty}, ["id"])},
            "outcome_payment_commitments": {
                "type": "array",
                "items": _item(
                    {
                        "organisation_id": reference,
                        "maximum_potential_outcome_payment": money,
                        "period": period,
                        "total_outcome_payments": money,
                    },
                    ["organisation_id"],
                ),
            },
            "investments": {
                "type": "array",
                "items": _item(
                    {
                        "id": nonempty,
                        "organisation_id": reference,
                        "investment_commitment": _obj(
                            {
                                "currency": _value(nonempty),
                                "amount": _obj({"exact": _value(number)}, ["exact"]),
                            },
                            ["currency", "amount"],
                        ),
                        "maximum_potential_loss": _value(text),
                        "maximum_potential_return": _value(number),
                    },
                    ["organisation_id"],
                ),
            },
            "service_provisions": {
                "type": "array",
                "items": _item(
                    {
                        "id": nonempty,
                        "organisation_id": reference,
                        "intervention": _value(text),
                        "planned_service": period,
                    },
                    ["organisation_id"],
                ),
            },
            "intermediary_services": {
                "type": "array",
                "items": _item({"organisation_id": reference}, ["organisation_id"]),
            },
            "outcome_metrics": {
                "type": "array",
                "minItems": 1,
                "items": _item(
                    {
                        "id": identifier,
                        "definition": _value(nonempty),
                        "target_population": _value(text),
                        "targeted_number_of_service_users_or_beneficiaries_total": _value(number),
                        "unit_type_of_targeted_service_users_or_beneficiaries": _value(
                            {"enum": ["Individual", "Other"]}
                        ),
                        "unit_description_of_service_user_or_beneficiaries": _value(text),
                        "outcome_validation_method": _value(text),
                        "data_source_for_outcome_validation": _value(text),
                        "policy_sector": _value(text),
                    },
                    ["id", "definition"],
                    extension=True,
                ),
            },
            "outcome_pricings": {
                "type": "array",
                "items": _item(
                    {
                        "outcome_metric_id": reference,
                        "currency": _value(nonempty),
                        "price_description": _value(nonempty),
                    },
                    ["currency", "price_description"],
                    extension=True,
                ),
            },
            "outcome_payment_plans": {
                "type": "array",
                "items": _item({"id": reference, "period": period}, ["id"]),
            },
            "outcome_payments": {
                "type": "array",
                "items": _item(
                    {
                        "outcome_payment_plan_id": reference,
                        "outcome_metric_id": reference,
                        "period": period,
                        "payer_organisation_id": reference,
                        "recipient_organisation_id": reference,
                        "type": _value({"enum": ["Planned", "Actual"]}),
                        "money": money,
                    },
                    ["payer_organisation_id", "recipient_organisation_id", "type", "money"],
                    extension=True,
                ),
            },
            "transactions": {
                "type": "array",
                "items": _item(
                    {
                        "investment_id": reference,
                        "outcome_metric_id": reference,
                        "date": _value(iso_date),
                        "sending_organisation_id": reference,
                        "receiving_organisation_id": reference,
                        "transaction_type": _value(
                            {
                                "enum": [
                                    "Debt",
                                    "Grant",
                                    "Equity",
                                    "Debt and Equity",
                                    "Interest Payment",
                                    "Capital Repayment",
                                    "Capital Repayment and Interest",
                                    "Outcome Payment",
                                    "Other",
                                ]
                            }
                        ),
                        "money": money,
                    },
                    ["date", "sending_organisation_id", "receiving_organisation_id", "money"],
                    extension=True,
                ),
            },
            "results": {"type": "array", "items": result},
            "documents": {
                "type": "array",
                "items": _item(
                    {"title": _value(nonempty), "url": _value(nonempty)}, ["title", "url"]
                ),
            },
            "sources": {
                "type": "array",
                "items": _item(
                    {
                        "id": nonempty,
                        "name": _value(text),
                        "type": _value(
                            {
                                "enum": [
                                    "Contract",
                                    "Report",
                                    "Award Notice",
                                    "Website",
                                    "News piece",
                                    "Press release",
                                    "Email correspondence",
                                    "Evaluation report",
                                ]
                            }
                        ),
                        "url": _value(text),
                    },
                    ["id", "name"],
                ),
            },
            EXTENSION: _obj(
                {
                    "kind": {"const": "project"},
                    **extension_common,
                    "contract_id": nonempty,
                    "contract_version": nonempty,
                    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                    "rounding": text,
                    "stage_development": nonempty,
                    "policy_sector": text,
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "url": text,
                    "parties": {
                        "type": "array",
                        "items": _obj(
                            {"id": nonempty, "name": nonempty, "role": nonempty},
                            ["id", "name", "role"],
                        ),
                    },
                    "finance": {
                        "type": "object",
                        "additionalProperties": {"type": "string", "pattern": r"^-?[0-9.]+$"},
                    },
                    "target_population_sv": text,
                    "beneficiary_unit": text,
                    "terms": {"type": "array", "items": {"type": "object"}},
                    "formulas": {"type": "array", "items": {"type": "object"}},
                    "payments": {"type": "array", "items": {"type": "object"}},
                    "assumptions": {"type": "array", "items": text},
                    "lessons": {"type": "array", "items": text},
                    "minimum_cell_size": {"const": MIN_CELL},
                },
                [
                    "kind",
                    "format",
                    "published",
                    "contract_id",
                    "contract_version",
                    "currency",
                    "parties",
                    "terms",
                    "formulas",
                    "payments",
                ],
            ),
        },
        [
            "id",
            "status",
            "name",
            "jurisdiction",
            "organisations",
            "outcome_metrics",
            "results",
            "sources",
            EXTENSION,
        ],
    )
    count = _value({"type": "integer", "minimum": 0})
    fund = _obj(
        {
            "id": identifier,
            "status": {"const": PUBLIC},
            "name": _value(nonempty),
            "stage_development": _value({"enum": ["Active", "Inactive"]}),
            "host_institution_of_outcome_fund": _value(text),
            "mechanism": _value(text),
            "dates": _obj(
                {
                    "launch_date": _value(iso_date),
                    "anticipated_end_date": _value(iso_date),
                    "actual_end_date": _value(iso_date),
                }
            ),
            "purpose_and_classifications": _obj({"purpose": _value(text)}),
            "dimensions_of_scale": _obj(
                {
                    "total_outcome_fund_value_outcomes_funding": _obj(
                        {
                            "currency": _value(nonempty),
                            "aspiration": _obj({"amount": _value(number)}),
                            "actual": _obj({"amount": _value(number)}),
                        }
                    ),
                    "number_of_outcome_contracts": _obj({"aspiration": count, "actual": count}),
                    "number_of_contributing_outcome_funders": _obj(
                        {"aspiration": count, "actual": count}
                    ),
                }
            ),
            "country": _value(text),
            "organisations": {
                "type": "array",
                "items": _obj({"organisation_id": reference}, ["organisation_id"]),
            },
            "geographic_areas_for_outcome_payment": {
                "type": "array",
                "items": _obj({"country": _value(text)}, ["country"]),
            },
            "documents": {
                "type": "array",
                "items": _item(
                    {"title": _value(nonempty), "url": _value(nonempty)}, ["title", "url"]
                ),
            },
            EXTENSION: _obj(
                {"kind": {"const": "fund"}, **extension_common}, ["kind", "format"], closed=False
            ),
        },
        ["id", "status", "name", "dimensions_of_scale", EXTENSION],
    )
    package = _obj(
        {
            EXTENSION: _obj(
                {"kind": {"const": "package"}, **extension_common},
                ["kind", "format", "published"],
            ),
            "projects": {"type": "array", "items": {"$ref": "#/$defs/project"}},
            "funds": {"type": "array", "items": {"$ref": "#/$defs/fund"}},
        },
        [EXTENSION, "projects", "funds"],
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": FORMAT_ID,
        "title": f"utfall knowledge platform open data (INDIGO {INDIGO_VERSION} project and fund)",
        "description": (
            f"One INDIGO impact bond data standard {INDIGO_VERSION} project document per "
            "published outcome contract, a fund document per outcomes fund, or a package of "
            f"both. What INDIGO has no place for is in '{EXTENSION}'. Values INDIGO gives a "
            "status carry status PUBLIC, as do the items of its lists. Result rows with "
            f"fewer than {MIN_CELL} individuals in any cell are withheld. This is the "
            "export's own schema, written from the field mapping in docs/knowledge.md."
        ),
        "oneOf": [
            {"$ref": "#/$defs/package"},
            {"$ref": "#/$defs/project"},
            {"$ref": "#/$defs/fund"},
        ],
        "$defs": {"package": package, "project": project, "fund": fund},
    }


def _document_kind(data: Any) -> str:
    if isinstance(data, dict):
        kind = (
            (data.get(EXTENSION) or {}).get("kind")
            if isinstance(data.get(EXTENSION), dict)
            else None
        )
        if kind in ("package", "project", "fund"):
            return str(kind)
        if "projects" in data:
            return "package"
        if "dimensions_of_scale" in data:
            return "fund"
    return "project"


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _project_findings(project: Mapping[str, Any], base: str, file: str | None) -> list[Finding]:
    """What the schema cannot say of a project: references resolve, cells are not small."""
    findings: list[Finding] = []
    prefix = f"{base}." if base else ""
    organisations = {
        o.get("id") for o in project.get("organisations", []) or [] if isinstance(o, dict)
    }
    metric_ids = {
        m.get("id") for m in project.get("outcome_metrics", []) or [] if isinstance(m, dict)
    }
    plan_ids = {
        (p.get("id") or {}).get("value")
        for p in project.get("outcome_payment_plans", []) or []
        if isinstance(p, dict)
    }
    references = {
        "outcome_payment_commitments": ("organisation_id",),
        "investments": ("organisation_id",),
        "service_provisions": ("organisation_id",),
        "intermediary_services": ("organisation_id",),
        "outcome_payments": ("payer_organisation_id", "recipient_organisation_id"),
        "transactions": ("sending_organisation_id", "receiving_organisation_id"),
    }
    for section, keys in references.items():
        for i, entry in enumerate(project.get(section, []) or []):
            if not isinstance(entry, dict):
                continue
            for key in keys:
                ref = (
                    (entry.get(key) or {}).get("value")
                    if isinstance(entry.get(key), dict)
                    else None
                )
                if ref is not None and ref not in organisations:
                    findings.append(
                        Finding(
                            "unknown-organisation",
                            f"organisation {ref!r} is not in the project's organisations",
                            file=file,
                            path=f"{prefix}{section}[{i}].{key}.value",
                        )
                    )
    for section in ("outcome_pricings", "outcome_payments", "transactions", "results"):
        for i, entry in enumerate(project.get(section, []) or []):
            if not isinstance(entry, dict) or not isinstance(entry.get("outcome_metric_id"), dict):
                continue
            metric = entry["outcome_metric_id"].get("value")
            if metric is not None and metric not in metric_ids:
                findings.append(
                    Finding(
                        "unknown-metric",
                        f"outcome metric {metric!r} is not in outcome_metrics",
                        file=file,
                        path=f"{prefix}{section}[{i}].outcome_metric_id.value",
                    )
                )
    for i, entry in enumerate(project.get("outcome_payments", []) or []):
        if not isinstance(entry, dict) or not isinstance(
            entry.get("outcome_payment_plan_id"), dict
        ):
            continue
        plan = entry["outcome_payment_plan_id"].get("value")
        if plan is not None and plan not in plan_ids:
            findings.append(
                Finding(
                    "unknown-plan",
                    f"outcome payment plan {plan!r} is not in outcome_payment_plans",
                    file=file,
                    path=f"{prefix}outcome_payments[{i}].outcome_payment_plan_id.value",
                )
            )
    for r_index, result in enumerate(project.get("results", []) or []):
        if not isinstance(result, dict):
            continue
        where = f"{prefix}results[{r_index}]"
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


def _semantic_findings(data: Mapping[str, Any], file: str | None) -> list[Finding]:
    """What the schema cannot say: references resolve, cells are not small, ids are unique."""
    kind = _document_kind(data)
    if kind == "project":
        return _project_findings(data, "", file)
    if kind != "package":
        return []
    findings: list[Finding] = []
    seen: set[str] = set()
    for index, project in enumerate(data.get("projects", []) or []):
        if not isinstance(project, dict):
            continue
        pid = project.get("id")
        if pid in seen:
            findings.append(
                Finding(
                    "duplicate-id",
                    f"project id {pid!r} appears twice",
                    file=file,
                    path=f"projects[{index}].id",
                )
            )
        seen.add(str(pid))
        findings.extend(_project_findings(project, f"projects[{index}]", file))
    return findings


def knowledge_validate(data: Any, *, file: str | None = None) -> list[Finding]:
    """Every problem of an open-data document (a package, a project or a fund), located by
    JSON path (empty: valid)."""
    from jsonschema import Draft202012Validator, FormatChecker

    full = knowledge_json_schema()
    kind = _document_kind(data)
    # Validate against the kind's own definition: errors of a oneOf would name no field.
    schema = {**{k: v for k, v in full.items() if k != "oneOf"}, "$ref": f"#/$defs/{kind}"}
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
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


def _projects_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    kind = _document_kind(document)
    if kind == "package":
        return list(document.get("projects", []))
    return [document] if kind == "project" else []


def knowledge_csv(document: Mapping[str, Any]) -> str:
    """A package's or project's projects as one CSV table: a row per project × outcome
    metric × result (a metric without results has one row with empty result columns)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for project in _projects_of(document):
        dates = project.get("dates", {})
        extension = project[EXTENSION]
        base = {
            "project_id": project["id"],
            "project_name": project["name"]["value"],
            "stage_development": extension.get("stage_development", ""),
            "jurisdiction": project["jurisdiction"]["jurisdiction"]["value"],
            "currency": extension["currency"],
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
                unit=metric.get(EXTENSION, {}).get("unit", ""),
            )
            results: list[dict[str, Any] | None] = list(by_metric.get(metric["id"], [])) or [None]
            for result in results:
                line = dict(row)
                if result is not None:
                    result_extension = result[EXTENSION]
                    line.update(
                        result_type=result["result_type"]["value"],
                        period_start=result["period"]["start_date"]["value"],
                        period_end=result["period"]["end_date"]["value"],
                        group=result_extension["group"],
                        number_engaged_in_impact_bond=result.get(
                            "number_engaged_in_impact_bond", {}
                        ).get("value", ""),
                        number_with_positive_social_outcomes=result.get(
                            "number_with_positive_social_outcomes", {}
                        ).get("value", ""),
                        share_with_positive_social_outcomes=result_extension.get(
                            "share_with_positive_social_outcomes", ""
                        ),
                        suppressed="true" if result_extension["suppressed"] else "false",
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


def _checked(document: dict[str, Any]) -> dict[str, Any]:
    findings = knowledge_validate(document)
    if findings:
        raise AssertionError("the export does not validate: " + "; ".join(map(str, findings)))
    return document


def knowledge_export(
    projects: Sequence[KnowledgeProject],
    *,
    funds: Sequence[KnowledgeFund] = (),
    published: date,
    publisher: str = "utfall knowledge platform",
    single: bool = False,
) -> dict[str, Any]:
    """The open data of ``projects`` and ``funds``: small cells withheld, validated.

    A package of every document, or with ``single`` the one project's (or, with no
    project, the one fund's) own INDIGO document. The one way open data is made, by
    ``utfall knowledge export`` and by the platform's downloads alike. A document that
    does not validate is a bug, not a user error (AssertionError).
    """
    project_documents = [
        project_document(item, published=published, publisher=publisher) for item in projects
    ]
    fund_documents = [fund_document(f, published=published, publisher=publisher) for f in funds]
    if single:
        if len(project_documents) + len(fund_documents) != 1:
            raise ValueError("a single document is one project or one fund")
        return _checked((project_documents or fund_documents)[0])
    return _checked(
        knowledge_package(
            project_documents, fund_documents, published=published, publisher=publisher
        )
    )
