"""Imports: mapping, preview, validation, all-or-nothing commit, pseudonyms, malformed files.

Every malformed file must give a precise finding (code, row, column) and leave
the database exactly as it was.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import pytest
from django.db import connection
from platform_helpers import (
    csv_text,
    personnummer,
    upload,
    wrong_check_digit,
    xlsx_bytes,
)

from utfall.errors import DataInvalid
from utfall.platform.contracts.models import Role
from utfall.platform.imports.models import BatchStatus, DataRecord, ImportBatch
from utfall.platform.imports.selectors import import_preview, import_progress
from utfall.platform.imports.services import (
    import_commit,
    import_set_mapping,
    import_upload,
    import_validate,
)
from utfall.platform.participants.models import Participant
from utfall.platform.pseudonyms import load_key, normalise_personnummer

pytestmark = pytest.mark.django_db


def _state():
    return (
        Participant.objects.count(),
        DataRecord.objects.count(),
        ImportBatch.objects.filter(status=BatchStatus.COMMITTED).count(),
    )


def _run(world, kind, name, content, *, role=Role.COMMISSIONER, encoding="utf-8"):
    user = world.users[role]
    batch = import_upload(contract=world.contract, kind=kind, uploaded=upload(name, content),
                          actor=user, encoding=encoding)
    batch = import_validate(batch=batch, actor=user)
    if batch.status == BatchStatus.VALID:
        batch = import_commit(batch=batch, actor=user)
    return batch


def _participants(world, numbers, name="participants.csv"):
    rows = [[n, "2020-02-01"] for n in numbers]
    return _run(world, "participants", name, csv_text(["personnummer", "inkluderad"], rows))


def _expected_pseudonym(number: str) -> str:
    twelve = normalise_personnummer(number)
    return hmac.new(load_key(), f"pnr:{twelve}".encode(), hashlib.sha256).hexdigest()


def _all_database_text() -> str:
    """Every text value of every table, to search for a leaked clear number."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            chunks.extend(str(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_participants_are_pseudonymised_and_the_clear_number_is_nowhere(world, caplog):
    caplog.set_level(logging.DEBUG)
    numbers = [personnummer(i) for i in range(1, 6)]
    batch = _participants(world, numbers)
    assert batch.status == BatchStatus.COMMITTED, batch.findings
    assert batch.rows_written == 5
    stored = set(Participant.objects.values_list("pseudonym", flat=True))
    assert stored == {_expected_pseudonym(n) for n in numbers}
    everything = _all_database_text() + caplog.text
    for number in numbers:
        digits = number.replace("-", "")
        assert digits not in everything and digits[2:] not in everything
        assert number not in everything


def test_same_person_gets_the_same_pseudonym_in_any_spelling(world):
    first = personnummer(7)
    _participants(world, [first])
    short = first[2:]  # YYMMDD-NNNN of the same person
    batch = _participants(world, [short, personnummer(8)], name="more.csv")
    assert batch.status == BatchStatus.COMMITTED
    assert (batch.rows_written, batch.rows_unchanged) == (1, 1)
    assert Participant.objects.count() == 2


def test_coordination_numbers_are_accepted(world):
    batch = _participants(world, [personnummer(3, coordination=True)])
    assert batch.status == BatchStatus.COMMITTED, batch.findings


def test_xlsx_with_numeric_cells_and_dates(world):
    number = personnummer(11).replace("-", "")
    content = xlsx_bytes([["Personnummer", "Inkluderad", "Grupp"],
                          [int(number), "2021-03-01", "comparison"]])
    batch = _run(world, "participants", "deltagare.xlsx", content)
    assert batch.status == BatchStatus.COMMITTED, batch.findings
    participant = Participant.objects.get()
    assert participant.group == "comparison"
    assert participant.pseudonym == _expected_pseudonym(number)


def test_records_refer_to_participants_and_keep_exact_money(world):
    numbers = [personnummer(i) for i in (1, 2)]
    _participants(world, numbers)
    content = csv_text(["Personnummer", "Datum", "Kategori", "Belopp"],
                       [[numbers[0], "2020-03-01", "placement", "1 234,50"],
                        [numbers[1], "2020-03", "outpatient", "99,99"]], delimiter=";")
    batch = _run(world, "cost_records", "kostnader.csv", content)
    assert batch.status == BatchStatus.COMMITTED, batch.findings
    amounts = sorted(str(a) for a in DataRecord.objects.values_list("amount", flat=True))
    assert amounts == ["1234.50", "99.99"]


def test_re_import_of_the_same_file_is_recognised(world):
    content = csv_text(["personnummer", "included_on"], [[personnummer(1), "2020-01-01"]])
    _run(world, "participants", "a.csv", content)
    before = _state()
    with pytest.raises(DataInvalid) as caught:
        _run(world, "participants", "renamed.csv", content)
    assert caught.value.findings[0].code == "already-imported"
    assert _state() == before


