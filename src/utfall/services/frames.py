"""An evaluation's frame: a declared table shaped into the rows its method reads.

The rules are the contract's (see :mod:`utfall.core.contracts.evaluations`): a
participant's table is joined to the participants and gains ``participant``,
``treated``, ``post``, ``months_since_inclusion`` and ``month``; ``where`` keeps
rows, ``per: month`` sums the outcome per participant and month with the months
between filled with 0, ``periods`` numbers each month within a contract period.
The work is one DuckDB query over the provider's Arrow tables; numbers leave it
as floats, because what reads a frame is statistics (money stays exact in the
tables and in the methods that pay per participant, which read them directly).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from utfall.analytics import duckdb_cursor
from utfall.core.contracts.data import IDENTITY_COLUMN, DataDeclaration, Table
from utfall.core.contracts.schema import PeriodDocument
from utfall.core.evaluation.spec import EvaluationSpec
from utfall.errors import DataInvalid, Finding
from utfall.services.tables import TableProvider

__all__ = ["evaluation_frame", "month_index", "series_frame"]


def month_index(day: dt.date) -> int:
    """Months since year 0: consecutive months differ by one."""
    return day.year * 12 + day.month - 1


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _month_sql(expression: str) -> str:
    return f"(year({expression}) * 12 + month({expression}) - 1)"


def _where(spec: EvaluationSpec, alias: str, table: Table | None = None) -> tuple[str, list[Any]]:
    """The SQL condition of ``where``. A column ``table`` (a participant's table) does not
    have is one of the participants': the row's participant must have the value (the
    query defines the participants as ``p``)."""
    clauses, values = [], []
    for column, value in spec.where.items():
        wanted = value if isinstance(value, list) else [value]
        marks = ", ".join("?" for _ in wanted)
        if table is not None and not table.has(column):
            clauses.append(
                f"{alias}.{_q(IDENTITY_COLUMN)} IN "
                f"(SELECT {_q(IDENTITY_COLUMN)} FROM p WHERE p.{_q(column)} IN ({marks}))"
            )
        else:
            clauses.append(f"{alias}.{_q(column)} IN ({marks})")
        values += [str(v) if not isinstance(v, (bool, int)) else v for v in wanted]
    return (" AND ".join(clauses) if clauses else "TRUE"), values


def _periods_sql(names: list[str], periods: Mapping[str, PeriodDocument]) -> str:
    rows = ", ".join(
        f"('{name}', {month_index(periods[name].start)}, {month_index(periods[name].end)}, {i})"
        for i, name in enumerate(names)
    )
    return f"SELECT * FROM (VALUES {rows}) AS v(period, first_month, last_month, period_order)"


def _as_floats(table: pa.Table) -> pa.Table:
    """Decimal columns as float64: the frame feeds statistics."""
    for index, schema_field in enumerate(table.schema):
        if pa.types.is_decimal(schema_field.type):
            table = table.set_column(
                index, schema_field.name, table.column(index).cast(pa.float64())
            )
    return table


def _participants_sql(declared: Table) -> tuple[str, list[str]]:
    """The participants with their inclusion month and treated flag; their columns."""
    columns = [c.name for c in declared.columns]
    treated = (
        f"CASE WHEN p.{_q(declared.group)} = '{declared.treated}' THEN 1 ELSE 0 END"
        if declared.group
        else "1"
    )
    end = f"p.{_q(declared.end)}" if declared.end else "CAST(NULL AS DATE)"
    sql = (
        f"SELECT p.{_q(IDENTITY_COLUMN)}, "
        + "".join(f"p.{_q(c)}, " for c in columns)
        + f"p.{_q(declared.date)} AS _inclusion, {end} AS _end, "
        f"{_month_sql('p.' + _q(declared.date))} AS _inclusion_month, "
        f"{treated} AS treated FROM participants AS p"
    )
    return sql, columns


def evaluation_frame(
    spec: EvaluationSpec,
    tables: TableProvider,
    declaration: DataDeclaration,
    periods: Mapping[str, PeriodDocument],
    *,
    until: dt.date | None = None,
) -> pa.Table:
    """The rows ``spec``'s method reads, ordered by participant and time."""
    declared = declaration.table(spec.data)
    cursor = duckdb_cursor()
    try:
        if not declared.per_participant:
            return series_frame(
                spec.data, tables, declaration, periods, spec.periods, cursor=cursor, where=spec
            )
        participants = declaration.participants
        assert participants is not None
        cursor.register("participants", tables.table("participants"))
        people, person_columns = _participants_sql(participants)
        if declared.is_participants:
            frame = cursor.sql(
                f"WITH p AS ({people}) SELECT {_q(IDENTITY_COLUMN)}, "
                + "".join(f"{_q(c)}, " for c in person_columns)
                + f"treated FROM p ORDER BY {_q(IDENTITY_COLUMN)}"
            ).to_arrow_table()
            return _as_floats(frame)
        cursor.register("data", tables.table(spec.data))
        where, values = _where(spec, "t", declared)
        date = f"t.{_q(declared.date)}"
        shared = "".join(f"p.{_q(c)}, " for c in person_columns)
        if spec.per == "month":
            outcome = _q(str(spec.outcome))
            if spec.span == "membership":
                grid = _membership_grid(spec, declared, periods, until)
            else:
                grid = (
                    "SELECT participant, unnest(range(lo, hi + 1)) AS _m FROM ("
                    "SELECT participant, min(_m) AS lo, max(_m) AS hi FROM rows "
                    "GROUP BY participant)"
                )
            body = (
                f"WITH p AS ({people}), "
                f"rows AS (SELECT t.{_q(IDENTITY_COLUMN)} AS participant, "
                f"{_month_sql(date)} AS _m, t.{outcome} AS _y FROM data AS t WHERE {where}), "
                "cells AS (SELECT participant, _m, sum(_y) AS _y FROM rows GROUP BY ALL), "
                f"grid AS ({grid}) "
                f"SELECT g.participant AS {_q(IDENTITY_COLUMN)}, {shared}"
                f"CAST(coalesce(c._y, 0) AS DOUBLE) AS {outcome}, "
                "make_date(CAST(g._m // 12 AS INTEGER), CAST(g._m % 12 + 1 AS INTEGER), 1) "
                "AS month, g._m - p._inclusion_month AS months_since_inclusion, "
                "CASE WHEN g._m >= p._inclusion_month THEN 1 ELSE 0 END AS post, p.treated, "
                "g._m AS _m "
                "FROM grid AS g JOIN p ON p.participant = g.participant "
                "LEFT JOIN cells AS c ON c.participant = g.participant AND c._m = g._m"
            )
        else:
            own = "".join(f"t.{_q(c.name)}, " for c in declared.columns)
            body = (
                f"WITH p AS ({people}) "
                f"SELECT t.{_q(IDENTITY_COLUMN)}, {own}{shared}"
                f"date_trunc('month', {date})::DATE AS month, "
                f"{_month_sql(date)} - p._inclusion_month AS months_since_inclusion, "
                f"CASE WHEN {date} > p._inclusion THEN 1 ELSE 0 END AS post, p.treated, "
                f"{_month_sql(date)} AS _m "
                f"FROM data AS t JOIN p ON p.participant = t.{_q(IDENTITY_COLUMN)} "
                f"WHERE {where}"
            )
        ties = [c.name for c in declared.columns] if spec.per is None else []
        frame = _with_periods(cursor, body, values, spec, periods, ties=ties)
        return _as_floats(frame)
    finally:
        cursor.close()


def _membership_grid(
    spec: EvaluationSpec,
    declared: Table,
    periods: Mapping[str, PeriodDocument],
    until: dt.date | None,
) -> str:
    """Each participant's months from inclusion to leaving (or to the data's last month)."""
    bounds = []
    if until is not None:
        bounds.append(str(month_index(until)))
    if spec.periods:
        bounds.append(str(max(month_index(periods[name].end) for name in spec.periods)))
    else:
        bounds.append("(SELECT max(_m) FROM rows)")
    last = f"least({', '.join(bounds)})"
    return (
        "SELECT participant, unnest(range(lo, hi + 1)) AS _m FROM ("
        f"SELECT participant, _inclusion_month AS lo, "
        f"least(coalesce({_month_sql('_end')}, {last}), {last}) AS hi FROM p)"
    )


def _with_periods(
    cursor: Any,
    body: str,
    values: list[Any],
    spec: EvaluationSpec,
    periods: Mapping[str, PeriodDocument],
    *,
    ties: list[str],
    participant: bool = True,
) -> pa.Table:
    """The body's rows, numbered within ``spec.periods``, in a fixed order: by participant,
    period and month, then by ``ties`` (the bootstrap resamples by position, so the same
    rows must always come in the same order)."""
    first = [f"f.{_q(IDENTITY_COLUMN)}"] if participant else []
    rest = [f"f.{_q(c)}" for c in ties]
    if not spec.periods:
        order = ", ".join([*first, "f._m", *rest])
        sql = f"SELECT f.* EXCLUDE (_m) FROM ({body}) AS f ORDER BY {order}"
        return cursor.sql(sql, params=values or None).to_arrow_table()
    order = ", ".join([*first, "s.period_order", "f._m", *rest])
    sql = (
        f"SELECT f.* EXCLUDE (_m), s.period, CAST(f._m - s.first_month + 1 AS BIGINT) "
        f"AS period_month FROM ({body}) AS f JOIN ({_periods_sql(spec.periods, periods)}) "
        f"AS s ON f._m BETWEEN s.first_month AND s.last_month ORDER BY {order}"
    )
    return cursor.sql(sql, params=values or None).to_arrow_table()


def series_frame(
    name: str,
    tables: TableProvider,
    declaration: DataDeclaration,
    periods: Mapping[str, PeriodDocument],
    in_periods: list[str],
    *,
    cursor: Any = None,
    where: EvaluationSpec | None = None,
) -> pa.Table:
    """A series table with ``month`` (and, within ``in_periods``, ``period`` and
    ``period_month``), ordered by time; two rows of one month in a period are refused."""
    declared = declaration.table(name)
    own = cursor is None
    cursor = cursor or duckdb_cursor()
    try:
        cursor.register("series", tables.table(name))
        date = f"t.{_q(declared.date)}"
        clause, values = _where(where, "t") if where is not None else ("TRUE", [])
        columns = "".join(f"t.{_q(c.name)}, " for c in declared.columns if c.name != "month")
        body = (
            f"SELECT {columns}date_trunc('month', {date})::DATE AS month, "
            f"{_month_sql(date)} AS _m FROM series AS t WHERE {clause}"
        )
        frame = _with_periods(
            cursor,
            body,
            values,
            EvaluationSpec(method="aggregate", data=name, periods=in_periods),
            periods,
            ties=[c.name for c in declared.columns if c.name != "month"],
            participant=False,
        )
        if in_periods:
            keys = list(
                zip(frame["period"].to_pylist(), frame["period_month"].to_pylist(), strict=True)
            )
            if len(set(keys)) != len(keys):
                seen: set[tuple[Any, Any]] = set()
                twice = next(k for k in keys if k in seen or seen.add(k))  # type: ignore[func-returns-value]
                raise DataInvalid(
                    f"{tables.describe(name)}: two values for one month",
                    [
                        Finding(
                            "duplicate-month",
                            f"{name} has two rows for month {twice[1]} of "
                            f"the period {twice[0]}; keep one per month",
                            file=tables.describe(name),
                        )
                    ],
                )
        return _as_floats(frame)
    finally:
        if own:
            cursor.close()
