"""Reading uploaded tables (CSV or XLSX) into a header and numbered rows.

Problems with the file as a whole (empty, wrong encoding, unreadable workbook,
ragged rows) become :class:`~utfall.errors.DataInvalid` findings that name the
file, the row (as a spreadsheet shows it: the header is row 1) and the column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utfall.errors import DataInvalid, Finding

__all__ = ["ENCODINGS", "SPREADSHEET_SUFFIXES", "Table", "open_table"]

ENCODINGS = {"utf-8": "UTF-8", "cp1252": "Windows-1252 (Excel, older Windows)"}
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_DELIMITERS = (",", ";", "\t")


@dataclass
class Table:
    """A header and an iterator over ``(row_number, cells)``; ``row_count`` excludes the header."""

    file_name: str
    header: list[str]
    row_count: int
    rows: Iterator[tuple[int, list[Any]]]
    decimal_comma: bool


def _fail(file_name: str, code: str, message: str, **where: Any) -> DataInvalid:
    return DataInvalid(
        f"{file_name}: {message}", [Finding(code=code, message=message, file=file_name, **where)]
    )


def open_table(path: Path, *, file_name: str, encoding: str = "utf-8") -> Table:
    """Open a CSV or spreadsheet file; raises DataInvalid for a file that cannot be read."""
    if file_name.lower().endswith(SPREADSHEET_SUFFIXES):
        return _open_spreadsheet(path, file_name)
    return _open_csv(path, file_name, encoding)


def _check_header(header: list[str], file_name: str) -> list[str]:
    names = [str(cell).strip() if cell is not None else "" for cell in header]
    findings = []
    seen: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        if not name:
            findings.append(
                Finding(
                    code="blank-column-name",
                    message=f"column {index} of the header has no name",
                    file=file_name,
                    row=1,
                )
            )
        elif name.casefold() in seen:
            findings.append(
                Finding(
                    code="duplicate-column-name",
                    message=f"the column name {name!r} appears twice (columns "
                    f"{seen[name.casefold()]} and {index})",
                    file=file_name,
                    row=1,
                    field_name=name,
                )
            )
        else:
            seen[name.casefold()] = index
    if findings:
        raise DataInvalid(f"{file_name}: the header row is not usable", findings)
    return names


def _decode(data: bytes, file_name: str, encoding: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(
            file_name,
            "wrong-encoding",
            "the file is UTF-16 text; save it as 'CSV UTF-8' and upload it again",
        )
    if b"\x00" in data[:4096]:
        raise _fail(
            file_name, "not-text", "the file is not a CSV text file (it holds binary data)"
        )
    try:
        return data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        row = data.count(b"\n", 0, error.start) + 1
        prefix = data[line_start : error.start]
        header = data.split(b"\n", 1)[0].decode(encoding, errors="replace")
        delimiter = _sniff(header)
        column_index = prefix.count(delimiter.encode())
        names = next(csv.reader([header], delimiter=delimiter), [])
        column = names[column_index].strip() if column_index < len(names) else None
        hint = (
            " (it looks like Windows-1252: choose that encoding or save the file as 'CSV UTF-8')"
            if encoding == "utf-8"
            else ""
        )
        raise _fail(
            file_name,
            "wrong-encoding",
            f"byte 0x{data[error.start]:02X} is not valid {ENCODINGS.get(encoding, encoding)}"
            + hint,
            row=row,
            field_name=column,
        ) from error


def _sniff(header_line: str) -> str:
    return max(_DELIMITERS, key=header_line.count)


def _open_csv(path: Path, file_name: str, encoding: str) -> Table:
    data = path.read_bytes()
    text = _decode(data, file_name, encoding)
    if not text.strip():
        raise _fail(file_name, "empty-file", "the file is empty")
    first_line = text.split("\n", 1)[0]
    delimiter = _sniff(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = _check_header(next(reader), file_name)
    except csv.Error as error:
        raise _fail(file_name, "bad-csv", f"the header cannot be read: {error}", row=1) from error
    # Counting line ends over-counts quoted line breaks; the count is used for
    # progress and the choice of background work only.
    row_count = sum(1 for line in text.splitlines()[1:] if line.strip())
    if row_count == 0:
        raise _fail(file_name, "no-rows", "the file has a header but no data rows", row=2)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        width = len(header)
        try:
            for cells in reader:
                number = reader.line_num
                if not cells or not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != width:
                    raise _fail(
                        file_name,
                        "ragged-row",
                        f"the row has {len(cells)} cells, the header has {width}",
                        row=number,
                    )
                yield number, cells
        except csv.Error as error:
            raise _fail(
                file_name, "bad-csv", f"the row cannot be read: {error}", row=reader.line_num
            ) from error

    return Table(file_name, header, row_count, rows(), decimal_comma=delimiter != ",")


def _open_spreadsheet(path: Path, file_name: str) -> Table:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        data = sheet.to_python(skip_empty_area=False)
    except Exception as error:  # calamine raises several unrelated types
        raise _fail(
            file_name,
            "unreadable-workbook",
            f"the file is not a readable spreadsheet ({type(error).__name__})",
        ) from error
    numbered = [
        (number, list(cells))
        for number, cells in enumerate(data, start=1)
        if any(cell not in ("", None) for cell in cells)
    ]
    if not numbered:
        raise _fail(file_name, "empty-file", "the first sheet is empty")
    header = _check_header(numbered[0][1], file_name)
    if len(numbered) == 1:
        raise _fail(file_name, "no-rows", "the sheet has a header but no data rows", row=2)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        width = len(header)
        for number, cells in numbered[1:]:
            yield number, cells[:width] + [""] * (width - len(cells))

    return Table(file_name, header, len(numbered) - 1, rows(), decimal_comma=True)
