"""The contract's data declaration, compiled: its tables, their columns, who imports them.

A contract declares the participants table (the unit, how a person is identified,
inclusion and end dates, the group) and its other tables: per-participant
records, events and measurements, and aggregate series. Everything the platform
does with data is derived from this declaration — the import kinds, the column
mapping, the templates, the participants page — and the evaluations read the
tables by name. :func:`compile_data` checks a document's declaration and
collects every problem as a located finding; :func:`convert_cell` turns one cell
of an imported file into the column's value; :func:`declaration_changes` says
whether a new contract version keeps the rows already stored readable.

Rows stored under an earlier version are read under the newest one by this rule
(docs/contracts.md, decision 0206): a column keeps its name or names its old one
(``renamed_from``); its type may only widen (integer → decimal, more decimal
places, more choices, looser bounds); a table or column with stored rows may not
disappear; a column new to a table with stored rows is optional or has a default.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from utfall.core.contracts.schema import (
    ColumnDocument,
    DataDocument,
    LabelDocument,
    SummaryDocument,
)
from utfall.core.contracts.yamlio import YamlDocument
from utfall.errors import Finding

__all__ = [
    "DERIVED_COLUMNS",
    "IDENTITY_COLUMN",
    "PARTICIPANTS",
    "CellError",
    "Choice",
    "Column",
    "DataDeclaration",
    "Label",
    "Table",
    "compile_data",
    "convert_cell",
    "declaration_changes",
    "normalise_name",
]

PARTICIPANTS = "participants"
IDENTITY_COLUMN = "participant"
"""The column holding a participant's pseudonym in every participant's table."""
DERIVED_COLUMNS = (
    IDENTITY_COLUMN,
    "treated",
    "post",
    "months_since_inclusion",
    "month",
    "period",
    "period_month",
)
"""Columns an evaluation's frame adds to a participant's table (docs/contracts.md)."""

NAME = re.compile(r"[a-z][a-z0-9_]*")
NUMERIC = {"integer", "decimal", "money"}
DEFAULT_PLACES = 4
TEXT_LENGTH = 100


@dataclass(frozen=True)
class Label:
    """A text in Swedish and English."""

    sv: str
    en: str

    def text(self, language: str) -> str:
        """The text in ``language`` (``sv`` or ``en``; Swedish for any other)."""
        return self.en if language.startswith("en") else self.sv


@dataclass(frozen=True)
class Choice:
    """An allowed value of a choice column and its label."""

    value: str
    label: Label


@dataclass(frozen=True)
class Column:
    """A declared column."""

    name: str
    type: str  # date | integer | decimal | money | boolean | choice | text | reference
    label: Label
    required: bool = True
    description: str | None = None
    summary: Label | None = None  # the description in Swedish and English, when declared
    unit: str | None = None
    default: Any = None
    synonyms: tuple[str, ...] = ()
    places: int = DEFAULT_PLACES
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    choices: tuple[Choice, ...] = ()
    to: str | None = None
    role: str | None = None
    renamed_from: str | None = None
    allowed: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def choice_values(self) -> tuple[str, ...]:
        """The allowed values of a choice (or reference) column, in declared order."""
        return tuple(c.value for c in self.choices) or tuple(sorted(self.allowed))

    def choice_label(self, value: str, language: str) -> str:
        """The label of one value of a choice column (the value itself if unknown)."""
        for choice in self.choices:
            if choice.value == value:
                return choice.label.text(language)
        return value


@dataclass(frozen=True)
class Table:
    """A declared table. ``kind`` is ``participants`` for the participants table."""

    name: str
    kind: str
    label: Label
    columns: tuple[Column, ...]
    date: str
    key: tuple[str, ...] = ()
    import_roles: tuple[str, ...] = ("commissioner",)
    description: str | None = None
    summary: Label | None = None  # the description in Swedish and English, when declared
    # The participants table only:
    unit: Label | None = None
    identity: tuple[str, ...] = ()
    end: str | None = None
    group: str | None = None
    treated: str | None = None
    subgroups: tuple[str, ...] = ()

    @property
    def per_participant(self) -> bool:
        """Whether each row belongs to a participant (every kind but a series)."""
        return self.kind != "series"

    @property
    def is_participants(self) -> bool:
        return self.kind == PARTICIPANTS

    def column(self, name: str) -> Column:
        """The column called ``name``; KeyError names the table's columns."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r} ({', '.join(self.column_names)})")

    def has(self, name: str) -> bool:
        return any(column.name == name for column in self.columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


@dataclass(frozen=True)
class DataDeclaration:
    """Every table a contract declares, the participants first."""

    participants: Table | None = None
    tables: Mapping[str, Table] = field(default_factory=dict)

    def __iter__(self) -> Any:
        if self.participants is not None:
            yield self.participants
        yield from self.tables.values()

    def __bool__(self) -> bool:
        return self.participants is not None or bool(self.tables)

    def table(self, name: str) -> Table:
        """The table called ``name`` (``participants`` included)."""
        if name == PARTICIPANTS and self.participants is not None:
            return self.participants
        if name in self.tables:
            return self.tables[name]
        raise KeyError(f"the contract declares no table {name!r} (tables: {', '.join(self.names)})")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(table.name for table in self)


# --- compiling ---------------------------------------------------------------------


def _label(document: LabelDocument) -> Label:
    return Label(document.sv, document.en)


def _summary(document: SummaryDocument | None, description: str | None) -> Label | None:
    """A declared description in both languages (English from ``description`` when the
    summary has none), or ``None``."""
    if document is None:
        return None
    english = document.en or description or document.sv
    return Label(" ".join(document.sv.split()), " ".join(english.split()))


def _bound(raw: Any, what: str) -> Decimal:
    if isinstance(raw, bool):
        raise ValueError(f"'{what}' must be a number")
    try:
        number = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"'{what}' must be a number, not {raw!r}") from None
    if not number.is_finite():
        raise ValueError(f"'{what}' must be a finite number")
    return number


