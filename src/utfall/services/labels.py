"""What a page calls a part of a contract: its declared label in the reader's language.

A contract carries its own labels in Swedish and English for its outputs, inputs,
payments, cost categories, test cases and parties (docs/contracts.md, labels).
:func:`label` gives the declared label in the active language and, for a part the
contract does not label, a readable form of its identifier, never the identifier
itself::

    label(contract, "output", "invested_counted_sek", "sv")  # → "Investerat belopp som räknas"
    label(contract, "party", "lsv", "en")                    # → "Leksell Social Ventures"

``document`` may be a parsed :class:`~utfall.core.contracts.Contract`, its
:class:`~utfall.core.contracts.schema.ContractDocument`, or ``None`` (no contract at
hand: the humanised identifier).
"""

from __future__ import annotations

from typing import Any

from utfall.core.contracts.labels import (
    KINDS,
    declared_label,
    declared_summary,
    humanise,
    role_label,
)
from utfall.services.formatting import language_of

__all__ = ["KINDS", "label", "labels", "role", "summary"]


def label(document: Any, kind: str, name: str, language: str | None = "sv") -> str:
    """The label of the ``kind`` called ``name`` in ``language`` (``sv`` or ``en``).

    ``kind`` is one of ``output``, ``input``, ``payment``, ``cost_category``,
    ``test_case``, ``party`` (also ``parameter``, ``evaluation``, ``table`` and
    ``contract`` with name ``title`` or ``description``). Without a declared
    label: a humanised identifier (``invested_counted_sek`` → ``Invested counted (SEK)``).
    """
    lang = language_of(language)
    name = str(name)
    declared = declared_label(document, kind, name) if document is not None else None
    if declared is None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    if declared is not None:
        return declared.text(lang)
    if kind == "contract":
        return ""
    return humanise(name, lang)


def summary(document: Any, kind: str, name: str, language: str | None = "sv") -> str:
    """The description of a part in ``language``: the declared one in both languages,
    else empty (the caller shows the one-language ``description`` then)."""
    lang = language_of(language)
    declared = declared_summary(document, kind, str(name)) if document is not None else None
    if declared is not None:
        return declared.text(lang)
    return ""


def labels(document: Any, kind: str, names: Any, language: str | None = "sv") -> dict[str, str]:
    """Name → label for several names of one kind (e.g. the columns of a table)."""
    return {str(n): label(document, kind, str(n), language) for n in names}


def role(role_name: str, language: str | None = "sv") -> str:
    """The label of a party role (``commissioner`` → ``Beställare``)."""
    declared = role_label(role_name)
    lang = language_of(language)
    return declared.text(lang) if declared is not None else humanise(role_name, lang)
