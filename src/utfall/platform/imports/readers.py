"""Reading uploaded tables (CSV or XLSX) into a header and numbered rows.

Problems with the file as a whole (empty, wrong encoding, unreadable workbook,
ragged rows) become :class:`~utfall.errors.DataInvalid` findings that name the
file, the row (as a spreadsheet shows it: the header is row 1) and the column.

A spreadsheet is a zip archive of XML: a few hundred kilobytes can unpack to
gigabytes and millions of cells. Before calamine parses it, the archive's members
are unpacked as a stream (never more than :class:`ReadLimits` allow) and the
worksheets' cells, rows and columns are counted from their XML; a file beyond any
limit is refused with a finding that names the limit (decision 0621).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utfall.errors import DataInvalid, Finding
from utfall.platform.imports.scan import find_identity_number, mask_identity_numbers
from utfall.platform.messages import ImportFinding

__all__ = ["ENCODINGS", "LIMITS", "SPREADSHEET_SUFFIXES", "ReadLimits", "Table", "open_table"]

ENCODINGS = {"utf-8": "UTF-8", "cp1252": "Windows-1252 (Excel, older Windows)"}
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class ReadLimits:
    """The most an uploaded table may hold; each is named in the finding that refuses a file.

    ``max_columns`` holds for CSV and spreadsheets; the others for spreadsheets (a CSV is
    bounded by its size, ``UTFALL_IMPORT_MAX_BYTES``, since it is not compressed).
    """

    max_rows: int = 1_000_000  # data rows of the first sheet (Excel's own limit is 1,048,576)
    max_columns: int = 500
    max_cells: int = 1_000_000  # cells of one sheet; larger tables are imported as CSV
    max_unzipped_bytes: int = 256 * 1024 * 1024  # all members of the archive, unpacked
    max_members: int = 1_000  # files inside the archive


LIMITS = ReadLimits()
_CHUNK = 1024 * 1024
# An XLSX worksheet's rows and cells (``<row r="3">``, ``<c r="B3" …>``, with or without
# a namespace prefix); ``r`` is optional, a missing one means "the next".
_XLSX_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)\b([^>]*)>")
_XLSX_REF = re.compile(rb'\br="([A-Z]{1,3})?([0-9]{1,7})?"')
# ODS: repeated rows and cells (``table:number-rows-repeated="1000"``) multiply what they hold.
_ODS_TAG = re.compile(rb"<table:(table-row|table-cell|covered-table-cell)\b([^>]*)>")
_ODS_REPEAT = re.compile(rb'number-(?:rows|columns)-repeated="([0-9]{1,12})"')


@dataclass
class Table:
    """A header and an iterator over ``(row_number, cells)``; ``row_count`` excludes the header."""

    file_name: str
    header: list[str]
    row_count: int
    rows: Iterator[tuple[int, list[Any]]]
    decimal_comma: bool


def _fail(
    file_name: str,
    code: str,
    message: str,
    *,
    reason: str | None = None,
    params: dict[str, Any] | None = None,
    **where: Any,
) -> DataInvalid:
    finding = ImportFinding(
        code=code,
        message=message,
        file=file_name,
        reason=reason,
        params={k: str(v) for k, v in (params or {}).items()},
        **where,
    )
    return DataInvalid(f"{file_name}: {message}", [finding])


def _header_finding(
    file_name: str, code: str, message: str, params: dict[str, Any], **where: Any
) -> Finding:
    # A header cell is quoted in its finding: never an identity number typed there.
    return ImportFinding(
        code=code,
        message=mask_identity_numbers(message),
        file=file_name,
        params={k: mask_identity_numbers(str(v)) for k, v in params.items()},
        **where,
    )


_LIMIT_REASONS = {
    "max_rows": "too-many-rows",
    "max_columns": "too-many-columns",
    "max_cells": "too-many-cells",
    "max_members": "too-many-files",
    "max_unzipped_bytes": "unpacks-too-large",
}


def _limit(file_name: str, name: str, message: str, limit: Any = None, **where: Any) -> DataInvalid:
    return _fail(
        file_name,
        "limit-exceeded",
        f"{message} (limit {name})",
        reason=_LIMIT_REASONS.get(name),
        params={"limit": limit} if limit is not None else {},
        **where,
    )


def open_table(
    path: Path, *, file_name: str, encoding: str = "utf-8", limits: ReadLimits = LIMITS
) -> Table:
    """Open a CSV or spreadsheet file; raises DataInvalid for a file that cannot be read
    or that exceeds ``limits``."""
    if file_name.lower().endswith(SPREADSHEET_SUFFIXES):
        return _open_spreadsheet(path, file_name, limits)
    return _open_csv(path, file_name, encoding, limits)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


class _SheetCount:
    """Cells, rows and columns of one worksheet, counted from its XML as it streams by."""

    def __init__(self, file_name: str, member: str, limits: ReadLimits, ods: bool):
        self.file_name, self.member, self.limits, self.ods = file_name, member, limits, ods
        self.row = self.column = self.cells = self.widest = 0
        self.repeat = 1

    def feed(self, text: bytes) -> None:
        if self.ods:
            self._feed_ods(text)
        else:
            self._feed_xlsx(text)

    def _feed_xlsx(self, text: bytes) -> None:
        limits = self.limits
        for match in _XLSX_TAG.finditer(text):
            ref = _XLSX_REF.search(match.group(2))
            if match.group(1) == b"row":
                given = ref.group(2) if ref else None
                self.row = int(given) if given else self.row + 1
                self.column = 0
                if self.row > limits.max_rows + 1:
                    raise self._over("max_rows", f"more than {limits.max_rows:,} data rows")
                continue
            letters = ref.group(1) if ref else None
            self.column = _column_number(letters) if letters else self.column + 1
            self.cells += 1
            if ref is not None and ref.group(2) and int(ref.group(2)) > limits.max_rows + 1:
                raise self._over("max_rows", f"more than {limits.max_rows:,} data rows")
            self._check_cell()

    def _feed_ods(self, text: bytes) -> None:
        for match in _ODS_TAG.finditer(text):
            found = _ODS_REPEAT.search(match.group(2))
            count = int(found.group(1)) if found else 1
            if match.group(1) == b"table-row":
                self.repeat, self.column = count, 0
                continue
            self.column += count
            # Trailing empty cells and rows are written repeated by every office suite;
            # only cells holding a value count.
            if b"value-type=" in match.group(2):
                self.cells += count * self.repeat
                self._check_cell()

    def _check_cell(self) -> None:
        limits = self.limits
        if self.column > limits.max_columns:
            raise self._over("max_columns", f"more than {limits.max_columns:,} columns")
        if self.cells > limits.max_cells:
            raise self._over(
                "max_cells",
                f"more than {limits.max_cells:,} cells (import a table this large as CSV)",
            )

    def _over(self, name: str, what: str) -> DataInvalid:
        return _limit(
            self.file_name, name, f"the sheet {self.member} has {what}", getattr(self.limits, name)
        )


def _check_archive(path: Path, file_name: str, limits: ReadLimits) -> None:
    """Unpack the spreadsheet archive as a stream and refuse it if it exceeds ``limits``.

    Sizes in the zip directory can lie, so the bytes are counted as they unpack; a file
    that is not a zip archive (``.xls``) is left to calamine, its size bounded by the
    upload limit since it is not compressed.
    """
    if not zipfile.is_zipfile(path):
        return
    try:
        archive = zipfile.ZipFile(path)
    except Exception as error:  # BadZipFile, NotImplementedError (a version), ValueError …
        raise _fail(
            file_name,
            "unreadable-workbook",
            "the file is not a readable spreadsheet (zip)",
            params={},
        ) from error
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise _limit(
                file_name,
                "max_members",
                f"the workbook holds {len(members):,} files; at most {limits.max_members:,}",
                limits.max_members,
            )
        declared = sum(member.file_size for member in members)
        if declared > limits.max_unzipped_bytes:
            raise _limit(
                file_name,
                "max_unzipped_bytes",
                _unzipped(declared, limits),
                limits.max_unzipped_bytes // 1024 // 1024,
            )
        unpacked = 0
        for member in members:
            name = member.filename
            ods = name == "content.xml"
            counter = (
                _SheetCount(file_name, name, limits, ods)
                if ods or (name.startswith("xl/worksheets/") and name.endswith(".xml"))
                else None
            )
            tail = b""
            try:
                with archive.open(member) as stream:
                    while chunk := stream.read(_CHUNK):
                        unpacked += len(chunk)
                        if unpacked > limits.max_unzipped_bytes:
                            raise _limit(
                                file_name,
                                "max_unzipped_bytes",
                                _unzipped(None, limits),
                                limits.max_unzipped_bytes // 1024 // 1024,
                            )
                        if counter is not None:
                            # A tag cut by the chunk's end is counted with the next chunk.
                            text = tail + chunk
                            cut = text.rfind(b"<")
                            if cut == -1 or b">" in text[cut:]:
                                cut = len(text)
                            counter.feed(text[:cut])
                            tail = text[cut:]
            except DataInvalid:
                raise
            except Exception as error:  # zipfile and zlib raise several unrelated types
                raise _fail(
                    file_name,
                    "unreadable-workbook",
                    f"the file is not a readable spreadsheet ({type(error).__name__} in {name})",
                    params={},
                ) from error
            if counter is not None and tail:
                counter.feed(tail)


def _unzipped(size: int | None, limits: ReadLimits) -> str:
    most = f"{limits.max_unzipped_bytes / 1024 / 1024:,.0f} MiB"
    if size is None:
        return f"the workbook unpacks to more than {most}"
    return f"the workbook unpacks to {size / 1024 / 1024:,.0f} MiB; at most {most}"


def _check_header(header: list[Any], file_name: str, limits: ReadLimits = LIMITS) -> list[str]:
    if len(header) > limits.max_columns:
        raise _limit(
            file_name,
            "max_columns",
            f"the header has {len(header):,} columns; at most {limits.max_columns:,}",
            limits.max_columns,
            row=1,
        )
    names = [str(cell).strip() if cell is not None else "" for cell in header]
    for index, cell in enumerate(header, start=1):
        mask = find_identity_number(cell)
        if mask is not None:
            # A header that is a data row (no header at all) is the common case.
            message = (
                f"column {index} of the header holds a personal identity or coordination "
                f"number ({mask}); the first row must name the columns"
            )
            raise _fail(
                file_name,
                "identity-number-in-text",
                message,
                reason="identity-number-in-header",
                params={"index": index, "mask": mask},
                row=1,
            )
    findings = []
    seen: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        if not name:
            findings.append(
                ImportFinding(
                    code="blank-column-name",
                    message=f"column {index} of the header has no name",
                    file=file_name,
                    row=1,
                    params={"index": str(index)},
                )
            )
        elif name.casefold() in seen:
            findings.append(
                _header_finding(
                    file_name,
                    "duplicate-column-name",
                    f"the column name {name!r} appears twice (columns "
                    f"{seen[name.casefold()]} and {index})",
                    {"name": name, "first": seen[name.casefold()], "second": index},
                    row=1,
                    field_name=mask_identity_numbers(name),
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
            reason="utf-16",
            params={},
        )
    if b"\x00" in data[:4096]:
        raise _fail(
            file_name,
            "not-text",
            "the file is not a CSV text file (it holds binary data)",
            params={},
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
        try:
            names = next(csv.reader([header], delimiter=delimiter), [])
        except csv.Error:  # a header that is not CSV either: the column stays unnamed
            names = []
        column = (
            mask_identity_numbers(names[column_index].strip())
            if column_index < len(names)
            else None
        )
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
            reason="not-utf-8" if encoding == "utf-8" else "not-encoding",
            params={"row": row, "encoding": ENCODINGS.get(encoding, encoding)},
            row=row,
            field_name=column,
        ) from error


def _sniff(header_line: str) -> str:
    return max(_DELIMITERS, key=header_line.count)


def _open_csv(path: Path, file_name: str, encoding: str, limits: ReadLimits) -> Table:
    data = path.read_bytes()
    text = _decode(data, file_name, encoding)
    if not text.strip():
        raise _fail(file_name, "empty-file", "the file is empty", params={})
    first_line = text.split("\n", 1)[0]
    delimiter = _sniff(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = _check_header(next(reader), file_name, limits)
    except csv.Error as error:
        raise _fail(
            file_name,
            "bad-csv",
            f"the header cannot be read: {error}",
            reason="bad-csv-header",
            params={},
            row=1,
        ) from error
    # Counting line ends over-counts quoted line breaks; the count is used for
    # progress and the choice of background work only.
    row_count = sum(1 for line in text.splitlines()[1:] if line.strip())
    if row_count == 0:
        raise _fail(
            file_name, "no-rows", "the file has a header but no data rows", params={}, row=2
        )

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
                        params={"cells": len(cells), "width": width},
                        row=number,
                    )
                yield number, cells
        except csv.Error as error:
            raise _fail(
                file_name,
                "bad-csv",
                f"the row cannot be read: {error}",
                reason="bad-csv-row",
                params={},
                row=reader.line_num,
            ) from error

    return Table(file_name, header, row_count, rows(), decimal_comma=delimiter != ",")


def _open_spreadsheet(path: Path, file_name: str, limits: ReadLimits) -> Table:
    from python_calamine import CalamineWorkbook

    _check_archive(path, file_name, limits)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        height, width = sheet.total_height, sheet.total_width
        if height * width <= limits.max_cells:
            data = sheet.to_python(skip_empty_area=False)
    except Exception as error:  # calamine raises several unrelated types
        raise _fail(
            file_name,
            "unreadable-workbook",
            f"the file is not a readable spreadsheet ({type(error).__name__})",
            params={},
        ) from error
    if height * width > limits.max_cells:  # an .xls, which is not counted beforehand
        raise _limit(
            file_name,
            "max_cells",
            f"the first sheet spans {height:,} rows and {width:,} columns, more than "
            f"{limits.max_cells:,} cells (import a table this large as CSV)",
            limits.max_cells,
        )
    numbered = [
        (number, list(cells))
        for number, cells in enumerate(data, start=1)
        if any(cell not in ("", None) for cell in cells)
    ]
    if not numbered:
        raise _fail(file_name, "empty-file", "the first sheet is empty", params={})
    header = _check_header(numbered[0][1], file_name, limits)
    if len(numbered) == 1:
        raise _fail(
            file_name, "no-rows", "the sheet has a header but no data rows", params={}, row=2
        )

    def rows() -> Iterator[tuple[int, list[Any]]]:
        width = len(header)
        for number, cells in numbered[1:]:
            yield number, cells[:width] + [""] * (width - len(cells))

    return Table(file_name, header, len(numbered) - 1, rows(), decimal_comma=True)
