"""Writes for data imports: upload, column mapping, validation and the all-or-nothing commit.

An import brings rows of one table the contract declares (``data:``). The flow is
upload → mapping → (preview) → validation → commit. Validation and commit run the
same processing over the whole file in two steps:

1. **cells**, row by row: every mapped cell is converted by its declared column
   (``core.contracts.data.convert_cell``: ISO and Swedish forms, bounds, choices); a
   personal identity number is validated and replaced by its keyed pseudonym (never
   stored), a reference code likewise; the participants' inclusion and end dates are
   checked against each other;
2. **rows**, vectorised (DuckDB over Arrow) against the file itself and the stored
   rows: a key given twice in the file is a duplicate; a row of a participant's table
   must name a known participant; a row whose key is stored already is *unchanged* if
   it is identical and refused, naming the earlier import, if it differs; a participants
   row for a known participant may fill optional columns the participant has empty, any
   other difference is refused by row and column.

The commit does both inside one transaction (the contract row locked, so two commits
cannot both add a key) and writes the new rows as one Parquet segment of the table
(``TableSegment``), with the batch's status, the audit row and the ledger entry: all or
nothing. Files with more than ``UTFALL_IMPORT_BACKGROUND_ROWS`` rows are processed by a
background task (django-tasks) that reports progress through the cache.

The uploaded file itself is kept only while the import can still go on (decision 0620):
it is deleted when the import is committed, when the upload, the validation or the
commit refuses the file, and by ``manage.py imports_purge`` once it is older than
``UTFALL_IMPORT_KEEP_HOURS``. Every cell outside the identity column is scanned for a
personnummer or samordningsnummer (``imports.scan``); one refuses the file, naming the
row and column. The first rows as they will be imported are stored on the batch
(``ImportBatch.preview``, pseudonyms and masks only), so the import page never reads
the file again. An import whose process died (``kill -9``) is failed, and may be
started again, when its page is next viewed, when the worker takes its next task and
by ``manage.py imports_recover`` (decision 0622).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from utfall.core.contracts import Contract as CoreContract
from utfall.core.contracts.data import (
    IDENTITY_COLUMN,
    CellError,
    Column,
    Table,
    convert_cell,
)
from utfall.errors import DataInvalid, Finding
from utfall.platform.audit.services import audit_record
from utfall.platform.contracts.models import Contract, ContractVersion
from utfall.platform.imports.columns import (
    ImportColumn,
    import_columns,
    mapping_findings,
    propose_mapping,
)
from utfall.platform.imports.models import BatchStatus, ImportBatch, Operation, TableSegment
from utfall.platform.imports.readers import ENCODINGS, open_table
from utfall.platform.imports.readers import Table as FileTable
from utfall.platform.imports.scan import find_identity_number, mask_identity_numbers
from utfall.platform.messages import (
    EXAMPLES_PER_GROUP,
    ImportFinding,
    group_key,
    mask_identity_value,
)
from utfall.platform.permissions import require_import
from utfall.platform.pseudonyms import (
    InvalidIdentityNumber,
    load_key,
    pseudonym_for_personnummer,
    pseudonym_for_reference,
)
from utfall.platform.settlements.ledger import LedgerBroken, ledger_import
from utfall.platform.tables import BATCH_COLUMN, StoredTables, segment_encode
from utfall.services.tables import TableMissing, canonical_schema, table_digest

__all__ = [
    "MAX_STORED_FINDINGS",
    "PREVIEW_ROWS",
    "ImportTarget",
    "Processed",
    "finding_groups",
    "import_commit",
    "import_file",
    "import_files_purge",
    "import_preview_build",
    "import_recover_stale",
    "import_run",
    "import_set_mapping",
    "import_target",
    "import_upload",
    "import_validate",
    "process_batch",
    "progress_key",
]

logger = logging.getLogger(__name__)
# Every problem is kept up to this many (the download lists them); beyond it they are
# still counted, by kind (decision 0830).
MAX_STORED_FINDINGS = 100_000
PREVIEW_ROWS = 20
_ROW = "__row"
_GIVEN = "__given_"
_PERSON_REASONS = {
    "is not text": "person-not-text",
    "must be written YYYYMMDD-NNNN or YYMMDD-NNNN": "person-format",
    "the check digit is wrong": "person-check-digit",
    "the date of birth is not a valid date": "person-birth-date",
    "the participant reference is empty": "reference-empty",
}


def finding_groups(
    findings: list[dict[str, Any]], count: int | None = None
) -> list[dict[str, Any]]:
    """The stored findings grouped by reason and column: each group's count and its first
    ``EXAMPLES_PER_GROUP`` findings, the largest group first."""
    groups: dict[str, dict[str, Any]] = {}
    for finding in findings:
        _group_add(groups, finding)
    return _groups_sorted(groups)


def _group_add(groups: dict[str, dict[str, Any]], finding: dict[str, Any]) -> None:
    key = group_key(finding)
    group = groups.get(key)
    if group is None:
        group = groups[key] = {
            "key": key,
            "code": finding.get("code"),
            "reason": finding.get("reason") or finding.get("code"),
            "field": finding.get("field"),
            "count": 0,
            "examples": [],
        }
    group["count"] += 1
    if len(group["examples"]) < EXAMPLES_PER_GROUP:
        group["examples"].append(finding)


def _groups_sorted(groups: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["key"]))
    for group in ordered:
        group["examples"].sort(key=lambda f: (f.get("row") or 0, f.get("field") or ""))
    return ordered


def progress_key(batch_id: int) -> str:
    """The cache key of a batch's progress."""
    return f"utfall:import-progress:{batch_id}"


# --- what is imported ------------------------------------------------------------------


@dataclass(frozen=True)
class ImportTarget:
    """A declared table of a contract's newest version, as an import takes it."""

    contract: Contract
    version: ContractVersion
    document: CoreContract
    table: Table
    columns: list[ImportColumn]

    def column(self, name: str) -> ImportColumn:
        return next(column for column in self.columns if column.name == name)


