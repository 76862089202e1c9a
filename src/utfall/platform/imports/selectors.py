"""Reads for imports: batches, a preview of the first rows, progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import QuerySet

from utfall.platform.contracts.models import Contract
from utfall.platform.imports.kinds import KINDS, ImportKind
from utfall.platform.imports.models import BatchStatus, ImportBatch
from utfall.platform.imports.services import process_rows, progress_key
from utfall.platform.permissions import Action, can, require

__all__ = [
    "Preview",
    "import_batch_get",
    "import_batch_list",
    "import_kinds_for",
    "import_preview",
    "import_progress",
]


def import_kinds_for(*, user: AbstractBaseUser, contract: Contract) -> list[ImportKind]:
    """The kinds of data this user may import into this contract."""
    return [kind for kind in KINDS.values() if can(user, kind.action, contract)]


def import_batch_list(*, user: AbstractBaseUser, contract: Contract) -> QuerySet[ImportBatch]:
    """The contract's imports, newest first."""
    require(user, Action.VIEW_IMPORTS, contract)
    return contract.import_batches.select_related("created_by")


def import_batch_get(*, user: AbstractBaseUser, contract: Contract, pk: int) -> ImportBatch:
    """One import of the contract (ImportBatch.DoesNotExist if it is not the contract's)."""
    return import_batch_list(user=user, contract=contract).get(pk=pk)


@dataclass
class Preview:
    """The first rows as they will be imported, with each row's problems."""

    columns: list[tuple[str, str]]  # (target column, file column)
    rows: list[dict[str, Any]]


def import_preview(*, batch: ImportBatch, limit: int = 20) -> Preview:
    """The first ``limit`` rows, mapped and checked; persons are shown as pseudonyms only."""
    columns = [(target, source) for target, source in batch.mapping.items()]
    rows = []
    for outcome in process_rows(batch, limit=limit):
        shown = []
        for target, _source in columns:
            if target in ("personnummer", "reference"):
                person = outcome.values.get("person")
                shown.append(person[:12] + "…" if person else "")
            else:
                value = outcome.values.get(KINDS[batch.kind].column(target).target)
                shown.append("" if value is None else value)
        rows.append(
            {
                "number": outcome.number,
                "cells": shown,
                "problems": [finding.message for finding in outcome.findings],
                "unchanged": outcome.unchanged,
            }
        )
    return Preview(columns=columns, rows=rows)


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
