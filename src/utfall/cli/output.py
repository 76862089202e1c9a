"""Shared output helpers of the CLI: JSON for machines, Rich for people."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import typer
from rich.console import Console

__all__ = ["console", "print_json"]

console = Console(highlight=False)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout (Decimals as exact strings)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_default))
