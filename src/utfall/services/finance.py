"""Investor finance on objects: finance plans, a settlement's cash flows and returns, Monte Carlo.

A *finance plan* (YAML, see ``docs/finance.md``) says how the financier's
commitment is drawn against the commissioner's cost reports, how costs split
by category, when the contract's payments are made and how the
commissioner's savings come month by month. Everything here takes parsed
objects — the compiled contract, the plan's text, the facts, a settlement from
the one pipeline (:func:`utfall.services.contracts.contract_settle`), a
:class:`~utfall.services.tables.TableProvider` — never a path: the CLI reads
the files (:mod:`utfall.adapters.finance`), the platform its database.

Public surface::

    finance_plan_parse(text, *, source, contract) -> LoadedPlan
    LoadedPlan.cost_reports(tables) -> tuple[CostReport, ...]   listed, scheduled or a table's
    finance_cashflows(settled, plan, *, tables=None) -> FinanceReport
    finance_drawdowns(contract, plan, *, tables=None, overrides=None) -> FinanceReport
    finance_break_even(settled, plan, *, tables=None) -> BreakEven | None
    Scenarios, scenarios_from_rows(rows, *, source), scenarios_columns(scenarios, contract)
    finance_simulate(contract, *, scenarios=, distributions=, facts=, plan=, …) -> SimulationOutcome

A plan's cost reports are listed in it, follow a schedule, or come from a table
the contract declares (``cost_reports: {table: NAME}``): a series table whose
declared date dates each report, whose money column is the amount and whose
choice column, if it has one, the category. :func:`finance_cashflows` reports the
drawdowns, every party's cash flows, the financier's IRR and multiple and the
commissioner's break-even month for a settlement; :func:`finance_drawdowns` what
the plan alone says before there is one. The break-even month (decision 0258)
is the only figure utfall calls break-even; :func:`finance_break_even` hands it
to anyone who shows it beside the finance view. :func:`finance_simulate` draws
outcomes, settles every scenario at once and summarises the payouts.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from utfall.core.contracts import Contract, Settlement
from utfall.core.contracts.data import Table
from utfall.core.contracts.engine import resolve_parameters
from utfall.core.contracts.yamlio import YamlDocument, read_yaml
from utfall.core.finance.drawdowns import CostReport, CostStructure, draw_down
from utfall.core.finance.money import allocate
from utfall.core.finance.montecarlo import (
    Schedule,
    Summary,
    draw,
    irr_vector,
    parse_distribution,
    scenario_column,
    summarise,
)
from utfall.core.finance.notes import Note
from utfall.core.finance.report import FinancePlan, FinanceReport, finance_report
from utfall.core.finance.returns import BreakEven
from utfall.core.finance.vectorised import (
    VectorisationError,
    VectorSettlement,
    check_agreement,
    fixed_from_floats,
    settle_vectorised,
)
from utfall.errors import DataInvalid, Finding, FindingsError, UserError
from utfall.services.contracts import Facts, SettlementRun
from utfall.services.tables import TableProvider

__all__ = [
    "CostReportsTable",
    "LoadedPlan",
    "PlanDocument",
    "Scenarios",
    "SimulationOutcome",
    "finance_break_even",
    "finance_cashflows",
    "finance_drawdowns",
    "finance_plan_parse",
    "finance_simulate",
    "scenarios_columns",
    "scenarios_from_rows",
]


# ----------------------------------------------------------------------------- plan text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class _Category(_Strict):
    share: Decimal = Field(ge=0)
    payee: str | None = None


class _Schedule(_Strict):
    first: date
    every_months: int = Field(default=3, ge=1)
    count: int = Field(ge=1)
    amount_sek: Decimal = Field(ge=0)


class _Report(_Strict):
    date: date
    amount_sek: Decimal = Field(ge=0)
    by_category: dict[str, Decimal] | None = None
    label: str = ""


class _FromTable(_Strict):
    """Cost reports held in a table the contract declares."""

    table: str = Field(min_length=1)
    amount: str | None = None
    category: str | None = None


def _reports_kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict) and "table" in value:
        return "table"
    return "schedule"


CostReportsDocument = Annotated[
    Annotated[_Schedule, Tag("schedule")]
    | Annotated[list[_Report], Tag("list")]
    | Annotated[_FromTable, Tag("table")],
    Discriminator(_reports_kind),
]
_TAGS = {"schedule", "list", "table"}


class _Run(_Strict):
    months: int = Field(ge=1)
    weight: Decimal


class _Savings(_Strict):
    start: date
    monthly_sek: list[Decimal] | None = None
    total_from: str | None = None
    profile: list[_Run] | None = None
    months: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_way(self) -> _Savings:
        if (self.monthly_sek is None) == (self.total_from is None):
            raise ValueError("give either monthly_sek or total_from (with profile or months)")
        if self.total_from is not None and (self.profile is None) == (self.months is None):
            raise ValueError("with total_from, give either profile or months")
        return self


class PlanDocument(_Strict):
    """The finance plan, as written."""

    financier: str | None = None
    commissioner: str | None = None
    commitment_sek: Decimal | None = Field(default=None, ge=0)
    commitment_from: str | None = None
    invested: str | None = None
    cost_structure: dict[str, Decimal | _Category]
    cost_structure_tolerance: Decimal | None = None
    cost_reports: CostReportsDocument
    settlement_date: date
    payment_dates: dict[str, date] = Field(default_factory=dict)
    start: date | None = None
    savings: _Savings | None = None

    @model_validator(mode="after")
    def _commitment(self) -> PlanDocument:
        if (self.commitment_sek is None) == (self.commitment_from is None):
            raise ValueError("give either commitment_sek or commitment_from (a parameter)")
        return self


def _add_months(day: date, months: int) -> date:
    """The same day ``months`` later (month ends stay month ends)."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    following = date(year + (month // 12), month % 12 + 1, 1)
    last = (following - timedelta(days=1)).day
    is_month_end = (day + timedelta(days=1)).month != day.month
    return date(year, month, last if is_month_end else min(day.day, last))