def test_preview_shows_pseudonyms_and_row_problems(world):
    good, bad = personnummer(1), wrong_check_digit(personnummer(2))
    content = csv_text(["personnummer", "included_on"], [[good, "2020-01-01"], [bad, "x"]])
    batch = import_upload(contract=world.contract, kind="participants",
                          uploaded=upload("p.csv", content),
                          actor=world.users[Role.COMMISSIONER])
    preview = import_preview(batch=batch)
    assert [row["number"] for row in preview.rows] == [2, 3]
    assert preview.rows[0]["cells"][0] == _expected_pseudonym(good)[:12] + "…"
    assert good not in str(preview.rows) and bad not in str(preview.rows)
    assert len(preview.rows[1]["problems"]) == 2


def _assert_rejected(world, kind, name, content, code, *, row=None, column=None, **kwargs):
    before = _state()
    try:
        batch = _run(world, kind, name, content, **kwargs)
    except DataInvalid as error:
        findings = error.findings
    else:
        assert batch.status in (BatchStatus.INVALID, BatchStatus.FAILED)
        findings = batch.findings
        findings = [type("F", (), {**f, "field_name": f["field"]}) for f in findings]
    assert _state() == before, "the database changed"
    matching = [f for f in findings if f.code == code]
    assert matching, [(f.code, f.message) for f in findings]
    if row is not None:
        assert matching[0].row == row
    if column is not None:
        assert matching[0].field_name == column
    return findings


def test_wrong_encoding(world):
    content = csv_text(["personnummer", "included_on", "cohort"],
                       [[personnummer(1), "2020-01-01", "a"],
                        [personnummer(2), "2020-01-01", "Skärholmen"]]).encode("cp1252")
    findings = _assert_rejected(world, "participants", "p.csv", content, "wrong-encoding",
                                row=3, column="cohort")
    assert "Windows-1252" in findings[0].message


def test_the_windows_1252_encoding_can_be_chosen(world):
    content = csv_text(["personnummer", "included_on", "cohort"],
                       [[personnummer(2), "2020-01-01", "Skärholmen"]]).encode("cp1252")
    batch = _run(world, "participants", "p.csv", content, encoding="cp1252")
    assert batch.status == BatchStatus.COMMITTED
    assert Participant.objects.get().cohort == "Skärholmen"


def test_missing_columns(world):
    content = csv_text(["personnummer", "kommentar"], [[personnummer(1), "x"]])
    batch = import_upload(contract=world.contract, kind="participants",
                          uploaded=upload("p.csv", content), actor=world.users[Role.COMMISSIONER])
    assert batch.status == BatchStatus.MAPPING
    with pytest.raises(DataInvalid) as caught:
        import_set_mapping(batch=batch, mapping={"personnummer": "personnummer"},
                           actor=world.users[Role.COMMISSIONER])
    finding = caught.value.findings[0]
    assert (finding.code, finding.field_name) == ("missing-column", "included_on")
    assert "kommentar" in finding.message
    with pytest.raises(DataInvalid):
        import_validate(batch=batch, actor=world.users[Role.COMMISSIONER])
    assert _state() == (0, 0, 0)


def test_bad_dates(world):
    content = csv_text(["personnummer", "included_on"],
                       [[personnummer(1), "2020-01-01"], [personnummer(2), "2020-02-30"],
                        [personnummer(3), "31/01/2020"]])
    findings = _assert_rejected(world, "participants", "p.csv", content, "invalid-date",
                                row=3, column="included_on")
    assert [f.row for f in findings] == [3, 4]


def test_bad_personal_identity_numbers(world):
    bad = wrong_check_digit(personnummer(2))
    content = csv_text(["personnummer", "included_on"],
                       [[personnummer(1), "2020-01-01"], [bad, "2020-01-01"],
                        ["19901340-1234", "2020-01-01"]])
    findings = _assert_rejected(world, "participants", "p.csv", content, "invalid-person",
                                row=3, column="personnummer")
    assert "check digit" in findings[0].message
    assert bad not in str([f.message for f in findings])
    assert [f.row for f in findings] == [3, 4]


def test_duplicates(world):
    number = personnummer(5)
    content = csv_text(["personnummer", "included_on"],
                       [[number, "2020-01-01"], [personnummer(6), "2020-01-01"],
                        [number[2:], "2020-01-01"]])
    findings = _assert_rejected(world, "participants", "p.csv", content, "duplicate-row", row=4)
    assert "row 2" in findings[0].message


def test_empty_file(world):
    _assert_rejected(world, "participants", "p.csv", b"", "empty-file")
    _assert_rejected(world, "participants", "p.csv", "personnummer,included_on\n", "no-rows",
                     row=2)


