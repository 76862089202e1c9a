"""Settle a contract for a million scenarios at once, agreeing with the exact engine to the öre.

:func:`settle_vectorised` walks the same formula trees as the exact engine
(:mod:`utfall.core.formula.ast`) but on numpy arrays, one element per
scenario. It keeps the exact engine's results, not just close ones:

* **Fixed-point integers.** A number is held as ``int64`` counts of
  ``10**-scale`` (money from the facts has scale 2: öre). Addition,
  subtraction, multiplication, comparison, ``min``/``max``/``clamp``, ``if``
  and ``round`` are then exact, as in ``Decimal``; ``round`` uses the
  contract's rule (half-up by default) on integers. ``round(a / b, n)`` is an
  exact integer division with that rule.
* **Floats with an error bound** where exactness cannot be kept: a quotient
  that is not rounded straight away, or a product that would overflow 63 bits.
  Each such value carries a running bound on its absolute error (rounding
  error analysis: every operation adds its own ``2**-53`` relative error and
  propagates its operands'). Where a decision depends on such a value (the
  branch of an ``if``, a comparison, which way ``round`` goes at a half öre)
  and the bound does not settle it, the scenario is *ambiguous*.
* **Exact fallback.** Ambiguous scenarios (typically none, at most a handful
  in a million) are settled again, one by one, by the exact ``Decimal``
  engine, and its figures replace the vectorised ones.

Scenarios the exact engine would refuse (a division by zero in the branch
taken, a negative payment, money with fractions of an öre, an input outside
its bounds) are marked invalid with the engine's reason and counted.

The result agrees with :func:`utfall.core.contracts.settle` to the öre for
every valid scenario; :func:`check_agreement` confirms it on a sample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from utfall.core.contracts import Contract, settle
from utfall.core.contracts.engine import resolve_parameters
from utfall.core.contracts.values import Term, coerce_value
from utfall.core.formula import Value, ast
from utfall.errors import UtfallError

__all__ = [
    "Fixed",
    "VectorSettlement",
    "VectorisationError",
    "check_agreement",
    "fixed_from_floats",
    "settle_vectorised",
]

_EPS = 2.0**-53  # unit roundoff of float64
_SAFETY = 2.0  # margin over the (worst-case) error bound before a decision is trusted
_LIMIT = 2**62  # integers stay below this, so a sum of two never overflows int64
_MAX_SCALE = 18
_ORE_SCALE = 2

IntArray = np.ndarray
FloatArray = np.ndarray
BoolArray = np.ndarray


class VectorisationError(ValueError):
    """A contract (or a use of it) the vectorised evaluator cannot handle."""


@dataclass(frozen=True)
class Fixed:
    """Exact decimal numbers as integers: ``ints * 10**-scale``.

    Shape ``()`` or ``(1,)`` for one value shared by every scenario, ``(N,)``
    for one per scenario, ``(1, L)`` or ``(N, L)`` for a series of length L.
    """

    ints: IntArray
    scale: int

    def __post_init__(self) -> None:
        # numpy turns operations on 0-d arrays into scalars; keep arrays throughout.
        object.__setattr__(self, "ints", np.asarray(self.ints, dtype=np.int64))

    @staticmethod
    def of(value: Decimal | Sequence[Decimal]) -> Fixed | Approx:
        """A constant (a number, or a series as shape ``(1, L)``)."""
        items = [value] if isinstance(value, Decimal) else list(value)
        scale = max([max(0, -int(v.as_tuple().exponent)) for v in items], default=0)
        if scale > _MAX_SCALE:
            floats = np.array([float(v) for v in items], dtype=np.float64)
            shaped = floats.reshape(()) if isinstance(value, Decimal) else floats.reshape(1, -1)
            return Approx(shaped, np.abs(shaped) * _EPS)
        ints = [int(v.scaleb(scale)) for v in items]
        if any(abs(i) >= _LIMIT for i in ints):
            floats = np.array([float(v) for v in items], dtype=np.float64)
            shaped = floats.reshape(()) if isinstance(value, Decimal) else floats.reshape(1, -1)
            return Approx(shaped, np.abs(shaped) * _EPS)
        array = np.array(ints, dtype=np.int64)
        return Fixed(
            array.reshape(()) if isinstance(value, Decimal) else array.reshape(1, -1), scale
        )

    def decimal(self, index: Any) -> Decimal | tuple[Decimal, ...]:
        """The exact value at ``index`` (broadcast values answer for every row)."""
        item = _pick(self.ints, index)
        if np.ndim(item) == 0:
            return Decimal(int(item)).scaleb(-self.scale)
        return tuple(Decimal(int(i)).scaleb(-self.scale) for i in np.ravel(item))

    def floats(self) -> FloatArray:
        """As floats (for statistics)."""
        return self.ints.astype(np.float64) / 10.0**self.scale


@dataclass(frozen=True)
class Approx:
    """Floats with an absolute error bound: the exact value lies in ``values ± err``."""

    values: FloatArray
    err: FloatArray

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", np.asarray(self.values, dtype=np.float64))
        object.__setattr__(self, "err", np.asarray(self.err, dtype=np.float64))


Vector = Fixed | Approx | np.ndarray  # numbers, or booleans / choices as arrays


def _pick(array: np.ndarray, index: Any) -> Any:
    """``array[index]`` for a per-scenario array, the shared value for a broadcast one."""
    if array.ndim == 0:
        return array
    if array.shape[0] == 1:
        return array[0]
    return array[index]


def fixed_from_floats(values: FloatArray, scale: int) -> tuple[Fixed, BoolArray]:
    """Floats rounded to ``scale`` decimals, and which of them were not already that exact.

    Money read from a CSV as floats converts to whole öre without loss when
    it has at most two decimals; a value with more is flagged (the exact
    engine refuses it).
    """
    scaled = np.asarray(values, dtype=np.float64) * 10.0**scale
    if not np.all(np.isfinite(scaled)) or np.any(np.abs(scaled) >= 2.0**53):
        raise VectorisationError("values too large or not finite")
    ints = np.rint(scaled)
    off = np.abs(scaled - ints) > 1e-6 * np.maximum(1.0, np.abs(scaled)) * 1e-3
    return Fixed(ints.astype(np.int64), scale), off


# ----------------------------------------------------------------------------- integer helpers


def _max_abs(ints: IntArray) -> int:
    return int(np.abs(ints).max()) if ints.size else 0


def _rescale(value: Fixed, scale: int) -> Fixed | None:
    """The same numbers at a larger scale, or None if they would overflow."""
    if scale == value.scale:
        return value
    factor = 10 ** (scale - value.scale)
    if scale > _MAX_SCALE or _max_abs(value.ints) * factor >= _LIMIT:
        return None
    return Fixed(value.ints * np.int64(factor), scale)


def _align(values: Sequence[Fixed]) -> list[Fixed] | None:
    scale = max(v.scale for v in values)
    out = []
    for value in values:
        rescaled = _rescale(value, scale)
        if rescaled is None:
            return None
        out.append(rescaled)
    return out


def _round_division(
    numerator: IntArray, denominator: IntArray, mode: str, scenario_shape: Any = None
) -> IntArray:
    """``numerator / denominator`` rounded to an integer by ``mode``; denominator ≠ 0."""
    negative = (numerator < 0) ^ (denominator < 0)
    top = np.abs(numerator)
    bottom = np.abs(denominator)
    quotient, remainder = np.divmod(top, bottom)
    twice = 2 * remainder
    if mode == "half_up":
        bump = twice >= bottom
    elif mode == "half_down":
        bump = twice > bottom
    elif mode == "half_even":
        bump = (twice > bottom) | ((twice == bottom) & (quotient % 2 == 1))
    elif mode == "down":
        bump = np.zeros_like(remainder, dtype=bool)
    elif mode == "up":
        bump = remainder > 0
    elif mode == "ceiling":
        bump = (remainder > 0) & ~negative
    elif mode == "floor":
        bump = (remainder > 0) & negative
    else:  # pragma: no cover - the contract schema allows only the modes above
        raise VectorisationError(f"unknown rounding {mode!r}")
    magnitude = quotient + bump.astype(np.int64)
    return np.asarray(np.where(negative, -magnitude, magnitude))


def _to_approx(value: Fixed | Approx) -> Approx:
    if isinstance(value, Approx):
        return value
    floats = value.floats()
    # int → float and the division by a power of ten each round once.
    return Approx(floats, np.abs(floats) * (2 * _EPS))


def _rows(mask: Any, size: int) -> BoolArray:
    """A condition of any shape as one flag per scenario."""
    array = np.asarray(mask, dtype=bool)
    if array.ndim == 2:
        array = np.asarray(array.any(axis=1))
    return np.broadcast_to(array, (size,))


def _expand(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Line up a per-scenario number (N,) with a series (N, L) for broadcasting."""
    if a.ndim == 1 and b.ndim == 2:
        a = a[:, None]
    elif b.ndim == 1 and a.ndim == 2:
        b = b[:, None]
    return a, b