def _column(
    name: str,
    document: ColumnDocument,
    path: tuple[Any, ...],
    yaml_doc: YamlDocument,
    findings: list[Finding],
    parties: Sequence[tuple[str, str]],
) -> Column:
    if not NAME.fullmatch(name):
        findings.append(
            yaml_doc.finding("bad-name", f"{name!r} is not a valid column name (a-z, 0-9, _)", path)
        )
    elif name in DERIVED_COLUMNS and name != "month":
        # ``month`` may name a table's date column: the derived month is that date's month.
        findings.append(
            yaml_doc.finding(
                "reserved-column",
                f"{name!r} is a column every evaluation adds itself "
                f"({', '.join(DERIVED_COLUMNS)}); call this column something else",
                path,
            )
        )
    bounds: dict[str, Decimal | None] = {"minimum": None, "maximum": None}
    for key, attribute in (("min", "minimum"), ("max", "maximum")):
        raw = getattr(document, key)
        if raw is None:
            continue
        if document.type not in NUMERIC:
            findings.append(
                yaml_doc.finding(
                    "bound-on-non-number", f"'{key}' applies to numbers only", (*path, key)
                )
            )
            continue
        try:
            bounds[attribute] = _bound(raw, key)
        except ValueError as error:
            findings.append(yaml_doc.finding("bad-bound", str(error), (*path, key)))
    if (
        bounds["minimum"] is not None
        and bounds["maximum"] is not None
        and bounds["minimum"] > bounds["maximum"]
    ):
        findings.append(yaml_doc.finding("bad-bound", "'min' is above 'max'", (*path, "min")))
    allowed: frozenset[str] = frozenset()
    if document.type == "reference":
        allowed = frozenset(
            party for party, role in parties if document.role is None or role == document.role
        )
        if not allowed:
            findings.append(
                yaml_doc.finding(
                    "no-reference-target",
                    f"no party of the contract has the role {document.role!r}",
                    (*path, "role"),
                )
            )
    column = Column(
        name=name,
        type=document.type,
        label=_label(document.label),
        required=document.required,
        description=document.description,
        summary=_summary(document.summary, document.description),
        unit=document.unit,
        synonyms=tuple(document.synonyms),
        places=2
        if document.type == "money"
        else (document.places if document.places is not None else DEFAULT_PLACES),
        choices=tuple(Choice(v, _label(label)) for v, label in (document.choices or {}).items()),
        to=document.to,
        role=document.role,
        renamed_from=document.renamed_from,
        allowed=allowed,
        **bounds,
    )
    if document.default is not None:
        if document.required:
            findings.append(
                yaml_doc.finding(
                    "default-on-required",
                    "a default applies to an optional column (required: false)",
                    (*path, "default"),
                )
            )
        try:
            default = convert_cell(column, document.default, decimal_comma=False)
        except CellError as error:
            findings.append(
                yaml_doc.finding("bad-default", f"the default: {error}", (*path, "default"))
            )
        else:
            column = replace(column, default=default)
    return column


