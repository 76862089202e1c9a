"""Syntax tree of the formula language (frozen, position-carrying nodes)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "Binary",
    "Boolean",
    "Call",
    "Compare",
    "Conditional",
    "Index",
    "Logical",
    "Name",
    "Negate",
    "Node",
    "Not",
    "Number",
    "Position",
    "Text",
]


@dataclass(frozen=True)
class Position:
    """Where a node stands in its formula: 1-based line/column, 0-based offsets."""

    line: int
    column: int
    start: int
    end: int


@dataclass(frozen=True)
class Node:
    """Base of every node."""

    pos: Position


@dataclass(frozen=True)
class Number(Node):
    value: Decimal


@dataclass(frozen=True)
class Text(Node):
    value: str


@dataclass(frozen=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """Arithmetic: ``op`` is one of ``+ - * /``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare(Node):
    """Comparison: ``op`` is one of ``== != < <= > >=``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical(Node):
    """``and`` / ``or`` (short-circuit)."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Conditional(Node):
    """``if condition then then_branch else else_branch``."""

    condition: Node
    then_branch: Node
    else_branch: Node


@dataclass(frozen=True)
class Call(Node):
    """A call of a whitelisted function."""

    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Index(Node):
    """``series[k]``: element k of a series, counted from 1."""

    target: Node
    index: Node