# ----------------------------------------------------------------------------- the walker

_FLAGGED = "\0flagged"  # key of the rows already refused, in the errors mapping


def _flag(errors: dict[str, BoolArray], message: str, rows: BoolArray) -> None:
    """Refuse ``rows`` for ``message`` unless an earlier reason already refused them.

    Each scenario keeps the first reason met (inputs, then outputs in order,
    then payments), as the exact engine stops at its first error.
    """
    flagged = errors.get(_FLAGGED)
    new = rows if flagged is None else rows & ~flagged
    if not new.any():
        return
    errors[_FLAGGED] = new.copy() if flagged is None else flagged | new
    errors[message] = errors[message] | new if message in errors else new.copy()


@dataclass
class _Walker:
    text: str
    values: Mapping[str, Vector]
    size: int
    rounding: str
    errors: dict[str, BoolArray]
    ambiguous: BoolArray

    def source(self, node: ast.Node) -> str:
        return " ".join(self.text[node.pos.start : node.pos.end].split())

    def flag(self, message: str, mask: Any, live: BoolArray) -> None:
        _flag(self.errors, message, _rows(mask, self.size) & live)

    def unsure(self, mask: Any, live: BoolArray) -> None:
        self.ambiguous |= _rows(mask, self.size) & live

    # -- dispatch

    def visit(self, node: ast.Node, live: BoolArray) -> Vector:
        if isinstance(node, ast.Number):
            return Fixed.of(node.value)
        if isinstance(node, (ast.Text, ast.Boolean)):
            return np.array(node.value)
        if isinstance(node, ast.Name):
            return self.values[node.id]
        if isinstance(node, ast.Negate):
            operand = self.number(node.operand, live)
            if isinstance(operand, Fixed):
                return Fixed(-operand.ints, operand.scale)
            return Approx(-operand.values, operand.err)
        if isinstance(node, ast.Not):
            return np.asarray(~self.boolean(node.operand, live))
        if isinstance(node, ast.Logical):
            return self.logical(node, live)
        if isinstance(node, ast.Binary):
            return self.binary(node, live)
        if isinstance(node, ast.Compare):
            return self.compare(node, live)
        if isinstance(node, ast.Conditional):
            return self.conditional(node, live)
        if isinstance(node, ast.Index):
            return self.index(node, live)
        if isinstance(node, ast.Call):
            return self.call(node, live)
        raise VectorisationError(f"unsupported expression {type(node).__name__}")

    def number(self, node: ast.Node, live: BoolArray) -> Fixed | Approx:
        value = self.visit(node, live)
        assert isinstance(value, (Fixed, Approx))
        return value

    def boolean(self, node: ast.Node, live: BoolArray) -> np.ndarray:
        value = self.visit(node, live)
        assert not isinstance(value, (Fixed, Approx))
        return np.asarray(value, dtype=bool)

    # -- logic

    def logical(self, node: ast.Logical, live: BoolArray) -> np.ndarray:
        left = self.boolean(node.left, live)
        if left.ndim == 0:
            # One value for every scenario: short-circuit as the exact engine does.
            if node.op == "and" and not left:
                return np.array(False)
            if node.op == "or" and left:
                return np.array(True)
            return self.boolean(node.right, live)
        taken = live & (left if node.op == "and" else ~left)
        right = self.boolean(node.right, taken)
        return np.asarray((left & right) if node.op == "and" else (left | right))

    def conditional(self, node: ast.Conditional, live: BoolArray) -> Vector:
        condition = self.boolean(node.condition, live)
        if condition.ndim == 0:
            return self.visit(node.then_branch if condition else node.else_branch, live)
        rows = _rows(condition, self.size)
        then = self.visit(node.then_branch, live & rows)
        other = self.visit(node.else_branch, live & ~rows)
        return self.where(condition, then, other)

    def where(self, condition: np.ndarray, then: Vector, other: Vector) -> Vector:
        if not isinstance(then, (Fixed, Approx)) and not isinstance(other, (Fixed, Approx)):
            return np.asarray(np.where(condition, then, other))
        assert isinstance(then, (Fixed, Approx)) and isinstance(other, (Fixed, Approx))
        if isinstance(then, Fixed) and isinstance(other, Fixed):
            aligned = _align([then, other])
            if aligned is not None:
                a, b = aligned
                c, a_ints = _expand(condition, a.ints)
                c, b_ints = _expand(c, b.ints)
                return Fixed(np.where(c, a_ints, b_ints), a.scale)
        a_approx, b_approx = _to_approx(then), _to_approx(other)
        c, values_a = _expand(condition, a_approx.values)
        c, values_b = _expand(c, b_approx.values)
        c2, err_a = _expand(condition, np.broadcast_to(a_approx.err, a_approx.values.shape))
        c2, err_b = _expand(c2, np.broadcast_to(b_approx.err, b_approx.values.shape))
        return Approx(np.where(c, values_a, values_b), np.where(c2, err_a, err_b))

    # -- arithmetic

    def binary(self, node: ast.Binary, live: BoolArray) -> Fixed | Approx:
        left = self.number(node.left, live)
        right = self.number(node.right, live)
        if node.op == "/":
            return self.divide(node, left, right, live)
        if isinstance(left, Fixed) and isinstance(right, Fixed):
            exact = self.exact_arithmetic(node.op, left, right)
            if exact is not None:
                return exact
        a, b = _to_approx(left), _to_approx(right)
        av, bv = _expand(a.values, b.values)
        ae, be = _expand(
            np.broadcast_to(a.err, a.values.shape), np.broadcast_to(b.err, b.values.shape)
        )
        if node.op == "*":
            values = av * bv
            err = np.abs(av) * be + np.abs(bv) * ae + ae * be + np.abs(values) * _EPS
        else:
            values = av + bv if node.op == "+" else av - bv
            err = ae + be + np.abs(values) * _EPS
        return Approx(values, err)

    def exact_arithmetic(self, op: str, left: Fixed, right: Fixed) -> Fixed | None:
        if op == "*":
            scale = left.scale + right.scale
            if scale > _MAX_SCALE or _max_abs(left.ints) * _max_abs(right.ints) >= _LIMIT:
                return None
            a, b = _expand(left.ints, right.ints)
            return Fixed(a * b, scale)
        aligned = _align([left, right])
        if aligned is None:
            return None
        x, y = aligned
        a, b = _expand(x.ints, y.ints)
        return Fixed(a + b if op == "+" else a - b, x.scale)

    def divide(
        self, node: ast.Binary, left: Fixed | Approx, right: Fixed | Approx, live: BoolArray
    ) -> Approx:
        if isinstance(right, Fixed):
            self.flag(f"division by zero: {self.source(node.right)} is 0", right.ints == 0, live)
        a, b = _to_approx(left), _to_approx(right)
        av, bv = _expand(a.values, b.values)
        ae, be = _expand(
            np.broadcast_to(a.err, a.values.shape), np.broadcast_to(b.err, b.values.shape)
        )
        near_zero = np.abs(bv) <= be * _SAFETY
        if not isinstance(right, Fixed):
            self.unsure(near_zero, live)
        safe = np.where(near_zero | (bv == 0), 1.0, bv)
        values = av / safe
        margin = np.maximum(np.abs(safe) - be, np.abs(safe) * 0.5)
        err = (ae + np.abs(values) * be) / margin + np.abs(values) * _EPS
        return Approx(values, err)

    # -- comparisons

    def compare(self, node: ast.Compare, live: BoolArray) -> np.ndarray:
        left = self.visit(node.left, live)
        right = self.visit(node.right, live)
        op = node.op
        if isinstance(left, np.ndarray) and isinstance(right, np.ndarray):
            equal = np.asarray(np.equal(left, right))
            return equal if op == "==" else np.asarray(~equal)
        assert isinstance(left, (Fixed, Approx)) and isinstance(right, (Fixed, Approx))
        if isinstance(left, Fixed) and isinstance(right, Fixed):
            aligned = _align([left, right])
            if aligned is not None:
                return np.asarray(_COMPARE[op](aligned[0].ints, aligned[1].ints))
        a, b = _to_approx(left), _to_approx(right)
        difference = a.values - b.values
        bound = (a.err + b.err) * _SAFETY + np.abs(difference) * _EPS
        self.unsure(np.abs(difference) <= bound, live)
        return np.asarray(_COMPARE[op](difference, 0.0))

    # -- series

    def index(self, node: ast.Index, live: BoolArray) -> Fixed | Approx:
        target = self.number(node.target, live)
        position = self.number(node.index, live)
        if not isinstance(position, Fixed):
            raise VectorisationError(f"index {self.source(node.index)!r} is not an exact number")
        arrays = (
            [target.ints]
            if isinstance(target, Fixed)
            else [target.values, np.broadcast_to(target.err, target.values.shape)]
        )
        length = arrays[0].shape[-1]
        whole, fraction = np.divmod(position.ints, 10**position.scale)
        bad = (fraction != 0) | (whole < 1) | (whole > length)
        self.flag(f"index {self.source(node.index)} is outside 1..{length}", bad, live)
        k = np.clip(whole, 1, max(length, 1)) - 1

        def pick(array: np.ndarray) -> np.ndarray:
            if k.size == 1:
                return array[..., int(k.reshape(-1)[0])]
            rows = np.broadcast_to(array, (self.size, length))
            return np.take_along_axis(rows, np.broadcast_to(k, (self.size,))[:, None], axis=1)[:, 0]

        if isinstance(target, Fixed):
            return Fixed(pick(arrays[0]), target.scale)
        return Approx(pick(arrays[0]), pick(arrays[1]))

    # -- functions

    def call(self, node: ast.Call, live: BoolArray) -> Vector:
        name = node.function
        if name == "round":
            return self.round(node, live)
        if name == "len":
            series = self.number(node.args[0], live)
            array = series.ints if isinstance(series, Fixed) else series.values
            return Fixed(np.array(array.shape[-1], dtype=np.int64), 0)
        args = [self.number(arg, live) for arg in node.args]
        if name == "sum":
            return self.sum(args[0])
        if name == "abs":
            value = args[0]
            if isinstance(value, Fixed):
                return Fixed(np.abs(value.ints), value.scale)
            return Approx(np.abs(value.values), value.err)
        if name == "clamp":
            value, low, high = args
            if isinstance(low, Fixed) and isinstance(high, Fixed):
                aligned = _align([low, high])
                crossed = (aligned[0].ints > aligned[1].ints) if aligned else None
            else:
                crossed = _to_approx(low).values > _to_approx(high).values
            if crossed is not None:
                self.flag(
                    f"clamp() lower bound {self.source(node.args[1])} is above upper bound "
                    f"{self.source(node.args[2])}",
                    crossed,
                    live,
                )
            return self.extreme("min", [self.extreme("max", [value, low]), high])
        if name in {"min", "max"}:
            if len(args) == 1:
                return self.reduce(name, args[0], live, node)
            return self.extreme(name, args)
        raise VectorisationError(f"unknown function {name!r}")

    def sum(self, series: Fixed | Approx) -> Fixed | Approx:
        if isinstance(series, Fixed):
            length = series.ints.shape[-1]
            if _max_abs(series.ints) * max(length, 1) < _LIMIT:
                return Fixed(series.ints.sum(axis=-1), series.scale)
            series = _to_approx(series)
        values = series.values.sum(axis=-1)
        length = series.values.shape[-1]
        err = np.broadcast_to(series.err, series.values.shape).sum(axis=-1)
        err = err + np.abs(series.values).sum(axis=-1) * _EPS * max(length, 1)
        return Approx(values, err)

    def reduce(
        self, name: str, series: Fixed | Approx, live: BoolArray, node: ast.Call
    ) -> Fixed | Approx:
        array = series.ints if isinstance(series, Fixed) else series.values
        if array.shape[-1] == 0:
            self.flag(f"{name}() of an empty series", np.ones(self.size, dtype=bool), live)
            return Fixed(np.zeros(array.shape[:-1], dtype=np.int64), 0)
        pick = np.argmin if name == "min" else np.argmax
        index = pick(array, axis=-1)[..., None]
        if isinstance(series, Fixed):
            return Fixed(np.take_along_axis(array, index, axis=-1)[..., 0], series.scale)
        err = np.broadcast_to(series.err, array.shape).max(axis=-1)
        return Approx(np.take_along_axis(array, index, axis=-1)[..., 0], err)

    def extreme(self, name: str, args: Sequence[Fixed | Approx]) -> Fixed | Approx:
        choose = np.minimum if name == "min" else np.maximum
        if all(isinstance(a, Fixed) for a in args):
            aligned = _align([a for a in args if isinstance(a, Fixed)])
            if aligned is not None:
                result = aligned[0].ints
                for number in aligned[1:]:
                    x, y = _expand(result, number.ints)
                    result = choose(x, y)
                return Fixed(result, aligned[0].scale)
        approx = [_to_approx(a) for a in args]
        values = approx[0].values
        err = np.broadcast_to(approx[0].err, values.shape)
        for item in approx[1:]:
            v, w = _expand(values, item.values)
            e, f = _expand(err, np.broadcast_to(item.err, item.values.shape))
            values = choose(v, w)
            err = np.maximum(e, f)
        return Approx(values, err)

    def round(self, node: ast.Call, live: BoolArray) -> Fixed | Approx:
        places_value = (
            self.number(node.args[1], live) if len(node.args) == 2 else Fixed.of(Decimal(2))
        )
        if not isinstance(places_value, Fixed) or places_value.ints.ndim != 0:
            raise VectorisationError(
                f"round() needs a number of decimals that is the same in every scenario "
                f"({self.source(node)!r})"
            )
        places_decimal = places_value.decimal(0)
        assert isinstance(places_decimal, Decimal)
        if places_decimal != places_decimal.to_integral_value() or not -15 <= places_decimal <= 15:
            self.flag(
                f"round() needs a whole number of decimals, got {places_decimal}",
                np.ones(self.size, dtype=bool),
                live,
            )
            return Fixed(np.zeros((), dtype=np.int64), 0)
        places = int(places_decimal)
        target = node.args[0]
        if isinstance(target, ast.Binary) and target.op == "/":
            left = self.number(target.left, live)
            right = self.number(target.right, live)
            if isinstance(left, Fixed) and isinstance(right, Fixed):
                exact = self.round_quotient(target, left, right, places, live)
                if exact is not None:
                    return exact
            value: Fixed | Approx = self.divide(target, left, right, live)
        else:
            value = self.number(target, live)
        if isinstance(value, Fixed):
            return self.round_fixed(value, places)
        return self.round_approx(value, places, live)

    def round_fixed(self, value: Fixed, places: int) -> Fixed:
        scale = max(places, 0)
        if value.scale <= places:
            # Nothing to round; more decimals only if they fit in 63 bits.
            rescaled = _rescale(value, scale)
            return rescaled if rescaled is not None else value
        shift = value.scale - places
        if shift > 18:
            # |ints| < 2**62 < 10**shift / 2: every value rounds to 0, or to ±1 when
            # the rule rounds away from zero.
            away = {"up": value.ints != 0, "ceiling": value.ints > 0, "floor": value.ints < 0}
            bump = away.get(self.rounding, np.zeros(value.ints.shape, dtype=bool))
            ints = np.where(value.ints < 0, -1, 1) * bump.astype(np.int64)
        else:
            unit = np.asarray(10**shift, dtype=np.int64)
            ints = _round_division(value.ints, unit, self.rounding)
        if places < 0:
            ints = ints * np.int64(10 ** (-places))
        return Fixed(ints, scale)

    def round_quotient(
        self, node: ast.Binary, left: Fixed, right: Fixed, places: int, live: BoolArray
    ) -> Fixed | None:
        """``round(a / b, places)`` in integers: a * 10**k divided by b with the contract's rule."""
        self.flag(f"division by zero: {self.source(node.right)} is 0", right.ints == 0, live)
        exponent = max(places, 0) + right.scale - left.scale
        numerator, denominator = left.ints, right.ints
        if exponent >= 0:
            if exponent > _MAX_SCALE or _max_abs(numerator) * 10**exponent >= _LIMIT:
                return None
            numerator = numerator * np.int64(10**exponent)
        else:
            if -exponent > _MAX_SCALE or _max_abs(denominator) * 10 ** (-exponent) >= _LIMIT:
                return None
            denominator = denominator * np.int64(10 ** (-exponent))
        numerator, denominator = _expand(numerator, denominator)
        safe = np.where(denominator == 0, 1, denominator)
        ints = _round_division(numerator, safe, self.rounding)
        if places < 0:
            return self.round_fixed(Fixed(ints, 0), places)
        return Fixed(ints, places)

    def round_approx(self, value: Approx, places: int, live: BoolArray) -> Fixed:
        factor = 10.0**places  # exact for places >= 0; one rounding more for places < 0
        scaled = value.values * factor
        err = np.broadcast_to(value.err, scaled.shape) * factor + np.abs(scaled) * (2 * _EPS)
        too_big = np.abs(scaled) >= 2.0**52
        self.unsure(too_big, live)
        safe = np.where(too_big, 0.0, scaled)
        magnitude = np.abs(safe)
        floor = np.floor(magnitude)
        fraction = magnitude - floor
        negative = safe < 0
        mode = self.rounding
        if mode.startswith("half"):
            distance = np.abs(fraction - 0.5)
            if mode == "half_up":
                bump = fraction >= 0.5
            elif mode == "half_down":
                bump = fraction > 0.5
            else:
                bump = (fraction > 0.5) | ((fraction == 0.5) & (floor % 2 == 1))
        else:
            distance = np.minimum(fraction, 1.0 - fraction)
            if mode == "down":
                bump = np.zeros_like(fraction, dtype=bool)
            elif mode == "up":
                bump = fraction > 0
            elif mode == "ceiling":
                bump = (fraction > 0) & ~negative
            else:
                bump = (fraction > 0) & negative
        self.unsure(distance <= err * _SAFETY, live)
        ints = (floor + bump).astype(np.int64)
        ints = np.where(negative, -ints, ints)
        if places < 0:
            return Fixed(ints * np.int64(10 ** (-places)), 0)
        return Fixed(ints, places)