def _columns(
    columns: Mapping[str, ColumnDocument],
    path: tuple[Any, ...],
    yaml_doc: YamlDocument,
    findings: list[Finding],
    parties: Sequence[tuple[str, str]],
) -> tuple[Column, ...]:
    out = tuple(
        _column(name, doc, (*path, "columns", name), yaml_doc, findings, parties)
        for name, doc in columns.items()
    )
    seen: dict[str, str] = {}
    for column in out:
        for synonym in (column.name, *column.synonyms):
            key = normalise_name(synonym)
            if key in seen and seen[key] != column.name:
                findings.append(
                    yaml_doc.finding(
                        "ambiguous-synonym",
                        f"{synonym!r} names both {seen[key]!r} and {column.name!r}",
                        (*path, "columns", column.name, "synonyms"),
                    )
                )
            seen.setdefault(key, column.name)
    return out


def _date_column(
    table: str,
    columns: tuple[Column, ...],
    name: str | None,
    what: str,
    path: tuple[Any, ...],
    yaml_doc: YamlDocument,
    findings: list[Finding],
    *,
    required: bool,
) -> None:
    if name is None:
        return
    found = next((c for c in columns if c.name == name), None)
    if found is None:
        findings.append(
            yaml_doc.finding(
                "unknown-column",
                f"{what} names {name!r}, which is not a column of {table} "
                f"({', '.join(c.name for c in columns)})",
                path,
            )
        )
    elif found.type != "date":
        findings.append(
            yaml_doc.finding(
                "not-a-date", f"{what} must be a date column; {name!r} is {found.type}", path
            )
        )
    elif required and not found.required:
        findings.append(
            yaml_doc.finding("optional-date", f"{what} {name!r} must be required", path)
        )


