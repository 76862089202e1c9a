"""The labels a contract declares for what pages show of it, in Swedish and English.

A contract names its parts with identifiers (``invested_counted_sek``, ``lsv``); a
person reads their labels. :func:`declared_label` finds the label the document
declares for a part; :func:`humanise` is the last resort for a part without one,
so that no page shows a raw identifier.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from utfall.core.contracts.data import Label
from utfall.core.contracts.schema import ContractDocument, LabelDocument, SummaryDocument

__all__ = [
    "KINDS",
    "Kind",
    "declared_label",
    "declared_summary",
    "document_of",
    "humanise",
    "role_label",
]

Kind = Literal[
    "output",
    "input",
    "parameter",
    "payment",
    "cost_category",
    "test_case",
    "party",
    "evaluation",
    "table",
    "contract",
]
KINDS: tuple[str, ...] = get_args(Kind)

_ROLE_LABELS = {
    "commissioner": Label("Beställare", "Commissioner"),
    "financier": Label("Finansiär", "Financier"),
    "provider": Label("Utförare", "Provider"),
    "intermediary": Label("Intermediär", "Intermediary"),
    "evaluator": Label("Oberoende utvärderare", "Independent evaluator"),
    "fund_administrator": Label("Fondförvaltare", "Fund administrator"),
}

# Trailing words of identifiers that are units, shown in brackets.
_UNITS = {"sek": Label("kr", "SEK"), "msek": Label("mnkr", "MSEK"), "pct": Label("%", "%")}


def document_of(contract: Any) -> ContractDocument | None:
    """The :class:`ContractDocument` of a document, a compiled contract or anything carrying one."""
    if isinstance(contract, ContractDocument):
        return contract
    document = getattr(contract, "document", None)
    if isinstance(document, ContractDocument):
        return document
    return None


def _label(document: LabelDocument | None) -> Label | None:
    return Label(document.sv, document.en) if document is not None else None


def declared_label(contract: Any, kind: str, name: str) -> Label | None:
    """The label the contract declares for its ``kind`` called ``name``, or ``None``.

    ``kind`` is one of :data:`KINDS`; for ``contract`` the name is ``title`` or
    ``description``. A party without a label is called by its declared name.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    document = document_of(contract)
    if document is None:
        return None
    if kind == "output":
        output = document.outputs.get(name)
        return _label(output.label) if output is not None else None
    if kind == "input":
        term = document.inputs.get(name)
        return _label(term.label) if term is not None else None
    if kind == "parameter":
        parameter = document.parameters.get(name)
        return _label(parameter.label) if parameter is not None else None
    if kind == "payment":
        for payment in document.payments:
            if payment.id == name:
                return _label(payment.label)
        return None
    if kind == "test_case":
        for case in document.tests:
            if case.name == name:
                return _label(case.label)
        return None
    if kind == "party":
        for party in document.parties:
            if party.id == name:
                return _label(party.label) or Label(party.name, party.name)
        return None
    if kind == "cost_category":
        return _cost_category(document, name)
    if kind == "evaluation":
        evaluation = document.evaluations.get(name)
        return _label(evaluation.label) if evaluation is not None else None
    if kind == "table":
        return _table(document, name)
    if name == "title":
        return _label(document.label) or Label(document.title, document.title)
    if name == "description":
        return declared_summary(document, "contract", "")
    return None


def declared_summary(contract: Any, kind: str, name: str) -> Label | None:
    """The description the contract declares for a part in both languages, or ``None``."""
    document = document_of(contract)
    if document is None:
        return None
    part: Any = None
    if kind == "output":
        part = document.outputs.get(name)
    elif kind == "input":
        part = document.inputs.get(name)
    elif kind == "parameter":
        part = document.parameters.get(name)
    elif kind == "payment":
        part = next((p for p in document.payments if p.id == name), None)
    elif kind == "test_case":
        part = next((t for t in document.tests if t.name == name), None)
    elif kind == "evaluation":
        part = document.evaluations.get(name)
    elif kind == "table" and document.data is not None:
        if name == "participants":
            part = document.data.participants
        else:
            part = document.data.tables.get(name)
    elif kind == "contract":
        part = document
    summary: SummaryDocument | None = getattr(part, "summary", None)
    if summary is None:
        return None
    english = summary.en or getattr(part, "description", None) or summary.sv
    return Label(summary.sv, " ".join(str(english).split()))


def _cost_category(document: ContractDocument, name: str) -> Label | None:
    declared = document.cost_categories.get(name)
    if declared is not None:
        return _label(declared)
    # A cost report table's choice column names the categories with their labels.
    if document.data is not None:
        for table in document.data.tables.values():
            for column_name, column in table.columns.items():
                if column_name == "category" and column.choices and name in column.choices:
                    return _label(column.choices[name])
    return None


def _table(document: ContractDocument, name: str) -> Label | None:
    if document.data is None:
        return None
    if name == "participants" and document.data.participants is not None:
        return _label(document.data.participants.label)
    table = document.data.tables.get(name)
    return _label(table.label) if table is not None else None


def role_label(role: str) -> Label | None:
    """The label of a party role (commissioner → Beställare / Commissioner)."""
    return _ROLE_LABELS.get(role)


def humanise(name: str, language: str) -> str:
    """A readable form of an identifier, the last resort for a part without a label.

    ``invested_counted_sek`` → ``Invested counted (kr)`` in Swedish,
    ``Invested counted (SEK)`` in English.
    """
    english = language.startswith("en")
    words = [w for w in re.split(r"[_\-\s]+", name.strip()) if w]
    if not words:
        return name
    unit = None
    if len(words) > 1 and words[-1].lower() in _UNITS:
        unit = _UNITS[words.pop().lower()].text("en" if english else "sv")
    text = " ".join(words)
    text = text[:1].upper() + text[1:]
    return f"{text} ({unit})" if unit else text