_COMPARE = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


# ----------------------------------------------------------------------------- inputs


def _constant(value: Value) -> Vector:
    if isinstance(value, bool):
        return np.array(value)
    if isinstance(value, str):
        return np.array(value)
    if isinstance(value, Decimal):
        return Fixed.of(value)
    return Fixed.of(tuple(value))


def _check_numbers(
    name: str, term: Term, value: Fixed | Approx, errors: dict[str, BoolArray], size: int
) -> Fixed | Approx:
    """Bounds and öre/whole-number rules of an input, flagged per scenario."""
    kind = term.element_type

    def flag(message: str, mask: Any) -> None:
        _flag(errors, f"input {name!r}: {message}", _rows(mask, size))

    if isinstance(value, Fixed):
        if kind == "money" and value.scale > _ORE_SCALE:
            unit = 10 ** (value.scale - _ORE_SCALE)
            flag("money has at most two decimals (whole öre)", value.ints % unit != 0)
        if kind == "count":
            unit = 10**value.scale
            flag(
                "a count is a whole number of 0 or more",
                (value.ints % unit != 0) | (value.ints < 0),
            )
        for bound, message, test in (
            (term.minimum, "is below the minimum", np.less),
            (term.maximum, "is above the maximum", np.greater),
        ):
            if bound is None:
                continue
            limit = Fixed.of(bound)
            if isinstance(limit, Fixed):
                aligned = _align([value, limit])
                if aligned is not None:
                    flag(f"{message} {bound}", test(aligned[0].ints, aligned[1].ints))
                    continue
            flag(f"{message} {bound}", test(value.floats(), float(bound)))
    else:
        for bound, message, test in (
            (term.minimum, "is below the minimum", np.less),
            (term.maximum, "is above the maximum", np.greater),
        ):
            if bound is not None:
                flag(f"{message} {bound}", test(value.values, float(bound)))
    return value


