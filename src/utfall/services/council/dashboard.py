"""The intervention council's dashboard of one contract: the one pipeline, laid out.

:func:`dashboard_build` takes the compiled contract, a
:class:`~utfall.services.tables.TableProvider` over its declared tables, the day
the dashboard is drawn up (``as_of``) and the facts for the inputs no evaluation
gives (the entered values of the newest statement, if there is one), and returns a
plain, JSON-serialisable dict. It computes nothing of its own:

* **What the contract would pay today** is
  :func:`utfall.services.contracts.contract_settle` on the same tables ``until``
  ``as_of`` — the very call a statement makes for a period ending that day. An input
  no evaluation gives and no fact covers is listed as missing; the contract is then
  not settled (nothing is guessed and no example is read).
* **Every figure of a bound evaluation** is that run's estimate
  (``SettlementRun.evaluations``): one definition, one interval. The evaluations no
  input takes (followed, not paid on) run through
  :func:`utfall.services.bindings.evaluations_run` on the same tables and day.
* **Subgroups** are the participants' declared ``subgroups``: the estimate's own
  subgroups when the evaluation has one, otherwise the same evaluation run by the
  engine with ``subgroup`` set to the column.
* **Panels** are chosen by each evaluation's method (:mod:`.panels`), never by the
  contract's identity or its input names.

Every aggregate over a group of people passes
:func:`~utfall.services.council.suppression.suppress_cells` (or the share rule) here,
before the dict exists, so nothing stored, shown, exported or printed from it can
describe fewer than five people. The individual status list (pseudonyms only) is in
the dict; the platform removes it for roles that may not see it.

An evaluation that cannot run (a trend-index month missing, a table not yet
imported) is shown with the error the settlement gives, word for word; it never
falls back to other figures.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from utfall.core.contracts import Contract
from utfall.core.contracts.data import IDENTITY_COLUMN, PARTICIPANTS, Label
from utfall.core.evaluation.result import Estimate
from utfall.core.evaluation.spec import METHOD_RULES, EvaluationSpec
from utfall.errors import UtfallError
from utfall.services.contracts import Facts, SettlementRun, contract_settle
from utfall.services.council.suppression import MIN_CELL
from utfall.services.tables import TableMissing, TableProvider, as_of

__all__ = [
    "FORMAT",
    "MAX_INDIVIDUALS",
    "SUBGROUP_SEPARATOR",
    "dashboard_build",
    "error_dict",
    "label_dict",
    "money",
]

FORMAT = "utfall-council-dashboard/2"
ORE = Decimal("0.01")
SUBGROUP_SEPARATOR = "@"
"""Joins an evaluation's name and a subgroup column into the name of its subgroup run."""
MAX_INDIVIDUALS = 1000
"""The individual status list holds at most this many people (the most recently included)."""
MAX_DETAIL = 20


