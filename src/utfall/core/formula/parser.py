"""Parse formula text into the syntax tree, with a Lark LALR grammar.

The grammar is the whole language: there is no way to reach attributes,
imports or Python callables from it, so evaluation never needs ``eval``.

A formula is bounded (docs/contracts.md, "Limits"): at most
:data:`MAX_FORMULA_LENGTH` characters and :data:`MAX_FORMULA_DEPTH` levels of
nesting (each operator, call or index is one level; a chain
``a + b + c`` nests to the left). The tree is walked recursively by the checker,
the evaluator and the explanation, so the depth is checked before any of them
runs, and without recursion.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from utfall.core.formula import ast
from utfall.errors import FormulaError

__all__ = ["FUNCTIONS", "KEYWORDS", "MAX_FORMULA_DEPTH", "MAX_FORMULA_LENGTH", "parse"]

MAX_FORMULA_LENGTH = 4_000
"""The longest formula text, in characters (the reference contracts need 217)."""
MAX_FORMULA_DEPTH = 100
"""How deep a formula may nest (the reference contracts need 8)."""

GRAMMAR = r"""
?start: expr

?expr: "if" expr "then" expr "else" expr  -> conditional
     | disjunction

?disjunction: disjunction "or" conjunction  -> or_
            | conjunction
?conjunction: conjunction "and" negation    -> and_
            | negation
?negation: "not" negation                   -> not_
         | comparison
?comparison: sum COMPARE sum                -> compare
           | sum
?sum: sum "+" product                       -> add
    | sum "-" product                       -> sub
    | product
?product: product "*" unary                 -> mul
        | product "/" unary                 -> div
        | unary
?unary: "-" unary                           -> neg
      | "+" unary                           -> pos
      | postfix
?postfix: postfix "[" expr "]"              -> index
        | atom
?atom: NUMBER                               -> number
     | STRING                               -> string
     | "true"                               -> true
     | "false"                              -> false
     | NAME "(" [expr ("," expr)*] ")"      -> call
     | NAME                                 -> name
     | "(" expr ")"

COMPARE: "==" | "!=" | "<=" | ">=" | "<" | ">"
NUMBER: /\d(_?\d)*(\.\d(_?\d)*)?/
STRING: /"[^"\n]*"/ | /'[^'\n]*'/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
COMMENT: /#[^\n]*/

