"""Canonical JSON for hashing and signing: RFC 8785, the JSON Canonicalization Scheme.

Two parties that hold the same JSON value must compute the same SHA-256 over it,
whatever language or library they use. RFC 8785 (JCS) fixes the encoding:
object keys sorted by their UTF-16 code units, no whitespace, strings with
the minimal JSON escapes, numbers written the way ECMAScript writes an IEEE-754
double, UTF-8 bytes. Any JCS implementation (e.g. the ``rfc8785`` package, or
``canonicalize`` in JavaScript) reproduces our hashes.

Money never travels as a JSON number here: it is a string with two decimals
(``"850000.00"``), so the float formatting rules matter only for statistics
(an estimate's standard error, say). ``Decimal`` values are refused, so a
caller cannot hash money by accident in a form other tools read differently.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["canonical_json", "canonical_sha256", "es_number"]

# Every integer up to 2**53 is exactly an IEEE-754 double, the only number type
# JCS knows; beyond it only some are.
_MAX_SAFE_INTEGER = 2**53


def es_number(value: float) -> str:
    """An IEEE-754 double written as ECMAScript's ``Number.prototype.toString`` does.

    Python's ``repr`` gives the shortest digits that round-trip (as ECMAScript
    requires); only the layout differs: ``1e+21`` not ``1e21``, ``1e-7`` not
    ``1e-07``, ``100000000000000000000`` not ``1e+20``.
    """
    if not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be written as JSON")
    if value == 0:
        return "0"  # also -0.0, as ECMAScript does
    sign = "-" if value < 0 else ""
    mantissa, _, exponent_text = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    exponent = int(exponent_text) if exponent_text else 0
    digits = (whole + fraction).lstrip("0")
    stripped = digits.rstrip("0")
    # value = int(stripped) * 10 ** (point - len(stripped))
    point = exponent - len(fraction) + (len(digits) - len(stripped)) + len(stripped)
    digits = stripped
    k = len(digits)
    if k <= point <= 21:
        text = digits + "0" * (point - k)
    elif 0 < point <= 21:
        text = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        text = "0." + "0" * (-point) + digits
    else:
        power = point - 1
        head = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{head}e{'+' if power >= 0 else '-'}{abs(power)}"
    return sign + text


# The standard library's non-ASCII string encoder escapes exactly what RFC 8785
# asks for: '"', '\\', \b \f \n \r \t and other controls as lower-case \u00xx.
_string: Callable[[str], str] = json.encoder.encode_basestring


def _encode(value: Any, out: list[str], path: str) -> None:
    kind = type(value)
    # Exact types first: the common case, and much faster than isinstance chains.
    if kind is str:
        out.append(_string(value))
    elif kind is dict:
        _encode_object(value, out, path)
    elif kind is list or kind is tuple:
        _encode_array(value, out, path)
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        if abs(value) <= _MAX_SAFE_INTEGER:
            out.append(str(int(value)))
        elif abs(value) < 2**1024 and int(float(value)) == value:
            out.append(es_number(float(value)))
        else:
            raise ValueError(
                f"{path}: the integer {value} is not exactly a double, the one number type of "
                "canonical JSON (write it as text)"
            )
    elif isinstance(value, float):
        try:
            out.append(es_number(value))
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
    elif isinstance(value, Mapping):
        _encode_object(value, out, path)
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        _encode_array(value, out, path)
    else:
        raise ValueError(
            f"{path}: {type(value).__name__} is not a JSON value "
            "(write money and other decimals as text)"
        )


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be")


def _encode_object(value: Mapping[Any, Any], out: list[str], path: str) -> None:
    keys = list(value)
    for key in keys:
        if type(key) is not str and not isinstance(key, str):
            raise ValueError(f"{path}: object keys must be text, got {key!r}")
    out.append("{")
    first = True
    for key in sorted(keys, key=_utf16):
        if not first:
            out.append(",")
        first = False
        out.append(_string(key))
        out.append(":")
        _encode(value[key], out, f"{path}.{key}")
    out.append("}")


def _encode_array(value: Sequence[Any], out: list[str], path: str) -> None:
    out.append("[")
    for index, item in enumerate(value):
        if index:
            out.append(",")
        _encode(item, out, f"{path}[{index}]")
    out.append("]")


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value (dicts, lists, text, numbers)."""
    out: list[str] = []
    _encode(value, out, "$")
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text with a lone surrogate cannot be written as JSON") from None


def canonical_sha256(value: Any) -> str:
    """Hex SHA-256 of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
