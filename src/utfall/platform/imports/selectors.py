"""Reads for imports: the declared tables and their columns, batches, a preview, progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from utfall.core.contracts.data import Column, Table
from utfall.errors import Finding
from utfall.platform.contracts.models import Contract
from utfall.platform.imports.columns import IDENTITY_KINDS, mapping_findings
from utfall.platform.imports.models import BatchStatus, ImportBatch
from utfall.platform.imports.services import (
    MAX_STORED_FINDINGS,
    import_preview_build,
    import_recover_stale,
    import_target,
    progress_key,
)
from utfall.platform.permissions import Action, can_import, require
from utfall.platform.tables import stored_row_counts
from utfall.services import formatting

__all__ = [
    "ColumnInfo",
    "Preview",
    "TableInfo",
    "declared_tables",
    "import_batch_get",
    "import_batch_list",
    "import_mapping_problems",
    "import_preview",
    "import_problems",
    "import_problems_csv",
    "import_progress",
    "import_tables_for",
    "import_template",
    "import_waiting",
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
        description=column.summary.text(language) if column.summary else column.description,
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
        description=table.summary.text(language) if table.summary else table.description,
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
    # Every problem of an import is stored on it: read only when asked for.
    return contract.import_batches.select_related("created_by").defer("findings")


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
    from utfall.platform.messages import finding_text

    columns = []
    kinds = []
    for name, source in batch.mapping.items():
        column = target.column(name)
        columns.append((name, column.label.text(language), source))
        kinds.append(column.column)
    rows = []
    for row in list(stored.get("rows", []))[:limit]:
        cells = [_preview_cell(v, c, language) for v, c in zip(row["cells"], kinds, strict=False)]
        problems = [
            finding_text(p, language) if isinstance(p, dict) else str(p)
            for p in row.get("problems", [])
        ]
        rows.append({**row, "cells": cells, "problems": problems})
    return Preview(columns=columns, rows=rows)


def _preview_cell(value: Any, column: Column | None, language: str) -> Any:
    """A preview cell in the page's language (numbers and dates by the formatting layer,
    choices by their label)."""
    if column is None or value in ("", None):
        return value
    try:
        if column.type in ("integer", "decimal", "money"):
            places = column.places if column.type != "integer" else 0
            return formatting.number(value, language, places)
        if column.type == "date":
            return formatting.date(str(value), language)
    except (ValueError, TypeError, ArithmeticError):
        return value
    if column.type == "boolean":
        return _("yes") if value in (True, "true") else _("no")
    if column.type == "choice":
        return next((c.label.text(language) for c in column.choices if c.value == value), value)
    return value


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


@dataclass
class ProblemGroup:
    """Problems of one kind in one column: the count over the whole file, the first few."""

    key: str
    reason: str
    label: str
    column: str
    count: int
    examples: list[dict[str, Any]]


@dataclass
class Problems:
    """An import's problems as its page shows them: grouped, and (filtered) listed."""

    total: int
    stored: int
    groups: list[ProblemGroup]
    kind: str | None
    column: str | None
    listed: list[dict[str, Any]]
    matching: int
    limit: int


def _shown_finding(finding: dict[str, Any], language: str) -> dict[str, Any]:
    from utfall.platform.messages import finding_text

    return {
        "row": finding.get("row"),
        "column": finding.get("field") or "",
        "value": finding.get("value") or "",
        "message": finding_text(finding, language),
    }


def _stored_findings(batch: ImportBatch) -> list[dict[str, Any]]:
    found = ImportBatch.objects.filter(pk=batch.pk).values_list("findings", flat=True).first()
    return list(found or [])


def _groups(batch: ImportBatch) -> list[dict[str, Any]]:
    from utfall.platform.imports.services import finding_groups

    if batch.finding_groups or not batch.finding_count:
        return list(batch.finding_groups)
    # An import checked before problems were grouped: group what is stored.
    return finding_groups(_stored_findings(batch))


