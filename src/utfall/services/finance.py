"""Investor finance: finance plans, a settlement's cash flows and returns, Monte Carlo.

A *finance plan* (YAML, see ``docs/finance.md``) says how the financier's
commitment is drawn against the commissioner's cost reports, how costs split
by category, when the contract's payments are made and how the
commissioner's savings come month by month. :func:`finance_cashflows`
settles a contract and reports its drawdowns, every party's cash flows, the
financier's IRR and multiple and the commissioner's break-even month.
:func:`finance_simulate` draws outcomes, settles every scenario at once and
summarises the payouts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from utfall.core.contracts import Contract, Settlement
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
from utfall.core.finance.report import FinancePlan, FinanceReport, finance_report
from utfall.core.finance.vectorised import (
    VectorisationError,
    VectorSettlement,
    check_agreement,
    fixed_from_floats,
    settle_vectorised,
)
from utfall.errors import DataInvalid, Finding, FindingsError, UserError
from utfall.adapters.files import contract_read as contract_load  # TEMP
from utfall.adapters.files import facts_read as facts_load  # TEMP
from utfall.services.contracts import contract_settle
from utfall.services.files import read_text

__all__ = [
    "SimulationOutcome",
    "finance_cashflows",
    "finance_plan_load",
    "finance_simulate",
    "scenarios_read",
]


# ----------------------------------------------------------------------------- plan file


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
    """The finance plan file, as written."""

    financier: str | None = None
    commissioner: str | None = None
    commitment_sek: Decimal | None = Field(default=None, ge=0)
    commitment_from: str | None = None
    invested: str | None = None
    cost_structure: dict[str, Decimal | _Category]
    cost_structure_tolerance: Decimal | None = None
    cost_reports: _Schedule | list[_Report]
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
        path = tuple(item["loc"])
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
class LoadedPlan:
    """A plan file read against its contract; savings may still depend on a settlement."""

    document: PlanDocument
    financier: str
    commissioner: str
    structure: CostStructure
    reports: tuple[CostReport, ...]
    source: str

    def commitment(self, parameters: Mapping[str, Any]) -> Decimal:
        """The commitment: stated, or the value of the parameter it names."""
        if self.document.commitment_sek is not None:
            return self.document.commitment_sek
        value = parameters[self.document.commitment_from or ""]
        assert isinstance(value, Decimal)
        return value

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


def finance_plan_load(path: Path | str, contract: Contract) -> LoadedPlan:
    """Read and check a finance plan against ``contract`` (FindingsError lists every problem)."""
    source = str(path)
    text = read_text(path, what="finance plan")
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
    if (
        plan.savings
        and plan.savings.total_from
        and plan.savings.total_from
        not in {
            *contract.inputs,
            *contract.outputs,
        }
    ):
        findings.append(
            document.finding(
                "plan:unknown-term",
                f"{plan.savings.total_from!r} is not an input or output of {contract.id}",
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
    if isinstance(plan.cost_reports, _Schedule):
        schedule = plan.cost_reports
        reports = [
            CostReport(_add_months(schedule.first, schedule.every_months * i), schedule.amount_sek)
            for i in range(schedule.count)
        ]
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
    )


def _finance_plan(loaded: LoadedPlan, settlement: Settlement) -> FinancePlan:
    figures: dict[str, Any] = {**settlement.inputs, **settlement.outputs}
    return FinancePlan(
        financier=loaded.financier,
        commissioner=loaded.commissioner,
        commitment=loaded.commitment(settlement.parameters),
        structure=loaded.structure,
        cost_reports=loaded.reports,
        settlement_date=loaded.document.settlement_date,
        payment_dates=dict(loaded.document.payment_dates),
        savings=loaded.savings(figures),
        start=loaded.document.start,
    )


def finance_cashflows(
    *,
    contract_path: Path | str,
    plan_path: Path | str,
    facts_path: Path | str | None = None,
    data_dir: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Settlement, FinanceReport, LoadedPlan]:
    """Settle the contract and report its drawdowns, cash flows and returns under the plan."""
    settlement = contract_settle(
        contract_path=contract_path,
        facts_path=facts_path,
        data_dir=data_dir,
        overrides=dict(overrides or {}),
    )
    loaded = finance_plan_load(plan_path, settlement.contract)
    report = finance_report(_finance_plan(loaded, settlement), settlement.payments)
    invested_term = loaded.document.invested
    if invested_term:
        figure = {**settlement.inputs, **settlement.outputs, **settlement.parameters}.get(
            invested_term
        )
        if isinstance(figure, Decimal) and figure != report.invested:
            report = _with_note(
                report,
                f"the settlement counts {figure:f} as invested ({invested_term}); the plan's "
                f"drawdowns come to {report.invested:f}",
            )
    return settlement, report, loaded


def _with_note(report: FinanceReport, note: str) -> FinanceReport:
    return replace(report, notes=(*report.notes, note))


# ----------------------------------------------------------------------------- scenarios


def scenarios_read(path: Path | str, contract: Contract) -> tuple[dict[str, Any], int]:
    """Scenario columns from a CSV, Parquet, JSON or YAML file: one row per scenario.

    Columns are contract inputs. Numbers are read as floats and converted
    exactly: money must have at most two decimals, other numbers at most six
    (DataInvalid names the row and column otherwise).
    """
    file = Path(path)
    source = str(file)
    if not file.is_file():
        raise UserError(f"{file}: no such scenarios file")
    suffix = file.suffix.lower()
    import pyarrow as pa  # type: ignore[import-untyped]

    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq  # type: ignore[import-untyped]

            table = pq.read_table(file)
        elif suffix == ".csv":
            import pyarrow.csv as pacsv  # type: ignore[import-untyped]

            table = pacsv.read_csv(file)
        elif suffix in {".json", ".yaml", ".yml"}:
            text = read_text(file, what="scenarios")
            rows = json.loads(text) if suffix == ".json" else read_yaml(text, source=source).data
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise UserError(f"{file}: a scenarios file is a list of rows (name: value)")
            names = sorted({k for r in rows for k in r})
            table = pa.table({n: [_plain(r.get(n)) for r in rows] for n in names})
        else:
            raise UserError(f"{file}: scenarios are read from .csv, .parquet, .json or .yaml")
    except (pa.ArrowInvalid, OSError) as error:
        raise UserError(f"{file}: the scenarios cannot be read: {error}") from None
    except ValueError as error:
        raise UserError(f"{file}: the scenarios cannot be read: {error}") from None
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
                Finding("scenarios:empty", "no value", file=source, row=row + 2, field_name=name)
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
                        row=row + 2,
                        field_name=name,
                    )
                )
                continue
            columns[name] = fixed
    if findings:
        raise DataInvalid(f"{file}: {len(findings)} problem(s) with the scenarios", findings)
    return columns, table.num_rows


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


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
            "invested_sek": money(self.invested),
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
    loaded: LoadedPlan, contract: Contract, overrides: Mapping[str, Any] | None
) -> Schedule:
    from utfall.core.contracts.engine import resolve_parameters

    parameters, _ = resolve_parameters(contract, overrides)
    drawdowns = draw_down(
        loaded.reports, commitment=loaded.commitment(parameters), structure=loaded.structure
    )
    drawn = [d for d in drawdowns if d.drawn > 0]
    if not drawn:
        raise UserError(f"{loaded.source}: the plan draws nothing; no IRR can be computed")
    total = sum((d.drawn for d in drawn), Decimal(0))
    return Schedule(
        drawdown_dates=tuple(d.date for d in drawn),
        drawdown_shares=tuple(float(d.drawn / total) for d in drawn),
        payment_dates=dict(loaded.document.payment_dates),
        settlement_date=loaded.document.settlement_date,
    )


def _schedule_from_periods(contract: Contract) -> Schedule | None:
    """Monthly drawdowns over the ``intervention`` period (or the first), paid at the last end."""
    if not contract.periods:
        return None
    periods = dict(contract.periods)
    spending = periods.get("intervention") or next(iter(periods.values()))
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
        from utfall.core.contracts.engine import resolve_parameters

        value = resolve_parameters(contract, overrides)[0][name]
        assert isinstance(value, Decimal)
        return np.full(result.size, int(value.scaleb(2)), dtype=np.int64)
    try:
        return result.ore(name)
    except VectorisationError:
        return np.asarray(np.rint(result.floats(name) * 100), dtype=np.int64)


def finance_simulate(
    *,
    contract_path: Path | str,
    scenarios_path: Path | str | None = None,
    distributions: Sequence[str] = (),
    facts_path: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    size: int = 100_000,
    seed: int = 2016,
    plan_path: Path | str | None = None,
    invested_term: str | None = None,
    check: int = 200,
) -> SimulationOutcome:
    """Monte Carlo of the contract's payouts.

    Inputs come from ``distributions`` (``NAME=normal(…)``), a scenarios file,
    and the facts (fixed for every scenario). With a finance plan (or
    ``invested_term`` and the contract's periods) the financier's multiple,
    the probabilities of full repayment and of a premium, and the IRR are
    reported. ``check`` scenarios are settled again by the exact engine and
    compared.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    contract = contract_load(contract_path)
    overrides = dict(overrides or {})
    rng = np.random.default_rng(seed)
    inputs: dict[str, Any] = {}
    sources: dict[str, str] = {}
    clipped: dict[str, int] = {}
    notes: list[str] = []
    if scenarios_path is not None:
        columns, rows = scenarios_read(scenarios_path, contract)
        if distributions:
            raise UserError("give the scenarios either as a file or as distributions, not both")
        size = rows
        inputs.update(columns)
        sources.update({n: f"scenarios file {Path(scenarios_path).name}" for n in columns})
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
    if facts_path is not None:
        for name, value in facts_load(facts_path).items():
            if name in contract.inputs and name not in inputs:
                inputs[name] = value
                sources[name] = f"fixed from {Path(facts_path).name}"
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
        raise UserError(f"{contract_path}: {error}") from None
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

    loaded = finance_plan_load(plan_path, contract) if plan_path is not None else None
    financiers = [p.id for p in contract.parties if p.role == "financier"]
    financier = loaded.financier if loaded else (financiers[0] if len(financiers) == 1 else None)
    outcome.financier = financier
    if financier is not None:
        received = {
            p.id: result.ore(p.id)
            for p in contract.payments
            if p.payee == financier and p.payer != financier
        }
        total = sum(received.values(), np.zeros(size, dtype=np.int64))
        outcome.to_financier = summarise(total[valid] / 100)
        invested_term = invested_term or (loaded.document.invested if loaded else None)
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
                _schedule_from_plan(loaded, contract, overrides)
                if loaded
                else _schedule_from_periods(contract)
            )
            if schedule is None:
                notes.append("no finance plan and no contract periods: the IRR needs dates")
            else:
                outcome.schedule = (
                    f"{len(schedule.drawdown_dates)} drawdown(s) {schedule.drawdown_dates[0]} – "
                    f"{schedule.drawdown_dates[-1]}, payments "
                    + ", ".join(sorted({str(schedule.payment_date(p)) for p in received}))
                    + (" (from the plan)" if loaded else " (from the contract's periods)")
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
        notes.append("the contract has no single financier; name it in a finance plan")
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
