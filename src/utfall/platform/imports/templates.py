"""Import templates: per declared table, a CSV and an XLSX file to fill in and upload.

The header row holds the columns' labels in the chosen language (Swedish or English);
the automatic column mapping recognises them, so a filled-in template needs no mapping.
A participant's table starts with the column identifying the person: the first way
the participants' ``identity`` allows (a personal identity number by default), or the
other one when asked for (a reference code of the source system). The XLSX
template adds a second sheet that lists every column (type, unit, required, choices,
bounds) and a drop-down list of the choices in each choice column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from utfall.core.contracts.data import DataDeclaration, Table
from utfall.core.exports import spreadsheet_row
from utfall.platform.imports.columns import IDENTITY_KINDS, ImportColumn, import_columns
from utfall.services import formatting

__all__ = [
    "TYPE_LABELS",
    "template_columns",
    "template_csv",
    "template_file_name",
    "template_xlsx",
    "type_text",
]

TYPE_LABELS = {
    "date": gettext_lazy("date (YYYY-MM-DD, or YYYY-MM for a month)"),
    "integer": gettext_lazy("whole number"),
    "decimal": gettext_lazy("number"),
    "money": gettext_lazy("amount in SEK (öre)"),
    "boolean": gettext_lazy("yes or no"),
    "choice": gettext_lazy("one of the choices"),
    "text": gettext_lazy("text"),
    "reference": gettext_lazy("a party of the contract"),
    "personnummer": gettext_lazy("personal identity number (pseudonymised at import)"),
    "reference_code": gettext_lazy("reference code of the source system (pseudonymised)"),
}
"""How the import page and the templates describe each column type."""
_DATA_VALIDATION_LIMIT = 255  # Excel's limit on a list validation's text


def template_columns(
    declaration: DataDeclaration, table: Table, identity: str | None = None
) -> list[ImportColumn]:
    """The template's columns: one identity column (a participant's table; ``identity``,
    if the participants allow it, else the first they allow), then the declared columns."""
    columns = import_columns(declaration, table)
    identities = [c for c in columns if c.identity]
    chosen = [c for c in identities if c.identity == identity] or identities[:1]
    return [*chosen, *[c for c in columns if not c.identity]]


def _headers(columns: Sequence[ImportColumn], language: str) -> list[str]:
    return [column.label.text(language) for column in columns]


def template_file_name(contract_identifier: str, table: Table, suffix: str) -> str:
    """``<contract>-<table>-template.<suffix>``."""
    return f"{contract_identifier}-{table.name}-template.{suffix}"


def template_csv(
    declaration: DataDeclaration, table: Table, *, language: str, identity: str | None = None
) -> bytes:
    """A CSV file (UTF-8 with a byte-order mark, so Excel shows å, ä, ö) with the header row."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(
        spreadsheet_row(_headers(template_columns(declaration, table, identity), language))
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def type_text(column: ImportColumn) -> str:
    """The column's type in words (with the decimals a number may have)."""
    declared = column.column
    if column.identity:
        return str(
            TYPE_LABELS["personnummer" if column.identity == "personnummer" else "reference_code"]
        )
    assert declared is not None
    text = str(TYPE_LABELS.get(declared.type, declared.type))
    if declared.type == "decimal":
        text += " " + _("(at most %(places)s decimals)") % {"places": declared.places}
    return text


def _describe(column: ImportColumn, language: str) -> list[str]:
    declared = column.column
    if declared is None:
        return [column.label.text(language), column.name, type_text(column), "", _("yes"), "", ""]
    choices = ", ".join(c.label.text(language) for c in declared.choices)
    bounds = []
    if declared.minimum is not None:
        bounds.append(f"≥ {formatting.number(declared.minimum, language)}")
    if declared.maximum is not None:
        bounds.append(f"≤ {formatting.number(declared.maximum, language)}")
    return [
        declared.label.text(language),
        declared.name,
        type_text(column),
        declared.unit or "",
        _("yes") if declared.required else _("no"),
        choices,
        " ".join(bounds),
    ]


def template_xlsx(
    declaration: DataDeclaration, table: Table, *, language: str, identity: str | None = None
) -> bytes:
    """An XLSX workbook: the data sheet with the header row (dates and choices set up for
    entry) and a sheet describing every column."""
    import xlsxwriter

    columns = template_columns(declaration, table, identity)
    out = io.BytesIO()
    with translation.override(language):
        workbook = xlsxwriter.Workbook(out, {"in_memory": True})
        bold = workbook.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
        date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        text = workbook.add_format({"num_format": "@"})
        sheet = workbook.add_worksheet(table.name[:31])
        for index, header in enumerate(_headers(columns, language)):
            column = columns[index]
            sheet.write_string(0, index, header, bold)
            declared = column.column
            if column.identity or (declared is not None and declared.type == "text"):
                # Identity numbers and codes keep their leading zeros and dashes.
                sheet.set_column(index, index, max(14, len(header) + 2), text)
            elif declared is not None and declared.type == "date":
                sheet.set_column(index, index, max(12, len(header) + 2), date)
            else:
                sheet.set_column(index, index, max(12, len(header) + 2))
            labels = [c.label.text(language) for c in declared.choices] if declared else []
            if labels and len(",".join(labels)) <= _DATA_VALIDATION_LIMIT:
                sheet.data_validation(
                    1,
                    index,
                    100_000,
                    index,
                    {
                        "validate": "list",
                        "source": labels,
                    },
                )
        sheet.freeze_panes(1, 0)
        about = workbook.add_worksheet(_("Columns")[:31])
        heads = [
            _("Column"),
            _("Name"),
            _("Type"),
            _("Unit"),
            _("Required"),
            _("Choices"),
            _("Bounds"),
        ]
        for index, head in enumerate(heads):
            about.write_string(0, index, head, bold)
        for row, column in enumerate(columns, start=1):
            for index, value in enumerate(_describe(column, language)):
                about.write_string(row, index, value)
        about.set_column(0, 0, 32)
        about.set_column(1, 6, 16)
        if table.per_participant and declaration.participants is not None:
            kinds = declaration.participants.identity
            note = _("Identify each person by one of: %(kinds)s.") % {
                "kinds": ", ".join(IDENTITY_KINDS[k][0].text(language) for k in kinds)
            }
            about.write_string(len(columns) + 2, 0, note)
        workbook.close()
    return out.getvalue()
