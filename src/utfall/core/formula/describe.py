"""Formulas in plain language (Swedish or English), for readers of a contract."""

from __future__ import annotations

from collections.abc import Mapping

from utfall.core.formula import ast
from utfall.core.formula.evaluator import format_number
from utfall.core.formula.parser import parse

__all__ = ["describe_formula"]

_WORDS = {
    "en": {
        "min": "the smaller of {args}",
        "min1": "the smallest value of {args}",
        "max": "the larger of {args}",
        "max1": "the largest value of {args}",
        "clamp": "{0}, kept between {1} and {2}",
        "round": "{0} rounded to öre",
        "roundn": "{0} rounded to {1} decimals",
        "sum": "the sum of {0}",
        "abs": "the absolute value of {0}",
        "len": "the number of values in {0}",
        "if": "if {0}, then {1}, otherwise {2}",
        "and": "and",
        "or": "or",
        "not": "not {0}",
        "true": "true",
        "false": "false",
        "index": "value {1} of {0}",
        "last": " and ",
        "==": "is",
        "!=": "is not",
        "<": "is less than",
        "<=": "is at most",
        ">": "is more than",
        ">=": "is at least",
    },
    "sv": {
        "min": "det minsta av {args}",
        "min1": "det minsta värdet i {args}",
        "max": "det största av {args}",
        "max1": "det största värdet i {args}",
        "clamp": "{0}, hållet mellan {1} och {2}",
        "round": "{0} avrundat till öre",
        "roundn": "{0} avrundat till {1} decimaler",
        "sum": "summan av {0}",
        "abs": "absolutbeloppet av {0}",
        "len": "antalet värden i {0}",
        "if": "om {0}, så {1}, annars {2}",
        "and": "och",
        "or": "eller",
        "not": "inte {0}",
        "true": "sant",
        "false": "falskt",
        "index": "värde {1} i {0}",
        "last": " och ",
        "==": "är",
        "!=": "är inte",
        "<": "är mindre än",
        "<=": "är högst",
        ">": "är större än",
        ">=": "är minst",
    },
}
_OPERATORS = {"+": "+", "-": "−", "*": "×", "/": "÷"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def _join(items: list[str], last: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + last + items[-1]


def _render(node: ast.Node, words: Mapping[str, str], labels: Mapping[str, str]) -> str:
    def r(child: ast.Node) -> str:
        return _render(child, words, labels)

    def operand(child: ast.Node, parent_op: str, right: bool) -> str:
        text = r(child)
        if isinstance(child, ast.Binary):
            weaker = _PRECEDENCE[child.op] < _PRECEDENCE[parent_op]
            same_right = (
                right and _PRECEDENCE[child.op] == _PRECEDENCE[parent_op] and parent_op in "-/"
            )
            if weaker or same_right:
                return f"({text})"
        if isinstance(child, (ast.Conditional, ast.Logical, ast.Compare, ast.Call)):
            return f"({text})"
        return text

    def argument(child: ast.Node) -> str:
        """A function argument, bracketed where its words would run into the next."""
        text = r(child)
        if isinstance(child, (ast.Conditional, ast.Logical, ast.Binary, ast.Call)):
            return f"({text})"
        return text

    if isinstance(node, ast.Number):
        return format_number(node.value)
    if isinstance(node, ast.Text):
        return f"“{node.value}”"
    if isinstance(node, ast.Boolean):
        return words["true" if node.value else "false"]
    if isinstance(node, ast.Name):
        return labels.get(node.id, node.id.replace("_", " "))
    if isinstance(node, ast.Negate):
        return f"−{operand(node.operand, '*', False)}"
    if isinstance(node, ast.Not):
        return words["not"].format(r(node.operand))
    if isinstance(node, ast.Logical):
        return f"{r(node.left)} {words[node.op]} {r(node.right)}"
    if isinstance(node, ast.Compare):
        return f"{r(node.left)} {words[node.op]} {r(node.right)}"
    if isinstance(node, ast.Binary):
        left = operand(node.left, node.op, False)
        right = operand(node.right, node.op, True)
        return f"{left} {_OPERATORS[node.op]} {right}"
    if isinstance(node, ast.Conditional):
        return words["if"].format(r(node.condition), r(node.then_branch), r(node.else_branch))
    if isinstance(node, ast.Index):
        return words["index"].format(r(node.target), r(node.index))
    if isinstance(node, ast.Call):
        args = [argument(a) for a in node.args]
        name = node.function
        if name in {"min", "max"}:
            key = name + "1" if len(args) == 1 else name
            return words[key].format(args=_join(args, words["last"]))
        if name == "round" and len(args) == 2:
            return words["roundn"].format(*args)
        return words[name].format(*args)
    return "?"  # pragma: no cover


def describe_formula(
    formula: str, lang: str = "sv", labels: Mapping[str, str] | None = None
) -> str:
    """Render ``formula`` in plain Swedish (``sv``) or English (``en``).

    ``labels`` maps names to the words a reader knows them by; other names are
    shown with spaces for underscores.
    """
    words = _WORDS.get(lang, _WORDS["en"])
    return _render(parse(formula), words, labels or {})
