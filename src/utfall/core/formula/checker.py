"""Static checks of a parsed formula: names exist, types fit, lengths agree.

Run before any evaluation, so a contract with an error in a branch that is
rarely taken is still rejected when it is validated.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from utfall.core.formula import ast
from utfall.core.formula.parser import FUNCTIONS
from utfall.core.formula.types import BOOLEAN, NUMBER, TEXT, Type, series_of
from utfall.errors import FormulaError

__all__ = ["check", "names_in"]


def names_in(node: ast.Node) -> set[str]:
    """Every name a formula refers to."""
    found: set[str] = set()

    def walk(n: ast.Node) -> None:
        if isinstance(n, ast.Name):
            found.add(n.id)
        for child in _children(n):
            walk(child)

    walk(node)
    return found


def _children(node: ast.Node) -> tuple[ast.Node, ...]:
    if isinstance(node, (ast.Negate, ast.Not)):
        return (node.operand,)
    if isinstance(node, (ast.Binary, ast.Compare, ast.Logical)):
        return (node.left, node.right)
    if isinstance(node, ast.Conditional):
        return (node.condition, node.then_branch, node.else_branch)
    if isinstance(node, ast.Call):
        return node.args
    if isinstance(node, ast.Index):
        return (node.target, node.index)
    return ()


class _Checker:
    def __init__(self, text: str, env: Mapping[str, Type]):
        self.text = text
        self.env = env

    def fail(self, node: ast.Node, message: str) -> FormulaError:
        return FormulaError(message, formula=self.text, line=node.pos.line, column=node.pos.column)

    def source(self, node: ast.Node) -> str:
        return self.text[node.pos.start : node.pos.end]

    def numeric(self, node: ast.Node, what: str) -> Type:
        """Check that ``node`` is a number or a series; return its type."""
        kind = self.visit(node)
        if kind.kind not in {"number", "series"}:
            raise self.fail(node, f"{what} must be a number, but {self.source(node)!r} is {kind}")
        return kind

    def number(self, node: ast.Node, what: str) -> Type:
        kind = self.visit(node)
        if kind != NUMBER:
            raise self.fail(node, f"{what} must be a number, but {self.source(node)!r} is {kind}")
        return kind

    def boolean(self, node: ast.Node, what: str) -> Type:
        kind = self.visit(node)
        if kind != BOOLEAN:
            raise self.fail(
                node, f"{what} must be true or false, but {self.source(node)!r} is {kind}"
            )
        return kind

    def combine(self, node: ast.Node, types: list[tuple[ast.Node, Type]]) -> Type:
        """Element-wise result type of numbers and series; lengths must agree."""
        lengths = {t.length for _, t in types if t.is_series}
        if not lengths:
            return NUMBER
        if len(lengths) > 1 and None not in lengths:
            described = ", ".join(
                f"{self.source(n)!r} has {t.length}" for n, t in types if t.is_series
            )
            raise self.fail(node, f"series of different lengths: {described}")
        known = [length for length in lengths if length is not None]
        return series_of(known[0] if known else None)

    def visit(self, node: ast.Node) -> Type:
        if isinstance(node, ast.Number):
            return NUMBER
        if isinstance(node, ast.Text):
            return TEXT
        if isinstance(node, ast.Boolean):
            return BOOLEAN
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.env[node.id]
            hint = difflib.get_close_matches(node.id, list(self.env), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise self.fail(node, f"unknown name {node.id!r}{suggestion}")
        if isinstance(node, ast.Negate):
            return self.numeric(node.operand, "the operand of '-'")
        if isinstance(node, ast.Not):
            return self.boolean(node.operand, "the operand of 'not'")
        if isinstance(node, ast.Logical):
            self.boolean(node.left, f"the left side of '{node.op}'")
            self.boolean(node.right, f"the right side of '{node.op}'")
            return BOOLEAN
        if isinstance(node, ast.Binary):
            left = self.numeric(node.left, f"the left side of '{node.op}'")
            right = self.numeric(node.right, f"the right side of '{node.op}'")
            return self.combine(node, [(node.left, left), (node.right, right)])
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Conditional):
            self.boolean(node.condition, "the condition after 'if'")
            then_type = self.visit(node.then_branch)
            else_type = self.visit(node.else_branch)
            if then_type.kind != else_type.kind:
                raise self.fail(
                    node.else_branch,
                    f"both branches must have the same type, but 'then' gives {then_type} "
                    f"and 'else' gives {else_type}",
                )
            if then_type.is_series:
                return self.combine(
                    node, [(node.then_branch, then_type), (node.else_branch, else_type)]
                )
            return then_type
        if isinstance(node, ast.Index):
            target = self.visit(node.target)
            if not target.is_series:
                raise self.fail(
                    node.target,
                    f"only a series can be indexed, but {self.source(node.target)!r} is {target}",
                )
            self.number(node.index, "an index")
            if isinstance(node.index, ast.Number) and target.length is not None:
                k = node.index.value
                if k != k.to_integral_value() or not 1 <= k <= target.length:
                    raise self.fail(node.index, f"index {k} is outside 1..{target.length}")
            return NUMBER
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f"unsupported expression {type(node).__name__}")  # pragma: no cover

    def compare(self, node: ast.Compare) -> Type:
        left = self.visit(node.left)
        right = self.visit(node.right)
        if left.is_series or right.is_series:
            raise self.fail(
                node, f"cannot compare series with '{node.op}'; compare sum(…) or an element"
            )
        if left != right:
            raise self.fail(
                node,
                f"cannot compare {left} {self.source(node.left)!r} with {right} {self.source(node.right)!r}",
            )
        if left != NUMBER and node.op not in {"==", "!="}:
            raise self.fail(node, f"'{node.op}' needs numbers, not {left}")
        return BOOLEAN

    def call(self, node: ast.Call) -> Type:
        if node.function not in FUNCTIONS:
            hint = difflib.get_close_matches(node.function, list(FUNCTIONS), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            allowed = ", ".join(sorted(FUNCTIONS))
            raise self.fail(
                node, f"unknown function {node.function!r}{suggestion} (allowed: {allowed})"
            )
        low, high = FUNCTIONS[node.function]
        count = len(node.args)
        if count < low or (high is not None and count > high):
            wanted = f"{low}" if low == high else f"{low} to {high}" if high else f"at least {low}"
            raise self.fail(node, f"{node.function}() takes {wanted} argument(s), got {count}")
        name = node.function
        if name in {"sum", "len"}:
            arg = self.visit(node.args[0])
            if not arg.is_series:
                raise self.fail(
                    node.args[0],
                    f"{name}() needs a series, but {self.source(node.args[0])!r} is {arg}",
                )
            return NUMBER
        if name in {"min", "max"} and count == 1:
            arg = self.visit(node.args[0])
            if not arg.is_series:
                raise self.fail(
                    node,
                    f"{name}() of one argument needs a series; give two or more numbers instead",
                )
            return NUMBER
        if name == "round" and count == 2:
            self.number(node.args[1], "the number of decimals in round()")
            return self.numeric(node.args[0], "the value in round()")
        if name == "clamp":
            value = self.numeric(node.args[0], "the value in clamp()")
            self.number(node.args[1], "the lower bound in clamp()")
            self.number(node.args[2], "the upper bound in clamp()")
            return value
        types = [(arg, self.numeric(arg, f"an argument of {name}()")) for arg in node.args]
        return self.combine(node, types)


def check(node: ast.Node, text: str, env: Mapping[str, Type]) -> Type:
    """Type-check ``node`` (parsed from ``text``) against the names in ``env``."""
    return _Checker(text, env).visit(node)
