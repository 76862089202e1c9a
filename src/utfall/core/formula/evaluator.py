"""Evaluate a checked formula exactly, in ``Decimal``, recording its decisions.

Arithmetic runs in a local decimal context of 50 significant digits with
division by zero and invalid operations trapped; nothing is rounded unless the
formula says ``round``, and then with the contract's rounding rule.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping
from decimal import Decimal

from utfall.core.formula import ast
from utfall.core.formula.types import Series, Value
from utfall.errors import FormulaError

__all__ = ["ROUNDING_MODES", "evaluate", "format_number"]

ROUNDING_MODES = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "half_down": decimal.ROUND_HALF_DOWN,
    "up": decimal.ROUND_UP,
    "down": decimal.ROUND_DOWN,
    "ceiling": decimal.ROUND_CEILING,
    "floor": decimal.ROUND_FLOOR,
}

_CONTEXT = decimal.Context(
    prec=50,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.DivisionByZero, decimal.InvalidOperation, decimal.Overflow],
)


def format_number(value: Decimal) -> str:
    """The exact decimal as plain text, without exponent or trailing zeros.

    ``Decimal.normalize`` would round to the context's precision, so zeros are
    stripped from the exact fixed-point text instead.
    """
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def _show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_number(value)
    if isinstance(value, str):
        return repr(value)
    return (
        "[" + ", ".join(format_number(v) for v in value[:4]) + (", …]" if len(value) > 4 else "]")
    )


class _Evaluator:
    def __init__(self, text: str, values: Mapping[str, Value], rounding: str):
        self.text = text
        self.values = values
        self.rounding = ROUNDING_MODES[rounding]
        self.notes: list[str] = []

    def fail(self, node: ast.Node, message: str) -> FormulaError:
        return FormulaError(message, formula=self.text, line=node.pos.line, column=node.pos.column)

    def source(self, node: ast.Node) -> str:
        return " ".join(self.text[node.pos.start : node.pos.end].split())

    def elementwise(self, node: ast.Node, args: list[Value], op: Callable[..., Decimal]) -> Value:
        """Apply ``op`` to numbers, or element by element where any argument is a series."""
        lengths = {len(a) for a in args if isinstance(a, tuple)}
        if not lengths:
            return op(*args)
        if len(lengths) > 1:
            raise self.fail(node, f"series of different lengths: {sorted(lengths)}")
        (length,) = lengths
        return tuple(
            op(*[a[i] if isinstance(a, tuple) else a for a in args]) for i in range(length)
        )

    def visit(self, node: ast.Node) -> Value:
        if isinstance(node, ast.Number):
            return node.value
        if isinstance(node, (ast.Text, ast.Boolean)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in self.values:
                raise self.fail(node, f"no value for {node.id!r}")
            return self.values[node.id]
        if isinstance(node, ast.Negate):
            return self.elementwise(node, [self.visit(node.operand)], lambda x: -x)
        if isinstance(node, ast.Not):
            return not self.visit(node.operand)
        if isinstance(node, ast.Logical):
            left = self.visit(node.left)
            if node.op == "and" and not left:
                return False
            if node.op == "or" and left:
                return True
            return bool(self.visit(node.right))
        if isinstance(node, ast.Binary):
            return self.binary(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Conditional):
            condition = bool(self.visit(node.condition))
            branch = node.then_branch if condition else node.else_branch
            self.notes.append(
                f"if {self.source(node.condition)} → {'true' if condition else 'false'}, "
                f"so {self.source(branch)}"
            )
            return self.visit(branch)
        if isinstance(node, ast.Index):
            target = self.visit(node.target)
            index = self.visit(node.index)
            assert isinstance(target, tuple) and isinstance(index, Decimal)
            if index != index.to_integral_value() or not 1 <= index <= len(target):
                raise self.fail(node.index, f"index {_show(index)} is outside 1..{len(target)}")
            return target[int(index) - 1]
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f"unsupported expression {type(node).__name__}")  # pragma: no cover

    def binary(self, node: ast.Binary) -> Value:
        left = self.visit(node.left)
        right = self.visit(node.right)
        if node.op == "/":
            divisors = right if isinstance(right, tuple) else (right,)
            if any(d == 0 for d in divisors):
                raise self.fail(node.right, f"division by zero: {self.source(node.right)} is 0")
        operations: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
            "+": lambda a, b: a + b,
            "-": lambda a, b: a - b,
            "*": lambda a, b: a * b,
            "/": lambda a, b: a / b,
        }
        return self.elementwise(node, [left, right], operations[node.op])

    def compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        right = self.visit(node.right)
        if node.op == "==":
            return left == right
        if node.op == "!=":
            return left != right
        assert isinstance(left, Decimal) and isinstance(right, Decimal)
        return {
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[node.op]

    def round(self, node: ast.Call, value: Value, places: Decimal) -> Value:
        if places != places.to_integral_value() or not -15 <= places <= 15:
            raise self.fail(node, f"round() needs a whole number of decimals, got {_show(places)}")
        quantum = Decimal(1).scaleb(-int(places))
        return self.elementwise(
            node, [value], lambda x: x.quantize(quantum, rounding=self.rounding)
        )

    def call(self, node: ast.Call) -> Value:
        name = node.function
        args = [self.visit(arg) for arg in node.args]
        if name == "sum":
            series = args[0]
            assert isinstance(series, tuple)
            return sum(series, Decimal(0))
        if name == "len":
            assert isinstance(args[0], tuple)
            return Decimal(len(args[0]))
        if name == "abs":
            return self.elementwise(node, args, abs)
        if name == "round":
            places = args[1] if len(args) == 2 else Decimal(2)
            assert isinstance(places, Decimal)
            return self.round(node, args[0], places)
        if name == "clamp":
            value, low, high = args
            assert isinstance(low, Decimal) and isinstance(high, Decimal)
            if low > high:
                raise self.fail(
                    node, f"clamp() lower bound {_show(low)} is above upper bound {_show(high)}"
                )
            result = self.elementwise(node, [value], lambda x: min(max(x, low), high))
            if result != value:
                self.notes.append(
                    f"clamp({self.source(node.args[0])}) kept between {_show(low)} and {_show(high)}: "
                    f"{_show(value)} → {_show(result)}"
                )
            return result
        if name in {"min", "max"}:
            choose = min if name == "min" else max
            if len(args) == 1:
                series = args[0]
                assert isinstance(series, tuple)
                if not series:
                    raise self.fail(node, f"{name}() of an empty series")
                return choose(series)
            if all(isinstance(a, Decimal) for a in args):
                numbers: list[Decimal] = [a for a in args if isinstance(a, Decimal)]
                result = choose(numbers)
                winner = node.args[numbers.index(result)]
                self.notes.append(
                    f"{name}({', '.join(self.source(a) for a in node.args)}) → "
                    f"{self.source(winner)} = {_show(result)}"
                )
                return result
            return self.elementwise(node, args, lambda *xs: choose(xs))
        raise self.fail(node, f"unknown function {name!r}")  # pragma: no cover


def evaluate(
    node: ast.Node, text: str, values: Mapping[str, Value], *, rounding: str = "half_up"
) -> tuple[Value, tuple[str, ...]]:
    """Evaluate ``node`` with ``values`` for its names.

    Returns the value and the notes on the decisions taken on the way (which
    branch of an ``if``, which argument of ``min``/``max``, what ``clamp`` cut).
    """
    evaluator = _Evaluator(text, values, rounding)
    with decimal.localcontext(_CONTEXT):
        try:
            value = evaluator.visit(node)
        except decimal.DecimalException as error:  # pragma: no cover - guarded above
            raise FormulaError(
                f"arithmetic error: {type(error).__name__}",
                formula=text,
                line=node.pos.line,
                column=node.pos.column,
            ) from None
    if isinstance(value, tuple):
        value = Series(value)
    return value, tuple(evaluator.notes)
