"""The Norrköping contract with another ``council: individual_status`` term (imported by
name, like ``council_helpers``): the tests of what a role that sees aggregates only is shown
replay it against the financier of a contract that does not list it (decision 0940)."""

from __future__ import annotations

import re

__all__ = ["AGGREGATES_FOR_FINANCIER", "with_individual_status"]

_TERM = re.compile(r"^  individual_status: \[[a-z, ]*\]$", re.MULTILINE)

AGGREGATES_FOR_FINANCIER = ("commissioner", "provider", "intermediary", "evaluator")
"""Today's rule before the term: everyone but the financier."""


def with_individual_status(text: str, roles: tuple[str, ...]) -> str:
    """``text`` (a contract declaring ``council: individual_status``) listing ``roles``."""
    changed, count = _TERM.subn(f"  individual_status: [{', '.join(roles)}]", text)
    assert count == 1, "the contract declares no council: individual_status term"
    return changed