def import_target(contract: Contract, table: str) -> ImportTarget:
    """The declared table ``table`` of the contract's newest version; DataInvalid names the
    tables there are when it declares no such table."""
    from utfall.platform.contracts.selectors import latest_version, parsed_version

    version = latest_version(contract)
    if version is None:
        raise DataInvalid("the contract has no version", [Finding("no-version", "upload one")])
    document = parsed_version(version)
    try:
        declared = document.data.table(table)
    except KeyError:
        names = ", ".join(document.data.names) or "none"
        message = f"the contract declares no table {table!r} (its tables: {names})"
        raise DataInvalid(
            message, [Finding(code="unknown-table", message=message, field_name=table)]
        ) from None
    return ImportTarget(
        contract, version, document, declared, import_columns(document.data, declared)
    )


def _store_upload(contract: Contract, uploaded: Any) -> tuple[Path, str, int]:
    folder = Path(settings.MEDIA_ROOT) / "imports" / str(contract.pk)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    temporary = folder / f".upload-{timezone.now().timestamp():.6f}"
    with temporary.open("wb") as out:
        for chunk in uploaded.chunks():
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    suffix = Path(uploaded.name).suffix.lower()[:8]
    # One file per upload: two pending uploads of the same bytes must not share a file
    # that the first one's commit deletes.
    final = folder / f"{digest.hexdigest()}-{secrets.token_hex(4)}{suffix}"
    temporary.replace(final)
    return final, digest.hexdigest(), size


def _already_imported(contract: Contract, table: str, sha256: str) -> ImportBatch | None:
    return (
        ImportBatch.objects.filter(
            contract=contract, table=table, file_sha256=sha256, status=BatchStatus.COMMITTED
        )
        .select_related("created_by")
        .first()
    )


def _already_imported_error(batch: ImportBatch, file_name: str) -> DataInvalid:
    when = timezone.localtime(batch.finished_at or batch.created_at).strftime("%Y-%m-%d %H:%M")
    user = batch.created_by.get_username()
    message = (
        f"this file was imported already (import #{batch.pk}, {when}, by "
        f"{user}); it is not imported twice"
    )
    params = {"import": f"#{batch.pk}", "when": when, "user": user}
    return DataInvalid(
        f"{file_name}: {message}",
        [ImportFinding(code="already-imported", message=message, file=file_name, params=params)],
    )


def import_upload(
    *,
    contract: Contract,
    table: str,
    uploaded: Any,
    actor: AbstractBaseUser,
    encoding: str = "utf-8",
) -> ImportBatch:
    """Store an uploaded file for the declared table ``table``, read its header and propose
    a column mapping.

    ``uploaded`` is a Django UploadedFile (``name``, ``size``, ``chunks()``). Raises
    DataInvalid for an undeclared table, a file that is too large, unreadable, empty or
    already imported; nothing is kept then. PermissionDenied unless one of the actor's
    roles in the contract is among the table's declared ``import:`` roles.
    """
    target = import_target(contract, table)
    require_import(actor, contract, target.table)
    file_name = Path(uploaded.name).name
    if encoding not in ENCODINGS:
        raise DataInvalid(
            f"unknown encoding {encoding!r}",
            [Finding(code="unknown-encoding", message=f"choose one of: {', '.join(ENCODINGS)}")],
        )
    limit = int(settings.UTFALL_IMPORT_MAX_BYTES)
    if uploaded.size > limit:
        message = (
            f"the file is {uploaded.size / 1_000_000:.1f} MB; the largest file accepted is "
            f"{limit / 1_000_000:.1f} MB (split it into several files)"
        )
        params = {"size": f"{uploaded.size / 1_000_000:.1f}", "limit": f"{limit / 1_000_000:.1f}"}
        raise DataInvalid(
            f"{file_name}: {message}",
            [ImportFinding(code="file-too-large", message=message, file=file_name, params=params)],
        )
    path, sha256, size = _store_upload(contract, uploaded)
    try:
        return _upload_stored(
            target, actor, path, file_name=file_name, sha256=sha256, size=size, encoding=encoding
        )
    except BaseException:
        # A refused upload keeps nothing on disk.
        path.unlink(missing_ok=True)
        raise


def _upload_stored(
    target: ImportTarget,
    actor: AbstractBaseUser,
    path: Path,
    *,
    file_name: str,
    sha256: str,
    size: int,
    encoding: str,
) -> ImportBatch:
    contract, table = target.contract, target.table.name
    previous = _already_imported(contract, table, sha256)
    if previous is not None:
        raise _already_imported_error(previous, file_name)
    opened = open_table(path, file_name=file_name, encoding=encoding)
    mapping = propose_mapping(target.columns, opened.header)
    complete = not mapping_findings(target.columns, opened.header, mapping, file_name)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            contract=contract,
            table=table,
            file_name=file_name,
            file_path=str(path),
            file_sha256=sha256,
            file_size=size,
            encoding=encoding,
            columns=opened.header,
            mapping=mapping,
            row_count=opened.row_count,
            status=BatchStatus.READY if complete else BatchStatus.MAPPING,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="import.uploaded",
            contract=contract,
            batch=batch.pk,
            table=table,
            file=file_name,
            sha256=sha256,
            rows=opened.row_count,
        )
    if complete:
        _store_preview(batch)
    return batch


def _file_kept(batch: ImportBatch) -> bool:
    return bool(batch.file_path) and Path(batch.file_path).is_file()


def _file_gone_error(batch: ImportBatch) -> DataInvalid:
    message = (
        "the uploaded file is no longer kept (it was imported or refused, or waited longer "
        "than the platform keeps files); upload it again"
    )
    return DataInvalid(
        f"{batch.file_name}: {message}",
        [ImportFinding(code="file-not-kept", message=message, file=batch.file_name, params={})],
    )


def _discard_file(batch: ImportBatch) -> None:
    """Delete the batch's uploaded file (its findings, counts and preview stay)."""
    if batch.file_path:
        Path(batch.file_path).unlink(missing_ok=True)
    ImportBatch.objects.filter(pk=batch.pk).update(file_path="")
    batch.file_path = ""