def _plan_findings(error: ValidationError, document: YamlDocument) -> list[Finding]:
    findings = []
    for item in error.errors():
        # The tag of the cost reports' form is pydantic's, not a key of the plan.
        path = tuple(p for p in item["loc"] if p not in _TAGS)
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown field {path[-1]!r}"
        findings.append(document.finding(f"plan:{item['type']}", message, path))
    return findings


def _party(contract: Contract, given: str | None, role: str, path: str, source: str) -> str:
    ids = [p.id for p in contract.parties]
    if given is not None:
        if given not in ids:
            raise FindingsError(
                f"{source}: the finance plan names an unknown party",
                [
                    Finding(
                        "plan:party",
                        f"{given!r} is not a party of {contract.id}",
                        file=source,
                        path=path,
                    )
                ],
            )
        return given
    matching = [p.id for p in contract.parties if p.role == role]
    if len(matching) != 1:
        raise FindingsError(
            f"{source}: name the {role} in the finance plan",
            [
                Finding(
                    "plan:party",
                    f"the contract has {len(matching)} {role}(s); say which",
                    file=source,
                    path=path,
                )
            ],
        )
    return matching[0]


@dataclass(frozen=True)
class CostReportsTable:
    """Where a table-backed plan finds its cost reports: a declared series table, its date
    column (each report's date), its money column (the amount) and its choice column (the
    category; None when the table has none, and the cost structure splits each report)."""

    table: str
    date: str
    amount: str
    category: str | None = None

    def reports(self, tables: TableProvider, structure: CostStructure) -> tuple[CostReport, ...]:
        """One report per date: the amounts of the date's rows summed, by category when the
        table has one (rows without a category are split by the cost structure)."""
        data = tables.table(self.table)
        where = tables.describe(self.table)
        columns = [self.date, self.amount] + ([self.category] if self.category else [])
        rows = data.select(columns).to_pylist()
        by_date: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        loose: dict[date, Decimal] = defaultdict(Decimal)
        for row in rows:
            amount = row[self.amount]
            if amount is None:
                continue
            category = row[self.category] if self.category else None
            if category is None:
                loose[row[self.date]] += amount
            else:
                by_date[row[self.date]][category] += amount
        reports: list[CostReport] = []
        findings: list[Finding] = []
        for day in sorted(set(by_date) | set(loose)):
            parts: dict[str, Decimal] | None = None
            if day in by_date:
                parts = dict(by_date[day])
                if loose.get(day):
                    for name, share in structure.split(loose[day]).items():
                        parts[name] = parts.get(name, Decimal(0)) + share
            total = sum(parts.values(), Decimal(0)) if parts is not None else loose[day]
            try:
                reports.append(CostReport(day, total, parts))
            except ValueError as error:
                findings.append(
                    Finding("plan:cost-report", str(error), file=where, field_name=self.amount)
                )
        if findings:
            raise DataInvalid(
                f"{where}: {len(findings)} cost report(s) the plan cannot draw against",
                findings,
            )
        return tuple(reports)


