"""The contract's stored rows as the services see them: a table provider over the database.

Every committed import batch stored its validated rows of one declared table as one
Parquet segment (``imports.TableSegment``), in the canonical form of the table under
the declaration of the contract version it was written under. :class:`StoredTables`
hands each declared table out merged under the *newest* version's declaration
(decision 0206):

* a column renamed since (``renamed_from``, followed through every version in between)
  is read under its new name; a widened type (integer → decimal or money, money →
  decimal, more decimal places) is cast; a column new to the table is filled with its
  default (empty without one);
* the rows of a participant's table and of a series are the segments' rows in the
  order they were committed (the import refuses a key stored twice);
* a participant appears once in the participants table: a later participants file may
  only fill optional columns a participant had empty, so each column's value is the
  first non-empty one in commit order.

Merged tables are cached in process memory per data state (the segments' SHA-256 and
the newest version), so a repeated request costs one small query. :meth:`StoredTables.
state_key` is that state for callers' caches: it changes exactly when the contract's
stored rows or its newest version change.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from utfall.core.contracts.data import (
    IDENTITY_COLUMN,
    DataDeclaration,
    Table,
)
from utfall.errors import Finding, UserError
from utfall.services.tables import TableMissing, arrow_type, canonical_schema, table_digest

__all__ = [
    "BATCH_COLUMN",
    "StoredTables",
    "segment_decode",
    "segment_encode",
    "stored_row_counts",
]

BATCH_COLUMN = "__batch"
"""The column :meth:`StoredTables.with_batches` adds: the import batch a row came from."""
_SEQUENCE = "__sequence"
_CACHE_ENTRIES = 48
_CACHE_BYTES = 1 << 30


def segment_encode(table: pa.Table) -> bytes:
    """A segment's rows as Parquet bytes (zstd; the exact Arrow types are kept)."""
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def segment_decode(data: bytes | memoryview) -> pa.Table:
    """The rows of a stored segment."""
    return pq.read_table(pa.BufferReader(bytes(data)))


@dataclass(frozen=True)
class _Segment:
    pk: int
    table: str
    sha256: str
    version: int
    batch: int


class _Cache:
    """Merged tables by data state, least recently used dropped first (bounded)."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[Any, ...], tuple[pa.Table, dict[str, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[pa.Table, dict[str, str]] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], table: pa.Table) -> tuple[pa.Table, dict[str, str]]:
        with self._lock:
            entry = self._items.setdefault(key, (table, {}))
            self._items.move_to_end(key)
            while len(self._items) > _CACHE_ENTRIES or (
                len(self._items) > 1
                and sum(t.nbytes for t, _ in self._items.values()) > _CACHE_BYTES
            ):
                self._items.popitem(last=False)
            return entry

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = _Cache()


def _declarations(versions: Sequence[Any]) -> list[DataDeclaration]:
    from utfall.platform.contracts.selectors import parsed_version

    return [parsed_version(version).data for version in versions]


def _forward(
    data: pa.Table, name: str, written: int, declarations: Sequence[DataDeclaration]
) -> pa.Table:
    """A segment written under declaration ``written`` as the newest declaration reads it."""
    names = list(data.column_names)
    for declaration in declarations[written + 1 :]:
        try:
            table = declaration.table(name)
        except KeyError:
            continue
        for column in table.columns:
            if column.renamed_from and column.renamed_from in names and column.name not in names:
                names[names.index(column.renamed_from)] = column.name
    data = data.rename_columns(names)
    newest = declarations[-1].table(name)
    schema = canonical_schema(newest)
    arrays = []
    for field in schema:
        if field.name in data.column_names:
            values = data.column(field.name)
            if values.type != field.type:
                if pa.types.is_integer(values.type) and pa.types.is_decimal(field.type):
                    # Arrow wants room for any int64 first; the values are checked on the
                    # way down to the declared precision.
                    values = pc.cast(values, pa.decimal128(38, field.type.scale))
                values = pc.cast(values, field.type)
            arrays.append(values)
            continue
        column = newest.column(field.name)
        filler = pa.nulls(data.num_rows, arrow_type(column))
        if column.default is not None:
            filler = pc.fill_null(filler, pa.scalar(column.default, arrow_type(column)))
        arrays.append(filler)
    return pa.Table.from_arrays(arrays, schema=schema)


def _merge_participants(stacked: pa.Table) -> pa.Table:
    """One row per participant: each column's first non-empty value in commit order."""
    if pc.count_distinct(stacked.column(IDENTITY_COLUMN)).as_py() == stacked.num_rows:
        return stacked
    from utfall.analytics import duckdb_cursor

    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    picks = ", ".join(
        f"first({quoted(c)} ORDER BY {_SEQUENCE}) FILTER (WHERE {quoted(c)} IS NOT NULL) "
        f"AS {quoted(c)}"
        for c in stacked.column_names
        if c not in (IDENTITY_COLUMN, _SEQUENCE)
    )
    cursor = duckdb_cursor()
    try:
        cursor.register("stacked", stacked)
        merged = cursor.sql(
            f"SELECT {IDENTITY_COLUMN}, {picks}, min({_SEQUENCE}) AS {_SEQUENCE} "
            f"FROM stacked GROUP BY {IDENTITY_COLUMN} ORDER BY {_SEQUENCE}"
        ).to_arrow_table()
    finally:
        cursor.close()
    return pa.Table.from_arrays(
        [pc.cast(merged.column(f.name), f.type) for f in stacked.schema], schema=stacked.schema
    )


