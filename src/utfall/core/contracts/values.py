"""Typed values of contract terms: checking and converting what comes in.

Money, counts, numbers and ratios become ``Decimal``; a float is refused (it
cannot hold öre exactly); money carries at most two decimals (whole öre).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from utfall.core.formula import BOOLEAN, NUMBER, TEXT, Series, Type, Value, format_number, series_of

__all__ = ["Term", "coerce_value", "format_value", "json_value"]

_TRUE = {"true", "yes", "ja", "sant", "1"}
_FALSE = {"false", "no", "nej", "falskt", "0"}
ORE = Decimal("0.01")


@dataclass(frozen=True)
class Term:
    """A typed name of a contract: a parameter, an input or an output."""

    name: str
    type: str
    of: str | None = None
    length: int | None = None
    choices: tuple[str, ...] | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    unit: str | None = None
    description: str | None = None
    source: str | None = None

    @property
    def formula_type(self) -> Type:
        """The type the formula language sees for this term."""
        if self.type == "boolean":
            return BOOLEAN
        if self.type == "choice":
            return TEXT
        if self.type == "series":
            return series_of(self.length)
        return NUMBER

    @property
    def element_type(self) -> str:
        """Type of a single value (the series' element type for a series)."""
        return (self.of or "number") if self.type == "series" else self.type

    def describe_type(self) -> str:
        """Human-readable type, e.g. ``series of 36 money``."""
        if self.type == "series":
            return f"series of {self.length} {self.of or 'number'}"
        if self.type == "choice":
            return "choice of " + ", ".join(self.choices or ())
        return self.type


def _decimal(value: Any, kind: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"expected {kind}, got a boolean ({value})")
    if isinstance(value, float):
        raise ValueError(
            f"expected {kind} as an exact decimal, got the float {value!r}; write it as text or a decimal"
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"expected {kind}, got {value}")
        return value
    if isinstance(value, str):
        text = value.strip().replace("_", "").replace(" ", "")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"expected {kind}, got {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"expected {kind}, got {value!r}")
        return number
    raise ValueError(f"expected {kind}, got {type(value).__name__} {value!r}")


def _scalar(value: Any, kind: str, term: Term) -> Decimal | bool | str:
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"expected true or false, got {value!r}")
    if kind == "choice":
        text = format_number(value) if isinstance(value, Decimal) else str(value)
        if isinstance(value, (bool, list, dict)) or text not in (term.choices or ()):
            allowed = ", ".join(term.choices or ())
            raise ValueError(f"expected one of {allowed}, got {value!r}")
        return text
    number = _decimal(
        value, "money" if kind == "money" else "a number" if kind != "count" else "a count"
    )
    if kind == "money" and number != number.quantize(ORE):
        raise ValueError(f"money has at most two decimals (whole öre), got {format_number(number)}")
    if kind == "count" and (number != number.to_integral_value() or number < 0):
        raise ValueError(f"a count is a whole number of 0 or more, got {format_number(number)}")
    if term.minimum is not None and number < term.minimum:
        raise ValueError(
            f"{format_number(number)} is below the minimum {format_number(term.minimum)}"
        )
    if term.maximum is not None and number > term.maximum:
        raise ValueError(
            f"{format_number(number)} is above the maximum {format_number(term.maximum)}"
        )
    return number


def coerce_value(value: Any, term: Term) -> Value:
    """Check ``value`` against ``term`` and convert it; ``ValueError`` says why not."""
    if value is None:
        raise ValueError("no value given")
    if term.type != "series":
        return _scalar(value, term.type, term)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValueError(f"expected a list of {term.length} values, got {type(value).__name__}")
    if len(value) != term.length:
        raise ValueError(f"expected a list of {term.length} values, got {len(value)}")
    items: list[Decimal] = []
    for index, item in enumerate(value, start=1):
        try:
            converted = _scalar(item, term.of or "number", term)
        except ValueError as error:
            raise ValueError(f"value {index}: {error}") from None
        assert isinstance(converted, Decimal)
        items.append(converted)
    return Series(items)


def format_value(value: Value, type_name: str, of: str | None = None) -> str:
    """Text of a value for people: money with two decimals, exact numbers otherwise."""
    shown = json_value(value, type_name, of)
    if isinstance(shown, bool):
        return "true" if shown else "false"
    if isinstance(shown, list):
        return "[" + ", ".join(str(v) for v in shown) + "]"
    return str(shown)


def json_value(value: Value, type_name: str, of: str | None = None) -> Any:
    """JSON form: money as a string with two decimals, other numbers as exact strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return [json_value(v, of or "number") for v in value]
    if type_name == "money":
        return str(value.quantize(ORE))
    return format_number(value)
