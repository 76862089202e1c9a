"""Read YAML exactly: decimals stay ``Decimal`` and every value keeps its line.

PyYAML's safe loader turns ``0.40`` into a float; contracts are about money,
so floats are built as ``Decimal`` from the literal text instead. Positions are
recorded per dotted path so a validation finding can name the line.

This is the one YAML loader of utfall (contracts, evaluation specs, finance
plans, facts, scenarios): it is bounded, so a small hostile
file cannot take the machine down (docs/contracts.md, "Limits"):

- at most :data:`MAX_YAML_CHARACTERS` characters,
- no anchors and no aliases (``&a`` / ``*a``): they are what makes a
  "billion laughs" file of a few kilobytes expand to gigabytes,
- collections nested at most :data:`MAX_YAML_DEPTH` deep,
- at most :data:`MAX_YAML_NODES` nodes (scalars, lists and mappings).

A file over a limit is refused with a located finding naming the limit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.resolver import Resolver

from utfall.errors import Finding

__all__ = [
    "MAX_YAML_CHARACTERS",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "YamlDocument",
    "path_text",
    "read_yaml",
]

MAX_YAML_CHARACTERS = 1_000_000
"""The longest YAML document read (the largest reference contract has 33,000)."""
MAX_YAML_DEPTH = 50
"""How deep lists and mappings may nest (the reference files need 8)."""
MAX_YAML_NODES = 100_000
"""How many scalars, lists and mappings one document may hold."""

try:  # libyaml's parser when it is there: about four times faster than PyYAML's own
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser as _PyParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _PyParser):  # type: ignore[no-redef]
        def __init__(self, stream: str):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _PyParser.__init__(self)


class _LimitExceeded(yaml.YAMLError):
    """A document over one of the limits; carries the finding code and the place."""

    def __init__(self, code: str, message: str, mark: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.mark = mark


class _BoundedComposer(Composer):
    """PyYAML's composer with the depth, node and alias limits checked as it goes.

    Composing is where a hostile file does its harm (aliases shared into every
    path, recursion as deep as the brackets), so the limits are checked here,
    before any Python object is built.
    """

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[attr-defined]  # from the parser mixin
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _LimitExceeded(
                "yaml-alias",
                "anchors and aliases (&name, *name) are not allowed; write the value out",
                event.start_mark,
            )
        self._nodes += 1
        if self._nodes > MAX_YAML_NODES:
            raise _LimitExceeded(
                "yaml-too-many-nodes",
                f"more than {MAX_YAML_NODES:,} values (MAX_YAML_NODES)",
                event.start_mark,
            )
        if isinstance(event, (SequenceStartEvent, MappingStartEvent)):
            if self._depth >= MAX_YAML_DEPTH:
                raise _LimitExceeded(
                    "yaml-too-deep",
                    f"lists and mappings nested more than {MAX_YAML_DEPTH} deep (MAX_YAML_DEPTH)",
                    event.start_mark,
                )
            self._depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)


class _DecimalLoader(_BoundedComposer, _Parser, SafeConstructor, Resolver):
    """Bounded safe loader that builds floats as exact ``Decimal``."""

    def __init__(self, stream: str):
        _Parser.__init__(self, stream)
        _BoundedComposer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Build one value; a scalar Python cannot build (``2016-02-30``) is a located error."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, ArithmeticError) as error:
            raise yaml.constructor.ConstructorError(
                None, None, f"the value cannot be read ({error})", node.start_mark
            ) from None


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")
    lowered = text.lower()
    if lowered in {".nan", ".inf", "-.inf", "+.inf"}:
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is not a number a contract can use", node.start_mark
        )
    return Decimal(text)


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def path_text(path: tuple[Any, ...]) -> str:
    """``("outputs", "x", "formula")`` → ``outputs.x.formula``; list items as ``[i]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


class YamlDocument:
    """Parsed YAML data with the (line, column) of every path in it."""

    def __init__(self, data: Any, positions: dict[tuple[Any, ...], tuple[int, int]], source: str):
        self.data = data
        self.positions = positions
        self.source = source

    def position(self, path: tuple[Any, ...]) -> tuple[int | None, int | None]:
        """Line and column of the closest recorded ancestor of ``path`` (1-based)."""
        probe = tuple(path)
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), (None, None))

    def finding(self, code: str, message: str, path: tuple[Any, ...]) -> Finding:
        """A finding located at ``path`` in this document."""
        line, column = self.position(path)
        return Finding(
            code=code,
            message=message,
            file=self.source,
            path=path_text(path) or None,
            line=line,
            column=column,
        )


def _record(
    node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], tuple[int, int]]
) -> None:
    out[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                continue
            child = (*path, key)
            _record(value_node, child, out)
            # A finding on a key points at the key itself.
            out[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(item, (*path, index), out)


def read_yaml(text: str, *, source: str, what: str = "document") -> YamlDocument:
    """Parse YAML text; raise a located :class:`Finding` list on syntax errors.

    Raises ``ValueError`` carrying a Finding as its only argument on a syntax
    error or a document over a limit (see the module), so callers can wrap it in
    their own FindingsError subclass.
    """
    if len(text) > MAX_YAML_CHARACTERS:
        raise ValueError(
            Finding(
                code="yaml-too-large",
                message=(
                    f"{what} has {len(text):,} characters; the limit is "
                    f"{MAX_YAML_CHARACTERS:,} (MAX_YAML_CHARACTERS)"
                ),
                file=source,
            )
        )
    loader = _DecimalLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        loader.dispose()
    except _LimitExceeded as error:
        mark = error.mark
        raise ValueError(
            Finding(
                code=error.code,
                message=f"{what} is refused: {error.message}",
                file=source,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            )
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = error.problem or error.context or "invalid YAML"
        raise ValueError(
            Finding(
                code="yaml-syntax",
                message=f"{what} is not valid YAML: {problem}",
                file=source,
                line=line,
                column=column,
            )
        ) from None
    except yaml.YAMLError as error:
        raise ValueError(
            Finding(code="yaml-syntax", message=f"{what} is not valid YAML: {error}", file=source)
        ) from None
    positions: dict[tuple[Any, ...], tuple[int, int]] = {}
    if node is not None:
        _record(node, (), positions)
    return YamlDocument(data, positions, source)
