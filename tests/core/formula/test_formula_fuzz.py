"""Property-based fuzzing of the formula parser, checker and evaluator with their limits.

Any text either compiles or is a :class:`FormulaError` with a position - never another
exception (no ``RecursionError``, no ``decimal`` signal, no Lark internals) - and no
formula over :data:`MAX_FORMULA_LENGTH` or :data:`MAX_FORMULA_DEPTH` is ever accepted.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utfall.core.formula import BOOLEAN, FUNCTIONS, NUMBER, TEXT, compile_formula, series_of
from utfall.core.formula.parser import MAX_FORMULA_DEPTH, MAX_FORMULA_LENGTH, _depth, _parser
from utfall.errors import FormulaError

ENV = {"a": NUMBER, "b": NUMBER, "flag": BOOLEAN, "reading": TEXT, "s": series_of(3)}
VALUES = {
    "a": D("10"),
    "b": D("0"),
    "flag": True,
    "reading": "B",
    "s": (D(1), D(2), D(3)),
}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of the language, so that random text often gets deep into the grammar.
_WORDS = "if then else and or not true false + - * / == != < <= > >= ( ) [ ] , \"A\" 'B'"
_ODD = "0 1 2 0.5 1_000 x _ é $ @ ."
TOKENS = st.sampled_from(
    [
        *ENV,
        *FUNCTIONS,
        *_WORDS.split(),
        *_ODD.split(),
        "99999999999999999999999999999999999999999999999999999",
        "#c\n",
        "\n",
        "\t",
    ]
)
TOKEN_TEXT = st.lists(TOKENS, max_size=40).map(" ".join)


def _compile_or_error(text: str) -> None:
    """Compile and evaluate ``text``: a value or a FormulaError, nothing else."""
    try:
        compiled = compile_formula(text, ENV)
    except FormulaError as error:
        assert error.line is None or error.line >= 1
        assert error.column is None or error.column >= 1
        return
    assert len(text) <= MAX_FORMULA_LENGTH
    assert _depth(_parser().parse(text))[0] <= MAX_FORMULA_DEPTH
    with contextlib.suppress(FormulaError):
        compiled.evaluate(VALUES)


@FUZZ
@given(st.text(max_size=200))
def test_any_text_compiles_or_is_a_formula_error(text):
    _compile_or_error(text)


@FUZZ
@given(TOKEN_TEXT)
def test_any_sequence_of_tokens_compiles_or_is_a_formula_error(text):
    _compile_or_error(text)


def _expressions() -> st.SearchStrategy[str]:
    leaves = st.sampled_from(["a", "b", "1", "0.25", "sum(s)", "len(s)"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from("+-*/"), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda x: f"(-{x})"),
            st.tuples(inner, inner).map(lambda t: f"max({t[0]}, {t[1]})"),
            st.tuples(inner, inner, inner).map(lambda t: f"clamp({t[0]}, {t[1]}, {t[2]})"),
            st.tuples(inner, inner, inner).map(
                lambda t: f"(if {t[0]} > {t[1]} then {t[2]} else 0)"
            ),
            inner.map(lambda x: f"round({x}, 2)"),
        )

    return st.recursive(leaves, extend, max_leaves=30)


@FUZZ
@given(_expressions())
def test_well_formed_number_formulas_within_the_limits_compile(text):
    compiled = compile_formula(text, ENV)
    assert compiled.type == NUMBER
    try:
        compiled.evaluate(VALUES)
    except FormulaError as error:
        # b is 0 and clamp's bounds are random: the refusals a well-formed formula can meet.
        assert "division by zero" in error.reason or "clamp()" in error.reason


@settings(max_examples=40, deadline=None)
@given(st.integers(MAX_FORMULA_DEPTH, 2_000), st.sampled_from(["+", "*", "-", "or", "and"]))
def test_a_chain_deeper_than_the_limit_is_refused_naming_it(terms, operator):
    text = f" {operator} ".join(["a"] * terms)
    if len(text) > MAX_FORMULA_LENGTH:
        text = text[:MAX_FORMULA_LENGTH].rsplit(f" {operator} ", 1)[0]
    try:
        compile_formula(text, ENV)
    except FormulaError as error:
        assert "MAX_FORMULA" in error.reason or "must be" in error.reason or "needs" in error.reason
    else:
        assert _depth(_parser().parse(text))[0] <= MAX_FORMULA_DEPTH


@settings(max_examples=20, deadline=None)
@given(st.integers(MAX_FORMULA_LENGTH + 1, 200_000))
def test_a_formula_longer_than_the_limit_is_refused_naming_it(length):
    text = ("a + " * (length // 4 + 1))[:length].rstrip(" +") or "a"
    text = text + " " * (length - len(text))
    try:
        compile_formula(text, ENV)
    except FormulaError as error:
        assert "MAX_FORMULA_LENGTH" in error.reason
    else:  # pragma: no cover - the property fails
        raise AssertionError("a formula over the length limit was accepted")


def test_the_twenty_thousand_term_formula_is_a_clear_error():
    text = " + ".join(["a"] * 20_000)
    try:
        compile_formula(text, ENV)
    except FormulaError as error:
        assert "MAX_FORMULA_LENGTH" in error.reason and error.line == 1
    else:  # pragma: no cover
        raise AssertionError("accepted")


def test_limits_leave_room_for_real_formulas():
    # The longest and deepest reference formulas are 217 characters and 8 levels.
    text = " + ".join(f"max(a, {i})" for i in range(60))
    assert compile_formula(text, ENV).type == NUMBER
