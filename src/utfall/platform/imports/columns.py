"""What an import of a declared table takes: its columns, how a file's header maps onto them.

Everything here is derived from the contract's declaration (``data:``): the columns of
the table with their labels, units and synonyms, plus the identity columns of a
participant's table — a personal identity number (``personnummer``, turned into a
keyed pseudonym at import and never stored) or a reference code of the source
system, as the participants' ``identity`` allows. The automatic mapping matches a
file's column names against each column's name, its Swedish and English labels and
its synonyms (ignoring case, spaces and punctuation), so a file made from the
table's import template maps completely by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from utfall.core.contracts.data import (
    IDENTITY_COLUMN,
    Column,
    DataDeclaration,
    Label,
    Table,
    normalise_name,
)
from utfall.errors import Finding
from utfall.platform.messages import ImportFinding

__all__ = [
    "IDENTITY_KINDS",
    "ImportColumn",
    "import_columns",
    "mapping_findings",
    "propose_mapping",
]

IDENTITY_KINDS: dict[str, tuple[Label, tuple[str, ...]]] = {
    "personnummer": (
        Label("Personnummer", "Personal identity number"),
        ("pnr", "personnr", "personalidentitynumber", "samordningsnummer", "ssn"),
    ),
    "reference": (
        Label("Deltagarreferens", "Participant reference"),
        (
            IDENTITY_COLUMN,
            "participantid",
            "participantreference",
            "pseudonym",
            "löpnummer",
            "lopnr",
            "deltagare",
            "deltagarid",
            "deltagarreferens",
            "id",
            "referens",
        ),
    ),
}
"""How a file may identify a person: the label and the names a file is likely to use."""


@dataclass(frozen=True)
class ImportColumn:
    """A column an import of the table takes: a declared column or an identity column."""

    name: str
    label: Label
    required: bool
    synonyms: tuple[str, ...]
    column: Column | None = None  # None for an identity column
    identity: str | None = None  # personnummer | reference

    @property
    def type(self) -> str:
        return self.identity or (self.column.type if self.column else "text")

    def names(self) -> tuple[str, ...]:
        """Every name a file may give the column (for the automatic mapping)."""
        return (self.name, self.label.sv, self.label.en, *self.synonyms)


def import_columns(declaration: DataDeclaration, table: Table) -> list[ImportColumn]:
    """The identity columns (for a participant's table), then the declared columns."""
    columns: list[ImportColumn] = []
    if table.per_participant:
        participants = declaration.participants
        kinds = participants.identity if participants is not None else ("reference",)
        for kind in kinds:
            label, synonyms = IDENTITY_KINDS[kind]
            columns.append(ImportColumn(kind, label, False, synonyms, identity=kind))
    for column in table.columns:
        columns.append(
            ImportColumn(column.name, column.label, column.required, column.synonyms, column)
        )
    return columns


def propose_mapping(columns: Sequence[ImportColumn], header: Sequence[str]) -> dict[str, str]:
    """Match the file's column names to the table's columns (target column → file column).

    Exact names first, then labels and synonyms; each file column is used once. A file
    with both a personal identity number and a reference maps the number.
    """
    by_name: dict[str, str] = {}
    for name in header:
        by_name.setdefault(normalise_name(name), name)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for exact in (True, False):
        for column in columns:
            if column.name in mapping:
                continue
            for candidate in (column.name,) if exact else column.names():
                found = by_name.get(normalise_name(candidate))
                if found and found not in used:
                    mapping[column.name] = found
                    used.add(found)
                    break
    identities = [c.name for c in columns if c.identity and c.name in mapping]
    for extra in identities[1:]:
        del mapping[extra]
    return mapping


def mapping_findings(
    columns: Sequence[ImportColumn],
    header: Sequence[str],
    mapping: dict[str, str],
    file_name: str,
    *,
    language: str = "en",
) -> list[Finding]:
    """Why ``mapping`` cannot be used (empty when it can): unknown targets or file columns,
    a file column used twice, a required column or the person's identity missing."""
    findings = []
    available = ", ".join(header)
    known = {column.name: column for column in columns}
    seen: dict[str, str] = {}
    for target, source in mapping.items():
        if target not in known:
            findings.append(
                ImportFinding(
                    code="unknown-target",
                    message=f"{target!r} is not a column of the table (it has: {', '.join(known)})",
                    file=file_name,
                    field_name=target,
                    params={"target": target},
                )
            )
        elif source not in header:
            findings.append(
                ImportFinding(
                    code="unknown-column",
                    message=f"the file has no column {source!r} (it has: {available})",
                    file=file_name,
                    row=1,
                    field_name=source,
                    params={"source": source},
                )
            )
        elif source in seen:
            findings.append(
                ImportFinding(
                    code="column-used-twice",
                    message=f"the column {source!r} is mapped to "
                    f"both {seen[source]!r} and {target!r}",
                    file=file_name,
                    row=1,
                    field_name=source,
                    params={
                        "source": source,
                        "first": known[seen[source]].label.sv,
                        "first_en": known[seen[source]].label.en,
                        "second": known[target].label.sv,
                        "second_en": known[target].label.en,
                    },
                )
            )
        else:
            seen[source] = target
    for column in columns:
        if column.required and column.name not in mapping:
            findings.append(
                ImportFinding(
                    code="missing-column",
                    message=f"the required column {column.name!r} "
                    f"({column.label.text(language)}) is missing; the file has: "
                    f"{available}",
                    file=file_name,
                    row=1,
                    field_name=column.name,
                    params={"column": column.label.sv, "column_en": column.label.en},
                )
            )
    identities = [c for c in columns if c.identity]
    if identities:
        given = [c.name for c in identities if c.name in mapping]
        if not given:
            wanted = " or ".join(f"{c.name!r} ({c.label.text(language)})" for c in identities)
            findings.append(
                ImportFinding(
                    code="missing-column",
                    message=f"a column identifying the person is "
                    f"required: {wanted}; the file has: {available}",
                    file=file_name,
                    row=1,
                    field_name=identities[0].name,
                    reason="missing-person",
                    params={
                        "columns": " / ".join(c.label.sv for c in identities),
                        "columns_en": " / ".join(c.label.en for c in identities),
                    },
                )
            )
        elif len(given) > 1:
            findings.append(
                ImportFinding(
                    code="ambiguous-person",
                    message=f"map one column identifying the person, not {' and '.join(given)}",
                    file=file_name,
                    row=1,
                    params={
                        "columns": " / ".join(known[n].label.sv for n in given),
                        "columns_en": " / ".join(known[n].label.en for n in given),
                    },
                )
            )
    return findings
