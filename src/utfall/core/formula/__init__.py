"""The formula language of utfall contracts.

A small, safe and exact expression language: numbers are ``Decimal``; there is
``+ - * /``, comparisons, ``and or not``, ``if … then … else …``, the functions
``min max clamp round sum abs len``, element-wise arithmetic on series and
``series[k]`` (counted from 1). It is parsed by a Lark grammar and evaluated by
walking the tree, so no Python ``eval`` is ever involved.

>>> from decimal import Decimal
>>> compile_formula("max(a, 0) * 2", {"a": NUMBER}).evaluate({"a": Decimal("-3")})[0]
Decimal('0')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from utfall.core.formula import ast
from utfall.core.formula.checker import check, names_in
from utfall.core.formula.describe import describe_formula
from utfall.core.formula.evaluator import ROUNDING_MODES, evaluate, format_number
from utfall.core.formula.parser import FUNCTIONS, KEYWORDS, parse
from utfall.core.formula.types import BOOLEAN, NUMBER, TEXT, Series, Type, Value, series_of, type_of

__all__ = [
    "BOOLEAN",
    "FUNCTIONS",
    "KEYWORDS",
    "NUMBER",
    "ROUNDING_MODES",
    "TEXT",
    "CompiledFormula",
    "Series",
    "Type",
    "Value",
    "compile_formula",
    "describe_formula",
    "format_number",
    "parse",
    "series_of",
    "type_of",
]


@dataclass(frozen=True)
class CompiledFormula:
    """A parsed and type-checked formula, ready to evaluate."""

    text: str
    tree: ast.Node
    type: Type
    names: frozenset[str]

    def evaluate(
        self, values: Mapping[str, Value], *, rounding: str = "half_up"
    ) -> tuple[Value, tuple[str, ...]]:
        """Value of the formula and notes on the decisions taken."""
        return evaluate(self.tree, self.text, values, rounding=rounding)


def compile_formula(text: str, env: Mapping[str, Type]) -> CompiledFormula:
    """Parse and check ``text`` against the names (and their types) in ``env``."""
    tree = parse(text)
    kind = check(tree, text, env)
    return CompiledFormula(text=text, tree=tree, type=kind, names=frozenset(names_in(tree)))
