"""Tables as the services see them: a provider hands out each declared table as Arrow.

The services never open a file or a database: they are given a
:class:`TableProvider`. The CLI's provider reads a folder of CSV or Parquet files
(:mod:`utfall.adapters.files`), the platform's reads the stored rows of a
contract, tests build one from Arrow tables (:class:`ArrowTables`). Every provider
hands out a declared table in its canonical form (:func:`canonical_schema`): the
participant's pseudonym first (``participant``) for a participant's table, then
the declared columns in order, typed exactly — money and decimals as Arrow
decimals, never floats.

:func:`conform` brings any Arrow table to that form and reports every cell that
does not fit with its row and column; :func:`table_digest` is the SHA-256 of a
table's canonical CSV (rows sorted), the same for the same rows whichever
provider holds them, which is what a settlement's explanation and its bundle
record; :func:`as_of` keeps what was known on a day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from utfall.core.contracts.data import (
    IDENTITY_COLUMN,
    CellError,
    Column,
    DataDeclaration,
    Table,
    convert_cell,
)
from utfall.errors import DataInvalid, Finding

__all__ = [
    "ArrowTables",
    "TableMissing",
    "TableProvider",
    "arrow_type",
    "as_of",
    "canonical_csv",
    "canonical_schema",
    "conform",
    "table_digest",
]

MAX_FINDINGS = 200


class TableMissing(DataInvalid):
    """The provider holds no rows for a table an evaluation reads."""


class TableProvider(Protocol):
    """Hands out tables by name."""

    def table(self, name: str) -> pa.Table:
        """The table called ``name``; :class:`TableMissing` if there is none."""
        ...

    def describe(self, name: str) -> str:
        """Where the rows of ``name`` come from, for messages and explanations."""
        ...


@dataclass
class ArrowTables:
    """A provider over Arrow tables in memory; ``origin`` names where they came from."""

    tables: Mapping[str, pa.Table]
    origin: str = "the given tables"
    _digests: dict[str, str] = field(default_factory=dict, repr=False)

    def table(self, name: str) -> pa.Table:
        try:
            return self.tables[name]
        except KeyError:
            raise TableMissing(
                f"no table {name!r} in {self.origin}",
                [Finding("table-missing", f"{self.origin} hold no table {name!r}")],
            ) from None

    def describe(self, name: str) -> str:
        return f"{name} ({self.origin})"

    def digest(self, name: str) -> str:
        """The table's digest, computed once."""
        if name not in self._digests:
            self._digests[name] = table_digest(self.table(name))
        return self._digests[name]


def arrow_type(column: Column) -> pa.DataType:
    """The Arrow type a declared column's values have."""
    kind = column.type
    if kind == "date":
        return pa.date32()
    if kind == "integer":
        return pa.int64()
    if kind in ("decimal", "money"):
        return pa.decimal128(18, column.places)
    if kind == "boolean":
        return pa.bool_()
    return pa.string()


def canonical_schema(table: Table) -> pa.Schema:
    """The canonical schema of a declared table (the pseudonym first, if it has one)."""
    fields = (
        [pa.field(IDENTITY_COLUMN, pa.string(), nullable=False)] if (table.per_participant) else []
    )
    fields += [pa.field(c.name, arrow_type(c), nullable=not c.required) for c in table.columns]
    return pa.schema(fields)


def _cell_text(value: Any) -> Any:
    return value.as_py() if hasattr(value, "as_py") else value


def _bad_cells(
    values: pa.ChunkedArray | pa.Array, column: Column, where: str, row_offset: int
) -> list[Finding]:
    """Every cell of ``values`` the column refuses, with its row (the slow path)."""
    findings = []
    for index, value in enumerate(values.to_pylist()):
        try:
            convert_cell(column, value, decimal_comma=False)
        except CellError as error:
            findings.append(
                Finding(
                    code=f"invalid-{column.type}",
                    message=str(error),
                    file=where,
                    row=index + row_offset,
                    field_name=column.name,
                )
            )
            if len(findings) >= MAX_FINDINGS:
                break
    return findings


def _converted(values: pa.ChunkedArray, column: Column) -> pa.Array:
    """The values converted cell by cell (after a failed vectorised cast)."""
    out = [convert_cell(column, v, decimal_comma=False) for v in values.to_pylist()]
    return pa.array(out, arrow_type(column))


def _cast(values: pa.ChunkedArray, column: Column) -> pa.ChunkedArray | pa.Array:
    target = arrow_type(column)
    if values.type == target:
        return values
    if column.type == "date" and (
        pa.types.is_timestamp(values.type) or pa.types.is_date64(values.type)
    ):
        return pc.cast(values, target)
    if column.type in ("decimal", "money") and pa.types.is_floating(values.type):
        # A float file column: its shortest repr is the number written (as a spreadsheet's).
        return pa.array(
            [
                None if v is None else convert_cell(column, v, decimal_comma=False)
                for v in values.to_pylist()
            ],
            target,
        )
    return pc.cast(values, target)


