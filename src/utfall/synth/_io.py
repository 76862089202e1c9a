"""Chunked, atomic table writing for the synthetic-data generators.

A generator hands over one Arrow record batch at a time; :class:`TableWriter`
appends it to a Parquet file (one row group per batch) and, when asked, to a CSV
file. Files are written under a temporary name and moved into place only when the
table is complete, so an interrupted run never leaves a half-written table that
looks finished.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = [
    "NullProgress",
    "ProgressReporter",
    "TableInfo",
    "TableWriter",
    "open_table",
    "write_csv",
    "write_manifest",
]


class ProgressReporter(Protocol):
    """Receives progress of a generator run (the CLI shows it as a Rich bar)."""

    def start(self, description: str, total: int) -> None:
        """A new task of ``total`` rows begins."""

    def advance(self, rows: int) -> None:
        """``rows`` more rows of the current task are written."""


class NullProgress:
    """A reporter that reports nothing."""

    def start(self, description: str, total: int) -> None:
        """Ignore the start of a task."""

    def advance(self, rows: int) -> None:
        """Ignore progress."""


@dataclass
class TableInfo:
    """What was written for one table (goes into ``manifest.json``)."""

    name: str
    file: str
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    csv_file: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {"file": self.file, "rows": self.rows, "columns": self.columns}
        if self.csv_file is not None:
            out["csv_file"] = self.csv_file
        return out


def _csv_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Dictionary columns as plain strings: the CSV writer cannot write dictionaries."""
    columns = []
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


class TableWriter:
    """Appends record batches of one schema to ``<name>.parquet`` (and ``.csv``)."""

    def __init__(self, out: Path, name: str, schema: pa.Schema, *, csv: bool = False):
        self.info = TableInfo(name=name, file=f"{name}.parquet", columns=list(schema.names))
        self._schema = schema
        self._final = out / self.info.file
        self._partial = out / f".{self.info.file}.partial"
        self._parquet = pq.ParquetWriter(
            self._partial, schema, compression="zstd", write_statistics=True
        )
        self._csv: pacsv.CSVWriter | None = None
        self._csv_final: Path | None = None
        self._csv_partial: Path | None = None
        if csv:
            self.info.csv_file = f"{name}.csv"
            self._csv_final = out / self.info.csv_file
            self._csv_partial = out / f".{self.info.csv_file}.partial"

    def write(self, batch: pa.RecordBatch) -> None:
        """Append one batch (one Parquet row group)."""
        if batch.schema != self._schema:
            batch = batch.cast(self._schema)
        self._parquet.write_batch(batch)
        if self._csv_partial is not None:
            plain = _csv_ready(batch)
            if self._csv is None:
                self._csv = pacsv.CSVWriter(self._csv_partial, plain.schema)
            self._csv.write_batch(plain)
        self.info.rows += batch.num_rows

    def close(self) -> None:
        """Finish the files and move them into place."""
        self._parquet.close()
        os.replace(self._partial, self._final)
        if self._csv_partial is not None and self._csv_final is not None:
            if self._csv is None:
                # An empty table still gets its header line.
                empty = _csv_ready(pa.RecordBatch.from_pylist([], schema=self._schema))
                self._csv = pacsv.CSVWriter(self._csv_partial, empty.schema)
            self._csv.close()
            os.replace(self._csv_partial, self._csv_final)

    def abort(self) -> None:
        """Drop the partial files after a failure."""
        try:
            self._parquet.close()
        finally:
            if self._csv is not None:
                self._csv.close()
            for path in (self._partial, self._csv_partial):
                if path is not None and path.exists():
                    path.unlink()


@contextmanager
def open_table(
    out: Path, name: str, schema: pa.Schema, *, csv: bool, tables: list[TableInfo]
) -> Iterator[TableWriter]:
    """A :class:`TableWriter` that is closed on success and cleaned up on failure."""
    writer = TableWriter(out, name, schema, csv=csv)
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise
    writer.close()
    tables.append(writer.info)


def write_csv(out: Path, name: str, table: pa.Table) -> TableInfo:
    """``out/NAME.csv`` of a whole table, moved into place only when it is complete."""
    path = out / f"{name}.csv"
    partial = out / f".{name}.csv.partial"
    try:
        pacsv.write_csv(table, partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return TableInfo(name, path.name, table.num_rows, list(table.column_names))


def write_manifest(out: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest.json`` (sorted keys, so equal runs give equal bytes)."""
    path = out / "manifest.json"
    partial = out / ".manifest.json.partial"
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path