class StoredTables:
    """The declared tables of ``contract`` as stored by its committed imports.

    One instance reads one snapshot: the segments present when it first looks.
    :class:`~utfall.services.tables.TableMissing` says a table has no stored rows yet.
    """

    def __init__(self, contract: Any):
        self.contract = contract
        self._segments: list[_Segment] | None = None
        self._versions: list[Any] | None = None
        self._declarations: list[DataDeclaration] | None = None

    # --- the state -------------------------------------------------------------------

    def _load_state(self) -> None:
        if self._segments is not None:
            return
        from utfall.platform.contracts.models import ContractVersion
        from utfall.platform.imports.models import TableSegment

        self._versions = list(
            ContractVersion.objects.filter(contract=self.contract)
            .order_by("number")
            .only("pk", "number", "sha256", "text", "contract")
            .select_related("contract")
        )
        if not self._versions:
            raise UserError(f"the contract {self.contract.identifier} has no version")
        self._segments = [
            _Segment(pk, table, sha256, version, batch)
            for pk, table, sha256, version, batch in TableSegment.objects.filter(
                contract=self.contract
            )
            .order_by("pk")
            .values_list("pk", "table", "sha256", "version_id", "batch_id")
        ]

    @property
    def declaration(self) -> DataDeclaration:
        """The newest version's data declaration (the one every table is read under)."""
        return self._all_declarations()[-1]

    def _all_declarations(self) -> list[DataDeclaration]:
        self._load_state()
        if self._declarations is None:
            assert self._versions is not None
            self._declarations = _declarations(self._versions)
        return self._declarations

    def _of(self, name: str) -> list[_Segment]:
        self._load_state()
        assert self._segments is not None
        return [segment for segment in self._segments if segment.table == name]

    def state_key(self) -> str:
        """A short text that changes exactly when the stored rows or the newest version do."""
        self._load_state()
        assert self._segments is not None and self._versions is not None
        digest = hashlib.sha256(f"{self.contract.pk}:{self._versions[-1].sha256}".encode())
        for segment in self._segments:
            digest.update(f"|{segment.pk}:{segment.table}:{segment.sha256}".encode())
        return digest.hexdigest()

    def _table_key(self, name: str) -> tuple[Any, ...]:
        assert self._versions is not None
        return (
            self.contract.pk,
            name,
            self._versions[-1].sha256,
            tuple((s.pk, s.sha256) for s in self._of(name)),
        )

    # --- reading ---------------------------------------------------------------------

    def _declared(self, name: str) -> Table:
        try:
            return self.declaration.table(name)
        except KeyError as error:
            raise TableMissing(
                f"{self.contract.identifier}: {error.args[0]}",
                [Finding("table-undeclared", str(error.args[0]))],
            ) from None

    def _missing(self, declared: Table) -> TableMissing:
        message = (
            f"no imported data for the table {declared.name} ({declared.label.en}) of "
            f"{self.contract.identifier}: import it first"
        )
        return TableMissing(message, [Finding("table-missing", message, path=declared.name)])

    def _merged(self, name: str) -> tuple[pa.Table, dict[str, str]]:
        declared = self._declared(name)
        segments = self._of(name)
        if not segments:
            raise self._missing(declared)
        key = self._table_key(name)
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        from utfall.platform.imports.models import TableSegment

        assert self._versions is not None
        position = {version.pk: index for index, version in enumerate(self._versions)}
        declarations = self._all_declarations()
        blobs = dict(
            TableSegment.objects.filter(pk__in=[s.pk for s in segments]).values_list("pk", "data")
        )
        parts = []
        offset = 0
        for segment in segments:
            data = _forward(
                segment_decode(blobs[segment.pk]), name, position[segment.version], declarations
            )
            rows = data.num_rows
            data = data.append_column(
                BATCH_COLUMN, pa.array(np.full(rows, segment.batch, dtype=np.int64))
            ).append_column(_SEQUENCE, pa.array(np.arange(offset, offset + rows, dtype=np.int64)))
            offset += rows
            parts.append(data)
        stacked = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        if declared.is_participants and len(parts) > 1:
            # One file holds each participant once (the import refuses a second row).
            stacked = _merge_participants(stacked)
        stacked = stacked.drop_columns([_SEQUENCE])
        return _CACHE.put(key, stacked.combine_chunks())

    def with_batches(self, name: str) -> pa.Table:
        """The merged table with the import batch of each row (:data:`BATCH_COLUMN`)."""
        return self._merged(name)[0]

    def table(self, name: str) -> pa.Table:
        """The stored rows of the declared table ``name``, merged (TableMissing if none)."""
        merged, _digests = self._merged(name)
        return merged.drop_columns([BATCH_COLUMN])

    def has(self, name: str) -> bool:
        """Whether the table has stored rows."""
        return bool(self._of(name))

    def describe(self, name: str) -> str:
        count = len(self._of(name))
        return f"{name} (imported into {self.contract.identifier}, {count} import(s))"

    def digest(self, name: str) -> str:
        """SHA-256 of the merged table's canonical CSV (computed once per data state)."""
        merged, digests = self._merged(name)
        if "table" not in digests:
            segments = self._of(name)
            assert self._versions is not None
            if len(segments) == 1 and segments[0].version == self._versions[-1].pk:
                # One segment written under the newest declaration: the merged table is
                # its rows, whose digest was stored with it (rows are sorted for a digest).
                digests["table"] = segments[0].sha256
            else:
                digests["table"] = table_digest(merged.drop_columns([BATCH_COLUMN]))
        return digests["table"]

    def names(self) -> Iterator[str]:
        """The declared tables that have stored rows, in declared order."""
        for table in self.declaration:
            if self._of(table.name):
                yield table.name


def stored_row_counts(contract: Any) -> Mapping[str, int]:
    """Stored rows per table (rows that added a key; fills of known participants not
    counted), from the segments' counts: no rows are read."""
    from django.db.models import Sum

    from utfall.platform.imports.models import TableSegment

    return {
        table: int(total or 0)
        for table, total in TableSegment.objects.filter(contract=contract)
        .values("table")
        .annotate(total=Sum("new_rows"))
        .values_list("table", "total")
    }