def test_fifty_megabyte_file(world):
    row = f"{personnummer(1)},2020-01-01\n".encode()
    content = b"personnummer,included_on\n" + row * (50_000_000 // len(row) + 1)
    assert len(content) >= 50_000_000
    findings = _assert_rejected(world, "participants", "big.csv", content, "file-too-large")
    assert "50.0 MB" in findings[0].message


def test_ragged_rows_and_unknown_participants(world):
    content = csv_text(["personnummer", "date", "days"],
                       [[personnummer(1), "2020-01-01", "2"]]) + "only,two\n"
    _participants(world, [personnummer(2)])
    findings = _assert_rejected(world, "sick_leave_days", "s.csv", content, "ragged-row", row=3)
    assert findings[0].message == "the row has 2 cells, the header has 3"
    content = csv_text(["personnummer", "date", "days"], [[personnummer(1), "2020-01-01", "2"]])
    _assert_rejected(world, "sick_leave_days", "s.csv", content, "unknown-participant", row=2)


def test_commit_is_all_or_nothing(world):
    numbers = [personnummer(i) for i in range(1, 4)]
    _participants(world, numbers)
    rows = [[n, "2020-01", 3] for n in numbers]
    user = world.users[Role.COMMISSIONER]
    batch = import_upload(contract=world.contract, kind="placement_days",
                          uploaded=upload("d.csv", csv_text(["personnummer", "month", "days"],
                                                            rows)), actor=user)
    batch = import_validate(batch=batch, actor=user)
    assert batch.status == BatchStatus.VALID
    # The last row's participant disappears between validation and commit.
    Participant.objects.filter(pseudonym=_expected_pseudonym(numbers[-1])).delete()
    before = _state()
    batch = import_commit(batch=batch, actor=user)
    assert batch.status == BatchStatus.FAILED
    assert [f["code"] for f in batch.findings] == ["unknown-participant"]
    assert batch.findings[0]["row"] == 4
    assert _state() == before


def test_large_files_run_as_a_background_task_with_progress(world, settings):
    settings.UTFALL_IMPORT_BACKGROUND_ROWS = 10
    references = [f"R-{i:04d}" for i in range(50)]
    rows = [[r, "2020-01-01"] for r in references]
    user = world.users[Role.PROVIDER]
    batch = import_upload(contract=world.contract, kind="participants",
                          uploaded=upload("p.csv", csv_text(["reference", "included_on"], rows)),
                          actor=user)
    batch = import_validate(batch=batch, actor=user)
    assert batch.task_id  # went through django-tasks (the immediate backend in tests)
    batch = import_commit(batch=batch, actor=user)
    assert batch.status == BatchStatus.COMMITTED
    assert batch.rows_written == 50
    assert import_progress(batch=batch)["percent"] == 100


def test_audit_trail_records_the_import(world):
    _participants(world, [personnummer(1)])
    actions = list(world.contract.audit_events.values_list("action", flat=True))
    for action in ("import.uploaded", "import.validated", "import.committed"):
        assert action in actions


def test_an_end_date_is_imported_checked_and_added_by_a_later_file(world):
    first = csv_text(["personnummer", "inkluderad", "slutdatum"],
                     [[personnummer(1), "2020-01-01", ""], [personnummer(2), "2020-01-01", ""],
                      [personnummer(3), "2020-01-01", "2020-06-30"]])
    batch = _run(world, "participants", "p.csv", first)
    assert batch.status == BatchStatus.COMMITTED
    assert batch.mapping["left_on"] == "slutdatum"
    left = dict(Participant.objects.values_list("pseudonym", "left_on"))
    assert left[_expected_pseudonym(personnummer(3))].isoformat() == "2020-06-30"
    assert left[_expected_pseudonym(personnummer(1))] is None

    # A later list adds one leaver; the rest are unchanged.
    later = csv_text(["personnummer", "inkluderad", "slutdatum"],
                     [[personnummer(1), "2020-01-01", "2021-03-15"],
                      [personnummer(2), "2020-01-01", ""],
                      [personnummer(3), "2020-01-01", "2020-06-30"]])
    batch = _run(world, "participants", "later.csv", later)
    assert batch.status == BatchStatus.COMMITTED
    assert (batch.rows_written, batch.rows_unchanged) == (1, 2)
    assert Participant.objects.get(
        pseudonym=_expected_pseudonym(personnummer(1))
    ).left_on.isoformat() == "2021-03-15"
    assert Participant.objects.count() == 3


def test_an_end_date_that_contradicts_or_precedes_is_refused(world):
    _run(world, "participants", "p.csv",
         csv_text(["personnummer", "inkluderad", "slutdatum"],
                  [[personnummer(1), "2020-01-01", "2020-06-30"]]))
    changed = csv_text(["personnummer", "inkluderad", "slutdatum"],
                       [[personnummer(1), "2020-01-01", "2020-07-31"]])
    findings = _assert_rejected(world, "participants", "changed.csv", changed,
                                "participant-conflict", row=2, column="slutdatum")
    assert "already left on 2020-06-30" in findings[0].message
    early = csv_text(["personnummer", "inkluderad", "slutdatum"],
                     [[personnummer(2), "2020-03-01", "2020-02-28"]])
    _assert_rejected(world, "participants", "early.csv", early, "left-before-inclusion",
                     row=2, column="slutdatum")