def conform(data: pa.Table, declared: Table, *, where: str, row_offset: int = 2) -> pa.Table:
    """``data`` as the declared table: its columns checked, converted and in order.

    Missing required columns, unknown columns, cells that do not convert, values
    outside the bounds or choices and empty required cells are reported together
    as one :class:`DataInvalid`, each with ``where`` (a file) and its row
    (``row_offset`` is the row number of the first data row: 2 under a CSV header).
    """
    findings: list[Finding] = []
    names = set(data.column_names)
    wanted = (
        (IDENTITY_COLUMN, *declared.column_names)
        if declared.per_participant
        else (declared.column_names)
    )
    for name in sorted(names - set(wanted)):
        findings.append(
            Finding(
                "unknown-column",
                f"{declared.name} declares no column {name!r} (it has: {', '.join(wanted)})",
                file=where,
                field_name=name,
            )
        )
    arrays: list[Any] = []
    schema = canonical_schema(declared)
    for schema_field in schema:
        name = schema_field.name
        if name not in names:
            column = declared.column(name) if name != IDENTITY_COLUMN else None
            if column is None or column.required:
                findings.append(
                    Finding(
                        "missing-column",
                        f"the required column {name!r} is missing",
                        file=where,
                        row=row_offset - 1,
                        field_name=name,
                    )
                )
                continue
            arrays.append(pa.array([column.default] * data.num_rows, schema_field.type))
            continue
        values = data.column(name)
        if name == IDENTITY_COLUMN:
            values = pc.cast(values, pa.string())
            empty = pc.or_(pc.is_null(values), pc.equal(pc.utf8_trim_whitespace(values), ""))
            if pc.any(empty).as_py():
                rows = pc.indices_nonzero(empty).to_pylist()[:MAX_FINDINGS]
                findings += [
                    Finding(
                        "missing-participant",
                        "the row names no participant",
                        file=where,
                        row=r + row_offset,
                        field_name=name,
                    )
                    for r in rows
                ]
            arrays.append(values)
            continue
        column = declared.column(name)
        try:
            converted = _cast(values, column)
            converted = _checked(converted, column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, CellError, ValueError):
            bad = _bad_cells(values, column, where, row_offset)
            if bad:
                findings += bad
                continue
            converted = _converted(values, column)
        if not column.required and column.default is not None:
            converted = pc.fill_null(converted, pa.scalar(column.default, schema_field.type))
        elif column.required and converted.null_count:
            rows = pc.indices_nonzero(pc.is_null(converted)).to_pylist()[:MAX_FINDINGS]
            findings += [
                Finding(
                    "invalid-empty",
                    "the cell is empty",
                    file=where,
                    row=r + row_offset,
                    field_name=name,
                )
                for r in rows
            ]
            continue
        arrays.append(converted)
    if findings:
        raise DataInvalid(
            f"{where}: {len(findings)} problem(s) in the table {declared.name}", findings
        )
    return pa.Table.from_arrays(arrays, schema=schema)


def _checked(values: Any, column: Column) -> Any:
    """Bounds and choices checked vectorised; a ValueError sends the caller to the slow path
    that names every bad cell."""
    present = pc.drop_null(values)
    if column.type in ("choice", "reference"):
        allowed = pa.array(column.choice_values, pa.string())
        if len(present) and not pc.all(pc.is_in(present, value_set=allowed)).as_py():
            raise ValueError("a value outside the choices")
    if column.type in ("integer", "decimal", "money") and len(present):
        if column.minimum is not None and pc.min(present).as_py() < column.minimum:
            raise ValueError("below the minimum")
        if column.maximum is not None and pc.max(present).as_py() > column.maximum:
            raise ValueError("above the maximum")
    if column.type == "text" and len(present) and pc.max(pc.utf8_length(present)).as_py() > 100:
        raise ValueError("too long")
    return values


def canonical_csv(table: pa.Table) -> bytes:
    """The table as canonical CSV: its columns in order, its rows sorted by every column,
    dates ISO, decimals with their places, booleans true/false, empty for no value."""
    if table.num_rows:
        table = table.sort_by([(name, "ascending") for name in table.column_names])
    text = pa.Table.from_arrays(
        [pc.cast(column, pa.string()) for column in table.columns], names=table.column_names
    )
    out = io.BytesIO()
    pacsv.write_csv(text, out, write_options=pacsv.WriteOptions(quoting_style="needed"))
    return out.getvalue()


def table_digest(table: pa.Table) -> str:
    """SHA-256 of :func:`canonical_csv` of the table."""
    return hashlib.sha256(canonical_csv(table)).hexdigest()


def as_of(
    tables: TableProvider, declaration: DataDeclaration, until: dt.date, names: Iterable[str]
) -> ArrowTables:
    """The named tables as they were on ``until``: rows dated after it are left out, and a
    participant's end date after it is not known yet."""
    out: dict[str, pa.Table] = {}
    unchanged: dict[str, str] = {}
    day = pa.scalar(until, pa.date32())
    for name in names:
        declared = declaration.table(name)
        whole = tables.table(name)
        table = whole.filter(pc.less_equal(whole.column(declared.date), day))
        if table.num_rows == whole.num_rows:
            table = whole  # a filter only leaves rows out: none was
        if declared.is_participants and declared.end is not None:
            end = table.column(declared.end)
            later = pc.greater(end, day)
            if pc.any(later).as_py():
                table = table.set_column(
                    table.schema.get_field_index(declared.end),
                    declared.end,
                    pc.if_else(later, pa.scalar(None, end.type), end),
                )
        digest = getattr(tables, "digest", None)
        if table is whole and digest is not None:
            # Nothing was left out: the provider's digest (kept per data state) holds.
            unchanged[name] = str(digest(name))
        out[name] = table
    provider = ArrowTables(out, origin=f"the data as of {until.isoformat()}")
    provider._digests.update(unchanged)
    return provider