@dataclass(frozen=True)
class LoadedPlan:
    """A plan read against its contract; savings may still depend on a settlement, and a
    table-backed plan's cost reports on the tables."""

    document: PlanDocument
    financier: str
    commissioner: str
    structure: CostStructure
    reports: tuple[CostReport, ...]
    source: str
    contract_id: str = ""
    reports_table: CostReportsTable | None = None

    def commitment(self, parameters: Mapping[str, Any]) -> Decimal:
        """The commitment: stated, or the value of the parameter it names."""
        if self.document.commitment_sek is not None:
            return self.document.commitment_sek
        value = parameters[self.document.commitment_from or ""]
        assert isinstance(value, Decimal)
        return value

    @property
    def savings_need_settlement(self) -> bool:
        """Whether the savings are a figure of the settlement spread over months."""
        return self.document.savings is not None and self.document.savings.total_from is not None

    def cost_reports(self, tables: TableProvider | None) -> tuple[CostReport, ...]:
        """The plan's cost reports: listed or scheduled, or read from the declared table
        (UserError when the plan needs the tables and none are given)."""
        if self.reports_table is None:
            return self.reports
        if tables is None:
            raise UserError(
                f"{self.source}: the cost reports come from the table "
                f"{self.reports_table.table}; give the contract's data (--data-dir DIR)"
            )
        return self.reports_table.reports(tables, self.structure)

    def savings(self, figures: Mapping[str, Any]) -> tuple[tuple[date, Decimal], ...]:
        """Monthly savings (dated the first of each month) from the plan and the settlement."""
        savings = self.document.savings
        if savings is None:
            return ()
        if savings.monthly_sek is not None:
            amounts = list(savings.monthly_sek)
        else:
            total = figures.get(savings.total_from or "")
            if not isinstance(total, Decimal):
                raise UserError(
                    f"{self.source}: savings.total_from names {savings.total_from!r}, "
                    "which is not a money figure of the settlement"
                )
            weights = (
                [run.weight for run in savings.profile for _ in range(run.months)]
                if savings.profile
                else [Decimal(1)] * (savings.months or 1)
            )
            try:
                amounts = allocate(total, weights)
            except ValueError as error:
                raise UserError(f"{self.source}: savings.profile: {error}") from None
        first = savings.start.replace(day=1)
        return tuple((_add_months(first, i), a) for i, a in enumerate(amounts))


def _single_column(
    table: Table, given: str | None, types: tuple[str, ...], what: str, *, optional: bool
) -> tuple[str | None, str | None]:
    """The column of ``table`` that plays ``what``: the one given, or the table's only column
    of one of ``types``. Returns (column, problem)."""
    if given is not None:
        if not table.has(given):
            return None, (f"{table.name} has no column {given!r} ({', '.join(table.column_names)})")
        if table.column(given).type not in types:
            return None, (
                f"{table.name}.{given} is {table.column(given).type}; the {what} is a "
                f"{' or '.join(types)} column"
            )
        return given, None
    found = [c.name for c in table.columns if c.type in types]
    if len(found) == 1:
        return found[0], None
    if not found and optional:
        return None, None
    if not found:
        return None, f"{table.name} has no {' or '.join(types)} column for the {what}"
    return None, (
        f"{table.name} has {len(found)} {' or '.join(types)} columns ({', '.join(found)}); "
        f"say which is the {what}"
    )


def _reports_table(
    spec: _FromTable, plan: PlanDocument, contract: Contract, document: YamlDocument
) -> tuple[CostReportsTable | None, list[Finding]]:
    """The declared table a plan's cost reports come from, checked against the declaration."""
    where = ("cost_reports",)
    series = [t.name for t in contract.data if not t.per_participant]
    try:
        table = contract.data.table(spec.table)
    except KeyError:
        known = ", ".join(series) or "it declares none"
        return None, [
            document.finding(
                "plan:unknown-table",
                f"{contract.id} declares no table {spec.table!r} (its series tables: {known})",
                (*where, "table"),
            )
        ]
    if table.per_participant:
        return None, [
            document.finding(
                "plan:not-a-series",
                f"{spec.table} is a table of participants' {table.kind}; cost reports are a "
                "series table (kind: series)",
                (*where, "table"),
            )
        ]
    findings: list[Finding] = []
    amount, problem = _single_column(table, spec.amount, ("money",), "amount", optional=False)
    if problem:
        findings.append(document.finding("plan:amount-column", problem, (*where, "amount")))
    elif amount is not None and not table.column(amount).required:
        findings.append(
            document.finding(
                "plan:amount-column",
                f"{table.name}.{amount} is optional; a cost report's amount must be required",
                (*where, "amount"),
            )
        )
    category, problem = _single_column(table, spec.category, ("choice",), "category", optional=True)
    if problem:
        findings.append(document.finding("plan:category-column", problem, (*where, "category")))
    elif category is not None:
        values = table.column(category).choice_values
        for name in plan.cost_structure:
            if name not in values:
                findings.append(
                    document.finding(
                        "plan:unknown-category",
                        f"{name!r} is not a value of {table.name}.{category} "
                        f"({', '.join(values)}): no cost report can be of it",
                        ("cost_structure", name),
                    )
                )
    if findings or amount is None:
        return None, findings
    return CostReportsTable(table.name, table.date, amount, category), []


