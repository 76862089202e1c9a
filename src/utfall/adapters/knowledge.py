"""Knowledge files in and out: what ``utfall knowledge export|validate`` reads and writes.

* :func:`results_read` — aggregated results (CSV) as result rows;
* :func:`knowledge_file_validate` — a knowledge document (``.json``, or the ``.csv``
  export), every problem located;
* :func:`knowledge_file_write` — a document written as JSON or CSV by the file's suffix.

The documents themselves are made by :func:`utfall.services.knowledge.knowledge_export`,
from objects, for the CLI and the platform alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from utfall.adapters.files import read_text
from utfall.errors import Finding, UserError
from utfall.services.knowledge import (
    Format,
    ResultRow,
    knowledge_render,
    knowledge_validate_text,
    results_parse,
)

__all__ = [
    "knowledge_file_format",
    "knowledge_file_validate",
    "knowledge_file_write",
    "results_read",
]


def results_read(path: Path | str) -> list[ResultRow]:
    """The aggregated results in a CSV file (DataInvalid lists every bad cell)."""
    return results_parse(read_text(path, what="results"), source=str(path))


def knowledge_file_format(path: Path | str) -> Format:
    """``json`` or ``csv``, by the file's suffix (UserError for any other)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix == ".csv":
        return "csv"
    raise UserError(f"{path}: name a .json or .csv file")


def knowledge_file_validate(path: Path | str) -> list[Finding]:
    """Every problem of the knowledge document in ``path``: a ``.csv`` is the CSV export's
    table, anything else JSON (UserError if the file cannot be read)."""
    fmt: Format = "csv" if Path(path).suffix.lower() == ".csv" else "json"
    return knowledge_validate_text(read_text(path, what="knowledge"), source=str(path), fmt=fmt)


def knowledge_file_write(document: Mapping[str, Any], out: Path | str) -> Path:
    """Write ``document`` to ``out`` as JSON or CSV, by its suffix; the file is replaced
    whole or left as it was."""
    target = Path(out)
    try:
        fmt = knowledge_file_format(target)
    except UserError:
        raise UserError(f"--out {target}: name a .json or .csv file") from None
    text = knowledge_render(document, fmt)
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise UserError(f"{target}: cannot write the export: {error.strerror}") from None
    return target
