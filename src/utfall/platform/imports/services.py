"""Writes for data imports: upload, column mapping, validation and the all-or-nothing commit.

The flow is upload → mapping → (preview) → validation → commit. Validation and
commit run the same row processing over the whole file; the commit does it in
one transaction and writes nothing if any row has a problem. Files with more
than ``UTFALL_IMPORT_BACKGROUND_ROWS`` rows are processed by a background task
(django-tasks) that reports progress through the cache.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from utfall.errors import DataInvalid, Finding
from utfall.platform.audit.services import audit_record
from utfall.platform.contracts.models import Contract
from utfall.platform.imports.kinds import KINDS, CellError, ImportKind, convert, normalise
from utfall.platform.imports.models import BatchStatus, DataRecord, ImportBatch, Operation
from utfall.platform.imports.readers import ENCODINGS, Table, open_table
from utfall.platform.participants.models import Participant
from utfall.platform.permissions import require
from utfall.platform.pseudonyms import (
    InvalidIdentityNumber,
    load_key,
    pseudonym_for_personnummer,
    pseudonym_for_reference,
)
from utfall.platform.settlements.ledger import ledger_import

__all__ = [
    "MAX_STORED_FINDINGS",
    "RowOutcome",
    "import_commit",
    "import_run",
    "import_set_mapping",
    "import_upload",
    "import_validate",
    "process_rows",
    "progress_key",
    "propose_mapping",
]

logger = logging.getLogger(__name__)
MAX_STORED_FINDINGS = 1000


def progress_key(batch_id: int) -> str:
    """The cache key of a batch's progress."""
    return f"utfall:import-progress:{batch_id}"


def _kind(name: str) -> ImportKind:
    try:
        return KINDS[name]
    except KeyError:
        raise DataInvalid(
            f"unknown kind of data {name!r}",
            [Finding(code="unknown-kind", message=f"choose one of: {', '.join(KINDS)}")],
        ) from None


def propose_mapping(kind: ImportKind, header: list[str]) -> dict[str, str]:
    """Match the file's column names to the kind's columns by name and known synonyms."""
    by_name = {normalise(name): name for name in header}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for column in kind.columns:
        for candidate in (column.name, *column.synonyms):
            found = by_name.get(normalise(candidate))
            if found and found not in used:
                mapping[column.name] = found
                used.add(found)
                break
    if "personnummer" in mapping and "reference" in mapping:
        del mapping["reference"]
    return mapping


def _mapping_findings(
    kind: ImportKind, header: list[str], mapping: dict[str, str], file_name: str
) -> list[Finding]:
    findings = []
    available = ", ".join(header)
    seen: dict[str, str] = {}
    for target, source in mapping.items():
        if target not in {column.name for column in kind.columns}:
            findings.append(
                Finding(code="unknown-target", message=f"{target!r} is not a column of "
                        f"{kind.name}", file=file_name)
            )
        elif source not in header:
            findings.append(
                Finding(code="unknown-column", message=f"the file has no column {source!r} "
                        f"(it has: {available})", file=file_name, row=1, field_name=source)
            )
        elif source in seen:
            findings.append(
                Finding(code="column-used-twice", message=f"the column {source!r} is mapped to "
                        f"both {seen[source]!r} and {target!r}", file=file_name, row=1,
                        field_name=source)
            )
        else:
            seen[source] = target
    for column in kind.columns:
        if column.required and column.name not in mapping:
            findings.append(
                Finding(code="missing-column", message=f"the required column {column.name!r} "
                        f"({column.label}) is missing; the file has: {available}",
                        file=file_name, row=1, field_name=column.name)
            )
    if kind.person:
        persons = [name for name in ("personnummer", "reference") if name in mapping]
        if not persons:
            findings.append(
                Finding(code="missing-column", message="a column with the personal identity "
                        "number ('personnummer') or a participant reference ('reference') is "
                        f"required; the file has: {available}", file=file_name, row=1,
                        field_name="personnummer")
            )
        elif len(persons) == 2:
            findings.append(
                Finding(code="ambiguous-person", message="map either 'personnummer' or "
                        "'reference', not both", file=file_name, row=1)
            )
    return findings


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
    final = folder / f"{digest.hexdigest()}{suffix}"
    temporary.replace(final)
    return final, digest.hexdigest(), size


