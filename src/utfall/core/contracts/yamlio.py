"""Read YAML exactly: decimals stay ``Decimal`` and every value keeps its line.

PyYAML's safe loader turns ``0.40`` into a float; contracts are about money,
so floats are built as ``Decimal`` from the literal text instead. Positions are
recorded per dotted path so a validation finding can name the line.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml

from utfall.errors import Finding

__all__ = ["YamlDocument", "path_text", "read_yaml"]


class _DecimalLoader(yaml.SafeLoader):
    """Safe loader that builds floats as exact ``Decimal``."""


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
    error, so callers can wrap it in their own FindingsError subclass.
    """
    try:
        data = yaml.load(text, Loader=_DecimalLoader)
        node = yaml.compose(text, Loader=_DecimalLoader)
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