def _prepare_input(
    name: str, term: Term, given: Any, errors: dict[str, BoolArray], size: int
) -> Vector:
    if isinstance(given, (Fixed, Approx)):
        return _check_numbers(name, term, given, errors, size)
    if isinstance(given, np.ndarray):
        if term.type == "boolean":
            return given.astype(bool, copy=False)
        if term.type == "choice":
            allowed = np.isin(given, list(term.choices or ()))
            message = f"input {name!r}: expected one of {', '.join(term.choices or ())}"
            _flag(errors, message, _rows(~allowed, size))
            return given
        raise VectorisationError(
            f"input {name!r}: give numbers as Fixed integers (see fixed_from_floats), not "
            f"a {given.dtype} array"
        )
    try:
        return _constant(coerce_value(given, term))
    except ValueError as error:
        raise VectorisationError(f"input {name!r}: {error}") from None


# ----------------------------------------------------------------------------- the result


@dataclass
class VectorSettlement:
    """Every output and payment of a contract for ``size`` scenarios.

    ``valid`` marks the scenarios the exact engine settles too; the others are
    counted in ``errors`` (the engine's reason → how many scenarios). Figures
    of ``fallback`` scenarios come from the exact engine.
    """

    contract: Contract
    size: int
    inputs: dict[str, Vector]
    outputs: dict[str, Vector]
    payments: dict[str, Fixed]
    valid: BoolArray
    errors: dict[str, int]
    fallback: dict[int, Mapping[str, Value]] = field(default_factory=dict)

    @property
    def approximate(self) -> tuple[str, ...]:
        """Outputs held as floats with an error bound rather than exactly."""
        return tuple(n for n, v in self.outputs.items() if isinstance(v, Approx))

    def _vector(self, name: str) -> Vector:
        if name in self.payments:
            return self.payments[name]
        if name in self.outputs:
            return self.outputs[name]
        return self.inputs[name]

    def value(self, name: str, row: int) -> Value:
        """The figure of one scenario, as the exact engine gives it (Approx: the float)."""
        if row in self.fallback and name in self.fallback[row]:
            return self.fallback[row][name]
        vector = self._vector(name)
        if isinstance(vector, Fixed):
            return vector.decimal(row)
        if isinstance(vector, Approx):
            item = _pick(vector.values, row)
            if np.ndim(item) == 0:
                return Decimal(float(item))
            return tuple(Decimal(float(i)) for i in np.ravel(item))
        item = _pick(vector, row)
        return bool(item) if vector.dtype == bool else str(item)

    def error_bound(self, name: str, row: int) -> float:
        """How far an approximate figure may be from the exact one (0 for exact figures)."""
        vector = self._vector(name)
        if row in self.fallback or not isinstance(vector, Approx):
            return 0.0
        return float(np.max(_pick(np.broadcast_to(vector.err, vector.values.shape), row)))

    def ore(self, name: str) -> IntArray:
        """A money output or payment in whole öre for every scenario (int64, shape (N,))."""
        vector = self._vector(name)
        if not isinstance(vector, Fixed) or vector.scale != _ORE_SCALE or vector.ints.ndim > 1:
            raise VectorisationError(f"{name!r} is not money held in öre")
        out = np.array(np.broadcast_to(vector.ints, (self.size,)), dtype=np.int64)
        for row, figures in self.fallback.items():
            figure = figures.get(name)
            if isinstance(figure, Decimal):
                out[row] = int(figure.scaleb(_ORE_SCALE))
        return out

    def floats(self, name: str) -> FloatArray:
        """A numeric figure for every scenario as floats (for statistics)."""
        vector = self._vector(name)
        if isinstance(vector, Fixed):
            values = vector.floats()
        elif isinstance(vector, Approx):
            values = vector.values
        else:
            raise VectorisationError(f"{name!r} is not a number")
        out = np.array(np.broadcast_to(values, (self.size, *values.shape[1:])), dtype=np.float64)
        for row, figures in self.fallback.items():
            figure = figures.get(name)
            if isinstance(figure, Decimal):
                out[row] = float(figure)
        return out

    def facts(self, row: int) -> dict[str, Value]:
        """The inputs of one scenario, exactly, as the exact engine takes them."""
        return {name: self.value(name, row) for name in self.inputs}