def _already_imported(contract: Contract, kind: str, sha256: str) -> ImportBatch | None:
    return ImportBatch.objects.filter(
        contract=contract, kind=kind, file_sha256=sha256, status=BatchStatus.COMMITTED
    ).select_related("created_by").first()


def _already_imported_error(batch: ImportBatch, file_name: str) -> DataInvalid:
    when = timezone.localtime(batch.finished_at or batch.created_at).strftime("%Y-%m-%d %H:%M")
    message = (
        f"this file was imported already (import #{batch.pk}, {when}, by "
        f"{batch.created_by.get_username()}); it is not imported twice"
    )
    return DataInvalid(
        f"{file_name}: {message}",
        [Finding(code="already-imported", message=message, file=file_name)],
    )


def import_upload(
    *,
    contract: Contract,
    kind: str,
    uploaded: Any,
    actor: AbstractBaseUser,
    encoding: str = "utf-8",
) -> ImportBatch:
    """Store an uploaded file, read its header and propose a column mapping.

    ``uploaded`` is a Django UploadedFile (``name``, ``size``, ``chunks()``).
    Raises DataInvalid for a file that is too large, unreadable, empty or already
    imported; nothing is kept then.
    """
    import_kind = _kind(kind)
    require(actor, import_kind.action, contract)
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
        raise DataInvalid(
            f"{file_name}: {message}",
            [Finding(code="file-too-large", message=message, file=file_name)],
        )
    path, sha256, size = _store_upload(contract, uploaded)
    previous = _already_imported(contract, kind, sha256)
    if previous is not None:
        raise _already_imported_error(previous, file_name)
    table = open_table(path, file_name=file_name, encoding=encoding)
    mapping = propose_mapping(import_kind, table.header)
    complete = not _mapping_findings(import_kind, table.header, mapping, file_name)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            contract=contract,
            kind=kind,
            file_name=file_name,
            file_path=str(path),
            file_sha256=sha256,
            file_size=size,
            encoding=encoding,
            columns=table.header,
            mapping=mapping,
            row_count=table.row_count,
            status=BatchStatus.READY if complete else BatchStatus.MAPPING,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="import.uploaded",
            contract=contract,
            batch=batch.pk,
            kind=kind,
            file=file_name,
            sha256=sha256,
            rows=table.row_count,
        )
    return batch


_EDITABLE = (BatchStatus.MAPPING, BatchStatus.READY, BatchStatus.VALID, BatchStatus.INVALID)


@transaction.atomic
def import_set_mapping(
    *, batch: ImportBatch, mapping: dict[str, str], actor: AbstractBaseUser
) -> ImportBatch:
    """Set the column mapping (target column → file column); raises DataInvalid if incomplete."""
    kind = _kind(batch.kind)
    require(actor, kind.action, batch.contract)
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status not in _EDITABLE:
        raise DataInvalid(
            "the mapping cannot change now",
            [Finding(code="wrong-state", message=f"the import is {batch.get_status_display()}")],
        )
    cleaned = {target: source for target, source in mapping.items() if source}
    findings = _mapping_findings(kind, batch.columns, cleaned, batch.file_name)
    if findings:
        raise DataInvalid(f"{batch.file_name}: the column mapping is incomplete", findings)
    batch.mapping = cleaned
    batch.status = BatchStatus.READY
    batch.findings, batch.finding_count = [], 0
    batch.save(update_fields=["mapping", "status", "findings", "finding_count"])
    audit_record(
        actor=actor, action="import.mapped", contract=batch.contract, batch=batch.pk,
        mapping=cleaned,
    )
    return batch


@dataclass
class RowOutcome:
    """One processed row: its values (person as pseudonym) or its problems."""

    number: int
    values: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    unchanged: bool = False
    # A known participant whose file row adds the end date they did not have.
    left_on_added: bool = False