def finance_plan_parse(text: str, *, source: str, contract: Contract) -> LoadedPlan:
    """A finance plan from its text, checked against ``contract`` (FindingsError lists every
    problem, each with its line in the plan)."""
    try:
        document = read_yaml(text, source=source, what="the finance plan")
    except ValueError as error:
        raise FindingsError(f"{source}: the finance plan cannot be read", [error.args[0]]) from None
    try:
        plan = PlanDocument.model_validate(document.data)
    except ValidationError as error:
        problems = _plan_findings(error, document)
        raise FindingsError(
            f"{source}: the finance plan has {len(problems)} problem(s)", problems
        ) from None
    findings: list[Finding] = []
    if plan.commitment_from is not None and plan.commitment_from not in contract.parameters:
        findings.append(
            document.finding(
                "plan:unknown-term",
                f"{plan.commitment_from!r} is not a parameter of {contract.id}",
                ("commitment_from",),
            )
        )
    if plan.invested is not None and plan.invested not in {
        *contract.inputs,
        *contract.outputs,
        *contract.parameters,
    }:
        findings.append(
            document.finding(
                "plan:unknown-term",
                f"{plan.invested!r} is not a term of {contract.id}",
                ("invested",),
            )
        )
    total_from = plan.savings.total_from if plan.savings else None
    if total_from and total_from not in {*contract.inputs, *contract.outputs}:
        findings.append(
            document.finding(
                "plan:unknown-term",
                f"{total_from!r} is not an input or output of {contract.id}",
                ("savings", "total_from"),
            )
        )
    payment_ids = {p.id for p in contract.payments}
    for payment_id in plan.payment_dates:
        if payment_id not in payment_ids:
            findings.append(
                document.finding(
                    "plan:unknown-payment",
                    f"{payment_id!r} is not a payment of {contract.id}",
                    ("payment_dates", payment_id),
                )
            )
    shares = {n: (c if isinstance(c, Decimal) else c.share) for n, c in plan.cost_structure.items()}
    payees = {n: c.payee for n, c in plan.cost_structure.items() if isinstance(c, _Category)}
    party_ids = {p.id for p in contract.parties}
    for name, payee in payees.items():
        if payee is not None and payee not in party_ids:
            findings.append(
                document.finding(
                    "plan:party",
                    f"{payee!r} is not a party of {contract.id}",
                    ("cost_structure", name, "payee"),
                )
            )
    structure: CostStructure | None = None
    try:
        structure = CostStructure(shares, payees, plan.cost_structure_tolerance)
    except ValueError as error:
        findings.append(document.finding("plan:cost-structure", str(error), ("cost_structure",)))
    reports: list[CostReport] = []
    reports_table: CostReportsTable | None = None
    if isinstance(plan.cost_reports, _Schedule):
        schedule = plan.cost_reports
        reports = [
            CostReport(_add_months(schedule.first, schedule.every_months * i), schedule.amount_sek)
            for i in range(schedule.count)
        ]
    elif isinstance(plan.cost_reports, _FromTable):
        reports_table, problems = _reports_table(plan.cost_reports, plan, contract, document)
        findings += problems
    else:
        for index, item in enumerate(plan.cost_reports):
            try:
                reports.append(CostReport(item.date, item.amount_sek, item.by_category, item.label))
            except ValueError as error:
                findings.append(
                    document.finding("plan:cost-report", str(error), ("cost_reports", index))
                )
    if findings:
        raise FindingsError(f"{source}: the finance plan has {len(findings)} problem(s)", findings)
    assert structure is not None
    return LoadedPlan(
        document=plan,
        financier=_party(contract, plan.financier, "financier", "financier", source),
        commissioner=_party(contract, plan.commissioner, "commissioner", "commissioner", source),
        structure=structure,
        reports=tuple(reports),
        source=source,
        contract_id=contract.id,
        reports_table=reports_table,
    )


# ----------------------------------------------------------------------------- one settlement


def _settlement_of(settled: SettlementRun | Settlement) -> Settlement:
    return settled.settlement if isinstance(settled, SettlementRun) else settled


