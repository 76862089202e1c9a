"""Canonical JSON against the examples and number vectors of RFC 8785."""

from __future__ import annotations

import hashlib
import json
import re
import struct
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utfall.core.ledger import canonical_json, canonical_sha256
from utfall.core.ledger.canonical import es_number


def test_rfc8785_section_3_2_2_example():
    """The sample input of RFC 8785 §3.2.2 and the output the RFC gives for it."""
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(json.loads(source)) == expected.encode("utf-8")


def test_rfc8785_section_3_2_3_sorts_keys_by_utf16_code_units():
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    value = {k: i for i, k in enumerate(keys)}
    order = [k for k in json.loads(canonical_json(value))]
    # The emoji (a surrogate pair, D83D DE00) sorts before U+FB33 in UTF-16,
    # though after it by code point: the one place the two orders differ.
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    assert sorted(keys) != order


@pytest.mark.parametrize(
    ("bits", "text"),
    [
        # Appendix B of RFC 8785: IEEE-754 bit patterns and their ECMAScript form.
        ("0000000000000000", "0"),
        ("8000000000000000", "0"),
        ("0000000000000001", "5e-324"),
        ("8000000000000001", "-5e-324"),
        ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("ffefffffffffffff", "-1.7976931348623157e+308"),
        ("4340000000000000", "9007199254740992"),
        ("c340000000000000", "-9007199254740992"),
        ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"),
        ("44b52d02c7e14af6", "1e+23"),
        ("44b52d02c7e14af7", "1.0000000000000001e+23"),
        ("444b1ae4d6e2ef4e", "999999999999999700000"),
        ("444b1ae4d6e2ef4f", "999999999999999900000"),
        ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("41b3de4355555553", "333333333.3333332"),
        ("41b3de4355555554", "333333333.33333325"),
        ("41b3de4355555555", "333333333.3333333"),
        ("41b3de4355555556", "333333333.3333334"),
        ("41b3de4355555557", "333333333.33333343"),
        ("becbf647612f3696", "-0.0000033333333333333333"),
        ("43143ff3c1cb0959", "1424953923781206.2"),
    ],
)
def test_rfc8785_appendix_b_numbers(bits, text):
    value = struct.unpack(">d", bytes.fromhex(bits))[0]
    assert es_number(value) == text


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_refused(bad):
    with pytest.raises(ValueError, match="cannot be written as JSON"):
        canonical_json({"x": bad})


def test_decimals_and_huge_integers_are_refused():
    with pytest.raises(ValueError, match=r"\$\.amount: Decimal is not a JSON value"):
        canonical_json({"amount": Decimal("1.00")})
    with pytest.raises(ValueError, match="not exactly a double"):
        canonical_json([2**53 + 1])
    # An integer a double holds exactly is written the way ECMAScript writes it.
    assert canonical_json([2**53 + 2, 10**21, -(10**22)]) == b"[9007199254740994,1e+21,-1e+22]"
    with pytest.raises(ValueError, match="keys must be text"):
        canonical_json({1: "a"})


def test_sha256_of_known_value():
    # An independent oracle: for ASCII keys and no floats JCS equals json.dumps
    # with sorted keys and no whitespace.
    value = {"b": [1, True, None], "a": {"y": "x\n", "x": -3}}
    oracle = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    assert canonical_sha256(value) == hashlib.sha256(oracle).hexdigest()


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip(value):
    assert float(es_number(value)) == value or (value == 0 and es_number(value) == "0")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


def _as_double(text: str) -> int | float:
    """Parse an integer as a JCS consumer does: every JSON number is a double."""
    number = int(text)
    return number if abs(number) <= 2**53 else float(number)


@given(json_values)
def test_canonical_form_is_json_and_a_fixed_point(value):
    text = canonical_json(value)
    parsed = json.loads(text, parse_int=_as_double)
    assert canonical_json(parsed) == text
    # No whitespace between tokens (strings may hold any, e.g. the text ": ").
    outside_strings = re.sub(rb'"(?:\\.|[^"\\])*"', b'""', text)
    assert not re.search(rb"\s", outside_strings)


@given(json_values, json_values)
def test_different_values_hash_differently(left, right):
    def same(a, b):
        if isinstance(a, float) or isinstance(b, float):
            return isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b
        if isinstance(a, bool) or isinstance(b, bool):
            return type(a) is type(b) and a == b
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        return type(a) is type(b) and a == b

    # JSON has one number type: 1 and 1.0 (and 0 and -0.0) are the same value.
    assert (canonical_sha256(left) == canonical_sha256(right)) == same(left, right)
