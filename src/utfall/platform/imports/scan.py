"""Finding personal identity numbers where none belongs: in free-text cells of an import.

A personnummer or samordningsnummer (coordination number: the day of birth + 60) is
recognised written with or without its century and with '-', '+' or no separator
(``YYYYMMDD-NNNN``, ``YYMMDD+NNNN``, ``YYYYMMDDNNNN`` …). To keep false positives
rare, a candidate counts only when its month and day form a real date (in some
century for a ten-digit number) and its last digit is the Luhn check digit of the
other nine, as the Swedish Tax Agency assigns them; about one in ten random ten-digit
strings with a plausible date still passes, which is why a telephone number can be
taken for one (decision 0620). The number itself is never returned: only a mask.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from stdnum import luhn

__all__ = ["find_identity_number", "mask_identity_numbers"]

_CANDIDATE = re.compile(r"(?<![0-9])((?:18|19|20)?)([0-9]{6})([-+]?)([0-9]{4})(?![0-9])")


def _valid(century: str, birth: str, serial: str) -> bool:
    short = birth + serial
    if not luhn.is_valid(short):
        return False
    year, month, day = int(birth[:2]), int(birth[2:4]), int(birth[4:6])
    if day > 60:
        day -= 60
    centuries = [int(century)] if century else [19, 20]
    for hundreds in centuries:
        try:
            dt.date(hundreds * 100 + year, month, day)
        except ValueError:
            continue
        return True
    return False


def _mask(match: re.Match[str]) -> str:
    century, birth, separator, serial = match.groups()
    return "X" * (len(century) + len(birth)) + separator + "X" * len(serial)


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e13:
        return str(int(value))
    return None


def find_identity_number(value: Any) -> str | None:
    """The mask (``XXXXXX-XXXX``) of the first valid personnummer or samordningsnummer in a
    cell (text, or a whole number as a spreadsheet stores one), or None."""
    text = _text(value)
    if text is None or len(text) < 10:
        return None
    for match in _CANDIDATE.finditer(text):
        if _valid(match.group(1), match.group(2), match.group(4)):
            return _mask(match)
    return None


def mask_identity_numbers(text: str) -> str:
    """``text`` with every valid personnummer or samordningsnummer replaced by its mask."""
    if len(text) < 10:
        return text

    def replace(match: re.Match[str]) -> str:
        if _valid(match.group(1), match.group(2), match.group(4)):
            return _mask(match)
        return match.group(0)

    return _CANDIDATE.sub(replace, text)