def import_preview_build(batch: ImportBatch) -> dict[str, Any]:
    """The first ``PREVIEW_ROWS`` rows as they will be imported, in the form stored on the
    batch: persons as the start of their pseudonym, identity numbers in text masked."""
    target = import_target(batch.contract, batch.table)
    processed = process_batch(batch, limit=PREVIEW_ROWS)
    names = list(batch.mapping)
    rows = []
    for number in processed.numbers:
        values = processed.values[number]
        shown: list[Any] = []
        for name in names:
            if target.column(name).identity:
                person = values.get(IDENTITY_COLUMN)
                shown.append(person[:12] + "…" if person else "")
            else:
                shown.append(_preview_cell(values.get(name)))
        rows.append(
            {
                "number": number,
                "cells": shown,
                "problems": [f.as_dict() for f in processed.problems.get(number, [])],
                "unchanged": number in processed.unchanged_rows,
            }
        )
    return {"mapping": dict(batch.mapping), "rows": rows}


def _preview_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return mask_identity_numbers(value)
    if isinstance(value, int | float):
        return value
    return str(value)  # Decimal: exactly as converted


def _store_preview(batch: ImportBatch) -> None:
    try:
        preview = import_preview_build(batch)
    except DataInvalid:
        preview = {}
    ImportBatch.objects.filter(pk=batch.pk).update(preview=preview)
    batch.preview = preview


_EDITABLE = (BatchStatus.MAPPING, BatchStatus.READY, BatchStatus.VALID, BatchStatus.INVALID)


@transaction.atomic
def import_set_mapping(
    *, batch: ImportBatch, mapping: dict[str, str], actor: AbstractBaseUser
) -> ImportBatch:
    """Set the column mapping (target column → file column); raises DataInvalid if incomplete."""
    target = import_target(batch.contract, batch.table)
    require_import(actor, batch.contract, target.table)
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status not in _EDITABLE:
        raise DataInvalid(
            "the mapping cannot change now",
            [Finding(code="wrong-state", message=f"the import is {batch.get_status_display()}")],
        )
    if not _file_kept(batch):
        raise _file_gone_error(batch)
    cleaned = {str(t): str(s) for t, s in mapping.items() if s}
    findings = mapping_findings(target.columns, batch.columns, cleaned, batch.file_name)
    if findings:
        raise DataInvalid(f"{batch.file_name}: the column mapping is incomplete", findings)
    batch.mapping = cleaned
    batch.status = BatchStatus.READY
    batch.findings, batch.finding_count, batch.finding_groups = [], 0, []
    batch.save(update_fields=["mapping", "status", "findings", "finding_count", "finding_groups"])
    audit_record(
        actor=actor,
        action="import.mapped",
        contract=batch.contract,
        batch=batch.pk,
        mapping=cleaned,
    )
    _store_preview(batch)
    return batch


# --- step 1: cells -----------------------------------------------------------------------


def _shown_cell(value: Any) -> str:
    """A cell as a problem quotes it (identity numbers are masked by the finding)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class _Findings:
    """What the converter and the row checker share: a problem of the batch's file."""

    batch: ImportBatch

    def _finding(
        self,
        number: int,
        column: str | None,
        code: str,
        message: str,
        *,
        reason: str | None = None,
        params: dict[str, str] | None = None,
        value: str | None = None,
    ) -> Finding:
        """One problem at its row and column. It may quote the cell: never an identity
        number in it (masked in the message, the parameters and the value)."""
        return ImportFinding(
            code=code,
            message=mask_identity_numbers(message),
            file=self.batch.file_name,
            row=number,
            field_name=column,
            reason=reason,
            params={k: mask_identity_numbers(v) for k, v in (params or {}).items()},
            value=mask_identity_numbers(value)[:200] if value is not None else None,
        )


class _Cells:
    """Converts one column's cells, remembering each distinct cell's result (files repeat
    the same months, categories and people over and over)."""

    LIMIT = 200_000

    def __init__(self, convert: Callable[[Any], Any]):
        self.convert = convert
        self.memo: dict[tuple[type, Any], Any] = {}

    def __call__(self, value: Any) -> Any:
        key = (type(value), value)
        try:
            found = self.memo[key]
        except KeyError:
            try:
                found = self.convert(value)
            except (CellError, InvalidIdentityNumber) as error:
                found = error
            except TypeError:  # an unhashable cell never happens with CSV or calamine
                found = CellError(f"{value!r} cannot be read", "unreadable-cell")
            if len(self.memo) > self.LIMIT:
                self.memo.clear()
            self.memo[key] = found
        if isinstance(found, Exception):
            raise found
        return found


def _person(kind: str, key: bytes) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip() if value is not None else ""
        if kind == "personnummer":
            return pseudonym_for_personnummer(text, key=key)
        return pseudonym_for_reference(text, key=key)

    return convert


@dataclass
class Processed:
    """What the two steps made of a file: the rows to write, what stays unchanged and every
    problem (the first ``MAX_STORED_FINDINGS`` kept, all counted)."""

    rows: pa.Table | None = None  # the rows to write (canonical schema)
    version: ContractVersion | None = None  # whose declaration the rows were read under
    new_rows: int = 0
    unchanged: int = 0
    findings: list[Finding] = field(default_factory=list)
    finding_count: int = 0
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    # For the preview: per file row, its converted values (identity as pseudonym) or None,
    # its problems, and whether it is unchanged.
    numbers: list[int] = field(default_factory=list)
    values: dict[int, dict[str, Any]] = field(default_factory=dict)
    problems: dict[int, list[Finding]] = field(default_factory=dict)
    unchanged_rows: set[int] = field(default_factory=set)

    def add(self, finding: Finding) -> None:
        self.finding_count += 1
        _group_add(self.groups, finding.as_dict())
        if len(self.findings) < MAX_STORED_FINDINGS:
            self.findings.append(finding)
        if finding.row is not None and finding.row in self.values:
            self.problems.setdefault(finding.row, []).append(finding)

    def grouped(self) -> list[dict[str, Any]]:
        """Every problem counted by reason and column, with the first examples of each."""
        return _groups_sorted(self.groups)