# ----------------------------------------------------------------------------- settle


def _money_check(
    name: str, kind: str, value: Vector, live: BoolArray, walker: _Walker, what: str
) -> Vector:
    """Money must come out in whole öre, counts whole (as the exact engine checks)."""
    if kind not in {"money", "count"} or not isinstance(value, (Fixed, Approx)):
        return value
    target = _ORE_SCALE if kind == "money" else 0
    if isinstance(value, Fixed):
        if value.scale <= target:
            rescaled = _rescale(value, target)
            if rescaled is not None:
                return rescaled
            return value
        unit = 10 ** (value.scale - target)
        whole, rest = np.divmod(value.ints, unit)
        message = (
            f"{what} is money but has fractions of an öre; say where to round with round(…)"
            if kind == "money"
            else f"{what} is a count but is not whole"
        )
        walker.flag(message, rest != 0, live)
        return Fixed(whole, target)
    scaled = value.values * 10.0**target
    err = np.broadcast_to(value.err, scaled.shape) * 10.0**target + np.abs(scaled) * _EPS
    nearest = np.rint(scaled)
    close = np.abs(scaled - nearest) <= err * _SAFETY
    walker.unsure(close, live)
    message = (
        f"{what} is money but has fractions of an öre"
        if kind == "money"
        else f"{what} is not whole"
    )
    walker.flag(message, ~close, live)
    return Fixed(nearest.astype(np.int64), target)


