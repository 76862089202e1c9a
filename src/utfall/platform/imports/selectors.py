"""Reads for imports: the declared tables and their columns, batches, a preview, progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import QuerySet

from utfall.core.contracts.data import Column, Table
from utfall.errors import Finding
from utfall.platform.contracts.models import Contract
from utfall.platform.imports.columns import IDENTITY_KINDS, mapping_findings
from utfall.platform.imports.models import BatchStatus, ImportBatch
from utfall.platform.imports.services import (
    import_preview_build,
    import_recover_stale,
    import_target,
    progress_key,
)
from utfall.platform.permissions import Action, can_import, require
from utfall.platform.tables import stored_row_counts

__all__ = [
    "ColumnInfo",
    "Preview",
    "TableInfo",
    "declared_tables",
    "import_batch_get",
    "import_batch_list",
    "import_mapping_problems",
    "import_preview",
    "import_progress",
    "import_tables_for",
    "import_template",
]


@dataclass(frozen=True)
class ColumnInfo:
    """A declared column as the import page, the templates and the API describe it."""

    name: str
    type: str
    label: str
    labels: dict[str, str]
    unit: str | None
    required: bool
    description: str | None
    choices: list[tuple[str, str]]  # (value, label in the language)
    choice_labels: dict[str, dict[str, str]]
    minimum: Decimal | None
    maximum: Decimal | None
    places: int | None
    default: Any
    synonyms: list[str]


@dataclass(frozen=True)
class TableInfo:
    """A declared table: its columns, who imports it, how many rows are stored."""

    name: str
    kind: str
    label: str
    labels: dict[str, str]
    description: str | None
    import_roles: list[str]
    identity: list[str]  # how a file identifies a person (a participant's table)
    identity_labels: list[str]
    columns: list[ColumnInfo]
    stored_rows: int
    may_import: bool = False
    key: list[str] = field(default_factory=list)


def _column_info(column: Column, language: str) -> ColumnInfo:
    return ColumnInfo(
        name=column.name,
        type=column.type,
        label=column.label.text(language),
        labels={"sv": column.label.sv, "en": column.label.en},
        unit=column.unit,
        required=column.required,
        description=column.description,
        choices=[(c.value, c.label.text(language)) for c in column.choices]
        or [(v, v) for v in column.choice_values],
        choice_labels={c.value: {"sv": c.label.sv, "en": c.label.en} for c in column.choices},
        minimum=column.minimum,
        maximum=column.maximum,
        places=column.places if column.type in ("decimal", "money") else None,
        default=column.default,
        synonyms=list(column.synonyms),
    )


def _table_info(
    table: Table, identity: tuple[str, ...], stored: int, language: str, may_import: bool
) -> TableInfo:
    kinds = identity if table.per_participant else ()
    return TableInfo(
        name=table.name,
        kind=table.kind,
        label=table.label.text(language),
        labels={"sv": table.label.sv, "en": table.label.en},
        description=table.description,
        import_roles=list(table.import_roles),
        identity=list(kinds),
        identity_labels=[IDENTITY_KINDS[k][0].text(language) for k in kinds],
        columns=[_column_info(c, language) for c in table.columns],
        stored_rows=stored,
        may_import=may_import,
        key=list(table.key),
    )


def declared_tables(
    *, contract: Contract, user: AbstractBaseUser | AnonymousUser, language: str = "sv"
) -> list[TableInfo]:
    """Every table the contract's newest version declares, the participants first, with
    its columns, its import roles, whether ``user`` may import it and its stored rows."""
    from utfall.platform.contracts.selectors import latest_version, parsed_version

    require(user, Action.VIEW_CONTRACT, contract)
    version = latest_version(contract)
    if version is None:
        return []
    declaration = parsed_version(version).data
    identity = declaration.participants.identity if declaration.participants else ()
    counts = stored_row_counts(contract)
    return [
        _table_info(
            table, identity, counts.get(table.name, 0), language, can_import(user, contract, table)
        )
        for table in declaration
    ]


def import_tables_for(
    *, user: AbstractBaseUser, contract: Contract, language: str = "sv"
) -> list[TableInfo]:
    """The declared tables this user may import into this contract."""
    return [
        t for t in declared_tables(contract=contract, user=user, language=language) if t.may_import
    ]


def import_template(
    *, contract: Contract, table: str, format: str, language: str, identity: str | None = None
) -> tuple[str, str, bytes]:
    """The import template of a declared table: (file name, content type, bytes).
    ``identity`` picks how the template identifies a person (``personnummer`` or
    ``reference``, as the participants allow; the first they allow by default)."""
    from utfall.platform.imports.templates import template_csv, template_file_name, template_xlsx

    target = import_target(contract, table)
    declaration = target.document.data
    if format == "xlsx":
        return (
            template_file_name(contract.identifier, target.table, "xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            template_xlsx(declaration, target.table, language=language, identity=identity),
        )
    return (
        template_file_name(contract.identifier, target.table, "csv"),
        "text/csv; charset=utf-8",
        template_csv(declaration, target.table, language=language, identity=identity),
    )


def import_batch_list(*, user: AbstractBaseUser, contract: Contract) -> QuerySet[ImportBatch]:
    """The contract's imports, newest first."""
    require(user, Action.VIEW_IMPORTS, contract)
    return contract.import_batches.select_related("created_by")


