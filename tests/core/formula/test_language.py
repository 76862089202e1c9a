"""The formula language: parsing, checking, exact evaluation and its errors."""

from decimal import Decimal as D

import pytest

from utfall.core.formula import BOOLEAN, NUMBER, TEXT, compile_formula, describe_formula, series_of
from utfall.errors import FormulaError

ENV = {
    "a": NUMBER,
    "b": NUMBER,
    "flag": BOOLEAN,
    "reading": TEXT,
    "s": series_of(3),
    "t": series_of(3),
    "u": series_of(4),
    "guarantee_share": NUMBER,
}
VALUES = {
    "a": D("10"),
    "b": D("4"),
    "flag": True,
    "reading": "B",
    "s": (D(1), D(2), D(3)),
    "t": (D(2), D(2), D(2)),
    "u": (D(1), D(1), D(1), D(1)),
    "guarantee_share": D("0.4"),
}


def value(text, values=VALUES, rounding="half_up"):
    return compile_formula(text, ENV).evaluate(values, rounding=rounding)[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", D(7)),
        ("(1 + 2) * 3", D(9)),
        ("a - b - 1", D(5)),
        ("a / b", D("2.5")),
        ("-a + 3", D(-7)),
        ("10_000_000 * 0.4", D("4000000.0")),
        ("min(a, b, 7)", D(4)),
        ("max(a, b)", D(10)),
        ("clamp(a, 0, 5)", D(5)),
        ("clamp(-a, 0, 5)", D(0)),
        ("round(1 / 3)", D("0.33")),
        ("round(2 / 3, 4)", D("0.6667")),
        ("round(1234.5, 0)", D("1235")),
        ("sum(s)", D(6)),
        ("sum(s * t)", D(12)),
        ("sum(s / t * 2)", D(6)),
        ("s[3]", D(3)),
        ("len(u)", D(4)),
        ("abs(b - a)", D(6)),
        ("max(s)", D(3)),
        ("if flag then a else b", D(10)),
        ("if not flag then a else b", D(4)),
        ('if reading == "A" then 1 else 2', D(2)),
        ("a > b and b >= 4", True),
        ("a < b or flag", True),
        ("a != b", True),
    ],
)
def test_evaluates_exactly(text, expected):
    assert value(text) == expected


def test_decimal_arithmetic_is_exact_not_binary_float():
    # 0.1 + 0.2 is exactly 0.3 in the language (it is not in binary floating point).
    assert value("0.1 + 0.2 == 0.3") is True
    assert value("guarantee_share * 9999999.99") == D("3999999.996")


def test_series_arithmetic_is_element_wise():
    assert value("s * t") == (D(2), D(4), D(6))
    assert value("s + 1") == (D(2), D(3), D(4))
    assert value("max(s, t)") == (D(2), D(2), D(3))
    assert value("round(s / 3, 2)") == (D("0.33"), D("0.67"), D("1.00"))


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("half_up", D("0.13")), ("half_even", D("0.12")), ("down", D("0.12")), ("up", D("0.13"))],
)
def test_rounding_follows_the_contract_rule(mode, expected):
    assert value("round(0.125)", rounding=mode) == expected


def test_if_evaluates_only_the_branch_taken():
    # The else branch would divide by zero; it must not be evaluated.
    assert value("if b > 0 then a / b else a / (b - b)") == D("2.5")


def test_notes_record_decisions():
    formula = compile_formula("if flag then min(a, b) else 0", ENV)
    _, notes = formula.evaluate(VALUES)
    assert notes[0] == "if flag → true, so min(a, b)"
    assert notes[1] == "min(a, b) → b = 4"


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("a +", "the formula ends too early", 4),
        ("a b", "unexpected 'b'", 3),
        ("a @ b", "unexpected character '@'", 3),
        ("guarante_share * 2", "unknown name 'guarante_share'; did you mean 'guarantee_share'?", 1),
        ("a + flag", "the right side of '+' must be a number, but 'flag' is boolean", 5),
        ("sum(a)", "sum() needs a series, but 'a' is number", 5),
        ("s + u", "series of different lengths", 1),
        ("s > 1", "cannot compare series", 1),
        ("if a then 1 else 2", "the condition after 'if' must be true or false", 4),
        ('if flag then 1 else "x"', "both branches must have the same type", 21),
        ("summa(s)", "unknown function 'summa'; did you mean 'sum'?", 1),
        ("clamp(a, 1)", "clamp() takes 3 argument(s), got 2", 1),
        ("s[4]", "index 4 is outside 1..3", 3),
        ("a[1]", "only a series can be indexed", 1),
        ('reading < "B"', "'<' needs numbers, not text", 1),
        ("__import__('os')", "unknown function '__import__'", 1),
        ("a.real", "unexpected character '.'", 2),
        ("", "the formula is empty", 1),
    ],
)
def test_errors_name_the_problem_and_position(text, message, column):
    with pytest.raises(FormulaError) as caught:
        compile_formula(text, ENV)
    assert message in str(caught.value)
    assert caught.value.column == column
    assert caught.value.line == 1


def test_division_by_zero_points_at_the_divisor():
    formula = compile_formula("a / (b - 4)", ENV)
    with pytest.raises(FormulaError) as caught:
        formula.evaluate(VALUES)
    assert "division by zero: b - 4 is 0" in str(caught.value)
    assert caught.value.column == 6
    assert caught.value.detail == ["  a / (b - 4)", "       ^"]


def test_multi_line_formula_positions():
    text = "if flag\n  then a\n  else b +\n flag"
    with pytest.raises(FormulaError) as caught:
        compile_formula(text, ENV)
    assert caught.value.line == 4


def test_python_is_unreachable():
    # Names that would be dangerous in Python are just unknown names here.
    for text in ("eval", "open", "__builtins__", "exec"):
        with pytest.raises(FormulaError, match="unknown name"):
            compile_formula(text, ENV)
    with pytest.raises(FormulaError, match="unknown function 'open'"):
        compile_formula("open(a)", ENV)


def test_keywords_are_whole_words_only():
    env = {"iffy": NUMBER, "order": NUMBER, "android": NUMBER}
    assert compile_formula("iffy + order + android", env).evaluate(
        {"iffy": D(1), "order": D(2), "android": D(3)}
    )[0] == D(6)


def test_describe_in_swedish_and_english():
    text = "if school_results_met then min(savings, round(share * invested)) else 0"
    assert describe_formula(text, "en") == (
        "if school results met, then the smaller of savings and "
        "((share × invested) rounded to öre), otherwise 0"
    )
    assert describe_formula(text, "sv").startswith(
        "om school results met, så det minsta av savings"
    )
    assert describe_formula("(a - b) / c", "en") == "(a − b) ÷ c"
    assert describe_formula("a - (b - c)", "en") == "a − (b − c)"
    assert describe_formula("x", "en", labels={"x": "investerat belopp"}) == "investerat belopp"