def money(value: float | Decimal | str | None) -> str | None:
    """A money figure as text, rounded half-up to öre (None stays None)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    return str(number.quantize(ORE, rounding=ROUND_HALF_UP))


def label_dict(label: Label | None, fallback: str = "") -> dict[str, str]:
    """A declared label as ``{"sv": …, "en": …}`` (the fallback in both without one)."""
    if label is None:
        return {"sv": fallback, "en": fallback}
    return {"sv": label.sv, "en": label.en}


def error_dict(error: BaseException) -> dict[str, Any]:
    """An error as the dashboard shows it: its message and its located findings, with its
    ``code`` and ``params`` (a page says it in the reader's language by them)."""
    detail = error.detail if isinstance(error, UtfallError) else []
    message = error.message if isinstance(error, UtfallError) else str(error)
    return {
        "type": type(error).__name__,
        "code": getattr(error, "code", None),
        "params": dict(getattr(error, "params", None) or {}),
        "message": message,
        "detail": [str(line) for line in detail[:MAX_DETAIL]],
        "more": max(len(detail) - MAX_DETAIL, 0),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --- the data as of the day -----------------------------------------------------------


class _Data:
    """The contract's tables as known on ``as_of``, read once each (for counts, frames and
    the status list; the evaluations take the provider and the day themselves)."""

    def __init__(self, contract: Contract, tables: TableProvider | None, day: dt.date):
        self.contract = contract
        self.tables = tables
        self.day = day
        self._cache: dict[str, pa.Table | None] = {}
        self.missing: dict[str, str] = {}

    def table(self, name: str) -> pa.Table | None:
        """The declared table as of the day, or None when the provider holds none."""
        if name not in self._cache:
            if self.tables is None:
                self._cache[name] = None
            else:
                try:
                    known = as_of(self.tables, self.contract.data, self.day, [name])
                    self._cache[name] = known.table(name)
                except TableMissing as error:
                    self.missing[name] = error.message
                    self._cache[name] = None
        return self._cache[name]

    def treated_included(self) -> pa.Table | None:
        """The treated participants included by the day."""
        declared = self.contract.data.participants
        if declared is None:
            return None
        people = self.table(PARTICIPANTS)
        if people is None:
            return None
        if declared.group is not None:
            people = people.filter(
                pc.equal(people.column(declared.group), pa.scalar(declared.treated))
            )
        return people


def _sources(data: _Data) -> list[dict[str, Any]]:
    rows = []
    for declared in data.contract.data:
        table = data.table(declared.name)
        rows.append(
            {
                "table": declared.name,
                "label": label_dict(declared.label, declared.name),
                "kind": declared.kind,
                "rows": None if table is None else table.num_rows,
            }
        )
    return rows


def _participants(data: _Data) -> dict[str, Any] | None:
    declared = data.contract.data.participants
    if declared is None:
        return None
    people = data.table(PARTICIPANTS)
    included = data.treated_included()
    left = None
    if included is not None and declared.end is not None:
        left = int(pc.sum(pc.is_valid(included.column(declared.end))).as_py() or 0)
    return {
        "label": label_dict(declared.label, PARTICIPANTS),
        "unit": label_dict(declared.unit, PARTICIPANTS),
        "rows": None if people is None else people.num_rows,
        "included": None if included is None else included.num_rows,
        "left": left,
        "grouped": declared.group is not None,
        "subgroups": [
            {"column": name, "label": label_dict(declared.column(name).label, name)}
            for name in declared.subgroups
        ],
    }


# --- what the contract would pay today ------------------------------------------------


def _settlement_section(
    contract: Contract,
    run: SettlementRun | None,
    *,
    error: BaseException | None,
    missing: Sequence[str],
    facts: Facts,
    given: Mapping[str, Any],
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "error": None,
        "missing": list(missing),
        "facts_source": facts.source if given else None,
        "entered": sorted(given),
    }
    if missing:
        return {**base, "error": "missing_inputs"}
    if error is not None:
        return {**base, "error": "settle_failed", "failure": error_dict(error)}
    assert run is not None
    result = run.settlement
    shown = result.to_json()
    sources = {}
    for name in contract.inputs:
        explanation = result.explanations.get(name)
        origin = getattr(explanation, "origin", None)
        sources[name] = origin or ("facts" if name in given else None)
    outputs = [
        {
            "name": name,
            "type": contract.outputs[name].type,
            "of": contract.outputs[name].of,
            "value": _plain(value),
            "formula": contract.outputs[name].formula,
            "description": contract.outputs[name].description or "",
        }
        for name, value in shown["outputs"].items()
    ]
    payments = [
        {
            "id": p["id"],
            "from": p["from"],
            "to": p["to"],
            "label": p["label"],
            "amount": money(p["amount_sek"]),
        }
        for p in shown["payments"]
    ]
    return {
        **base,
        "inputs": {n: _plain(v) for n, v in shown["inputs"].items()},
        "sources": sources,
        "outputs": outputs,
        "payments": payments,
        "total": money(sum((p.amount for p in result.payments), Decimal(0))),
        "contract_sha256": result.contract_sha256,
    }


def _settle_today(
    contract: Contract, tables: TableProvider | None, day: dt.date, facts: Facts
) -> tuple[SettlementRun | None, BaseException | None, list[str], dict[str, Any]]:
    """``contract_settle`` as a statement for a period ending ``day`` would call it."""
    unbound = [name for name, term in contract.inputs.items() if not term.evaluate]
    given = {name: value for name, value in facts.values.items() if name in unbound}
    missing = [name for name in unbound if name not in given]
    if missing:
        return None, None, missing, given
    bound = bool(contract.bound_evaluations())
    try:
        run = contract_settle(
            contract,
            facts=Facts(given, facts.text, facts.source, facts.lines),
            tables=tables if bound else None,
            until=day if bound else None,
        )
    except UtfallError as error:
        return None, error, [], given
    return run, None, [], given


class _AsOf:
    """A provider handing out each table as it was on a day (for the finance plan's reports)."""

    def __init__(self, contract: Contract, tables: TableProvider, day: dt.date):
        self.contract, self.tables, self.day = contract, tables, day

    def table(self, name: str) -> pa.Table:
        return as_of(self.tables, self.contract.data, self.day, [name]).table(name)

    def describe(self, name: str) -> str:
        return f"{self.tables.describe(name)} as of {self.day.isoformat()}"


def _break_even(
    contract: Contract,
    run: SettlementRun | None,
    plan: Any,
    tables: TableProvider | None,
    day: dt.date,
) -> dict[str, Any] | None:
    """The finance view's break-even month (decision 0258) of the settlement as of the day,
    under the finance plan; None without a plan."""
    if plan is None:
        return None
    from utfall.services.finance import finance_break_even

    shown: dict[str, Any] = {"plan": getattr(plan, "source", None)}
    if run is None:
        return {**shown, "status": "no_settlement"}
    provider = _AsOf(contract, tables, day) if tables is not None else None
    try:
        found = finance_break_even(run, plan, tables=provider)
    except UtfallError as error:
        return {**shown, "status": "error", "error": error_dict(error)}
    if found is None:
        return {**shown, "status": "not_reached"}
    return {
        **shown,
        "status": "ok",
        "month": found.month,
        "start": found.start.isoformat(),
        "cumulative": money(found.cumulative),
    }


# --- evaluations ----------------------------------------------------------------------


def _subgroup_specs(contract: Contract) -> dict[str, tuple[str, str, EvaluationSpec]]:
    """run name → (evaluation, subgroup column, spec): each evaluation an input takes a
    figure of, without a subgroup of its own, split by each declared subgroup of the
    participants (decision 0403: the paid figures are the ones the council splits)."""
    declared = contract.data.participants
    if declared is None:
        return {}
    out: dict[str, tuple[str, str, EvaluationSpec]] = {}
    for name in contract.bound_evaluations():
        spec = contract.evaluations[name]
        rule = METHOD_RULES.get(spec.method)
        if rule is None or "subgroup" not in rule.optional or spec.subgroup:
            continue
        if spec.method == "rate_card":
            continue  # a rate card splits its own counts (its estimate's subgroups)
        if not contract.data.table(spec.data).per_participant:
            continue
        for column in declared.subgroups:
            spec_by = spec.model_copy(update={"subgroup": column})
            out[f"{name}{SUBGROUP_SEPARATOR}{column}"] = (name, column, spec_by)
    return out


def _run_each(
    contract: Contract,
    tables: TableProvider | None,
    names: Sequence[str],
    day: dt.date,
    parameters: Mapping[str, Any] | None,
) -> dict[str, Estimate | BaseException]:
    """The named evaluations on the tables as of the day: all at once, or — when one
    fails — each on its own, so every other panel still shows and the failing one shows
    its error."""
    from utfall.services.bindings import evaluations_run

    if not names:
        return {}
    if tables is None:
        missing = TableMissing("no tables are given for the contract's data", [])
        return {name: missing for name in names}
    try:
        estimates, _digests = evaluations_run(
            contract, tables, list(names), until=day, parameters=parameters
        )
        return dict(estimates)
    except UtfallError:
        pass
    out: dict[str, Estimate | BaseException] = {}
    for name in names:
        try:
            estimates, _digests = evaluations_run(
                contract, tables, [name], until=day, parameters=parameters
            )
            out[name] = estimates[name]
        except UtfallError as error:
            out[name] = error
    return out


def dashboard_build(
    contract: Contract,
    tables: TableProvider | None,
    *,
    as_of: dt.date,
    facts: Facts | None = None,
    finance_plan: Any = None,
) -> dict[str, Any]:
    """The council dashboard of ``contract`` on the data known on ``as_of`` (module doc).

    ``facts`` holds values for inputs no evaluation gives (others are ignored); a
    missing one is listed, never guessed. With ``finance_plan`` (a parsed plan,
    :func:`utfall.services.finance.finance_plan_parse`) the dashboard shows the
    commissioner's break-even month as the finance view computes it (decision 0258)
    for the settlement as of the day.
    """
    from utfall.core.contracts.engine import resolve_parameters
    from utfall.services.council import panels

    facts = facts or Facts()
    data = _Data(contract, tables, as_of)
    run, failure, missing, given = _settle_today(contract, tables, as_of, facts)
    parameters, _ = resolve_parameters(contract, None)
    bound = contract.bound_evaluations()
    estimates: dict[str, Estimate | BaseException] = {}
    if run is not None:
        estimates.update(run.evaluations)
    else:
        estimates.update(_run_each(contract, tables, list(bound), as_of, parameters))
    followed = [name for name in contract.evaluations if name not in bound]
    subgroup_runs = _subgroup_specs(contract)
    extended = replace(
        contract,
        evaluations={
            **contract.evaluations,
            **{run_name: spec for run_name, (_, _, spec) in subgroup_runs.items()},
        },
    )
    estimates.update(_run_each(contract, tables, followed, as_of, parameters))
    for run_name in subgroup_runs:
        estimates.update(_run_each(extended, tables, [run_name], as_of, parameters))
    settlement = _settlement_section(
        contract, run, error=failure, missing=missing, facts=facts, given=given
    )
    dashboard: dict[str, Any] = {
        "format": FORMAT,
        "contract": contract.id,
        "title": contract.title,
        "version": contract.version,
        "contract_sha256": contract.sha256,
        "as_of": as_of.isoformat(),
        "min_cell": MIN_CELL,
        "participants": _participants(data),
        "sources": {"tables": _sources(data), "facts": settlement["facts_source"]},
        "notes": [],
        "settlement": settlement,
        "break_even": _break_even(contract, run, finance_plan, tables, as_of),
    }
    context = panels.PanelContext(
        contract=contract,
        data=data,
        estimates=estimates,
        subgroup_runs=subgroup_runs,
        settlement=settlement,
        run=run,
    )
    dashboard["panels"] = panels.evaluation_panels(context)
    dashboard["series"] = panels.output_series(context)
    dashboard["individuals"] = individual_status(data)
    if data.missing:
        dashboard["notes"].append({"code": "tables_missing", "tables": sorted(data.missing)})
    if not contract.data:
        dashboard["notes"].append({"code": "no_data_declared"})
    return dashboard


# --- the status per individual -----------------------------------------------------------


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def individual_status(data: _Data) -> dict[str, Any] | None:
    """Per included individual (the treated, included by the day; pseudonyms only): their
    inclusion, months since, end, and per participant's table the rows and latest date."""
    declared = data.contract.data.participants
    people = data.treated_included()
    if declared is None or people is None:
        return None
    tables = [t for t in data.contract.data.tables.values() if t.per_participant]
    columns: list[dict[str, Any]] = [
        {"key": "pseudonym", "kind": "pseudonym"},
        {
            "key": "included_on",
            "kind": "date",
            "label": label_dict(declared.column(declared.date).label),
        },
        {"key": "months_since_inclusion", "kind": "months"},
    ]
    if declared.end is not None:
        columns.append(
            {"key": "end", "kind": "date", "label": label_dict(declared.column(declared.end).label)}
        )
    for table in tables:
        columns.append(
            {
                "key": f"{table.name}.rows",
                "kind": "rows",
                "table": table.name,
                "label": label_dict(table.label, table.name),
            }
        )
        columns.append(
            {
                "key": f"{table.name}.latest",
                "kind": "latest",
                "table": table.name,
                "label": label_dict(table.label, table.name),
            }
        )
    order = pc.sort_indices(
        people, sort_keys=[(declared.date, "descending"), (IDENTITY_COLUMN, "ascending")]
    )
    people = people.take(order)
    total = people.num_rows
    people = people.slice(0, MAX_INDIVIDUALS)
    ids = people.column(IDENTITY_COLUMN).to_pylist()
    wanted = pa.array(ids, pa.string())
    per_table: dict[str, dict[str, tuple[int, dt.date | None]]] = {}
    for table in tables:
        rows = data.table(table.name)
        summary: dict[str, tuple[int, dt.date | None]] = {}
        if rows is not None and rows.num_rows:
            mine = rows.filter(pc.is_in(rows.column(IDENTITY_COLUMN), value_set=wanted))
            grouped = mine.group_by(IDENTITY_COLUMN).aggregate(
                [(table.date, "count"), (table.date, "max")]
            )
            for pid, count, latest in zip(
                grouped.column(IDENTITY_COLUMN).to_pylist(),
                grouped.column(f"{table.date}_count").to_pylist(),
                grouped.column(f"{table.date}_max").to_pylist(),
                strict=True,
            ):
                summary[pid] = (int(count), latest)
        per_table[table.name] = summary
    inclusion = people.column(declared.date).to_pylist()
    ends = people.column(declared.end).to_pylist() if declared.end else [None] * len(ids)
    last = _month_index(data.day)
    rows_out = []
    for pid, included_on, end in zip(ids, inclusion, ends, strict=True):
        row: dict[str, Any] = {
            "pseudonym": str(pid)[:12],
            "included_on": included_on.isoformat(),
            "months_since_inclusion": last - _month_index(included_on),
        }
        if declared.end is not None:
            row["end"] = end.isoformat() if end else None
        for table in tables:
            count, latest = per_table[table.name].get(pid, (0, None))
            row[f"{table.name}.rows"] = count
            row[f"{table.name}.latest"] = latest.isoformat() if latest else None
        rows_out.append(row)
    return {"columns": columns, "rows": rows_out, "total": total}
