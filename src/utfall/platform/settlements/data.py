"""A contract's imported data as the tables its evaluation specs read.

The platform stores every kind of data in one narrow table (``DataRecord``).
An evaluation spec names a file (``costs.parquet``, ``school.parquet``,
``price_index.parquet`` …) in the layout ``utfall synth`` writes
(docs/data.md); :func:`data_tables_export` writes those files from the
records, so a spec written for the synthetic data (or for a register
extract) runs unchanged on what was imported. Rules (decision 0301):

* the unit is the participant's pseudonym (column ``child_id``), ``included``
  is 1 for the treatment group and 0 for the comparison/reference group;
* only records dated on or before the settlement period's end are used;
* ``costs``: one row per participant and calendar month, from the
  participant's first to last month with cost or placement records; a month
  without records counts as zero (imports leave out zero rows);
  ``month_since_inclusion`` counts from the inclusion month;
* ``school``: one row per participant and measurement date, one column per
  subject; ``post`` is 1 for a result dated after the inclusion date;
* ``employee_months`` and ``slt_index`` (sick leave, decision 0302): a calendar
  month is month *i* of the contract's ``reference`` or ``contract`` period,
  counted from the period's first month; an employee (a treatment-group
  participant) has a row in every period month from the month of inclusion
  to the month of leaving (``left_on``, if imported), with 0 sick days where no
  record exists, so a month's head count is the employees there that month.

:func:`settlement_workspace` lays out the contract, its specs and the exported
data in a temporary directory the way ``utfall settle --data-dir`` expects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings

from utfall.core.contracts import Contract as CoreContract
from utfall.errors import UserError
from utfall.platform.imports.models import DataRecord
from utfall.platform.participants.models import Participant
from utfall.services.bindings import spec_files

__all__ = [
    "TABLES",
    "Workspace",
    "bound_specs",
    "data_tables_export",
    "evaluation_specs_dir",
    "settlement_workspace",
]

UNIT = "child_id"


def evaluation_specs_dir() -> Path:
    """Where the evaluation specs named by contracts' ``evaluate:`` are kept."""
    configured = getattr(settings, "UTFALL_EVALUATION_SPECS_DIR", None)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[4] / "examples" / "evaluations"


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _month(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


Builder = Callable[[Any, dt.date, CoreContract | None], pa.Table | None]


def _participants(contract: Any) -> dict[int, tuple[str, int, dt.date, str, dt.date | None]]:
    """Participant id → (pseudonym, included 1/0, inclusion date, cohort, end date)."""
    return {
        pk: (pseudonym, 1 if group == "treatment" else 0, included_on, cohort, left_on)
        for pk, pseudonym, group, included_on, cohort, left_on in Participant.objects.filter(
            contract=contract
        ).values_list("pk", "pseudonym", "group", "included_on", "cohort", "left_on")
    }


def _records(contract: Any, kind: str, until: dt.date) -> Any:
    return (
        DataRecord.objects.filter(contract=contract, kind=kind, date__lte=until)
        .order_by("participant_id", "date", "category", "pk")
        .values_list("participant_id", "date", "category", "point", "quantity", "amount")
        .iterator(chunk_size=5000)
    )


def _number(value: Decimal | None) -> float:
    # Floats only here, inside the statistics' input tables (DESIGN.md 4).
    return float(value) if value is not None else 0.0


def _costs(contract: Any, until: dt.date, _document: CoreContract | None) -> pa.Table | None:
    people = _participants(contract)
    amounts: dict[tuple[int, int], dict[str, Decimal]] = defaultdict(dict)
    days: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for participant, date, category, _point, _quantity, amount in _records(
        contract, "cost_records", until
    ):
        cell = amounts[(participant, _month_index(date))]
        cell[category] = cell.get(category, Decimal(0)) + (amount or Decimal(0))
    for participant, date, _category, _point, quantity, _amount in _records(
        contract, "placement_days", until
    ):
        days[(participant, _month_index(date))] += quantity or Decimal(0)
    if not amounts:
        return None
    span: dict[int, tuple[int, int]] = {}
    for participant, month in (*amounts, *days):
        low, high = span.get(participant, (month, month))
        span[participant] = (min(low, month), max(high, month))
    categories = sorted({c for cell in amounts.values() for c in cell})
    columns: dict[str, list[Any]] = defaultdict(list)
    for participant in sorted(span, key=lambda p: people[p][0]):
        pseudonym, included, included_on, cohort, _left_on = people[participant]
        start = _month_index(included_on)
        low, high = span[participant]
        for month in range(low, high + 1):
            cell = amounts.get((participant, month), {})
            columns[UNIT].append(pseudonym)
            columns["included"].append(included)
            columns["month"].append(_month(month))
            columns["month_since_inclusion"].append(month - start)
            columns["post"].append(1 if month >= start else 0)
            columns["placement_days"].append(_number(days.get((participant, month))))
            for category in categories:
                columns[f"{category}_cost_sek"].append(_number(cell.get(category)))
            columns["total_cost_sek"].append(_number(sum(cell.values(), Decimal(0))))
            columns["cohort"].append(cohort)
    types = {
        UNIT: pa.string(),
        "included": pa.int8(),
        "month": pa.date32(),
        "month_since_inclusion": pa.int16(),
        "post": pa.int8(),
        "cohort": pa.string(),
    }
    return pa.table(
        {name: pa.array(values, types.get(name, pa.float64())) for name, values in columns.items()}
    )


def _school(contract: Any, until: dt.date, _document: CoreContract | None) -> pa.Table | None:
    people = _participants(contract)
    cells: dict[tuple[int, dt.date], dict[str, Decimal]] = defaultdict(dict)
    for participant, date, category, _point, quantity, _amount in _records(
        contract, "school_results", until
    ):
        cells[(participant, date)][category or "score"] = quantity or Decimal(0)
    if not cells:
        return None
    subjects = sorted({s for cell in cells.values() for s in cell})
    columns: dict[str, list[Any]] = defaultdict(list)
    for participant, date in sorted(cells, key=lambda key: (people[key[0]][0], key[1])):
        pseudonym, included, included_on, cohort, _left_on = people[participant]
        columns[UNIT].append(pseudonym)
        columns["included"].append(included)
        columns["date"].append(date)
        columns["post"].append(1 if date > included_on else 0)
        for subject in subjects:
            value = cells[(participant, date)].get(subject)
            columns[subject].append(float(value) if value is not None else None)
        columns["cohort"].append(cohort)
    types = {
        UNIT: pa.string(),
        "included": pa.int8(),
        "date": pa.date32(),
        "post": pa.int8(),
        "cohort": pa.string(),
    }
    return pa.table(
        {name: pa.array(values, types.get(name, pa.float64())) for name, values in columns.items()}
    )


def _price_index(contract: Any, until: dt.date, _document: CoreContract | None) -> pa.Table | None:
    rows = sorted(
        (date.replace(day=1), quantity)
        for _p, date, _c, _point, quantity, _a in _records(contract, "price_index", until)
    )
    if not rows:
        return None
    return pa.table(
        {
            "month": pa.array([r[0] for r in rows], pa.date32()),
            "index": pa.array([_number(r[1]) for r in rows], pa.float64()),
        }
    )


def _dimensions(contract: Any, until: dt.date, _document: CoreContract | None) -> pa.Table | None:
    people = _participants(contract)
    columns: dict[str, list[Any]] = defaultdict(list)
    for participant, date, category, point, quantity, _a in _records(
        contract, "social_scores", until
    ):
        pseudonym, included, included_on, _cohort, _left_on = people[participant]
        columns[UNIT].append(pseudonym)
        columns["included"].append(included)
        columns["wave"].append(point)
        columns["month_since_inclusion"].append(_month_index(date) - _month_index(included_on))
        columns["dimension"].append(category)
        columns["score"].append(_number(quantity))
    if not columns:
        return None
    types = {
        UNIT: pa.string(),
        "included": pa.int8(),
        "wave": pa.int16(),
        "month_since_inclusion": pa.int16(),
        "dimension": pa.string(),
        "score": pa.float64(),
    }
    return pa.table({name: pa.array(values, types[name]) for name, values in columns.items()})


def _children(contract: Any, until: dt.date, _document: CoreContract | None) -> pa.Table | None:
    people = sorted(p for p in _participants(contract).values() if p[2] <= until)
    if not people:
        return None
    return pa.table(
        {
            UNIT: pa.array([p[0] for p in people], pa.string()),
            "included": pa.array([p[1] for p in people], pa.int8()),
            "inclusion_month": pa.array([p[2].replace(day=1) for p in people], pa.date32()),
            "cohort": pa.array([p[3] for p in people], pa.string()),
        }
    )


SICK_LEAVE_PERIODS = ("reference", "contract")
"""The contract periods the sick-leave tables' ``period`` column names, in table order."""


def _period_months(document: CoreContract | None, until: dt.date) -> dict[int, tuple[str, int]]:
    """Calendar month → (period, month index 1…) from the contract's periods (decision 0302).

    Months starting after ``until`` are left out; they are not observed yet.
    """
    periods = document.periods if document is not None else {}
    missing = [name for name in SICK_LEAVE_PERIODS if name not in periods]
    if missing:
        raise UserError(
            "the sick-leave tables count months from the contract's periods 'reference' and "
            f"'contract', but the contract has no period {' or '.join(map(repr, missing))}: "
            "add them under periods: in the contract (start and end dates)"
        )
    months: dict[int, tuple[str, int]] = {}
    for name in SICK_LEAVE_PERIODS:
        first = _month_index(periods[name].start)
        for month in range(first, _month_index(periods[name].end) + 1):
            if _month(month) > until:
                break
            if month in months:
                raise UserError(
                    f"the contract's periods 'reference' and 'contract' overlap "
                    f"({_month(month):%Y-%m}); a month can belong to one of them only"
                )
            months[month] = (name, month - first + 1)
    return months


def _employee_months(
    contract: Any, until: dt.date, document: CoreContract | None
) -> pa.Table | None:
    months = _period_months(document, until)
    if not months:
        raise UserError(
            f"the settlement period ends ({until.isoformat()}) before the contract's "
            "reference period starts: no month to count sick leave in"
        )
    people = {pk: p for pk, p in _participants(contract).items() if p[1] == 1}
    days: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    unit: dict[int, str] = {}
    for participant, date, category, _point, quantity, _amount in _records(
        contract, "sick_leave_days", until
    ):
        if participant in people:
            days[(participant, _month_index(date))] += quantity or Decimal(0)
            unit[participant] = category  # the unit of the latest record (records sorted by date)
    if not days:
        return None
    order = sorted(months, key=lambda m: (SICK_LEAVE_PERIODS.index(months[m][0]), months[m][1]))
    columns: dict[str, list[Any]] = defaultdict(list)
    for participant in sorted(people, key=lambda p: people[p][0]):
        pseudonym, _included, included_on, _cohort, left_on = people[participant]
        start = _month_index(included_on)
        end = _month_index(left_on) if left_on is not None else None
        for month in order:
            if month < start:  # not yet included: not counted in the month's head count
                continue
            if end is not None and month > end:  # left: counted up to the month of leaving
                continue
            period, index = months[month]
            columns["employee"].append(pseudonym)
            columns["period"].append(period)
            columns["month_index"].append(index)
            columns["administration"].append(unit.get(participant, ""))
            columns["sick_days"].append(_number(days.get((participant, month))))
    if not columns:
        return None
    counted = {(p, i) for p, i in zip(columns["period"], columns["month_index"], strict=True)}
    empty = [m for m in order if months[m] not in counted]
    if empty:
        shown = ", ".join(f"{_month(m):%Y-%m}" for m in empty[:6]) + (
            " …" if len(empty) > 6 else ""
        )
        raise UserError(
            f"no employee is included in {len(empty)} month(s) of the contract's periods: "
            f"{shown}; an employee counts from the inclusion date, so import the employees "
            "with the date they came under the contract's measurement (for employees "
            "employed throughout: the reference period's start)"
        )
    return pa.table(
        {
            "employee": pa.array(columns["employee"], pa.string()),
            "period": pa.array(columns["period"], pa.string()),
            "month_index": pa.array(columns["month_index"], pa.int8()),
            "administration": pa.array(columns["administration"], pa.string()),
            "sick_days": pa.array(columns["sick_days"], pa.float64()),
        }
    )


def _slt_index(contract: Any, until: dt.date, document: CoreContract | None) -> pa.Table | None:
    months = _period_months(document, until)
    values: dict[int, Decimal | None] = {}
    for _p, date, _c, _point, quantity, _a in _records(contract, "sick_leave_trend_index", until):
        month = _month_index(date)
        if month in values:
            raise UserError(
                f"the imported sick-leave trend index has two values for {date:%Y-%m}; "
                "keep one value per calendar month"
            )
        values[month] = quantity
    if not values:
        return None
    lacking = [_month(m) for m in sorted(months) if m not in values]
    if lacking:
        shown = ", ".join(f"{m:%Y-%m}" for m in lacking[:6]) + (" …" if len(lacking) > 6 else "")
        raise UserError(
            f"the imported sick-leave trend index (SLT) lacks {len(lacking)} month(s) of the "
            f"contract's reference and contract periods up to {until.isoformat()}: {shown}; "
            "import the sick-leave trend index for them"
        )
    order = sorted(months, key=lambda m: (SICK_LEAVE_PERIODS.index(months[m][0]), months[m][1]))
    return pa.table(
        {
            "period": pa.array([months[m][0] for m in order], pa.string()),
            "month_index": pa.array([months[m][1] for m in order], pa.int8()),
            "month": pa.array([_month(m) for m in order], pa.date32()),
            "slt": pa.array([_number(values[m]) for m in order], pa.float64()),
        }
    )


TABLES: dict[str, tuple[Builder, str]] = {
    "costs.parquet": (_costs, "participants and cost records (placement days optional)"),
    "school.parquet": (_school, "participants and school results"),
    "price_index.parquet": (_price_index, "a price index"),
    "dimensions.parquet": (_dimensions, "participants and social-dimension scores"),
    "children.parquet": (_children, "participants"),
    "employee_months.parquet": (
        _employee_months,
        "participants (the employees) and sick-leave days",
    ),
    "slt_index.parquet": (
        _slt_index,
        "a sick-leave trend index (SLT) per calendar month (kind sick_leave_trend_index)",
    ),
}
"""File name → (builder, the imports it needs)."""


def data_tables_export(
    *,
    contract: Any,
    names: list[str],
    out_dir: Path,
    until: dt.date,
    document: CoreContract | None = None,
) -> dict[str, Path]:
    """Write the named tables from the contract's imported records; UserError names what is
    missing. Rows are sorted, so the same records always give the same bytes. ``document``
    (the contract version settled) gives the periods the sick-leave tables count months in."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name in names:
        if name not in TABLES:
            raise UserError(
                f"an evaluation reads {name!r}; the platform makes only "
                f"{', '.join(sorted(TABLES))} from imported data"
            )
        build, needs = TABLES[name]
        table = build(contract, until, document)
        if table is None or table.num_rows == 0:
            raise UserError(
                f"an evaluation reads {name}, but the contract has no imported data for it "
                f"up to {until.isoformat()}: import {needs}"
            )
        path = out_dir / name
        pq.write_table(table, path)
        written[name] = path
    return written


def _ups(path: str) -> int:
    return sum(1 for part in PurePosixPath(path).parts if part == "..")


def bound_specs(document: CoreContract) -> dict[str, Path]:
    """The specs the contract's inputs are bound to: ``evaluate`` path → spec file here."""
    directory = evaluation_specs_dir()
    specs: dict[str, Path] = {}
    for term in document.inputs.values():
        if term.evaluate and term.evaluate not in specs:
            path = directory / PurePosixPath(term.evaluate).name
            if not path.is_file():
                raise UserError(
                    f"input {term.name!r} is bound to {term.evaluate}, but the platform has no "
                    f"evaluation spec {path.name} (in {directory})"
                )
            specs[term.evaluate] = path
    return specs


@dataclass(frozen=True)
class Workspace:
    """Files for one settlement run: the contract, its facts and its data directory."""

    contract_path: Path
    facts_path: Path | None
    data_dir: Path | None


@contextlib.contextmanager
def settlement_workspace(
    *, contract: Any, document: CoreContract, facts_text: str | None, until: dt.date
) -> Iterator[Workspace]:
    """A temporary directory laid out as the contract file, its specs and their data expect.

    Every spec must read its data from one directory (``utfall settle --data-dir``
    takes one); it is placed where the specs' relative ``data`` paths point, so
    a bundle made from it records the same relative paths as one made from
    ``utfall synth`` output.
    """
    specs = bound_specs(document)
    with tempfile.TemporaryDirectory(prefix="utfall-settle-") as temporary:
        root = Path(temporary).resolve()
        texts = {e: p.read_text(encoding="utf-8") for e, p in specs.items()}
        files = {e: spec_files(t, str(specs[e])) for e, t in texts.items()}
        depth = max((_ups(e) + _ups(files[e].data) for e in specs), default=0)
        contract_dir = root.joinpath(*(["w"] * depth)) if depth else root
        contract_dir.mkdir(parents=True, exist_ok=True)
        contract_path = contract_dir / f"{contract.identifier}.yaml"
        contract_path.write_text(document.text, encoding="utf-8")
        data_dirs: set[Path] = set()
        names: set[str] = set()
        for evaluate, text in texts.items():
            spec_path = (contract_dir / evaluate).resolve()
            if root not in spec_path.parents:
                raise UserError(f"the evaluation spec path {evaluate} leaves the workspace")
            spec_path.parent.mkdir(parents=True, exist_ok=True)
            spec_path.write_text(text, encoding="utf-8")
            data_path = (spec_path.parent / files[evaluate].data).resolve()
            data_dirs.add(data_path.parent)
            names.update([data_path.name, *files[evaluate].auxiliary_names.values()])
        if len(data_dirs) > 1:
            raise UserError(
                "the contract's evaluation specs read their data from different "
                "directories; the platform settles from one data directory"
            )
        data_dir = data_dirs.pop() if data_dirs else None
        if data_dir is not None:
            data_tables_export(
                contract=contract,
                names=sorted(names),
                out_dir=data_dir,
                until=until,
                document=document,
            )
        facts_path = None
        if facts_text is not None:
            facts_path = root / "facts.yaml"
            facts_path.write_text(facts_text, encoding="utf-8")
        yield Workspace(contract_path, facts_path, data_dir)