def compile_data(
    document: DataDocument | None,
    yaml_doc: YamlDocument,
    findings: list[Finding],
    *,
    parties: Sequence[tuple[str, str]],
) -> DataDeclaration:
    """The compiled declaration; every problem is appended to ``findings``."""
    if document is None:
        return DataDeclaration()
    participants = None
    if document.participants is not None:
        doc = document.participants
        path: tuple[Any, ...] = ("data", "participants")
        columns = _columns(doc.columns, path, yaml_doc, findings, parties)
        _date_column(
            PARTICIPANTS,
            columns,
            doc.inclusion,
            "inclusion",
            (*path, "inclusion"),
            yaml_doc,
            findings,
            required=True,
        )
        _date_column(
            PARTICIPANTS,
            columns,
            doc.end,
            "end",
            (*path, "end"),
            yaml_doc,
            findings,
            required=False,
        )
        if doc.end is not None and any(c.name == doc.end and c.required for c in columns):
            findings.append(
                yaml_doc.finding(
                    "required-end",
                    "the end date is optional (people leave later): required: false",
                    (*path, "end"),
                )
            )
        if doc.group is not None:
            group = next((c for c in columns if c.name == doc.group), None)
            if group is None or group.type != "choice":
                findings.append(
                    yaml_doc.finding(
                        "bad-group",
                        f"group must name a choice column, not {doc.group!r}",
                        (*path, "group"),
                    )
                )
            elif doc.treated is None or doc.treated not in group.choice_values:
                findings.append(
                    yaml_doc.finding(
                        "bad-treated",
                        f"treated must be one of the group's values "
                        f"({', '.join(group.choice_values)})",
                        (*path, "treated"),
                    )
                )
        elif doc.treated is not None:
            findings.append(
                yaml_doc.finding("bad-treated", "treated needs a group column", (*path, "treated"))
            )
        for index, name in enumerate(doc.subgroups):
            column = next((c for c in columns if c.name == name), None)
            if column is None or column.type not in {"choice", "text", "boolean", "integer"}:
                findings.append(
                    yaml_doc.finding(
                        "bad-subgroup",
                        f"a subgroup is a choice, text, boolean or integer column of the "
                        f"participants; {name!r} is not",
                        (*path, "subgroups", index),
                    )
                )
        participants = Table(
            name=PARTICIPANTS,
            kind=PARTICIPANTS,
            label=_label(doc.label),
            columns=columns,
            date=doc.inclusion,
            key=(),
            import_roles=tuple(doc.import_roles),
            description=doc.description,
            summary=_summary(doc.summary, doc.description),
            unit=_label(doc.unit),
            identity=tuple(doc.identity),
            end=doc.end,
            group=doc.group,
            treated=doc.treated,
            subgroups=tuple(doc.subgroups),
        )
    participant_columns = set(participants.column_names) if participants else set()
    tables: dict[str, Table] = {}
    for name, table_doc in document.tables.items():
        path = ("data", "tables", name)
        if not NAME.fullmatch(name) or name == PARTICIPANTS:
            findings.append(
                yaml_doc.finding(
                    "bad-name",
                    f"{name!r} is not a valid table name (a-z, 0-9, _; not 'participants')",
                    path,
                )
            )
        columns = _columns(table_doc.columns, path, yaml_doc, findings, parties)
        _date_column(
            name,
            columns,
            table_doc.date,
            "date",
            (*path, "date"),
            yaml_doc,
            findings,
            required=True,
        )
        if any(c.name == "month" for c in columns) and table_doc.date != "month":
            findings.append(
                yaml_doc.finding(
                    "reserved-column",
                    "'month' is the month of the table's date that every evaluation adds; "
                    "a column may be called month only if it is the table's date",
                    (*path, "columns", "month"),
                )
            )
        names = {c.name for c in columns}
        for index, key in enumerate(table_doc.key):
            if key not in names:
                findings.append(
                    yaml_doc.finding(
                        "unknown-column",
                        f"key names {key!r}, which is not a column of {name}",
                        (*path, "key", index),
                    )
                )
        if table_doc.kind != "series":
            if participants is None:
                findings.append(
                    yaml_doc.finding(
                        "no-participants",
                        f"{name} is a table of participants' {table_doc.kind}; declare "
                        "data.participants too",
                        (*path, "kind"),
                    )
                )
            for column in columns:
                if column.name in participant_columns:
                    findings.append(
                        yaml_doc.finding(
                            "column-clash",
                            f"{column.name!r} is also a column of the participants, whose "
                            "columns every evaluation of this table sees; rename one",
                            (*path, "columns", column.name),
                        )
                    )
        tables[name] = Table(
            name=name,
            kind=table_doc.kind,
            label=_label(table_doc.label),
            columns=columns,
            date=table_doc.date,
            key=tuple(table_doc.key),
            import_roles=tuple(table_doc.import_roles),
            description=table_doc.description,
            summary=_summary(table_doc.summary, table_doc.description),
        )
    return DataDeclaration(participants, tables)


# --- cells -------------------------------------------------------------------------


class CellError(ValueError):
    """A cell that cannot be converted; the message says what was expected (in English).

    ``code`` names the reason (``date-not-exists``, ``not-number`` …) and ``params`` its
    values (``value``, ``minimum`` …), so that a page can say it in its own language.
    """

    def __init__(self, message: str, code: str = "invalid", **params: Any):
        super().__init__(message)
        self.code = code
        self.params = {name: str(value) for name, value in params.items()}


def normalise_name(name: str) -> str:
    """A column name reduced to lower-case letters and digits (for matching)."""
    return re.sub(r"[^0-9a-zåäö]", "", str(name).casefold())


