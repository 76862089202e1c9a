"""Reading text files with errors a person can act on."""

from __future__ import annotations

from pathlib import Path

from utfall.errors import UserError

__all__ = ["read_text"]


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
