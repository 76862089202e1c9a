"""A note of a finance report: its English text, a stable ``code`` and its ``params``.

A note is a ``str`` (the English text the CLI, the JSON and the logs show, as before) that
also carries what a page needs to say it in the reader's language, as
:class:`~utfall.errors.UtfallError` does for errors: ``code`` names the kind of note,
``params`` the values its text names (as text: amounts as exact decimals in kronor,
shares as fractions, names of the contract's parts as their identifiers). The platform
says it through ``utfall.platform.messages.note_message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Note"]


class Note(str):
    """An English note with its ``code`` and ``params`` (see the module docstring)."""

    code: str
    params: dict[str, str]

    def __new__(
        cls, text: str, code: str = "note", params: Mapping[str, Any] | None = None
    ) -> Note:
        note = super().__new__(cls, text)
        note.code = code
        note.params = {str(k): str(v) for k, v in (params or {}).items()}
        return note

    def __reduce__(self) -> tuple[Any, ...]:
        return (Note, (str(self), self.code, self.params))