def settle_vectorised(
    contract: Contract,
    inputs: Mapping[str, Any],
    *,
    size: int,
    overrides: Mapping[str, Any] | None = None,
) -> VectorSettlement:
    """Settle ``contract`` for ``size`` scenarios at once.

    ``inputs`` maps every input to a value shared by all scenarios (as in the
    facts: a number, text, true/false or a list) or to one value per scenario:
    :class:`Fixed` integers for numbers (use :func:`fixed_from_floats` for
    floats), a ``bool`` array for a boolean, a text array for a choice.
    ``overrides`` are parameter what-ifs, as for the exact engine.
    """
    if size < 1:
        raise VectorisationError("at least one scenario is needed")
    missing = sorted(set(contract.inputs) - set(inputs))
    unknown = sorted(set(inputs) - set(contract.inputs))
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"no values for {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown inputs {', '.join(unknown)}")
        raise VectorisationError("; ".join(parts))
    parameters, _ = resolve_parameters(contract, overrides)
    errors: dict[str, BoolArray] = {}
    values: dict[str, Vector] = {n: _constant(v) for n, v in parameters.items()}
    prepared = {
        name: _prepare_input(name, contract.inputs[name], inputs[name], errors, size)
        for name in contract.inputs
    }
    for name, value in prepared.items():
        shape = value.ints.shape if isinstance(value, Fixed) else getattr(value, "shape", ())
        if isinstance(value, Approx):
            shape = value.values.shape
        if len(shape) >= 1 and shape[0] not in (1, size):
            raise VectorisationError(f"input {name!r} has {shape[0]} values for {size} scenarios")
    values.update(prepared)
    ambiguous = np.zeros(size, dtype=bool)
    live = np.ones(size, dtype=bool)
    outputs: dict[str, Vector] = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for name in contract.order:
            output = contract.outputs[name]
            assert output.compiled is not None
            walker = _Walker(output.formula, values, size, contract.rounding, errors, ambiguous)
            value = walker.visit(output.compiled.tree, live)
            value = _money_check(name, output.element_type, value, live, walker, f"output {name!r}")
            values[name] = value
            outputs[name] = value
        payments: dict[str, Fixed] = {}
        for payment in contract.payments:
            walker = _Walker(payment.formula, values, size, contract.rounding, errors, ambiguous)
            amount = walker.visit(payment.compiled.tree, live)
            amount = _money_check(
                payment.id, "money", amount, live, walker, f"payment {payment.id!r}"
            )
            assert isinstance(amount, Fixed)
            walker.flag(
                f"payment {payment.id!r} is negative (a payment cannot be negative)",
                amount.ints < 0,
                live,
            )
            payments[payment.id] = amount
    outputs = {n: outputs[n] for n in contract.outputs}
    invalid = errors.pop(_FLAGGED, np.zeros(size, dtype=bool))
    result = VectorSettlement(
        contract=contract,
        size=size,
        inputs=prepared,
        outputs=outputs,
        payments=payments,
        valid=~invalid,
        errors={},
    )
    counts = {message: int(mask.sum()) for message, mask in errors.items()}
    for row in (int(r) for r in np.flatnonzero(ambiguous)):
        # The exact engine decides this scenario, errors included.
        for message, mask in errors.items():
            if mask[row]:
                counts[message] -= 1
        try:
            settlement = settle(contract, result.facts(row), overrides=overrides)
        except UtfallError as error:
            result.valid[row] = False
            counts[str(error)] = counts.get(str(error), 0) + 1
            continue
        figures: dict[str, Value] = dict(settlement.outputs)
        figures.update({p.id: p.amount for p in settlement.payments})
        result.fallback[row] = figures
        result.valid[row] = True
    result.errors = {m: c for m, c in counts.items() if c > 0}
    return result