class _Processor:
    """Turns numbered rows into values, checking cells, persons and duplicates."""

    def __init__(self, batch: ImportBatch, table: Table):
        self.batch = batch
        self.kind = _kind(batch.kind)
        self.table = table
        self.key = load_key()
        index = {name: position for position, name in enumerate(table.header)}
        self.columns = [
            (self.kind.column(target), index[source]) for target, source in batch.mapping.items()
        ]
        self.seen: dict[tuple[Any, ...], int] = {}
        self.person_cache: dict[str, str | InvalidIdentityNumber] = {}
        participants = Participant.objects.filter(contract=batch.contract)
        if batch.kind == "participants":
            self.existing = {
                pseudonym: (included_on, left_on)
                for pseudonym, included_on, left_on in participants.values_list(
                    "pseudonym", "included_on", "left_on"
                )
            }
        else:
            self.participant_ids = dict(participants.values_list("pseudonym", "id"))

    def _finding(self, number: int, column: str | None, code: str, message: str) -> Finding:
        return Finding(
            code=code, message=message, file=self.batch.file_name, row=number, field_name=column
        )

    def _person(self, column_type: str, value: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        cached = self.person_cache.get(text)
        if cached is None:
            try:
                if column_type == "personnummer":
                    cached = pseudonym_for_personnummer(text, key=self.key)
                else:
                    cached = pseudonym_for_reference(text, key=self.key)
            except InvalidIdentityNumber as error:
                cached = error
            self.person_cache[text] = cached
        if isinstance(cached, InvalidIdentityNumber):
            raise cached
        return cached

    def process(self, number: int, cells: list[Any]) -> RowOutcome:
        outcome = RowOutcome(number)
        values = outcome.values
        mapping = self.batch.mapping
        for column, position in self.columns:
            source = mapping[column.name]
            cell = cells[position]
            if column.target == "person":
                try:
                    values["person"] = self._person(column.type, cell)
                except InvalidIdentityNumber as error:
                    what = (
                        "personal identity number"
                        if column.type == "personnummer"
                        else "participant reference"
                    )
                    outcome.findings.append(
                        self._finding(number, source, "invalid-person", f"not a valid {what}: "
                                      f"{error}")
                    )
                continue
            try:
                values[column.target] = convert(
                    column, cell, decimal_comma=self.table.decimal_comma
                )
            except CellError as error:
                outcome.findings.append(
                    self._finding(number, source, f"invalid-{column.type}", str(error))
                )
        if outcome.findings:
            return outcome
        key = tuple(values.get(part) for part in self.kind.key)
        if key in self.seen:
            person = self.kind.person and "person" in self.kind.key
            what = "the same person" if person and len(key) == 1 else "the same values"
            outcome.findings.append(
                self._finding(number, None, "duplicate-row", f"duplicate: {what} as row "
                              f"{self.seen[key]} ({', '.join(self.kind.key)})")
            )
            return outcome
        self.seen[key] = number
        if self.kind.name == "participants":
            self._participant_check(number, values, outcome)
        elif self.kind.person:
            participant_id = self.participant_ids.get(values["person"])
            if participant_id is None:
                source = mapping.get("personnummer") or mapping.get("reference")
                outcome.findings.append(
                    self._finding(number, source, "unknown-participant", "no participant of "
                                  "this contract has this identity; import the participants "
                                  "first")
                )
            values["participant_id"] = participant_id
        return outcome

    def _participant_check(self, number: int, values: dict[str, Any], outcome: RowOutcome) -> None:
        """A participant row against itself and against the participant already stored."""
        mapping = self.batch.mapping
        left_on = values.get("left_on")
        if left_on is not None and left_on < values["included_on"]:
            outcome.findings.append(
                self._finding(
                    number, mapping.get("left_on"), "left-before-inclusion",
                    f"the end date {left_on} is before the inclusion date "
                    f"{values['included_on']}",
                )
            )
            return
        known = self.existing.get(values["person"])
        if known is None:
            return
        known_included, known_left = known
        if known_included != values["included_on"]:
            outcome.findings.append(
                self._finding(
                    number, mapping.get("included_on"), "participant-conflict",
                    f"this person is already a participant, included on {known_included}; "
                    f"the file says {values['included_on']}",
                )
            )
        elif left_on is None or left_on == known_left:
            outcome.unchanged = True
        elif known_left is not None:
            outcome.findings.append(
                self._finding(
                    number, mapping.get("left_on"), "participant-conflict",
                    f"this participant already left on {known_left}; the file says {left_on}",
                )
            )
        else:
            outcome.left_on_added = True


def process_rows(batch: ImportBatch, *, limit: int | None = None) -> Iterator[RowOutcome]:
    """Process the batch's file row by row (a limit stops early, for previews)."""
    table = open_table(Path(batch.file_path), file_name=batch.file_name, encoding=batch.encoding)
    processor = _Processor(batch, table)
    for count, (number, cells) in enumerate(table.rows, start=1):
        yield processor.process(number, cells)
        if limit is not None and count >= limit:
            return


def _new_participant(batch: ImportBatch, values: dict[str, Any]) -> Participant:
    return Participant(
        contract_id=batch.contract_id,
        pseudonym=values["person"],
        included_on=values["included_on"],
        left_on=values.get("left_on"),
        group=values.get("group") or "treatment",
        cohort=values.get("cohort") or "",
        batch=batch,
    )


_RECORD_FIELDS = (
    "contract", "batch", "kind", "participant", "date", "category", "point", "quantity", "amount",
)


def _record_row(batch: ImportBatch, values: dict[str, Any]) -> tuple[Any, ...]:
    return (
        batch.contract_id,
        batch.pk,
        batch.kind,
        values.get("participant_id"),
        values["date"],
        values.get("category") or "",
        values.get("point"),
        values.get("quantity"),
        values.get("amount"),
    )


def _insert_records(rows: list[tuple[Any, ...]]) -> None:
    """Insert record rows with one parameterised executemany.

    bulk_create costs about 100 µs a row in model and field preparation, far too
    much for a million rows; the values here are already typed and exact (amounts
    have at most 2 decimals, quantities 4; checked by the converters), so they go
    to the database driver directly.
    """
    quote = connection.ops.quote_name
    columns = ", ".join(quote(DataRecord._meta.get_field(name).column) for name in _RECORD_FIELDS)
    placeholders = ", ".join(["%s"] * len(_RECORD_FIELDS))
    sql = f"INSERT INTO {quote(DataRecord._meta.db_table)} ({columns}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


class _Abort(Exception):
    """Rolls the commit transaction back."""


def _report_progress(batch: ImportBatch, done: int) -> None:
    cache.set(
        progress_key(batch.pk),
        {"operation": batch.operation, "done": done, "total": batch.row_count},
        timeout=24 * 3600,
    )


def _run_rows(batch: ImportBatch, rows: Iterable[RowOutcome], write: bool) -> tuple[
    list[Finding], int, int, int
]:
    findings: list[Finding] = []
    finding_count = written = unchanged = 0
    buffer: list[Any] = []
    end_dates: dict[str, Any] = {}  # known participants' end dates a participants file adds
    participants = batch.kind == "participants"
    size = int(settings.UTFALL_IMPORT_BATCH_SIZE)
    every = max(1000, batch.row_count // 100)
    done = 0
    for done, outcome in enumerate(rows, start=1):
        if outcome.findings:
            finding_count += len(outcome.findings)
            room = MAX_STORED_FINDINGS - len(findings)
            findings.extend(outcome.findings[: max(room, 0)])
            buffer.clear()
        elif outcome.unchanged:
            unchanged += 1
        elif write and not finding_count:
            if outcome.left_on_added:
                end_dates[outcome.values["person"]] = outcome.values["left_on"]
            elif participants:
                buffer.append(_new_participant(batch, outcome.values))
            else:
                buffer.append(_record_row(batch, outcome.values))
            if len(buffer) >= size:
                written += _flush(buffer, participants)
        if done % every == 0:
            _report_progress(batch, done)
    if write and not finding_count and buffer:
        written += _flush(buffer, participants)
    if write and not finding_count:
        for pseudonym, left_on in end_dates.items():
            Participant.objects.filter(
                contract_id=batch.contract_id, pseudonym=pseudonym, left_on__isnull=True
            ).update(left_on=left_on)
        written += len(end_dates)
    _report_progress(batch, done)
    return findings, finding_count, written, unchanged


def _flush(buffer: list[Any], participants: bool) -> int:
    count = len(buffer)
    if participants:
        Participant.objects.bulk_create(buffer)
    else:
        _insert_records(buffer)
    buffer.clear()
    return count


def _finish(batch: ImportBatch, **fields: Any) -> None:
    fields["finished_at"] = timezone.now()
    ImportBatch.objects.filter(pk=batch.pk).update(**fields)
    for name, value in fields.items():
        setattr(batch, name, value)


def import_run(*, batch_id: int) -> ImportBatch:
    """Process a queued batch: validate it, or commit it in one transaction.

    Runs inline for small files and inside the background task for large ones.
    A commit that finds any problem writes nothing; every problem (up to
    MAX_STORED_FINDINGS of them, with the total count) is stored on the batch.
    """
    claimed = ImportBatch.objects.filter(pk=batch_id, status=BatchStatus.QUEUED).update(
        status=BatchStatus.RUNNING
    )
    batch = ImportBatch.objects.select_related("contract", "created_by").get(pk=batch_id)
    if not claimed:
        return batch  # another worker has it, or it ran already
    try:
        if batch.operation == Operation.VALIDATE:
            findings, count, _, unchanged = _run_rows(batch, process_rows(batch), write=False)
            _finish(
                batch,
                status=BatchStatus.INVALID if count else BatchStatus.VALID,
                findings=[f.as_dict() for f in findings],
                finding_count=count,
                rows_unchanged=unchanged,
            )
            with transaction.atomic():
                audit_record(
                    actor=batch.created_by, action="import.validated", contract=batch.contract,
                    batch=batch.pk, problems=count,
                )
            return batch
        try:
            with transaction.atomic():
                previous = _already_imported(batch.contract, batch.kind, batch.file_sha256)
                if previous is not None:
                    raise _already_imported_error(previous, batch.file_name)
                findings, count, written, unchanged = _run_rows(
                    batch, process_rows(batch), write=True
                )
                if count:
                    raise _Abort
                _finish(
                    batch, status=BatchStatus.COMMITTED, rows_written=written,
                    rows_unchanged=unchanged, findings=[], finding_count=0,
                )
                audit_record(
                    actor=batch.created_by, action="import.committed", contract=batch.contract,
                    batch=batch.pk, kind=batch.kind, file=batch.file_name,
                    sha256=batch.file_sha256, rows_written=written, rows_unchanged=unchanged,
                )
                ledger_import(batch=batch, actor=batch.created_by)
        except _Abort:
            _record_failure(batch, findings, count)
        except IntegrityError:
            # The partial unique index: the same file was committed meanwhile.
            previous = _already_imported(batch.contract, batch.kind, batch.file_sha256)
            error = _already_imported_error(previous, batch.file_name) if previous else None
            found = error.findings if error else [Finding(code="conflict", message="the data "
                                                          "changed during the import; try again")]
            _record_failure(batch, found, len(found))
    except DataInvalid as error:
        _record_failure(batch, error.findings[:MAX_STORED_FINDINGS], len(error.findings))
    except Exception:
        logger.exception("import %s failed", batch.pk)
        _record_failure(
            batch,
            [Finding(code="internal-error", message="the import stopped on an unexpected error; "
                     "nothing was written", file=batch.file_name)],
            1,
        )
        raise
    return batch


def _record_failure(batch: ImportBatch, findings: list[Finding], count: int) -> None:
    failed = BatchStatus.FAILED if batch.operation == Operation.COMMIT else BatchStatus.INVALID
    _finish(
        batch, status=failed, findings=[f.as_dict() for f in findings], finding_count=count,
        rows_written=0,
    )
    with transaction.atomic():
        audit_record(
            actor=batch.created_by, action=f"import.{batch.operation}_failed",
            contract=batch.contract, batch=batch.pk, problems=count,
        )


def _start(batch: ImportBatch, actor: AbstractBaseUser, operation: Operation,
           allowed: tuple[str, ...], background: bool | None) -> ImportBatch:
    kind = _kind(batch.kind)
    require(actor, kind.action, batch.contract)
    with transaction.atomic():
        started = ImportBatch.objects.filter(pk=batch.pk, status__in=allowed).update(
            status=BatchStatus.QUEUED, operation=operation, findings=[], finding_count=0,
        )
        if not started:
            batch.refresh_from_db()
            raise DataInvalid(
                f"the {operation.label} cannot start now",
                [Finding(code="wrong-state", message=f"the import is "
                         f"{batch.get_status_display()}", file=batch.file_name)],
            )
        audit_record(
            actor=actor, action=f"import.{operation.value}_started", contract=batch.contract,
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
        batch, actor, Operation.VALIDATE,
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
