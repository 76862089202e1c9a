"""The kinds of data a contract imports, their columns and how a cell becomes a value.

Each kind names the permission it needs, the columns it takes (with the names a
Swedish or English file is likely to use, for the automatic column mapping) and
which columns make a row unique (for duplicate detection).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from utfall.core.outcomes import SOCIAL_DIMENSIONS
from utfall.platform.permissions import Action

__all__ = ["KINDS", "PERSON_COLUMNS", "CellError", "Column", "ImportKind", "convert", "normalise"]


class CellError(ValueError):
    """A cell that cannot be converted; the message says what was expected."""


@dataclass(frozen=True)
class Column:
    """A column an import kind takes.

    ``target`` is the field written: a DataRecord or Participant field, or
    ``person`` for the identity columns.
    """

    name: str
    label: Promise
    type: str  # personnummer | reference | date | decimal | integer | text | choice
    target: str
    required: bool = True
    synonyms: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    minimum: Decimal | None = None
    places: int = 4  # decimals a number may have (money: 2, öre)


@dataclass(frozen=True)
class ImportKind:
    """One kind of data: its columns, permission and uniqueness key."""

    name: str
    label: Promise
    action: Action
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    person: bool = True

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


def normalise(name: str) -> str:
    """A column name reduced to lower-case letters and digits (for matching)."""
    return re.sub(r"[^0-9a-zåäö]", "", str(name).casefold())


PERSONNUMMER = Column(
    "personnummer",
    _("Personal identity number"),
    "personnummer",
    "person",
    required=False,
    synonyms=("pnr", "personnr", "personalidentitynumber", "samordningsnummer", "ssn"),
)
REFERENCE = Column(
    "reference",
    _("Participant reference (code in the source system)"),
    "reference",
    "person",
    required=False,
    synonyms=("participant", "participantid", "participantreference", "löpnummer", "lopnr",
              "deltagare", "deltagarid", "id", "employeeid", "anställningsnummer"),
)
PERSON_COLUMNS = (PERSONNUMMER, REFERENCE)

_DATE = ("date", "datum", "period", "month", "månad", "day", "dag")
_DAYS = ("days", "dagar", "dygn", "placementdays", "placeringsdygn", "sickdays", "sjukdagar",
         "sjukfrånvarodagar")
_AMOUNT = ("amount", "belopp", "kostnad", "cost", "sek", "kronor", "kr")
_SCORE = ("score", "poäng", "värde", "value", "meritvärde", "merit", "result", "resultat")

COST_CATEGORIES = ("evaluation", "intermediary", "tutoring", "overhead", "salaries", "other")

KINDS: dict[str, ImportKind] = {
    kind.name: kind
    for kind in (
        ImportKind(
            "participants",
            _("Participants"),
            Action.IMPORT_PARTICIPANTS,
            (
                PERSONNUMMER,
                REFERENCE,
                Column("included_on", _("Inclusion date"), "date", "included_on",
                       synonyms=("inclusiondate", "included", "inkluderad", "inkluderingsdatum",
                                 "startdatum", "start")),
                Column("left_on", _("End date (left the contract's group)"), "date", "left_on",
                       required=False,
                       synonyms=("leftdate", "left", "enddate", "end", "slutdatum", "slut",
                                 "avslutad", "avslutsdatum", "utträdesdatum", "exitdate")),
                Column("group", _("Group"), "choice", "group", required=False,
                       synonyms=("grupp",), choices=("treatment", "comparison")),
                Column("cohort", _("Cohort"), "text", "cohort", required=False,
                       synonyms=("kohort",)),
            ),
            key=("person",),
        ),
        ImportKind(
            "cost_records",
            _("Cost records"),
            Action.IMPORT_COST_RECORDS,
            (
                PERSONNUMMER,
                REFERENCE,
                Column("date", _("Date"), "date", "date", synonyms=_DATE),
                Column("category", _("Cost category"), "text", "category",
                       synonyms=("kategori", "kostnadsslag", "type", "typ")),
                Column("amount", _("Amount (SEK)"), "decimal", "amount", synonyms=_AMOUNT,
                       places=2),
            ),
            key=("person", "date", "category"),
        ),
        ImportKind(
            "placement_days",
            _("Placement days"),
            Action.IMPORT_PLACEMENT_DAYS,
            (
                PERSONNUMMER,
                REFERENCE,
                Column("date", _("Month or date"), "date", "date", synonyms=_DATE),
                Column("days", _("Placement days"), "integer", "quantity", synonyms=_DAYS,
                       minimum=Decimal(0)),
                Column("placement_type", _("Placement type"), "text", "category",
                       required=False, synonyms=("placeringstyp", "placementtype", "type", "typ")),
            ),
            key=("person", "date", "category"),
        ),
        ImportKind(
            "school_results",
            _("School results"),
            Action.IMPORT_SCHOOL_RESULTS,
            (
                PERSONNUMMER,
                REFERENCE,
                Column("date", _("Date"), "date", "date", synonyms=_DATE),
                Column("subject", _("Subject or measure"), "text", "category", required=False,
                       synonyms=("ämne", "measure", "mått")),
                Column("score", _("Score"), "decimal", "quantity", synonyms=_SCORE),
            ),
            key=("person", "date", "category"),
        ),
        ImportKind(
            "social_scores",
            _("Social-dimension scores"),
            Action.IMPORT_SOCIAL_SCORES,
            (
                PERSONNUMMER,
                REFERENCE,
                Column("date", _("Date"), "date", "date", synonyms=_DATE),
                Column("dimension", _("Dimension"), "choice", "category",
                       synonyms=("dimension",), choices=SOCIAL_DIMENSIONS),
                Column("point", _("Measurement point"), "integer", "point", required=False,
                       synonyms=("mätpunkt", "measurementpoint", "mättillfälle"),
                       minimum=Decimal(1)),
                Column("score", _("Score"), "decimal", "quantity", synonyms=_SCORE),
            ),
            key=("person", "date", "category"),
        ),
        ImportKind(
            "sick_leave_days",
            _("Sick-leave days"),
            Action.IMPORT_SICK_LEAVE_DAYS,
            (
                PERSONNUMMER,
                REFERENCE,
                Column("date", _("Month or date"), "date", "date", synonyms=_DATE),
                Column("days", _("Sick-leave days"), "decimal", "quantity", synonyms=_DAYS,
                       minimum=Decimal(0)),
                Column("unit", _("Workplace or unit"), "text", "category", required=False,
                       synonyms=("enhet", "arbetsplats", "workplace", "förvaltning")),
            ),
            key=("person", "date", "category"),
        ),
        ImportKind(
            "cost_reports",
            _("Cost reports (drawdowns)"),
            Action.IMPORT_COST_REPORTS,
            (
                Column("date", _("Period end"), "date", "date",
                       synonyms=("periodend", "periodslut", "tom", *_DATE)),
                Column("category", _("Cost category"), "choice", "category",
                       synonyms=("kategori", "kostnadsslag"), choices=COST_CATEGORIES),
                Column("amount", _("Amount (SEK)"), "decimal", "amount", synonyms=_AMOUNT,
                       places=2),
            ),
            key=("date", "category"),
            person=False,
        ),
        ImportKind(
            "price_index",
            _("Price index (monthly)"),
            Action.IMPORT_PRICE_INDEX,
            (
                Column("date", _("Month"), "date", "date", synonyms=_DATE),
                Column("index", _("Index value"), "decimal", "quantity",
                       synonyms=("index", "indexvalue", "indextal", "kpi", "cpi", "value",
                                 "värde"),
                       minimum=Decimal(0)),
            ),
            key=("date",),
            person=False,
        ),
        ImportKind(
            "sick_leave_trend_index",
            _("Sick-leave trend index (SLT, monthly)"),
            Action.IMPORT_SICK_LEAVE_TREND_INDEX,
            (
                Column("date", _("Month"), "date", "date", synonyms=_DATE),
                Column("index", _("Index value"), "decimal", "quantity",
                       synonyms=("slt", "index", "indexvalue", "indextal", "trendindex",
                                 "sjukfrånvarotrend", "trend", "value", "värde"),
                       minimum=Decimal(0)),
            ),
            key=("date",),
            person=False,
        ),
    )
}

_DATE_PATTERN = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")
_SPACES = str.maketrans("", "", " \u00a0\u202f")


def _convert_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    match = _DATE_PATTERN.match(text)
    if not match:
        raise CellError(f"{text!r} is not a date (write YYYY-MM-DD, or YYYY-MM for a month)")
    year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
    try:
        return dt.date(year, month, day)
    except ValueError as error:
        raise CellError(f"{text!r} is not a date that exists") from error


def _convert_decimal(value: Any, decimal_comma: bool) -> Decimal:
    if isinstance(value, bool):
        raise CellError(f"{value!r} is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # Spreadsheet cells arrive as binary floats; their shortest repr is the
        # number the person typed.
        return Decimal(repr(value))
    text = str(value).strip().translate(_SPACES)
    if decimal_comma and text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation as error:
        raise CellError(f"{str(value).strip()!r} is not a number") from error
    if not number.is_finite():
        raise CellError(f"{str(value).strip()!r} is not a number")
    return number


def convert(column: Column, value: Any, *, decimal_comma: bool) -> Any:
    """One cell as the column's type; raises CellError. An empty optional cell is None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if column.required:
            raise CellError("the cell is empty")
        return None
    if column.type == "date":
        return _convert_date(value)
    if column.type in ("decimal", "integer"):
        number = _convert_decimal(value, decimal_comma)
        if column.type == "integer" and number != number.to_integral_value():
            raise CellError(f"{number} is not a whole number")
        if column.minimum is not None and number < column.minimum:
            raise CellError(f"{number} is less than {column.minimum}")
        if -number.as_tuple().exponent > column.places:  # type: ignore[operator]
            raise CellError(f"{number} has more than {column.places} decimals")
        if abs(number) >= 10**13:
            raise CellError(f"{number} is too large")
        return int(number) if column.type == "integer" else number
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if column.type == "choice":
        choice = text.casefold().replace(" ", "_").replace("-", "_")
        if choice not in column.choices:
            raise CellError(f"{text!r} is not one of: {', '.join(column.choices)}")
        return choice
    if len(text) > 100:
        raise CellError("the text is longer than 100 characters")
    return text