def import_problems(
    *,
    batch: ImportBatch,
    language: str = "sv",
    kind: str | None = None,
    column: str | None = None,
    limit: int = 100,
) -> Problems:
    """The import's problems grouped by kind and column (counted over the whole file, the
    first few of each), and, when ``kind`` or ``column`` filters them, the first ``limit``
    matching problems; messages in ``language``."""
    from django.utils import translation

    from utfall.platform.messages import group_label

    groups = []
    with translation.override(language):
        for group in _groups(batch):
            groups.append(
                ProblemGroup(
                    key=group["key"],
                    reason=group["reason"],
                    label=group_label(group["reason"]),
                    column=group.get("field") or "",
                    count=group["count"],
                    examples=[_shown_finding(f, language) for f in group["examples"]],
                )
            )
    listed: list[dict[str, Any]] = []
    matching = 0
    if kind or column:
        for finding in _stored_findings(batch):
            reason = finding.get("reason") or finding.get("code")
            if kind and reason != kind:
                continue
            if column and (finding.get("field") or "") != column:
                continue
            matching += 1
            if len(listed) < limit:
                listed.append(_shown_finding(finding, language))
    return Problems(
        total=batch.finding_count,
        stored=min(batch.finding_count, MAX_STORED_FINDINGS),
        groups=groups,
        kind=kind,
        column=column,
        listed=listed,
        matching=matching,
        limit=limit,
    )


def import_problems_csv(*, batch: ImportBatch, language: str = "sv") -> bytes:
    """Every stored problem of the import as CSV (UTF-8 with a byte-order mark, ``;`` as
    Excel in Sweden expects it): row, column, value, kind and message in ``language``;
    identity numbers are masked in the values as everywhere."""
    import csv
    import io

    from django.utils import translation

    from utfall.core.exports import spreadsheet_row
    from utfall.platform.messages import finding_text, group_label

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if language == "sv" else ",", lineterminator="\r\n")
    findings = _stored_findings(batch)
    with translation.override(language):
        writer.writerow(
            spreadsheet_row(
                [_("Row"), _("Column in the file"), _("Value"), _("Kind"), _("Problem")]
            )
        )
        for finding in findings:
            reason = str(finding.get("reason") or finding.get("code"))
            writer.writerow(
                spreadsheet_row(
                    [
                        str(finding.get("row") or ""),
                        finding.get("field") or "",
                        finding.get("value") or "",
                        group_label(reason),
                        finding_text(finding, language),
                    ]
                )
            )
        if batch.finding_count > len(findings):
            more = batch.finding_count - len(findings)
            writer.writerow(
                spreadsheet_row(
                    [
                        "",
                        "",
                        "",
                        "",
                        _("and %(count)s more problems of the kinds above (not listed)")
                        % {"count": formatting.number(more, language)},
                    ]
                )
            )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


@dataclass
class Waiting:
    """Why an import waits at the column mapping, in words."""

    unrecognised: list[str]  # the file's columns no column of the table took
    missing: list[str]  # labels of the required columns nothing was chosen for
    problems: list[str]  # every problem, in the language


def import_waiting(*, batch: ImportBatch, language: str = "sv") -> Waiting | None:
    """Why the import waits at the column mapping (None once it does not): the file's
    columns that were not recognised and the table's required columns that need one."""
    from utfall.platform.messages import finding_text

    if batch.status != BatchStatus.MAPPING:
        return None
    target = import_target(batch.contract, batch.table)
    findings = mapping_findings(
        target.columns, batch.columns, batch.mapping, batch.file_name, language=language
    )
    used = set(batch.mapping.values())
    unrecognised = [name for name in batch.columns if name and name not in used]
    missing = []
    for column in target.columns:
        if column.required and column.name not in batch.mapping:
            missing.append(column.label.text(language))
    identities = [c for c in target.columns if c.identity]
    if identities and not any(c.name in batch.mapping for c in identities):
        missing.insert(0, " / ".join(c.label.text(language) for c in identities))
    return Waiting(
        unrecognised=unrecognised,
        missing=missing,
        problems=[finding_text(f.as_dict(), language) for f in findings],
    )
