"""Files in, parsed objects out: what the CLI hands the services.

* :func:`read_text` — a text file, with an error a person can act on;
* :func:`contract_read` and :func:`facts_read` — a contract, its facts;
* :class:`DirectoryTables` — a folder with one CSV or Parquet file per declared table
  (``participants.csv``, ``events.parquet`` …), each checked against the declaration
  and handed out in canonical form;
* :func:`spec_read` — a stand-alone evaluation spec, with :class:`FileTables` over the
  data file it names (and its auxiliary tables), relative to the spec file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from utfall.core.contracts import Contract, parse_contract
from utfall.core.contracts.data import IDENTITY_COLUMN, DataDeclaration
from utfall.core.contracts.evaluations import AUXILIARY_OPTIONS
from utfall.core.contracts.yamlio import read_yaml
from utfall.core.evaluation.spec import EvaluationSpec, spec_validate
from utfall.errors import DataInvalid, Finding, SpecInvalid, UserError
from utfall.services.contracts import Facts, facts_parse
from utfall.services.tables import TableMissing, conform, table_digest

__all__ = [
    "DATA_SUFFIXES",
    "DirectoryTables",
    "FileTables",
    "contract_read",
    "evaluate_file",
    "facts_read",
    "read_arrow",
    "read_text",
    "spec_read",
]

DATA_SUFFIXES = (".parquet", ".csv")


def read_text(path: Path | str, *, what: str) -> str:
    """The UTF-8 text of ``path``; a missing, unreadable or non-UTF-8 file is a UserError."""
    file = Path(path)
    if not file.exists():
        raise UserError(f"{file}: no such {what} file")
    if file.is_dir():
        raise UserError(f"{file}: is a directory, not a {what} file")
    try:
        data = file.read_bytes()
    except OSError as error:
        raise UserError(f"{file}: cannot read the {what} file: {error.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(
            f"{file}: the {what} file is not UTF-8 text (byte {error.start} cannot be decoded)"
        ) from None


def contract_read(path: Path | str) -> Contract:
    """Read and compile the contract in ``path`` (ContractInvalid lists every problem)."""
    return parse_contract(read_text(path, what="contract"), source=str(path))


def facts_read(path: Path | str) -> Facts:
    """Read facts (YAML or JSON: input name → value, lists for series), exactly."""
    return facts_parse(
        read_text(path, what="facts"),
        source=str(path),
        json_text=Path(path).suffix.lower() == ".json",
    )


def read_arrow(path: Path, *, as_text: bool = False) -> pa.Table:
    """A CSV or Parquet file as Arrow (read by DuckDB); ``as_text`` keeps every CSV cell as
    text, for a declaration to type."""
    import duckdb

    from utfall.analytics import duckdb_cursor

    suffix = path.suffix.lower()
    cursor = duckdb_cursor()
    try:
        if suffix in {".parquet", ".pq"}:
            relation = cursor.read_parquet(str(path))
        elif suffix in {".csv", ".tsv", ".txt"}:
            relation = (
                cursor.read_csv(str(path), all_varchar=as_text)
                if as_text
                else (cursor.read_csv(str(path)))
            )
        else:
            raise SpecInvalid(f"data: {path} is neither a .csv nor a .parquet file")
        return relation.to_arrow_table()
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        raise DataInvalid(
            f"{path}: cannot be read as a table",
            [Finding(code="unreadable", message=first, file=str(path))],
        ) from None
    finally:
        cursor.close()


@dataclass
class DirectoryTables:
    """The declared tables of a contract, read from ``directory`` by name
    (``NAME.parquet`` or ``NAME.csv``), each conformed to its declaration once."""

    directory: Path
    declaration: DataDeclaration
    _tables: dict[str, pa.Table] = field(default_factory=dict, repr=False)
    _digests: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.directory.is_dir():
            raise UserError(f"{self.directory}: no such data directory")

    def path(self, name: str) -> Path:
        """The file holding table ``name``; TableMissing lists the files looked for."""
        for suffix in DATA_SUFFIXES:
            candidate = self.directory / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
        looked = " or ".join(f"{name}{s}" for s in DATA_SUFFIXES)
        raise TableMissing(
            f"{self.directory}: no {looked} for the table {name}",
            [
                Finding(
                    "table-missing", f"put the table {name} in {looked}", file=str(self.directory)
                )
            ],
        )

    def table(self, name: str) -> pa.Table:
        if name not in self._tables:
            path = self.path(name)
            raw = read_arrow(path, as_text=path.suffix.lower() == ".csv")
            declared = self.declaration.table(name)
            if declared.per_participant and IDENTITY_COLUMN not in raw.column_names:
                for alias in ("reference", "pseudonym"):
                    if alias in raw.column_names:
                        raw = raw.rename_columns(
                            [IDENTITY_COLUMN if c == alias else c for c in raw.column_names]
                        )
                        break
            self._tables[name] = conform(
                raw, declared, where=str(path), row_offset=2 if path.suffix == ".csv" else 1
            )
        return self._tables[name]

    def describe(self, name: str) -> str:
        return str(self.path(name))

    def digest(self, name: str) -> str:
        if name not in self._digests:
            self._digests[name] = table_digest(self.table(name))
        return self._digests[name]


@dataclass
class FileTables:
    """Tables of a stand-alone spec: name (the path the spec gives) → file."""

    files: Mapping[str, Path]

    def _file(self, name: str) -> Path:
        try:
            return self.files[name]
        except KeyError:
            raise TableMissing(f"no file for {name!r}", [Finding("table-missing", name)]) from None

    def table(self, name: str) -> pa.Table:
        return read_arrow(self._file(name))

    def describe(self, name: str) -> str:
        return str(self._file(name))

    def ibis_table(self, connection: Any, name: str) -> Any:
        """A lazy Ibis table over the file (it may be far larger than memory)."""
        from utfall.analytics import read_table

        return read_table(connection, self._file(name))


def spec_read(path: Path | str) -> tuple[EvaluationSpec, FileTables]:
    """A stand-alone spec file: the spec and the files it reads (``data`` and the tables its
    options name, relative to the spec file). SpecInvalid names the file, line and key."""
    spec_path = Path(path)
    text = read_text(spec_path, what="evaluation spec")
    try:
        document = read_yaml(text, source=str(spec_path), what="the evaluation spec")
    except ValueError as error:
        raise SpecInvalid(str(error.args[0])) from None
    raw = document.data
    if not isinstance(raw, dict):
        raise SpecInvalid(f"{spec_path}: an evaluation spec is a mapping of keys (data, method, …)")

    def locate(key: tuple[str, ...]) -> str:
        if len(key) > 1 and key[0] == "options" and key[1] in raw:
            key = key[1:]  # an option written at the top level
        line, _ = document.position(key) if key else (None, None)
        return f"{spec_path}:{line}" if line else str(spec_path)

    lines: dict[str, int] = {}
    for key_path, (line, _column) in document.positions.items():
        if len(key_path) == 1 or (len(key_path) == 2 and key_path[0] == "options"):
            lines.setdefault(str(key_path[-1]), line)
    data = raw.get("data")
    if not isinstance(data, str) or not data:
        raise SpecInvalid(f"{spec_path}: data: give the path of a CSV or Parquet file")
    files: dict[str, Path] = {}

    def resolve(value: str, key: tuple[str, ...]) -> str:
        file = Path(value)
        if not file.is_absolute():
            file = spec_path.resolve().parent / file
        file = file.resolve()
        if not file.exists():
            raise SpecInvalid(f"{locate(key)}: {'.'.join(key)}: {file} does not exist")
        files[str(file)] = file
        return str(file)

    raw = dict(raw)
    raw["data"] = resolve(data, ("data",))
    options = dict(raw.get("options") or {}) if isinstance(raw.get("options"), dict) else None
    for key in AUXILIARY_OPTIONS:
        if options is not None and isinstance(options.get(key), str):
            options[key] = resolve(options[key], ("options", key))
            raw["options"] = options
        elif isinstance(raw.get(key), str):
            raw[key] = resolve(raw[key], (key,))
    spec = spec_validate(raw, source=str(spec_path), locate=locate, lines=lines)
    return spec, FileTables(files)


def evaluate_file(path: Path | str) -> Any:
    """Read the stand-alone spec at ``path`` and run it on the files it names."""
    from utfall.services.evaluation import evaluate

    spec, tables = spec_read(path)
    return evaluate(spec, tables)
