"""Static types of formula values, and the runtime values themselves.

Runtime values are ``Decimal`` (every numeric kind), ``bool``, ``str`` (a
choice) or ``Series`` (a tuple of ``Decimal``). Static types track only what
the checker needs: number, boolean, text, or a series of a known length.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["BOOLEAN", "NUMBER", "TEXT", "Series", "Type", "Value", "series_of", "type_of"]

Series = tuple[Decimal, ...]
Value = Decimal | bool | str | Series


@dataclass(frozen=True)
class Type:
    """A static type: ``kind`` is number, boolean, text or series."""

    kind: str
    length: int | None = None

    def __str__(self) -> str:
        if self.kind == "series":
            return f"series of {self.length}" if self.length is not None else "series"
        return self.kind

    @property
    def is_series(self) -> bool:
        """True for a series type."""
        return self.kind == "series"


NUMBER = Type("number")
BOOLEAN = Type("boolean")
TEXT = Type("text")


def series_of(length: int | None) -> Type:
    """The type of a series with ``length`` elements."""
    return Type("series", length)


def type_of(value: Value) -> Type:
    """The static type a runtime value has."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, Decimal):
        return NUMBER
    if isinstance(value, str):
        return TEXT
    return series_of(len(value))