_DATE_PATTERN = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")
_SPACES = str.maketrans("", "", " \u00a0\u202f_")
_TRUE = {"true", "yes", "ja", "sant", "1", "x"}
_FALSE = {"false", "no", "nej", "falskt", "0"}


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    match = _DATE_PATTERN.match(text)
    if not match:
        raise CellError(
            f"{text!r} is not a date (write YYYY-MM-DD, or YYYY-MM for a month)",
            "date-format",
            value=text,
        )
    year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
    try:
        return dt.date(year, month, day)
    except ValueError as error:
        raise CellError(
            f"{text!r} is not a date that exists", "date-not-exists", value=text
        ) from error


def _decimal(value: Any, decimal_comma: bool) -> Decimal:
    if isinstance(value, bool):
        raise CellError(f"{value!r} is not a number", "not-number", value=value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        # Spreadsheet cells arrive as binary floats; their shortest repr is the
        # number the person typed.
        number = Decimal(repr(value))
    else:
        text = str(value).strip().translate(_SPACES)
        if decimal_comma and text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        text = text.replace("\u2212", "-")
        try:
            number = Decimal(text)
        except InvalidOperation as error:
            raise CellError(
                f"{str(value).strip()!r} is not a number", "not-number", value=str(value).strip()
            ) from error
    if not number.is_finite():
        raise CellError(
            f"{str(value).strip()!r} is not a number", "not-number", value=str(value).strip()
        )
    return number


def convert_cell(column: Column, value: Any, *, decimal_comma: bool) -> Any:
    """One cell as the column's value; raises CellError. An empty optional cell is its
    default (None without one)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if column.required:
            raise CellError("the cell is empty", "empty")
        return column.default
    kind = column.type
    if kind == "date":
        return _date(value)
    if kind in NUMERIC:
        number = _decimal(value, decimal_comma)
        if kind == "integer" and number != number.to_integral_value():
            raise CellError(f"{number} is not a whole number", "not-whole", value=number)
        if column.minimum is not None and number < column.minimum:
            raise CellError(
                f"{number} is less than {column.minimum}",
                "below-minimum",
                value=number,
                minimum=column.minimum,
            )
        if column.maximum is not None and number > column.maximum:
            raise CellError(
                f"{number} is more than {column.maximum}",
                "above-maximum",
                value=number,
                maximum=column.maximum,
            )
        if kind != "integer" and -number.as_tuple().exponent > column.places:  # type: ignore[operator]
            what = "öre (2 decimals)" if kind == "money" else f"{column.places} decimals"
            raise CellError(
                f"{number} has more decimals than {what}",
                "too-many-decimals",
                value=number,
                places=column.places,
            )
        if abs(number) >= 10**13:
            raise CellError(f"{number} is too large", "too-large", value=number)
        if kind == "integer":
            return int(number)
        return number.quantize(Decimal(1).scaleb(-column.places))
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(int(value) if isinstance(value, float) and value.is_integer() else value)
        folded = text.strip().casefold()
        if folded in _TRUE | _FALSE:
            return folded in _TRUE
        raise CellError(
            f"{text.strip()!r} is not yes or no (ja/nej, true/false, 1/0)",
            "not-boolean",
            value=text.strip(),
        )
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if kind == "choice":
        # A file may give the value or either label, in any case and spacing.
        wanted = normalise_name(text)
        for choice in column.choices:
            names = (choice.value, choice.label.sv, choice.label.en)
            if wanted in {normalise_name(name) for name in names}:
                return choice.value
        raise CellError(
            f"{text!r} is not one of: {', '.join(column.choice_values)}",
            "not-choice",
            value=text,
            choices=", ".join(c.label.sv for c in column.choices)
            or ", ".join(column.choice_values),
            choices_en=", ".join(c.label.en for c in column.choices)
            or ", ".join(column.choice_values),
        )
    if kind == "reference":
        if text not in column.allowed:
            raise CellError(
                f"{text!r} is not one of: {', '.join(sorted(column.allowed))}",
                "not-party",
                value=text,
                choices=", ".join(sorted(column.allowed)),
            )
        return text
    if len(text) > TEXT_LENGTH:
        raise CellError(
            f"the text is longer than {TEXT_LENGTH} characters", "text-too-long", limit=TEXT_LENGTH
        )
    return text


# --- versions ----------------------------------------------------------------------

_WIDER = {("integer", "decimal"), ("integer", "money"), ("money", "decimal")}


def _column_change(
    old: Column, new: Column, where: tuple[Any, ...], yaml_doc: YamlDocument
) -> list[Finding]:
    problems: list[Finding] = []
    if old.type != new.type and (old.type, new.type) not in _WIDER:
        problems.append(
            yaml_doc.finding(
                "column-retyped",
                f"{old.name!r} holds stored rows of type {old.type}; it cannot become "
                f"{new.type} (only integer → decimal or money, money → decimal widen)",
                (*where, "type"),
            )
        )
    if new.type == "decimal" and old.type == "decimal" and new.places < old.places:
        problems.append(
            yaml_doc.finding(
                "fewer-places",
                f"{old.name!r} has stored values with {old.places} decimals; "
                f"places cannot fall to {new.places}",
                (*where, "places"),
            )
        )
    if old.type == "choice" and new.type == "choice":
        lost = [v for v in old.choice_values if v not in new.choice_values]
        if lost:
            problems.append(
                yaml_doc.finding(
                    "choice-removed",
                    f"stored rows may hold {', '.join(map(repr, lost))}; a choice keeps its values",
                    (*where, "choices"),
                )
            )
    tightened = {
        "min": new.minimum is not None and (old.minimum is None or new.minimum > old.minimum),
        "max": new.maximum is not None and (old.maximum is None or new.maximum < old.maximum),
    }
    for key, tighter in tightened.items():
        if tighter:
            problems.append(
                yaml_doc.finding(
                    "bound-tightened",
                    f"{old.name!r} has stored rows; its '{key}' may loosen, not tighten",
                    (*where, key),
                )
            )
    if new.required and not old.required:
        problems.append(
            yaml_doc.finding(
                "became-required",
                f"stored rows may have no {old.name!r}; it stays optional (give it a default)",
                (*where, "required"),
            )
        )
    return problems


def declaration_changes(
    old: DataDeclaration,
    new: DataDeclaration,
    stored: Mapping[str, int],
    yaml_doc: YamlDocument,
) -> list[Finding]:
    """Why the new declaration would leave stored rows unreadable (empty if it would not).

    ``stored`` is the number of stored rows per table; tables without rows may change
    freely. ``yaml_doc`` is the new version's document, for the findings' places.
    """
    problems: list[Finding] = []
    for table in old:
        if not stored.get(table.name):
            continue
        path: tuple[Any, ...] = (
            ("data", "participants") if table.is_participants else ("data", "tables", table.name)
        )
        try:
            successor = new.table(table.name)
        except KeyError:
            problems.append(
                yaml_doc.finding(
                    "table-removed",
                    f"{table.name} has {stored[table.name]} stored rows; it cannot be removed",
                    ("data",),
                )
            )
            continue
        if successor.kind != table.kind:
            problems.append(
                yaml_doc.finding(
                    "table-kind-changed",
                    f"{table.name} has stored rows as {table.kind}; it stays {table.kind}",
                    (*path, "kind"),
                )
            )
        renamed = {c.renamed_from: c for c in successor.columns if c.renamed_from}
        for column in table.columns:
            target = renamed.get(column.name) or (
                successor.column(column.name) if successor.has(column.name) else None
            )
            if target is None:
                problems.append(
                    yaml_doc.finding(
                        "column-removed",
                        f"{table.name}.{column.name} holds stored rows; keep the column, or "
                        f"give its successor renamed_from: {column.name}",
                        (*path, "columns"),
                    )
                )
                continue
            problems += _column_change(column, target, (*path, "columns", target.name), yaml_doc)
        known = {c.name for c in table.columns}
        for column in successor.columns:
            if column.name in known or column.renamed_from in known:
                continue
            if column.required:
                problems.append(
                    yaml_doc.finding(
                        "new-required-column",
                        f"{table.name} has stored rows without {column.name!r}; a new column "
                        "is optional (required: false, with a default if one applies)",
                        (*path, "columns", column.name),
                    )
                )
    return problems
