"""Knowledge files in and out: what ``utfall knowledge export|validate`` reads and writes.

* :func:`results_read` — aggregated results (CSV) as result rows;
* :func:`knowledge_file_validate` — a knowledge document (``.json``, or the ``.csv``
  export), every problem located;
* :func:`knowledge_file_write` — a document written as JSON or CSV by the file's suffix;
* :func:`bundle_payments_read` — the payments of signed settlement bundles (the ledger's
  statements), checked, for a project's outcome payments and transactions.

The documents themselves are made by :func:`utfall.services.knowledge.knowledge_export`,
from objects, for the CLI and the platform alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from utfall.adapters.files import read_text
from utfall.core.ledger.statement import statement_from_dict
from utfall.errors import Finding, UserError
from utfall.services.knowledge import (
    Format,
    ResultRow,
    SettledPayment,
    knowledge_render,
    knowledge_validate_text,
    results_parse,
    statement_payments,
)

__all__ = [
    "bundle_payments_read",
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


def bundle_payments_read(paths: Sequence[Path | str], *, contract_id: str) -> list[SettledPayment]:
    """The payments of the signed settlement bundles in ``paths`` (``utfall settle --sign
    --bundle``), each checked first — signature, parts, statement — without recomputing
    it; a statement another one corrects is left out. UserError names a bundle that does
    not verify or belongs to another contract."""
    from utfall.adapters.bundles import bundle_file_verify, bundle_read

    statements = []
    for path in paths:
        report = bundle_file_verify(path, recompute=False)
        if not report.ok:
            raise UserError(f"{path}: the bundle does not verify (utfall verify {path})")
        try:
            statement = statement_from_dict(json.loads(bundle_read(path))["statement"])
        except (KeyError, TypeError, ValueError) as error:
            raise UserError(f"{path}: no readable statement: {error}") from None
        if statement.contract_id != contract_id:
            raise UserError(
                f"{path}: a statement of contract {statement.contract_id!r}, not {contract_id!r}"
            )
        statements.append(statement)
    return statement_payments(statements)