def _same_contract(plan: LoadedPlan, contract: Contract) -> None:
    if plan.contract_id and plan.contract_id != contract.id:
        raise UserError(
            f"{plan.source}: the plan was read against {plan.contract_id}, not {contract.id}"
        )


def finance_cashflows(
    settled: SettlementRun | Settlement,
    plan: LoadedPlan,
    *,
    tables: TableProvider | None = None,
) -> FinanceReport:
    """Drawdowns, every party's cash flows, the financier's IRR and multiple and the
    commissioner's break-even month of a settlement under ``plan``.

    ``settled`` is what :func:`~utfall.services.contracts.contract_settle` returned (or its
    settlement); ``tables`` hands out the cost reports of a table-backed plan.
    """
    settlement = _settlement_of(settled)
    _same_contract(plan, settlement.contract)
    figures: dict[str, Any] = {**settlement.inputs, **settlement.outputs}
    core_plan = FinancePlan(
        financier=plan.financier,
        commissioner=plan.commissioner,
        commitment=plan.commitment(settlement.parameters),
        structure=plan.structure,
        cost_reports=plan.cost_reports(tables),
        settlement_date=plan.document.settlement_date,
        payment_dates=dict(plan.document.payment_dates),
        savings=plan.savings(figures),
        start=plan.document.start,
    )
    report = finance_report(core_plan, settlement.payments)
    invested_term = plan.document.invested
    if invested_term:
        figure = {**figures, **settlement.parameters}.get(invested_term)
        if isinstance(figure, Decimal) and figure != report.invested:
            report = _with_note(
                report,
                Note(
                    f"the settlement counts {figure:f} as invested ({invested_term}); the "
                    f"plan's drawdowns come to {report.invested:f}",
                    "finance-invested-differs",
                    {
                        "counted": f"{figure:f}",
                        "term": invested_term,
                        "drawn": f"{report.invested:f}",
                    },
                ),
            )
    return report


