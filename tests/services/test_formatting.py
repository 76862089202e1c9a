"""The one formatting layer: figures as a Swedish or English reader expects them, and typed
numbers read back in either form."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utfall.services import formatting as f

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        (Decimal("10000000"), "sv", f"10{NBSP}000{NBSP}000,00{NBSP}kr"),
        (Decimal("10000000"), "en", f"SEK{NBSP}10,000,000.00"),
        (Decimal("-1234.5"), "sv", f"\u22121{NBSP}234,50{NBSP}kr"),
        (Decimal("-0.001"), "sv", f"0,00{NBSP}kr"),
        (None, "sv", "–"),
    ],
)
def test_money(value, language, expected):
    assert f.money(value, language) == expected


def test_numbers_percent_and_dates():
    assert f.number(Decimal("9302595"), "sv") == f"9{NBSP}302{NBSP}595"
    assert f.number(Decimal("9302595"), "en") == "9,302,595"
    assert f.number(Decimal("0.0225"), "sv") == "0,0225"
    assert f.number(Decimal("2.5"), "en", places=2) == "2.50"
    assert f.percent(Decimal("0.031"), "sv") == f"3,1{NBSP}%"
    assert f.percent(Decimal("0.031"), "en") == "3.1%"
    assert f.date(dt.date(2026, 12, 2), "sv") == "2026-12-02"
    assert f.date(dt.date(2026, 12, 2), "sv", style="long") == "2 december 2026"
    assert f.date(dt.date(2026, 12, 2), "en", style="long") == "2 December 2026"
    assert f.vega_format_locale("sv")["decimal"] == ","
    assert f.vega_format_locale("en")["thousands"] == ","


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("10 000 000,00", Decimal("10000000.00")),
        (f"10{NBSP}000{NBSP}000,00", Decimal("10000000.00")),
        ("10000000", Decimal("10000000")),
        ("1,5", Decimal("1.5")),
        ("1.5", Decimal("1.5")),
        ("\u22122,5", Decimal("-2.5")),
        ("10 000 kr", Decimal("10000")),
        ("10,000,000.00", Decimal("10000000.00")),
        ("10.000.000,00", Decimal("10000000.00")),
    ],
)
def test_typed_numbers_in_swedish_and_plain_form(typed, expected):
    assert f.parse_number(typed, "sv") == expected


def test_english_reads_comma_groups_swedish_reads_a_decimal_comma():
    assert f.parse_number("10,000", "en") == Decimal("10000")
    assert f.parse_number("10,000", "sv") == Decimal("10.000")


@pytest.mark.parametrize("typed", ["", "abc", "1,2,3", "1.2.3", "12,34.5", "--1"])
def test_what_cannot_be_read_is_refused(typed):
    with pytest.raises(f.NumberParseError):
        f.parse_number(typed, "sv")


@given(
    st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False),
    st.sampled_from(["sv", "en"]),
)
def test_what_is_written_reads_back(value, language):
    assert f.parse_number(f.money(value, language), language) == value
    assert f.parse_number(f.number(value, language, places=2), language) == value