class _Converter(_Findings):
    """Step 1: the mapped cells of every row converted, column by column."""

    def __init__(
        self,
        batch: ImportBatch,
        target: ImportTarget,
        file: FileTable,
        processed: Processed,
        keep_values: bool,
    ):
        self.batch = batch
        self.target = target
        self.file = file
        self.processed = processed
        self.keep_values = keep_values
        index = {name: position for position, name in enumerate(file.header)}
        key = load_key()
        # (column written, file column, its position, converter, identity kind or None)
        self.plan: list[tuple[str, str, int, _Cells, str | None]] = []
        for name, source in batch.mapping.items():
            column = target.column(name)
            if column.identity:
                convert = _Cells(_person(column.identity, key))
                self.plan.append((IDENTITY_COLUMN, source, index[source], convert, column.identity))
            else:
                declared = column.column
                assert declared is not None
                convert = _Cells(self._cell(declared, file.decimal_comma))
                self.plan.append((declared.name, source, index[source], convert, None))
        table = target.table
        self.names = [IDENTITY_COLUMN] if table.per_participant else []
        self.names += list(table.column_names)
        self.columns: dict[str, list[Any]] = {name: [] for name in self.names}
        self.given: dict[str, list[bool]] = (
            {c.name: [] for c in table.columns} if table.is_participants else {}
        )
        self.rows: list[int] = []
        # Every cell outside the identity column is scanned for identity numbers.
        identity_positions = {position for _, _, position, _, kind in self.plan if kind}
        self.scanned = [
            (position, name)
            for position, name in enumerate(file.header)
            if position not in identity_positions
        ]
        mapped = {name for name, *_ in self.plan}
        self.defaults = {c.name: c.default for c in table.columns if c.name not in mapped}
        self.dates = (table.date, table.end) if table.is_participants else None

    @staticmethod
    def _cell(column: Column, decimal_comma: bool) -> Callable[[Any], Any]:
        def convert(value: Any) -> Any:
            return convert_cell(column, value, decimal_comma=decimal_comma)

        return convert

    def row(self, number: int, cells: list[Any]) -> None:
        values: dict[str, Any] = dict(self.defaults)
        given: dict[str, bool] = {}
        problems: list[Finding] = []
        for name, source, position, convert, identity in self.plan:
            cell = cells[position]
            try:
                values[name] = convert(cell)
            except InvalidIdentityNumber as error:
                what = (
                    "personal identity number"
                    if identity == "personnummer"
                    else "participant reference"
                )
                problems.append(
                    self._finding(
                        number,
                        source,
                        "invalid-person",
                        f"not a valid {what}: {error}",
                        reason=_PERSON_REASONS.get(str(error), "person-format"),
                        params={},
                        value=mask_identity_value(cell),
                    )
                )
            except CellError as error:
                kind = self.target.table.column(name).type
                problems.append(
                    self._finding(
                        number,
                        source,
                        f"invalid-{kind}",
                        str(error),
                        reason=getattr(error, "code", None),
                        params=dict(getattr(error, "params", {})),
                        value=_shown_cell(cell),
                    )
                )
            else:
                if identity is None:
                    given[name] = not _empty(cell)
        for position, column_name in self.scanned:
            mask = find_identity_number(cells[position])
            if mask is not None:
                problems.append(
                    self._finding(
                        number,
                        column_name,
                        "identity-number-in-text",
                        f"the cell holds a personal identity or coordination number ({mask}); "
                        "only the identity column may hold one: remove it from this column "
                        "and upload the file again",
                        params={"mask": mask},
                        value=_shown_cell(cells[position]),
                    )
                )
        if not problems and self.dates is not None:
            inclusion, end = self.dates
            if end is not None and values.get(end) is not None and values[end] < values[inclusion]:
                problems.append(
                    self._finding(
                        number,
                        self.batch.mapping.get(end),
                        "end-before-inclusion",
                        f"the end date {values[end]} is before the inclusion date "
                        f"{values[inclusion]}",
                        params={"end": str(values[end]), "inclusion": str(values[inclusion])},
                        value=str(values[end]),
                    )
                )
        if self.keep_values:
            self.processed.numbers.append(number)
            self.processed.values[number] = values
        if problems:
            for problem in problems:
                self.processed.add(problem)
            return
        self.rows.append(number)
        for name in self.names:
            self.columns[name].append(values.get(name))
        for name, flags in self.given.items():
            flags.append(given.get(name, False))

    def table(self) -> pa.Table:
        """The converted rows in canonical form, with the file row number and (for the
        participants) whether each cell was given."""
        schema = canonical_schema(self.target.table)
        arrays = [pa.array(self.columns[f.name], f.type) for f in schema]
        data = pa.Table.from_arrays(arrays, schema=schema)
        data = data.append_column(_ROW, pa.array(self.rows, pa.int64()))
        for name, flags in self.given.items():
            data = data.append_column(f"{_GIVEN}{name}", pa.array(flags, pa.bool_()))
        return data


# --- step 2: rows against the file and the stored rows ------------------------------------


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _key_columns(table: Table) -> list[str]:
    """The columns that make a row unique: the participant for the participants; the
    participant and the declared key for a participant's table; the declared key of a
    series; every column where no key is declared."""
    if table.is_participants:
        return [IDENTITY_COLUMN]
    key = list(table.key) if table.key else list(table.column_names)
    return [IDENTITY_COLUMN, *key] if table.per_participant else key