def finance_drawdowns(
    contract: Contract,
    plan: LoadedPlan,
    *,
    tables: TableProvider | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> FinanceReport:
    """What the plan says before there is a settlement: the commitment drawn against the
    cost reports, the costs paid out, and the savings when the plan lists them month by
    month. The report is not ``settled``: no payment, return or break-even month, and its
    notes say what waits for the settlement."""
    _same_contract(plan, contract)
    parameters, _ = resolve_parameters(contract, overrides)
    savings: tuple[tuple[date, Decimal], ...] = ()
    notes: list[str] = []
    total_from = plan.document.savings.total_from if plan.document.savings else None
    if total_from is not None:
        notes.append(
            Note(
                f"the savings are {total_from} of the settlement spread over months: they are "
                "counted once there is a settlement",
                "finance-savings-wait",
                {"output": total_from},
            )
        )
    else:
        savings = plan.savings({})
    core_plan = FinancePlan(
        financier=plan.financier,
        commissioner=plan.commissioner,
        commitment=plan.commitment(parameters),
        structure=plan.structure,
        cost_reports=plan.cost_reports(tables),
        settlement_date=plan.document.settlement_date,
        payment_dates=dict(plan.document.payment_dates),
        savings=savings,
        start=plan.document.start,
    )
    report = finance_report(core_plan, None)
    notes.append(
        Note(
            "the contract's payments, the financier's return and the commissioner's "
            "break-even month need a settlement",
            "finance-needs-settlement",
        )
    )
    return replace(report, notes=(*report.notes, *notes))


def finance_break_even(
    settled: SettlementRun | Settlement,
    plan: LoadedPlan,
    *,
    tables: TableProvider | None = None,
) -> BreakEven | None:
    """The commissioner's break-even month under ``plan`` (decision 0258): the figure the
    finance view shows, for anyone who shows it elsewhere (the council)."""
    return finance_cashflows(settled, plan, tables=tables).break_even


def _with_note(report: FinanceReport, note: Note) -> FinanceReport:
    return replace(report, notes=(*report.notes, note))


# ----------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenarios:
    """Scenarios as a table: one row each, columns named after the contract's inputs.

    ``source`` names where they were read (for messages); ``row_offset`` is the row
    number of the first scenario there (2 under a CSV header).
    """

    table: pa.Table
    source: str
    row_offset: int = 2


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def scenarios_from_rows(rows: Any, *, source: str) -> Scenarios:
    """Scenarios from parsed rows (a list of mappings name → value, as JSON or YAML give)."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UserError(f"{source}: a scenarios file is a list of rows (name: value)")
    names = sorted({str(k) for r in rows for k in r})
    try:
        table = pa.table({n: [_plain(r.get(n)) for r in rows] for n in names})
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise UserError(f"{source}: the scenarios cannot be read: {error}") from None
    return Scenarios(table, source, row_offset=1)


def scenarios_columns(scenarios: Scenarios, contract: Contract) -> tuple[dict[str, Any], int]:
    """The scenario columns as the vectorised evaluator's inputs, and the number of rows.

    Columns are contract inputs. Numbers arrive as floats and are converted
    exactly: money must have at most two decimals, other numbers at most six
    (DataInvalid names the row and column otherwise).
    """
    table, source, offset = scenarios.table, scenarios.source, scenarios.row_offset
    findings: list[Finding] = []
    columns: dict[str, Any] = {}
    for name in table.column_names:
        if name not in contract.inputs:
            findings.append(
                Finding(
                    "scenarios:unknown-column",
                    f"{contract.id} has no input {name!r}",
                    file=source,
                    field_name=name,
                )
            )
            continue
        term = contract.inputs[name]
        column = table.column(name)
        if column.null_count:
            row = next(i for i, v in enumerate(column.to_pylist()) if v is None)
            findings.append(
                Finding(
                    "scenarios:empty", "no value", file=source, row=row + offset, field_name=name
                )
            )
            continue
        if term.type == "boolean":
            values = np.asarray(column.to_numpy(zero_copy_only=False))
            if values.dtype != bool:
                values = np.isin(np.char.lower(values.astype(str)), ["true", "yes", "ja", "1"])
            columns[name] = values
        elif term.type == "choice":
            columns[name] = np.asarray(column.to_numpy(zero_copy_only=False)).astype(str)
        elif term.type == "series":
            findings.append(
                Finding(
                    "scenarios:series",
                    "series inputs go in the facts",
                    file=source,
                    field_name=name,
                )
            )
        else:
            try:
                floats = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
            except (ValueError, TypeError):
                findings.append(
                    Finding(
                        "scenarios:not-a-number",
                        "not a number column",
                        file=source,
                        field_name=name,
                    )
                )
                continue
            scale = {"money": 2, "count": 0}.get(term.type, 6)
            try:
                fixed, off = fixed_from_floats(floats, scale)
            except VectorisationError as error:
                findings.append(
                    Finding("scenarios:range", str(error), file=source, field_name=name)
                )
                continue
            if off.any():
                row = int(np.flatnonzero(off)[0])
                what = {"money": "money has at most two decimals", "count": "a count is whole"}.get(
                    term.type, "at most six decimals"
                )
                findings.append(
                    Finding(
                        "scenarios:precision",
                        f"{what}: {floats[row]!r} ({int(off.sum())} row(s) like it)",
                        file=source,
                        row=row + offset,
                        field_name=name,
                    )
                )
                continue
            columns[name] = fixed
    if findings:
        raise DataInvalid(f"{source}: {len(findings)} problem(s) with the scenarios", findings)
    return columns, table.num_rows


# ----------------------------------------------------------------------------- simulate


@dataclass
class SimulationOutcome:
    """What :func:`finance_simulate` found, ready to print."""

    contract: Contract
    scenarios: int
    valid: int
    errors: Mapping[str, int]
    fallback: int
    approximate: tuple[str, ...]
    sources: dict[str, str]
    clipped: dict[str, int]
    payments: dict[str, Summary | None]
    payment_positive: dict[str, float]
    financier: str | None
    to_financier: Summary | None
    invested_term: str | None = None
    invested: Summary | None = None
    full_repayment: float | None = None
    premium: float | None = None
    multiple: Summary | None = None
    irr: Summary | None = None
    irr_undefined: int = 0
    schedule: str | None = None
    checked: int = 0
    disagreements: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form (money in SEK, rates as fractions)."""

        def money(summary: Summary | None) -> dict[str, Any] | None:
            return summary.as_dict(2) if summary else None

        return {
            "contract": f"{self.contract.id} v{self.contract.version}",
            "scenarios": self.scenarios,
            "valid": self.valid,
            "refused": dict(self.errors),
            "settled_exactly_one_by_one": self.fallback,
            "approximate_outputs": list(self.approximate),
            "inputs": self.sources,
            "clipped": self.clipped,
            "payments_sek": {k: money(v) for k, v in self.payments.items()},
            "probability_paid": self.payment_positive,
            "financier": self.financier,
            "to_financier_sek": money(self.to_financier),
            "invested_term": self.invested_term,
            "invested_amount_sek": money(self.invested),
            "probability_full_repayment": self.full_repayment,
            "probability_premium": self.premium,
            "multiple": self.multiple.as_dict(6) if self.multiple else None,
            "irr": self.irr.as_dict(8) if self.irr else None,
            "irr_undefined": self.irr_undefined,
            "schedule": self.schedule,
            "checked_against_exact_engine": self.checked,
            "disagreements": self.disagreements,
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
            "notes": self.notes,
        }


def _schedule_from_plan(
    plan: LoadedPlan,
    contract: Contract,
    overrides: Mapping[str, Any] | None,
    tables: TableProvider | None,
) -> Schedule:
    parameters, _ = resolve_parameters(contract, overrides)
    drawdowns = draw_down(
        plan.cost_reports(tables), commitment=plan.commitment(parameters), structure=plan.structure
    )
    drawn = [d for d in drawdowns if d.drawn > 0]
    if not drawn:
        raise UserError(f"{plan.source}: the plan draws nothing; no IRR can be computed")
    total = sum((d.drawn for d in drawn), Decimal(0))
    return Schedule(
        drawdown_dates=tuple(d.date for d in drawn),
        drawdown_shares=tuple(float(d.drawn / total) for d in drawn),
        payment_dates=dict(plan.document.payment_dates),
        settlement_date=plan.document.settlement_date,
    )


def _schedule_from_periods(contract: Contract) -> Schedule | None:
    """Monthly drawdowns over the contract's first declared period, paid at the last end."""
    if not contract.periods:
        return None
    periods = dict(contract.periods)
    spending = next(iter(periods.values()))
    end = max(p.end for p in periods.values())
    dates: list[date] = []
    day = spending.start
    while day <= spending.end:
        dates.append(day)
        day = _add_months(day, 1)
    share = 1.0 / len(dates)
    shares = [share] * len(dates)
    shares[-1] = 1.0 - share * (len(dates) - 1)
    return Schedule(tuple(dates), tuple(shares), settlement_date=end)


def _term_vector(
    result: VectorSettlement, name: str, overrides: Mapping[str, Any] | None
) -> np.ndarray:
    """Öre per scenario of a money term (input, output or parameter)."""
    contract = result.contract
    try:
        term = contract.term(name)
    except KeyError:
        raise UserError(f"{contract.id} has no term {name!r} to count as invested") from None
    if term.type != "money":
        raise UserError(f"{name!r} is {term.type}, not money: it cannot be the invested amount")
    if name in contract.parameters:
        value = resolve_parameters(contract, overrides)[0][name]
        assert isinstance(value, Decimal)
        return np.full(result.size, int(value.scaleb(2)), dtype=np.int64)
    try:
        return result.ore(name)
    except VectorisationError:
        return np.asarray(np.rint(result.floats(name) * 100), dtype=np.int64)


def _named(source: str | None, fallback: str) -> str:
    """The last part of a source name (a file's name, or the name as it is)."""
    return PurePath(source).name if source else fallback


def finance_simulate(
    contract: Contract,
    *,
    scenarios: Scenarios | None = None,
    distributions: Sequence[str] = (),
    facts: Facts | None = None,
    overrides: Mapping[str, Any] | None = None,
    size: int = 100_000,
    seed: int = 2016,
    plan: LoadedPlan | None = None,
    tables: TableProvider | None = None,
    invested_term: str | None = None,
    check: int = 200,
) -> SimulationOutcome:
    """Monte Carlo of the contract's payouts.

    Inputs come from ``distributions`` (``NAME=normal(…)``), the ``scenarios``
    (one row each), and the ``facts`` (fixed for every scenario). With a finance
    plan (or ``invested_term`` and the contract's periods) the financier's
    multiple, the probabilities of full repayment and of a premium, and the IRR
    are reported; ``tables`` hand out a table-backed plan's cost reports.
    ``check`` scenarios are settled again by the exact engine and compared.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    overrides = dict(overrides or {})
    if plan is not None:
        _same_contract(plan, contract)
    rng = np.random.default_rng(seed)
    inputs: dict[str, Any] = {}
    sources: dict[str, str] = {}
    clipped: dict[str, int] = {}
    notes: list[str] = []
    if scenarios is not None:
        if distributions:
            raise UserError("give the scenarios either as a file or as distributions, not both")
        columns, rows = scenarios_columns(scenarios, contract)
        size = rows
        inputs.update(columns)
        origin = _named(scenarios.source, "the scenarios")
        sources.update({n: f"scenarios file {origin}" for n in columns})
    for item in distributions:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UserError(
                f"--distribution {item!r}: write it as NAME=normal(mean, sd) or similar"
            )
        if name not in contract.inputs:
            raise UserError(f"--distribution {item!r}: {contract.id} has no input {name!r}")
        if name in inputs:
            raise UserError(f"--distribution {item!r}: {name} is given twice")
        try:
            distribution = parse_distribution(text)
            column, cut = scenario_column(contract.inputs[name], draw(distribution, size, rng))
        except ValueError as error:
            raise UserError(f"--distribution {item!r}: {error}") from None
        inputs[name] = column
        sources[name] = text.strip()
        if cut:
            clipped[name] = cut
    if facts is not None:
        origin = _named(facts.source, "the facts")
        for name, value in facts.values.items():
            if name in contract.inputs and name not in inputs:
                inputs[name] = value
                sources[name] = f"fixed from {origin}"
    missing = sorted(set(contract.inputs) - set(inputs))
    if missing:
        raise UserError(
            f"no values for {', '.join(missing)}: give a distribution, a scenarios column or --facts"
        )
    if size < 1:
        raise UserError("at least one scenario is needed")
    timings["draw"] = time.perf_counter() - started

    step = time.perf_counter()
    try:
        result = settle_vectorised(contract, inputs, size=size, overrides=overrides)
    except VectorisationError as error:
        raise UserError(f"{contract.source or contract.id}: {error}") from None
    timings["settle"] = time.perf_counter() - step

    outcome = SimulationOutcome(
        contract=contract,
        scenarios=size,
        valid=int(result.valid.sum()),
        errors=result.errors,
        fallback=len(result.fallback),
        approximate=result.approximate,
        sources=sources,
        clipped=clipped,
        payments={},
        payment_positive={},
        financier=None,
        to_financier=None,
        seconds=timings,
        notes=notes,
    )
    step = time.perf_counter()
    valid = result.valid
    for payment in contract.payments:
        ore = result.ore(payment.id)[valid]
        outcome.payments[payment.id] = summarise(ore / 100)
        outcome.payment_positive[payment.id] = float(np.mean(ore > 0)) if ore.size else float("nan")

    financiers = [p.id for p in contract.parties if p.role == "financier"]
    financier = plan.financier if plan else (financiers[0] if len(financiers) == 1 else None)
    outcome.financier = financier
    if financier is not None:
        received = {
            p.id: result.ore(p.id)
            for p in contract.payments
            if p.payee == financier and p.payer != financier
        }
        total = sum(received.values(), np.zeros(size, dtype=np.int64))
        outcome.to_financier = summarise(total[valid] / 100)
        invested_term = invested_term or (plan.document.invested if plan else None)
        if invested_term:
            outcome.invested_term = invested_term
            invested = _term_vector(result, invested_term, overrides)
            outcome.invested = summarise(invested[valid] / 100)
            counted = valid & (invested > 0)
            if counted.any():
                outcome.full_repayment = float(np.mean(total[counted] >= invested[counted]))
                outcome.premium = float(np.mean(total[counted] > invested[counted]))
                outcome.multiple = summarise(total[counted] / invested[counted])
            schedule = (
                _schedule_from_plan(plan, contract, overrides, tables)
                if plan
                else _schedule_from_periods(contract)
            )
            if schedule is None:
                notes.append(
                    Note(
                        "no finance plan and no contract periods: the IRR needs dates",
                        "finance-irr-no-dates",
                    )
                )
            else:
                outcome.schedule = (
                    f"{len(schedule.drawdown_dates)} drawdown(s) {schedule.drawdown_dates[0]} – "
                    f"{schedule.drawdown_dates[-1]}, payments "
                    + ", ".join(sorted({str(schedule.payment_date(p)) for p in received}))
                    + (" (from the plan)" if plan else " (from the contract's periods)")
                )
                by_date: dict[date, np.ndarray] = {}
                for payment_id, amounts in received.items():
                    when = schedule.payment_date(payment_id)
                    by_date[when] = by_date.get(when, np.zeros(size)) + amounts
                rates = irr_vector(
                    np.where(valid, invested, 0) / 100,
                    {d: v / 100 for d, v in by_date.items()},
                    schedule,
                )
                rates = rates[counted]
                outcome.irr = summarise(rates)
                outcome.irr_undefined = int(np.count_nonzero(~np.isfinite(rates)))
    else:
        notes.append(
            Note(
                "the contract has no single financier; name it in a finance plan",
                "finance-no-financier",
            )
        )
    timings["summarise"] = time.perf_counter() - step

    step = time.perf_counter()
    if check > 0:
        sample = np.linspace(0, size - 1, num=min(check, size), dtype=np.int64)
        outcome.checked = len(sample)
        outcome.disagreements = check_agreement(
            result, [int(r) for r in sample], overrides=overrides
        )
    timings["check"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - started
    return outcome
