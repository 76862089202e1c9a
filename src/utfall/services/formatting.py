"""One formatting layer: numbers, money, percentages and dates as a person reads them.

Everything a page, a chart, a PDF, a CSV for people or a human-readable API field shows
goes through these functions, with the language of the reader (``sv`` or ``en``). The
figures themselves stay ``Decimal``: nothing here rounds what is stored or paid, it only
writes it. Typed numbers come back through :func:`parse_number`, which accepts the
Swedish form (``10 000 000,00``, ``1,5``) and the plain form (``10000000``, ``1.5``).

The patterns come from CLDR through Babel (docs/decisions/0800); Swedish uses a
no-break space between thousands and the minus sign U+2212, as Swedish typography
and CLDR prescribe.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import dates as babel_dates
from babel import numbers as babel_numbers

__all__ = [
    "LOCALES",
    "NumberParseError",
    "date",
    "datetime",
    "language_of",
    "money",
    "number",
    "parse_number",
    "percent",
    "vega_format_locale",
]

LOCALES = {"sv": "sv_SE", "en": "en_GB"}
MINUS = {"sv": "\u2212", "en": "-"}
THOUSANDS = {"sv": "\u00a0", "en": ","}
DECIMAL = {"sv": ",", "en": "."}
EMPTY = "–"


def language_of(language: str | None) -> str:
    """``sv`` or ``en`` for any language code (Swedish unless it starts with ``en``)."""
    return "en" if (language or "").lower().startswith("en") else "sv"


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return Decimal(repr(value))
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _pattern(places: int | None, value: Decimal) -> str:
    if places is None:
        exponent = value.normalize().as_tuple().exponent
        shown = max(0, -exponent) if isinstance(exponent, int) else 0
        places = min(shown, 6)
    return "#,##0" + ("." + "0" * places if places else "")


def _written(value: Decimal, language: str, places: int | None) -> str:
    lang = language_of(language)
    text = babel_numbers.format_decimal(
        value, format=_pattern(places, value), locale=LOCALES[lang], decimal_quantization=True
    )
    text = text.replace("\u2212", "-")
    if text.startswith("-"):
        body = text[1:]
        # "-0,00": a negative amount that rounds to zero is written without its sign.
        text = body if not body.strip("0,.\u00a0 ") else MINUS[lang] + body
    return text


def number(value: Any, language: str, places: int | None = None) -> str:
    """``10 000 000,5`` (sv) or ``10,000,000.5`` (en); ``places`` fixes the decimals,
    ``None`` shows those the value has (at most six). ``–`` for no value."""
    amount = _decimal(value)
    return EMPTY if amount is None else _written(amount, language, places)


def money(value: Any, language: str, places: int = 2, unit: bool = True) -> str:
    """``10 000 000,00 kr`` (sv) or ``SEK 10,000,000.00`` (en); without ``unit`` the
    figure alone (for table columns headed in SEK)."""
    amount = _decimal(value)
    if amount is None:
        return EMPTY
    figure = _written(amount, language, places)
    if not unit:
        return figure
    return f"{figure}\u00a0kr" if language_of(language) == "sv" else f"SEK\u00a0{figure}"


def percent(value: Any, language: str, places: int = 1) -> str:
    """A share (0.031) as ``3,1 %`` (sv) or ``3.1%`` (en)."""
    share = _decimal(value)
    if share is None:
        return EMPTY
    figure = _written(share * 100, language, places)
    return f"{figure}\u00a0%" if language_of(language) == "sv" else f"{figure}%"


def date(value: dt.date | str | None, language: str, style: str = "short") -> str:
    """``2026-12-02`` (the Swedish standard form, and in English tables too) or, with
    ``style="long"``, ``2 december 2026`` / ``2 December 2026``."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = value.date()
    if style == "short":
        return value.isoformat()
    return babel_dates.format_date(value, format="long", locale=LOCALES[language_of(language)])


def datetime(value: dt.datetime | None, language: str) -> str:
    """``2026-12-02 18:30`` in both languages (24-hour clock, the server's time zone)."""
    if value is None:
        return EMPTY
    return value.strftime("%Y-%m-%d %H:%M")


def vega_format_locale(language: str) -> dict[str, Any]:
    """The d3-format locale for Vega-Lite charts (``formatLocale`` in vega-embed and in
    vl-convert), so chart axes and tooltips write numbers as the pages do."""
    if language_of(language) == "sv":
        return {
            "decimal": ",",
            "thousands": "\u00a0",
            "grouping": [3],
            "currency": ["", "\u00a0kr"],
            "minus": "\u2212",
            "percent": "\u00a0%",
        }
    return {
        "decimal": ".",
        "thousands": ",",
        "grouping": [3],
        "currency": ["SEK\u00a0", ""],
        "minus": "-",
    }


class NumberParseError(ValueError):
    """A typed number that cannot be read; the message says what was typed and why."""


_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007']")
_GROUPED_COMMA = re.compile(r"^\d{1,3}(,\d{3})+$")
_GROUPED_DOT = re.compile(r"^\d{1,3}(\.\d{3})+$")
_PLAIN = re.compile(r"^\d+(\.\d+)?$|^\.\d+$")


def parse_number(text: str, language: str = "sv") -> Decimal:
    """Read a typed number: ``10 000 000,00``, ``10000000``, ``1,5``, ``1.5``,
    ``−2,5``, ``10 000 kr``, ``3,5 %`` (the figure, not divided by 100).

    A comma is the decimal sign; in English, ``10,000,000`` with groups of three is read
    as grouping. Both signs (``10.000,50`` or ``10,000.50``): the last is the decimal
    sign. Raises :class:`NumberParseError` with a message for the person who typed it.
    """
    original = text
    raw = _SPACES.sub("", str(text or ""))
    raw = re.sub(r"(?i)(kr|sek|%)$", "", raw)
    raw = re.sub(r"(?i)^(sek|kr)", "", raw)
    sign = ""
    if raw[:1] in "-\u2212+–" and raw:
        sign = "-" if raw[0] != "+" else ""
        raw = raw[1:]
    if not raw:
        raise NumberParseError(f"“{original}” is not a number")
    lang = language_of(language)
    if "," in raw and "." in raw:
        decimal_sign = "," if raw.rfind(",") > raw.rfind(".") else "."
        group_sign = "." if decimal_sign == "," else ","
        whole, _, fraction = raw.rpartition(decimal_sign)
        if not re.fullmatch(r"\d{1,3}(" + re.escape(group_sign) + r"\d{3})*", whole):
            raise NumberParseError(f"“{original}” mixes decimal and thousands signs")
        raw = whole.replace(group_sign, "") + "." + fraction
    elif "," in raw:
        if lang == "en" and _GROUPED_COMMA.match(raw):
            raw = raw.replace(",", "")
        elif raw.count(",") == 1:
            raw = raw.replace(",", ".")
        else:
            raise NumberParseError(f"“{original}” has more than one decimal sign")
    elif raw.count(".") > 1:
        if not _GROUPED_DOT.match(raw):
            raise NumberParseError(f"“{original}” has more than one decimal sign")
        raw = raw.replace(".", "")
    if not _PLAIN.match(raw):
        raise NumberParseError(f"“{original}” is not a number")
    return Decimal(sign + raw)
