"""Name → estimator, as an evaluation spec's ``method`` names it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["METHODS", "register_method"]

METHODS: dict[str, Callable[..., Any]] = {}


def register_method(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: make an estimator available under ``name``."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        if name in METHODS and METHODS[name] is not function:
            raise ValueError(f"estimator {name!r} registered twice")
        METHODS[name] = function
        return function

    return decorate