def import_batch_get(*, user: AbstractBaseUser, contract: Contract, pk: int) -> ImportBatch:
    """One import of the contract (ImportBatch.DoesNotExist if it is not the contract's).

    A running import whose process has died is failed first, so that whoever looks at it
    sees it may be started again (decision 0622)."""
    batch = import_batch_list(user=user, contract=contract).get(pk=pk)
    if batch.status == BatchStatus.RUNNING and import_recover_stale(batch=batch):
        batch.refresh_from_db()
    return batch


def import_mapping_problems(*, batch: ImportBatch, language: str = "en") -> list[Finding]:
    """Why an import waits at the column mapping (empty once the mapping is complete)."""
    target = import_target(batch.contract, batch.table)
    return mapping_findings(
        target.columns, batch.columns, batch.mapping, batch.file_name, language=language
    )


@dataclass
class Preview:
    """The first rows as they will be imported, with each row's problems."""

    columns: list[tuple[str, str, str]]  # (target column, its label, file column)
    rows: list[dict[str, Any]]


def import_preview(*, batch: ImportBatch, limit: int = 20, language: str = "sv") -> Preview:
    """The first ``limit`` rows (at most ``PREVIEW_ROWS``), mapped and checked; persons are
    shown as pseudonyms only, identity numbers in text masked.

    The preview stored on the batch is shown when it was made under the batch's mapping;
    otherwise it is made from the file (DataInvalid when the file is no longer kept)."""
    target = import_target(batch.contract, batch.table)
    stored = batch.preview or {}
    if stored.get("mapping") != batch.mapping:
        stored = import_preview_build(batch)
    columns = []
    for name, source in batch.mapping.items():
        column = target.column(name)
        columns.append((name, column.label.text(language), source))
    return Preview(columns=columns, rows=list(stored.get("rows", []))[:limit])


def import_progress(*, batch: ImportBatch) -> dict[str, Any]:
    """Done and total rows of a running operation, and the percentage."""
    state = cache.get(progress_key(batch.pk)) or {}
    total = batch.row_count or 1
    done = state.get("done", 0)
    if batch.status not in (BatchStatus.QUEUED, BatchStatus.RUNNING):
        done = batch.row_count
    return {
        "status": batch.status,
        "operation": batch.operation,
        "done": done,
        "total": batch.row_count,
        "percent": min(100, round(100 * done / total)),
        "finished": batch.status not in (BatchStatus.QUEUED, BatchStatus.RUNNING),
    }