def _shown(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class _Rows(_Findings):
    """Step 2, vectorised: duplicates in the file, unknown participants, stored keys."""

    def __init__(
        self, batch: ImportBatch, target: ImportTarget, stored: StoredTables, processed: Processed
    ):
        self.batch = batch
        self.target = target
        self.stored = stored
        self.processed = processed
        self.mapping = batch.mapping
        identity = next((n for n in self.mapping if target.column(n).identity), None)
        self.identity_source = self.mapping.get(identity) if identity else None
        self.fills = 0  # participants rows that only fill empty columns of known people

    def _labels(self, names: list[str]) -> dict[str, str]:
        """The columns' labels, in Swedish and English (``columns`` and ``columns_en``)."""
        table = self.target.table
        labels = [table.column(name).label for name in names]
        return {
            "columns": ", ".join(label.sv for label in labels),
            "columns_en": ", ".join(label.en for label in labels),
        }

    def _source(self, name: str) -> str | None:
        if name == IDENTITY_COLUMN:
            return self.identity_source
        return self.mapping.get(name)

    def check(self, data: pa.Table) -> None:
        from utfall.analytics import duckdb_cursor

        table = self.target.table
        keys = _key_columns(table)
        refused: set[int] = set()
        cursor = duckdb_cursor()
        try:
            cursor.register("batch", data)
            refused |= self._duplicates(cursor, keys)
            if table.per_participant and not table.is_participants:
                refused |= self._unknown_participants(data)
            stored = self._stored()
            if stored is not None:
                cursor.register("stored", stored)
                unchanged, conflicts = self._against_stored(cursor, keys)
                refused |= conflicts
            else:
                unchanged = set()
        finally:
            cursor.close()
        self.processed.unchanged = len(unchanged - refused)
        self.processed.unchanged_rows = unchanged - refused
        if self.processed.finding_count:
            return
        rows = data.column(_ROW)
        keep = pc.invert(pc.is_in(rows, value_set=pa.array(sorted(unchanged), pa.int64())))
        written = data.filter(keep)
        self.processed.new_rows = written.num_rows - self.fills
        self.processed.rows = written.select(canonical_schema(table).names)

    def _duplicates(self, cursor: Any, keys: list[str]) -> set[int]:
        table = self.target.table
        joined = ", ".join(_quoted(k) for k in keys)
        found = cursor.execute(
            f"SELECT list({_ROW} ORDER BY {_ROW}) FROM batch GROUP BY {joined} HAVING count(*) > 1"
        ).fetchall()
        refused = set()
        shown = [k for k in keys if k != IDENTITY_COLUMN]
        labels = self._labels(shown) if table.key and not table.is_participants else {}
        if table.is_participants:
            what, reason = "the same person", "duplicate-person"
        else:
            what = ("the same person and " if table.per_participant else "the same ") + (
                f"{', '.join(shown)}" if table.key else "values in every column"
            )
            reason = (
                ("duplicate-person-key" if table.per_participant else "duplicate-key")
                if table.key
                else "duplicate-values"
            )
        for (numbers,) in found:
            for number in numbers[1:]:
                refused.add(number)
                self.processed.add(
                    self._finding(
                        number,
                        None,
                        "duplicate-row",
                        f"duplicate: {what} as row {numbers[0]}",
                        reason=reason,
                        params={**labels, "first": str(numbers[0])},
                    )
                )
        return refused

    def _unknown_participants(self, data: pa.Table) -> set[int]:
        try:
            known = self.stored.table("participants").column(IDENTITY_COLUMN)
        except TableMissing:
            known = pa.array([], pa.string())
        unknown = pc.invert(pc.is_in(data.column(IDENTITY_COLUMN), value_set=known))
        rows = data.column(_ROW).filter(unknown).to_pylist()
        unit = self.target.document.data.participants
        who = unit.unit.en if unit is not None and unit.unit is not None else "participant"
        who_sv = unit.unit.sv if unit is not None and unit.unit is not None else "deltagare"
        for number in rows:
            self.processed.add(
                self._finding(
                    number,
                    self.identity_source,
                    "unknown-participant",
                    f"no {who} of this contract has this identity; import the participants first",
                    params={"who": who_sv, "who_en": who},
                )
            )
        return set(rows)

    def _stored(self) -> pa.Table | None:
        try:
            return self.stored.with_batches(self.target.table.name)
        except TableMissing:
            return None

    def _against_stored(self, cursor: Any, keys: list[str]) -> tuple[set[int], set[int]]:
        table = self.target.table
        columns = [c.name for c in table.columns]
        on = " AND ".join(f"b.{_quoted(k)} IS NOT DISTINCT FROM s.{_quoted(k)}" for k in keys)
        compare = [c for c in columns if c not in keys]
        select = ", ".join(
            [f"b.{_ROW}", f"s.{BATCH_COLUMN}"]
            + [
                f"b.{_quoted(c)} AS {_quoted('b_' + c)}, s.{_quoted(c)} AS {_quoted('s_' + c)}"
                for c in compare
            ]
            + (
                [f"b.{_quoted(_GIVEN + c)} AS {_quoted('g_' + c)}" for c in compare]
                if table.is_participants
                else []
            )
        )
        if not compare:
            matched = cursor.execute(
                f"SELECT b.{_ROW}, s.{BATCH_COLUMN} FROM batch b JOIN stored s ON {on}"
            ).fetchall()
            return {row[0] for row in matched}, set()
        differs = " OR ".join(f"b.{_quoted(c)} IS DISTINCT FROM s.{_quoted(c)}" for c in compare)
        total = cursor.execute(f"SELECT count(*) FROM batch b JOIN stored s ON {on}").fetchone()[0]
        unchanged_rows = cursor.execute(
            f"SELECT b.{_ROW} FROM batch b JOIN stored s ON {on} WHERE NOT ({differs})"
        ).fetchall()
        unchanged = {row[0] for row in unchanged_rows}
        conflicts: set[int] = set()
        if total == len(unchanged):
            return unchanged, conflicts
        different = cursor.execute(
            f"SELECT {select} FROM batch b JOIN stored s ON {on} WHERE {differs} ORDER BY b.{_ROW}"
        ).fetchall()
        names = [
            "row",
            "batch",
            *[f"{p}_{c}" for c in compare for p in "bs"],
            *([f"g_{c}" for c in compare] if table.is_participants else []),
        ]
        batches = {}
        for record in different:
            row = dict(zip(names, record, strict=True))
            number = row["row"]
            batch = row["batch"]
            if batch not in batches:
                batches[batch] = self._describe_batch(batch)
            if table.is_participants:
                clash = [
                    c
                    for c in compare
                    if row[f"g_{c}"]
                    and row[f"s_{c}"] is not None
                    and row[f"b_{c}"] != row[f"s_{c}"]
                ]
                fills = [
                    c
                    for c in compare
                    if row[f"g_{c}"] and row[f"s_{c}"] is None and row[f"b_{c}"] is not None
                ]
                if not clash:
                    if fills:
                        self.fills += 1
                    else:
                        unchanged.add(number)
                    continue
                conflicts.add(number)
                for name in clash:
                    label = table.column(name).label.en
                    self.processed.add(
                        self._finding(
                            number,
                            self._source(name),
                            "participant-conflict",
                            f"this person is already a participant ({batches[batch]}) with "
                            f"{label} {_shown(row[f's_{name}'])}; the file says "
                            f"{_shown(row[f'b_{name}'])}",
                            params={
                                "import": batches[batch],
                                "column": table.column(name).label.sv,
                                "column_en": label,
                                "stored": _shown(row[f"s_{name}"]),
                                "given": _shown(row[f"b_{name}"]),
                            },
                            value=_shown(row[f"b_{name}"]),
                        )
                    )
                continue
            conflicts.add(number)
            clash = [c for c in compare if row[f"b_{c}"] != row[f"s_{c}"]]
            first = clash[0]
            detail = "; ".join(
                f"{c}: stored {_shown(row[f's_{c}'])}, the file {_shown(row[f'b_{c}'])}"
                for c in clash
            )
            key_names = [k for k in keys if k != IDENTITY_COLUMN]
            self.processed.add(
                self._finding(
                    number,
                    self._source(first),
                    "stored-row-differs",
                    f"a row with the same {', '.join(k for k in keys if k != IDENTITY_COLUMN) or 'key'}"
                    f" was imported already ({batches[batch]}) with other values ({detail}); "
                    "a stored row is never changed",
                    params={
                        **self._labels(key_names),
                        "import": batches[batch],
                        "column": table.column(first).label.sv,
                        "column_en": table.column(first).label.en,
                        "stored": _shown(row[f"s_{first}"]),
                        "given": _shown(row[f"b_{first}"]),
                    },
                    value=_shown(row[f"b_{first}"]),
                )
            )
        return unchanged, conflicts

    @staticmethod
    def _describe_batch(batch_id: int) -> str:
        batch = ImportBatch.objects.filter(pk=batch_id).first()
        if batch is None:
            return f"import #{batch_id}"
        when = timezone.localtime(batch.finished_at or batch.created_at).strftime("%Y-%m-%d")
        return f"import #{batch.pk}, {batch.file_name}, {when}"


def process_batch(
    batch: ImportBatch,
    *,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Processed:
    """Both steps over the batch's file (the first ``limit`` rows for a preview)."""
    target = import_target(batch.contract, batch.table)
    missing = mapping_findings(target.columns, batch.columns, batch.mapping, batch.file_name)
    if missing:
        raise DataInvalid(f"{batch.file_name}: the column mapping is incomplete", missing)
    if not _file_kept(batch):
        raise _file_gone_error(batch)
    file = open_table(Path(batch.file_path), file_name=batch.file_name, encoding=batch.encoding)
    processed = Processed(version=target.version)
    converter = _Converter(batch, target, file, processed, keep_values=limit is not None)
    every = max(1000, batch.row_count // 100)
    done = 0
    for done, (number, cells) in enumerate(file.rows, start=1):
        converter.row(number, cells)
        if progress is not None and done % every == 0:
            progress(done)
        if limit is not None and done >= limit:
            break
    if progress is not None:
        progress(done)
    data = converter.table()
    _Rows(batch, target, StoredTables(batch.contract), processed).check(data)
    processed.findings.sort(key=lambda f: (f.row or 0, f.field_name or ""))
    return processed


# --- running and committing ---------------------------------------------------------------


class _Abort(Exception):
    """Rolls the commit transaction back."""


def _reporter(batch: ImportBatch) -> Callable[[int], None]:
    def report(done: int) -> None:
        cache.set(
            progress_key(batch.pk),
            {
                "operation": batch.operation,
                "done": done,
                "total": batch.row_count,
                "at": timezone.now().timestamp(),
            },
            timeout=24 * 3600,
        )

    return report


def _process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, Linux), "" where unknown: a pid
    reused after a restart (containers number their processes alike) is another process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


def _runner() -> str:
    """``host:pid:start`` of this process, recorded on the batch it runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid())}"


def _finish(batch: ImportBatch, **fields: Any) -> None:
    fields["finished_at"] = timezone.now()
    ImportBatch.objects.filter(pk=batch.pk).update(**fields)
    for name, value in fields.items():
        setattr(batch, name, value)


def _write(batch: ImportBatch, processed: Processed) -> TableSegment | None:
    """The batch's new rows as one segment of its table (none when every row is unchanged)."""
    rows = processed.rows
    if rows is None or rows.num_rows == 0:
        return None
    assert processed.version is not None
    return TableSegment.objects.create(
        contract=batch.contract,
        batch=batch,
        table=batch.table,
        version=processed.version,
        row_count=rows.num_rows,
        new_rows=processed.new_rows,
        sha256=table_digest(rows),
        data=segment_encode(rows),
    )


def import_run(*, batch_id: int) -> ImportBatch:
    """Process a queued batch: validate it, or commit it in one transaction.

    Runs inline for small files and inside the background task for large ones.
    A commit that finds any problem writes nothing; every problem (up to
    MAX_STORED_FINDINGS of them, with the total count) is stored on the batch.
    """
    claimed = ImportBatch.objects.filter(pk=batch_id, status=BatchStatus.QUEUED).update(
        status=BatchStatus.RUNNING, runner=_runner(), started_at=timezone.now()
    )
    batch = ImportBatch.objects.select_related("contract", "created_by").get(pk=batch_id)
    if not claimed:
        return batch  # another worker has it, or it ran already
    report = _reporter(batch)
    report(0)
    try:
        if batch.operation == Operation.VALIDATE:
            processed = process_batch(batch, progress=report)
            count = processed.finding_count
            _finish(
                batch,
                status=BatchStatus.INVALID if count else BatchStatus.VALID,
                findings=[f.as_dict() for f in processed.findings],
                finding_count=count,
                finding_groups=processed.grouped(),
                rows_unchanged=processed.unchanged,
            )
            if count:
                _discard_file(batch)  # a refused file is not kept
            with transaction.atomic():
                audit_record(
                    actor=batch.created_by,
                    action="import.validated",
                    contract=batch.contract,
                    batch=batch.pk,
                    problems=count,
                )
            return batch
        processed = Processed()
        try:
            with transaction.atomic():
                # Commits to one contract queue up here: the stored keys checked below
                # cannot change before this one is written.
                Contract.objects.select_for_update().get(pk=batch.contract_id)
                previous = _already_imported(batch.contract, batch.table, batch.file_sha256)
                if previous is not None:
                    raise _already_imported_error(previous, batch.file_name)
                processed = process_batch(batch, progress=report)
                if processed.finding_count:
                    raise _Abort
                segment = _write(batch, processed)
                written = segment.row_count if segment is not None else 0
                _finish(
                    batch,
                    status=BatchStatus.COMMITTED,
                    rows_written=written,
                    rows_unchanged=processed.unchanged,
                    findings=[],
                    finding_count=0,
                    finding_groups=[],
                )
                audit_record(
                    actor=batch.created_by,
                    action="import.committed",
                    contract=batch.contract,
                    batch=batch.pk,
                    table=batch.table,
                    file=batch.file_name,
                    sha256=batch.file_sha256,
                    rows_written=written,
                    rows_unchanged=processed.unchanged,
                    rows_sha256=segment.sha256 if segment else None,
                )
                ledger_import(batch=batch, segment=segment, actor=batch.created_by)
            _discard_file(batch)  # committed: the rows are stored, the file is not kept
        except _Abort:
            _record_failure(batch, processed.findings, processed.finding_count, processed.grouped())
            _discard_file(batch)
        except IntegrityError:
            # The partial unique index: the same file was committed meanwhile.
            previous = _already_imported(batch.contract, batch.table, batch.file_sha256)
            error = _already_imported_error(previous, batch.file_name) if previous else None
            found = (
                error.findings
                if error
                else [
                    ImportFinding(
                        code="conflict",
                        message="the data changed during the import; try again",
                        params={},
                    )
                ]
            )
            _record_failure(batch, found, len(found))
    except DataInvalid as error:
        _record_failure(batch, error.findings[:MAX_STORED_FINDINGS], len(error.findings))
        _discard_file(batch)
    except LedgerBroken as error:
        # A tampered ledger is not extended: the import is refused, nothing was written.
        _record_failure(
            batch, [Finding(code="ledger-broken", message=error.message, file=batch.file_name)], 1
        )
        _discard_file(batch)
    except Exception:
        logger.exception("import %s failed", batch.pk)
        _record_failure(
            batch,
            [
                ImportFinding(
                    code="internal-error",
                    message="the import stopped on an unexpected error; nothing was written",
                    file=batch.file_name,
                    params={},
                )
            ],
            1,
        )
        raise
    return batch


def _record_failure(
    batch: ImportBatch,
    findings: list[Finding],
    count: int,
    groups: list[dict[str, Any]] | None = None,
) -> None:
    failed = BatchStatus.FAILED if batch.operation == Operation.COMMIT else BatchStatus.INVALID
    stored = [f.as_dict() for f in findings]
    _finish(
        batch,
        status=failed,
        findings=stored,
        finding_count=count,
        finding_groups=groups if groups is not None else finding_groups(stored),
        rows_written=0,
    )
    with transaction.atomic():
        audit_record(
            actor=batch.created_by,
            action=f"import.{batch.operation}_failed",
            contract=batch.contract,
            batch=batch.pk,
            problems=count,
        )


def _start(
    batch: ImportBatch,
    actor: AbstractBaseUser,
    operation: Operation,
    allowed: tuple[str, ...],
    background: bool | None,
) -> ImportBatch:
    target = import_target(batch.contract, batch.table)
    require_import(actor, batch.contract, target.table)
    import_recover_stale(batch=batch)
    batch.refresh_from_db()
    if batch.status in allowed and not _file_kept(batch):
        raise _file_gone_error(batch)
    with transaction.atomic():
        started = ImportBatch.objects.filter(pk=batch.pk, status__in=allowed).update(
            status=BatchStatus.QUEUED,
            operation=operation,
            findings=[],
            finding_count=0,
            finding_groups=[],
        )
        if not started:
            batch.refresh_from_db()
            raise DataInvalid(
                f"the {operation.label} cannot start now",
                [
                    Finding(
                        code="wrong-state",
                        message=f"the import is {batch.get_status_display()}",
                        file=batch.file_name,
                    )
                ],
            )
        audit_record(
            actor=actor,
            action=f"import.{operation.value}_started",
            contract=batch.contract,
            batch=batch.pk,
        )
    batch.refresh_from_db()
    cache.delete(progress_key(batch.pk))
    if background is None:
        background = batch.row_count > int(settings.UTFALL_IMPORT_BACKGROUND_ROWS)
    if background:
        from utfall.platform.imports.tasks import run_import

        result = run_import.enqueue(batch.pk)
        ImportBatch.objects.filter(pk=batch.pk).update(task_id=str(result.id))
    else:
        import_run(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


def import_validate(
    *, batch: ImportBatch, actor: AbstractBaseUser, background: bool | None = None
) -> ImportBatch:
    """Check every row of the file without writing.

    ``background`` None: in a background task when the file has more rows than
    ``UTFALL_IMPORT_BACKGROUND_ROWS``; True/False forces the choice.
    """
    return _start(
        batch,
        actor,
        Operation.VALIDATE,
        (BatchStatus.READY, BatchStatus.VALID, BatchStatus.INVALID, BatchStatus.FAILED),
        background,
    )


def import_commit(
    *, batch: ImportBatch, actor: AbstractBaseUser, background: bool | None = None
) -> ImportBatch:
    """Write every row in one transaction, or nothing (``background`` as for validation)."""
    return _start(
        batch, actor, Operation.COMMIT, (BatchStatus.VALID, BatchStatus.FAILED), background
    )


def import_file(
    *,
    contract: Contract,
    table: str,
    name: str,
    content: bytes,
    actor: AbstractBaseUser,
    mapping: dict[str, str] | None = None,
    background: bool | None = False,
) -> ImportBatch:
    """Upload, (map,) validate and commit one file, as a person does on the pages; the
    demo loader and tests use it. DataInvalid lists the problems of a file that does not
    validate or commit."""
    batch = import_upload(
        contract=contract, table=table, uploaded=SimpleUploadedFile(name, content), actor=actor
    )
    if mapping is not None:
        batch = import_set_mapping(batch=batch, mapping=mapping, actor=actor)
    elif batch.status == BatchStatus.MAPPING:
        target = import_target(contract, table)
        problems = mapping_findings(target.columns, batch.columns, batch.mapping, name)
        raise DataInvalid(f"{name}: the column mapping is incomplete", problems)
    for step in (import_validate, import_commit):
        batch = step(batch=batch, actor=actor, background=background)
        if batch.status not in (BatchStatus.VALID, BatchStatus.COMMITTED):
            findings = [
                Finding(
                    code=f["code"],
                    message=f["message"],
                    file=f.get("file"),
                    row=f.get("row"),
                    field_name=f.get("field"),
                )
                for f in batch.findings
            ]
            raise DataInvalid(
                f"{name}: {batch.finding_count} problem(s); nothing was written", findings
            )
    return batch


# --- imports whose process died, files no longer needed -----------------------------------


def _runner_alive(runner: str) -> bool | None:
    """Whether the process that claimed a batch still runs: None when it ran on another
    host (only its progress can tell then)."""
    host, _, rest = runner.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return not started or _process_start(int(pid)) in ("", started)


def _is_stale(batch: ImportBatch, now: dt.datetime) -> bool:
    alive = _runner_alive(batch.runner) if batch.runner else None
    if alive is not None:
        return not alive
    state = cache.get(progress_key(batch.pk)) or {}
    last = state.get("at") or (batch.started_at.timestamp() if batch.started_at else None)
    limit = int(settings.UTFALL_IMPORT_STALE_SECONDS)
    return last is None or now.timestamp() - float(last) > limit


def import_recover_stale(*, batch: ImportBatch | None = None) -> list[int]:
    """Fail every running import (or just ``batch``) whose process has died, so that it
    can be started again; returns the ids recovered.

    A batch claimed by a process on this host is stale as soon as that process is gone
    (``kill -9``, a restart); one claimed on another host when it has reported no
    progress for ``UTFALL_IMPORT_STALE_SECONDS`` (default 1800). Its transaction was
    rolled back by the database, so nothing was written; the file is kept for a retry.
    """
    running = ImportBatch.objects.filter(status=BatchStatus.RUNNING).select_related(
        "contract", "created_by"
    )
    if batch is not None:
        running = running.filter(pk=batch.pk)
    now = timezone.now()
    recovered = []
    for stale in running:
        if not _is_stale(stale, now):
            continue
        # Only the claim seen here is failed: a batch that finished meanwhile is left alone.
        taken = ImportBatch.objects.filter(
            pk=stale.pk, status=BatchStatus.RUNNING, runner=stale.runner
        ).update(status=BatchStatus.QUEUED)
        if not taken:
            continue
        finding = ImportFinding(
            code="interrupted",
            params={},
            message=(
                f"the {stale.get_operation_display().lower()} stopped before it finished "
                "(its process ended); nothing was written: start it again"
            ),
            file=stale.file_name,
        )
        _record_failure(stale, [finding], 1)
        cache.delete(progress_key(stale.pk))
        logger.warning(
            "import %s: its process %s ended; failed for a retry", stale.pk, stale.runner
        )
        recovered.append(stale.pk)
    return recovered


_FINAL = (BatchStatus.COMMITTED, BatchStatus.INVALID, BatchStatus.FAILED)
_RETRYABLE = ("interrupted", "internal-error", "conflict")


def import_files_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete uploaded files that are no longer needed: those of imports committed or
    refused, those of imports waiting longer than ``UTFALL_IMPORT_KEEP_HOURS`` (default
    24) and files no import names (left by a crash). Returns what was deleted."""
    now = now or timezone.now()
    hours = float(settings.UTFALL_IMPORT_KEEP_HOURS)
    oldest = now - dt.timedelta(hours=hours)
    counts = {"final": 0, "expired": 0, "orphans": 0}
    pending = ImportBatch.objects.exclude(file_path="")
    for batch in pending.filter(status__in=_FINAL).only("pk", "file_path", "findings"):
        # An interrupted or conflicting run may be started again: its file waits (below).
        if not any(f.get("code") in _RETRYABLE for f in batch.findings):
            _discard_file(batch)
            counts["final"] += 1
    waiting = pending.exclude(status__in=(BatchStatus.QUEUED, BatchStatus.RUNNING))
    for batch in waiting.filter(created_at__lt=oldest).only("pk", "file_path"):
        _discard_file(batch)
        counts["expired"] += 1
    folder = Path(settings.MEDIA_ROOT) / "imports"
    if folder.is_dir():
        named = set(ImportBatch.objects.exclude(file_path="").values_list("file_path", flat=True))
        recent = now.timestamp() - 3600  # an upload in progress is not an orphan
        for path in folder.rglob("*"):
            if path.is_file() and str(path) not in named and path.stat().st_mtime < recent:
                path.unlink(missing_ok=True)
                counts["orphans"] += 1
    return counts