def check_agreement(
    result: VectorSettlement,
    rows: Sequence[int],
    *,
    overrides: Mapping[str, Any] | None = None,
) -> list[str]:
    """Settle ``rows`` with the exact engine and list every figure that differs.

    Exact figures must be equal; approximate ones (floats with an error
    bound, only for outputs that are not money) must lie within their bound.
    Scenarios marked invalid must be refused by the exact engine.
    """
    problems: list[str] = []
    contract = result.contract
    for row in rows:
        facts = result.facts(row)
        try:
            exact = settle(contract, facts, overrides=overrides)
        except UtfallError as error:
            if result.valid[row]:
                problems.append(f"scenario {row}: the exact engine refuses it ({error})")
            continue
        if not result.valid[row]:
            problems.append(f"scenario {row}: the exact engine settles it, the vectorised did not")
            continue
        figures: dict[str, Value] = dict(exact.outputs)
        figures.update({p.id: p.amount for p in exact.payments})
        for name, expected in figures.items():
            got = result.value(name, row)
            bound = result.error_bound(name, row)
            if bound:
                pairs = list(
                    zip(
                        got if isinstance(got, tuple) else (got,),
                        expected if isinstance(expected, tuple) else (expected,),
                        strict=True,
                    )
                )
                close = all(
                    isinstance(a, Decimal)
                    and isinstance(b, Decimal)
                    and math.isclose(float(a), float(b), rel_tol=0, abs_tol=bound)
                    for a, b in pairs
                )
                if not close:
                    problems.append(
                        f"scenario {row}: {name} is {got} ± {bound}, the exact engine says {expected}"
                    )
            elif got != expected:
                problems.append(
                    f"scenario {row}: {name} is {got}, the exact engine says {expected}"
                )
    return problems
