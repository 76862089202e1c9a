"""Reads for participants: the contract's declared participants table, by pseudonym only.

What a participant's row holds is the contract's declaration: its columns with their
labels, choice values shown by their labels. People are shown by the first 12 hex
digits of their keyed pseudonym (enough to tell them apart on a page); the full
pseudonym is for the API, where a script joins tables by it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Paginator
from django.utils.translation import gettext as _

from utfall.core.contracts.data import IDENTITY_COLUMN, PARTICIPANTS, Table
from utfall.platform.contracts.models import Contract
from utfall.platform.permissions import Action, require
from utfall.platform.tables import StoredTables, stored_row_counts
from utfall.services import formatting
from utfall.services.tables import TableMissing

__all__ = [
    "SHORT_PSEUDONYM",
    "ParticipantPage",
    "participant_count",
    "participant_page",
    "participant_rows",
]

SHORT_PSEUDONYM = 12
"""Hex digits of a pseudonym shown on pages."""
PER_PAGE = 100


@dataclass
class ParticipantPage:
    """One page of the participants table: the declared columns' labels and the rows."""

    table: Table | None
    title: str
    headers: list[str]
    rows: list[dict[str, Any]]  # {"pseudonym": short form, "cells": [shown values]}
    page: Any  # a django Page (number, has_next …)
    count: int


def participant_count(*, contract: Contract) -> int:
    """How many participants the contract has (an aggregate every party may see)."""
    return stored_row_counts(contract).get(PARTICIPANTS, 0)


def _shown(value: Any, column: Any, language: str) -> str:
    if value is None:
        return ""
    if column.type == "choice":
        return column.choice_label(str(value), language)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, dt.date):
        return formatting.date(value, language)
    if isinstance(value, Decimal | int):
        return formatting.number(value, language)
    return str(value)


def _stored(contract: Contract) -> tuple[Table | None, Any]:
    tables = StoredTables(contract)
    declared = tables.declaration.participants
    if declared is None:
        return None, None
    try:
        return declared, tables.table(PARTICIPANTS)
    except TableMissing:
        return declared, None


def participant_page(
    *,
    user: AbstractBaseUser,
    contract: Contract,
    page: int = 1,
    language: str = "sv",
    per_page: int = PER_PAGE,
) -> ParticipantPage:
    """One page of the participants (in the order they were imported)."""
    require(user, Action.VIEW_PARTICIPANTS, contract)
    declared, table = _stored(contract)
    count = table.num_rows if table is not None else 0
    paginator = Paginator(range(count), per_page)
    current = paginator.get_page(page)
    headers = [c.label.text(language) for c in declared.columns] if declared else []
    rows = []
    if table is not None and declared is not None and count:
        start = current.start_index() - 1
        chunk = table.slice(start, len(current.object_list)).to_pylist()
        for record in chunk:
            rows.append(
                {
                    "pseudonym": record[IDENTITY_COLUMN][:SHORT_PSEUDONYM],
                    "cells": [_shown(record[c.name], c, language) for c in declared.columns],
                }
            )
    title = declared.label.text(language) if declared else ""
    return ParticipantPage(declared, title, headers, rows, current, count)


def _json(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def participant_rows(
    *, user: AbstractBaseUser, contract: Contract, offset: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    """Participants for the API: the full pseudonym and the declared columns' values
    (dates ISO, decimals as text)."""
    require(user, Action.VIEW_PARTICIPANTS, contract)
    _declared, table = _stored(contract)
    if table is None:
        return []
    chunk = table.slice(max(offset, 0), max(limit, 0)).to_pylist()
    return [
        {
            "pseudonym": record.pop(IDENTITY_COLUMN),
            "values": {name: _json(value) for name, value in record.items()},
        }
        for record in chunk
    ]
