"""What the public knowledge pages show of a published contract, in the reader's language.

Contracts, results and the publisher's texts name things with identifiers and in
English (``outcome_met``, the group ``comparison``, the policy sector ``Child and
family welfare``); the pages show labels in the active language instead: the contract's
own labels (:mod:`utfall.services.labels`), the platform's translations of the words
the platform itself uses, and every figure through the formatting layer. The open-data
downloads stay as they are (the exchange standard's identifiers); the CSV for Excel
(decision 0825) is the same table with translated headers, semicolons and decimal commas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from utfall.platform.council.tables import spreadsheet_csv, spreadsheet_number
from utfall.platform.i18n import active_language as language
from utfall.services import formatting
from utfall.services import labels as contract_labels
from utfall.services.knowledge import CSV_COLUMNS

__all__ = [
    "excel_csv",
    "group_label",
    "in_language",
    "number_first_key",
    "parameter_rows",
    "public_text",
    "sector_label",
    "term_unit",
    "unit_label",
]


_SECTORS: dict[str, Callable[[], str]] = {
    "Child and family welfare": lambda: _("Child and family welfare"),
    "Criminal justice": lambda: _("Criminal justice"),
    "Employment and training": lambda: _("Employment and training"),
    "Health and well-being": lambda: _("Health and well-being"),
    "Education and early years": lambda: _("Education and early years"),
    "Homelessness": lambda: _("Homelessness"),
}

_GROUPS: dict[str, Callable[[], str]] = {
    "all": lambda: _("All"),
    "treated": lambda: _("Intervention group"),
    "intervention": lambda: _("Intervention group"),
    "comparison": lambda: _("Comparison group"),
    "control": lambda: _("Comparison group"),
    "reference": lambda: _("Reference group"),
    "others": lambda: _("Others"),
    "girls": lambda: _("Girls"),
    "boys": lambda: _("Boys"),
}

_UNITS: dict[str, Callable[[], str]] = {
    "SEK": lambda: _("SEK"),
    "share": lambda: _("share"),
    "days": lambda: _("days"),
    "net days": lambda: _("net days"),
    "net days per employee": lambda: _("net days per employee"),
    "children": lambda: _("children"),
    "employees": lambda: _("employees"),
    "families": lambda: _("families"),
    "pupils": lambda: _("pupils"),
    "young people": lambda: _("young people"),
    "municipality": lambda: _("municipality"),
}


_PER: dict[str, Callable[[], str]] = {
    "child": lambda: _("per child"),
    "participant": lambda: _("per participant"),
    "pupil": lambda: _("per pupil"),
    "young person": lambda: _("per young person"),
    "family": lambda: _("per family"),
    "actor": lambda: _("per actor"),
    "net sick day": lambda: _("per net sick day"),
    "employee": lambda: _("per employee"),
}


def sector_label(sector: str) -> str:
    """A policy sector in the active language (the platform's list; others as written)."""
    known = _SECTORS.get(sector.strip())
    return known() if known else in_language(sector)


def group_label(group: str) -> str:
    """A result group in the active language: the platform's words (``all``,
    ``comparison``), anything else as the publisher wrote it."""
    known = _GROUPS.get(group.strip().lower())
    return known() if known else in_language(group)


def unit_label(unit: Any) -> str:
    """A declared unit (``{"sv": …, "en": …}`` or a word) in the active language."""
    if isinstance(unit, dict):
        return str(unit.get(language()) or unit.get("sv") or "")
    text = str(unit or "")
    known = _UNITS.get(text)
    if known:
        return known()
    word, per, what = text.partition(" per ")
    if per and word in _UNITS:  # "SEK per child"
        each = _PER.get(what)
        return f"{_UNITS[word]()} {each() if each else 'per ' + what}"
    return text


def term_unit(parameter: Any) -> str:
    """The unit shown after a term's value, in the active language: none for money (its
    figure carries "kr"), only the ``per …`` of a money unit such as ``SEK per actor``."""
    unit = str(getattr(parameter, "unit", None) or "").strip()
    money = parameter.type == "money" or getattr(parameter, "of", None) == "money"
    currency, per, what = unit.partition(" per ")
    if money or currency.upper() in ("SEK", "KR"):
        if not per:
            return ""
        each = _PER.get(what)
        return each() if each else f"per {what}"
    return unit_label(unit)


def in_language(text: str) -> str:
    """Of a text written ``svenska / English`` (the demo's and many publishers' habit),
    the half in the active language; any other text unchanged."""
    parts = str(text or "").split(" / ")
    if len(parts) == 2 and all(p.strip() for p in parts):
        return parts[1].strip() if language() == "en" else parts[0].strip()
    return str(text or "")


_SEED = re.compile(
    r"\s*\((?:[^()]*\b)?seeds? \d{3}(?:[–-]\d{3})?[^()]*\)|\bseeds? \d{3}(?::s)?\s*", re.I
)


def public_text(text: str) -> str:
    """A publisher's text for the public page: in the active language, without references
    to the platform's internal source documents (``seed 003``)."""
    shown = _SEED.sub(" ", in_language(text))
    return re.sub(r"\s{2,}", " ", shown).replace(" ,", ",").replace(" .", ".").strip()


def number_first_key(text: str) -> tuple[int, Decimal, str]:
    """A sort key putting ``6-12`` before ``13-15`` (the number, not the text), then the
    rest in alphabetical order."""
    found = re.match(r"\s*(\d+)", text or "")
    if found:
        return (0, Decimal(found.group(1)), text)
    return (1, Decimal(0), (text or "").lower())


def _value(value: Any, kind: str, of: str | None) -> str:
    lang = language()
    if isinstance(value, (list, tuple)):
        return "; ".join(_value(item, of or "number", None) for item in value)
    if kind == "money":
        return formatting.money(value, lang)
    if kind in ("number", "count", "ratio"):
        return formatting.number(value, lang)
    if kind == "boolean" or isinstance(value, bool):
        return _("yes") if value in (True, "true") else _("no")
    return str(value)


def parameter_rows(document: Any) -> list[dict[str, Any]]:
    """The contract's terms: label, value (formatted by type), unit, description, source."""
    lang = language()
    rows = []
    for parameter in document.parameters.values():
        rows.append(
            {
                "name": parameter.name,
                "label": contract_labels.label(document, "parameter", parameter.name, lang),
                "value": _value(parameter.default, parameter.type, parameter.of),
                "unit": term_unit(parameter),
                "description": contract_labels.summary(document, "parameter", parameter.name, lang)
                or parameter.description
                or "",
                "source": public_text(parameter.source or ""),
            }
        )
    return rows


_HEADERS: dict[str, Callable[[], str]] = {
    "project_id": lambda: _("Contract"),
    "project_name": lambda: _("Title"),
    "stage_development": lambda: _("Stage of development"),
    "jurisdiction": lambda: _("Country"),
    "currency": lambda: _("Currency"),
    "start_date_of_service_provision": lambda: _("Start of the intervention"),
    "anticipated_end_date_of_service_provision": lambda: _("Expected end of the intervention"),
    "outcome_payers": lambda: _("Outcome payers"),
    "investors": lambda: _("Financiers"),
    "service_providers": lambda: _("Providers"),
    "intermediaries": lambda: _("Intermediaries"),
    "outcome_metric_id": lambda: _("Outcome"),
    "outcome_definition": lambda: _("Definition"),
    "unit": lambda: _("Unit"),
    "result_type": lambda: _("Kind of result"),
    "period_start": lambda: _("Period from"),
    "period_end": lambda: _("Period to"),
    "group": lambda: _("Group"),
    "number_engaged_in_impact_bond": lambda: _("Individuals"),
    "number_with_positive_social_outcomes": lambda: _("Reached the outcome"),
    "share_with_positive_social_outcomes": lambda: _("Share"),
    "suppressed": lambda: _("Withheld"),
}


def excel_csv(plain_csv: str) -> str:
    """The open data's CSV for a spreadsheet set to Swedish (decision 0825): headers in the
    active language, semicolons, decimal commas, ``yes``/``no``, groups by their labels,
    a byte-order mark. The values are those of the open-data CSV."""
    reader = csv.DictReader(io.StringIO(plain_csv))
    fields = list(reader.fieldnames or CSV_COLUMNS)
    header = [_HEADERS[f]() if f in _HEADERS else f for f in fields]
    rows: list[list[Any]] = []
    for record in reader:
        line = []
        for name in fields:
            value = record.get(name) or ""
            if name == "group" and value:
                value = group_label(value)
            elif name == "suppressed" and value in ("true", "false", "True", "False"):
                value = _("yes") if value.lower() == "true" else _("no")
            else:
                value = spreadsheet_number(value)
            line.append(value)
        rows.append(line)
    return spreadsheet_csv(header, rows)


def sorted_results(results: Iterable[Any]) -> list[Any]:
    """Results by outcome, period, then group with age groups in the order of their ages."""
    return sorted(
        results,
        key=lambda r: (
            r.row.outcome_metric_id,
            r.row.period_start,
            r.row.period_end,
            number_first_key(str(r.row.group)),
        ),
    )