%import common.WS
%ignore WS
%ignore COMMENT
"""

KEYWORDS = frozenset({"if", "then", "else", "and", "or", "not", "true", "false"})
# name -> (minimum args, maximum args or None for any number)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "min": (1, None),
    "max": (1, None),
    "clamp": (3, 3),
    "round": (1, 2),
    "sum": (1, 1),
    "abs": (1, 1),
    "len": (1, 1),
}

_TOKEN_NAMES = {
    "NUMBER": "a number",
    "STRING": "a text in quotes",
    "NAME": "a name",
    "COMPARE": "a comparison",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "$END": "the end of the formula",
}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def _position(item: Any) -> ast.Position:
    if isinstance(item, Token):
        return ast.Position(
            item.line or 1, item.column or 1, item.start_pos or 0, item.end_pos or 0
        )
    meta = item.meta
    return ast.Position(meta.line, meta.column, meta.start_pos, meta.end_pos)


def _kids(tree: Tree[Any]) -> list[Any]:
    """Children of a tree, typed loosely: by this point they are AST nodes or tokens."""
    return list(tree.children)


@v_args(tree=True)
class _ToAst(Transformer[Token, ast.Node]):
    """Lark tree → frozen AST nodes carrying positions."""

    def number(self, tree: Tree[Any]) -> ast.Node:
        token = _kids(tree)[0]
        return ast.Number(_position(tree), Decimal(str(token).replace("_", "")))

    def string(self, tree: Tree[Any]) -> ast.Node:
        token = _kids(tree)[0]
        return ast.Text(_position(tree), str(token)[1:-1])

    def true(self, tree: Tree[Any]) -> ast.Node:
        return ast.Boolean(_position(tree), True)

    def false(self, tree: Tree[Any]) -> ast.Node:
        return ast.Boolean(_position(tree), False)

    def name(self, tree: Tree[Any]) -> ast.Node:
        return ast.Name(_position(tree), str(_kids(tree)[0]))

    def call(self, tree: Tree[Any]) -> ast.Node:
        function, *args = _kids(tree)
        present = tuple(a for a in args if a is not None)
        return ast.Call(_position(tree), str(function), present)

    def conditional(self, tree: Tree[Any]) -> ast.Node:
        condition, then_branch, else_branch = _kids(tree)
        return ast.Conditional(_position(tree), condition, then_branch, else_branch)

    def or_(self, tree: Tree[Any]) -> ast.Node:
        return ast.Logical(_position(tree), "or", *_kids(tree))

    def and_(self, tree: Tree[Any]) -> ast.Node:
        return ast.Logical(_position(tree), "and", *_kids(tree))

    def not_(self, tree: Tree[Any]) -> ast.Node:
        return ast.Not(_position(tree), _kids(tree)[0])

    def compare(self, tree: Tree[Any]) -> ast.Node:
        left, op, right = _kids(tree)
        return ast.Compare(_position(tree), str(op), left, right)

    def _binary(self, op: str, tree: Tree[Any]) -> ast.Node:
        left, right = _kids(tree)
        return ast.Binary(_position(tree), op, left, right)

    def add(self, tree: Tree[Any]) -> ast.Node:
        return self._binary("+", tree)

    def sub(self, tree: Tree[Any]) -> ast.Node:
        return self._binary("-", tree)

    def mul(self, tree: Tree[Any]) -> ast.Node:
        return self._binary("*", tree)

    def div(self, tree: Tree[Any]) -> ast.Node:
        return self._binary("/", tree)

    def neg(self, tree: Tree[Any]) -> ast.Node:
        return ast.Negate(_position(tree), _kids(tree)[0])

    def pos(self, tree: Tree[Any]) -> ast.Node:
        child: ast.Node = _kids(tree)[0]
        return child

    def index(self, tree: Tree[Any]) -> ast.Node:
        target, index = _kids(tree)
        return ast.Index(_position(tree), target, index)


def _describe_expected(expected: set[str]) -> str:
    names = sorted({_TOKEN_NAMES.get(e, repr(e.lower()) if e.isupper() else e) for e in expected})
    return ", ".join(names)


def _depth(tree: Tree[Any]) -> tuple[int, Any]:
    """Nesting depth of a Lark tree and its deepest node, found without recursion."""
    deepest, where = 0, tree
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest, where = depth, node
        if isinstance(node, Tree):
            stack.extend((child, depth + 1) for child in node.children if child is not None)
    return deepest, where


def parse(text: str) -> ast.Node:
    """Parse a formula; raise :class:`FormulaError` pointing at the problem.

    A formula over :data:`MAX_FORMULA_LENGTH` or :data:`MAX_FORMULA_DEPTH` is
    refused with a FormulaError naming the limit.
    """
    if not text or not text.strip():
        raise FormulaError("the formula is empty", formula=text, line=1, column=1)
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(
            f"the formula has {len(text):,} characters; the limit is "
            f"{MAX_FORMULA_LENGTH:,} (MAX_FORMULA_LENGTH)",
            formula=text[:80] + "…",
            line=text.count("\n", 0, MAX_FORMULA_LENGTH) + 1,
            column=MAX_FORMULA_LENGTH - text.rfind("\n", 0, MAX_FORMULA_LENGTH),
        )
    try:
        tree = _parser().parse(text)
    except UnexpectedCharacters as error:
        position = error.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        raise FormulaError(
            f"unexpected character {char!r}", formula=text, line=error.line, column=error.column
        ) from None
    except UnexpectedEOF as error:
        raise FormulaError(
            f"the formula ends too early; expected {_describe_expected(set(error.expected))}",
            formula=text,
            line=text.count("\n") + 1,
            column=len(text.splitlines()[-1]) + 1 if text.splitlines() else 1,
        ) from None
    except UnexpectedToken as error:
        token = error.token
        expected = _describe_expected(set(error.expected))
        if token.type == "$END":
            message = f"the formula ends too early; expected {expected}"
            line = text.rstrip("\n").count("\n") + 1
            column = len(text.rstrip("\n").splitlines()[-1]) + 1
        else:
            message = f"unexpected {str(token)!r}; expected {expected}"
            line, column = token.line or 1, token.column or 1
        raise FormulaError(
            message,
            formula=text,
            line=line,
            column=column,
        ) from None
    except UnexpectedInput as error:  # pragma: no cover - other Lark input errors
        raise FormulaError(
            "cannot parse the formula", formula=text, line=error.line, column=error.column
        ) from None
    if isinstance(tree, Token):
        # A formula that is a single token (a number or a name) is not transformed as a tree.
        tree = Tree("number" if tree.type == "NUMBER" else "name", [tree])
    depth, where = _depth(tree)
    if depth > MAX_FORMULA_DEPTH:
        line, column = (where.line or 1, where.column or 1) if isinstance(where, Token) else (1, 1)
        raise FormulaError(
            f"the formula nests {depth} levels deep; the limit is {MAX_FORMULA_DEPTH} "
            "(MAX_FORMULA_DEPTH): split it into named outputs",
            formula=text,
            line=line,
            column=column,
        )
    node: ast.Node = _ToAst().transform(tree)
    return node
