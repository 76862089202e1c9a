"""Imports of declared tables: mapping, preview, validation, all-or-nothing commit, pseudonyms,
stored rows, malformed files.

Every malformed file must give a precise finding (code, row, column) and leave
the database exactly as it was.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from decimal import Decimal

import pytest
from django.db import connection
from platform_helpers import (
    UNKNOWN_CONTRACT,
    csv_text,
    personnummer,
    upload,
    wrong_check_digit,
    xlsx_bytes,
)

from utfall.errors import DataInvalid
from utfall.platform.contracts.models import Role
from utfall.platform.imports.models import BatchStatus, ImportBatch, TableSegment
from utfall.platform.imports.selectors import import_preview, import_progress
from utfall.platform.imports.services import (
    import_commit,
    import_set_mapping,
    import_upload,
    import_validate,
)
from utfall.platform.pseudonyms import load_key, normalise_personnummer
from utfall.platform.tables import StoredTables
from utfall.services.tables import TableMissing

pytestmark = pytest.mark.django_db


def _state():
    return (
        TableSegment.objects.count(),
        ImportBatch.objects.filter(status=BatchStatus.COMMITTED).count(),
    )


def _stored(world, name):
    try:
        return StoredTables(world.contract).table(name)
    except TableMissing:
        return None


def _run(world, table, name, content, *, role=Role.COMMISSIONER, encoding="utf-8"):
    user = world.users[role]
    batch = import_upload(
        contract=world.contract,
        table=table,
        uploaded=upload(name, content),
        actor=user,
        encoding=encoding,
    )
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
    """Every value of every table (the Parquet segments decoded), to search for a leak."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            chunks.extend(str(row) for row in cursor.fetchall())
    from utfall.platform.tables import segment_decode

    for data in TableSegment.objects.values_list("data", flat=True):
        chunks.append(str(segment_decode(data).to_pylist()))
    return "\n".join(chunks)


def test_participants_are_pseudonymised_and_the_clear_number_is_nowhere(world, caplog):
    caplog.set_level(logging.DEBUG)
    numbers = [personnummer(i) for i in range(1, 6)]
    batch = _participants(world, numbers)
    assert batch.status == BatchStatus.COMMITTED, batch.findings
    assert batch.rows_written == 5
    stored = set(_stored(world, "participants").column("participant").to_pylist())
    assert stored == {_expected_pseudonym(n) for n in numbers}
    everything = _all_database_text() + caplog.text
    for number in numbers:
        digits = number.replace("-", "")
        assert digits not in everything and digits[2:] not in everything
        assert number not in everything


def test_the_rows_are_one_segment_in_the_canonical_form(world):
    numbers = [personnummer(i) for i in range(1, 4)]
    batch = _participants(world, numbers)
    segment = TableSegment.objects.get(batch=batch)
    assert (segment.table, segment.row_count, segment.new_rows) == ("participants", 3, 3)
    assert segment.version == world.contract.versions.get(number=1)
    table = _stored(world, "participants")
    assert table.column_names == [
        "participant",
        "included_on",
        "group",
        "age_band",
        "earlier_placements",
    ]
    assert table.column("group").to_pylist() == ["treatment"] * 3  # the declared default
    from utfall.services.tables import table_digest

    assert segment.sha256 == table_digest(table)
    entry = world.contract.identifier
    from utfall.platform.settlements.models import LedgerRecord

    record = LedgerRecord.objects.filter(contract_identifier=entry, kind="import").get()
    assert record.attributes["what"] == "participants"
    assert record.attributes["rows_sha256"] == segment.sha256


def test_same_person_gets_the_same_pseudonym_in_any_spelling(world):
    first = personnummer(7)
    _participants(world, [first])
    short = first[2:]  # YYMMDD-NNNN of the same person
    batch = _participants(world, [short, personnummer(8)], name="more.csv")
    assert batch.status == BatchStatus.COMMITTED
    assert (batch.rows_written, batch.rows_unchanged) == (1, 1)
    assert _stored(world, "participants").num_rows == 2


def test_coordination_numbers_are_accepted(world):
    batch = _participants(world, [personnummer(3, coordination=True)])
    assert batch.status == BatchStatus.COMMITTED, batch.findings


def test_xlsx_with_numeric_cells_dates_and_choice_labels(world):
    number = personnummer(11).replace("-", "")
    content = xlsx_bytes(
        [
            ["Personnummer", "Inkluderingsdatum", "Grupp", "Åldersgrupp"],
            [int(number), "2021-03-01", "Historisk referensgrupp", "13–15 år"],
        ]
    )
    batch = _run(world, "participants", "deltagare.xlsx", content)
    assert batch.status == BatchStatus.COMMITTED, batch.findings
    row = _stored(world, "participants").to_pylist()[0]
    assert (row["group"], row["age_band"]) == ("comparison", "13-15")
    assert row["participant"] == _expected_pseudonym(number)


def test_records_refer_to_participants_and_keep_exact_money(world):
    numbers = [personnummer(i) for i in (1, 2)]
    _participants(world, numbers)
    content = csv_text(
        ["Personnummer", "Datum", "Kategori", "Belopp"],
        [
            [numbers[0], "2020-03-01", "placement", "1 234,50"],
            [numbers[1], "2020-03", "outpatient", "99,99"],
        ],
        delimiter=";",
    )
    batch = _run(world, "cost_records", "kostnader.csv", content)
    assert batch.status == BatchStatus.COMMITTED, batch.findings
    amounts = _stored(world, "cost_records").column("amount").to_pylist()
    assert sorted(amounts) == [Decimal("99.99"), Decimal("1234.50")]


def test_re_import_of_the_same_file_is_recognised(world):
    content = csv_text(["personnummer", "included_on"], [[personnummer(1), "2020-01-01"]])
    _run(world, "participants", "a.csv", content)
    before = _state()
    with pytest.raises(DataInvalid) as caught:
        _run(world, "participants", "renamed.csv", content)
    assert caught.value.findings[0].code == "already-imported"
    assert _state() == before


def test_an_overlapping_file_keeps_identical_rows_and_refuses_changed_ones(world):
    number = personnummer(1)
    _participants(world, [number])
    header = ["personnummer", "date", "category", "amount"]
    first = _run(
        world,
        "cost_records",
        "jan.csv",
        csv_text(
            header,
            [
                [number, "2020-01-01", "placement", "100.00"],
                [number, "2020-02-01", "placement", "200.00"],
            ],
        ),
    )
    assert first.status == BatchStatus.COMMITTED
    # The same January row again (other spelling of the amount) and a new March row.
    again = _run(
        world,
        "cost_records",
        "jan-mar.csv",
        csv_text(
            header,
            [
                [number, "2020-01-01", "placement", "100"],
                [number, "2020-03-01", "placement", "300.00"],
            ],
        ),
    )
    assert again.status == BatchStatus.COMMITTED, again.findings
    assert (again.rows_written, again.rows_unchanged) == (1, 1)
    assert _stored(world, "cost_records").num_rows == 3
    before = _state()
    changed = csv_text(header, [[number, "2020-02-01", "placement", "250.00"]])
    findings = _assert_rejected(
        world, "cost_records", "feb.csv", changed, "stored-row-differs", row=2, column="amount"
    )
    assert f"import #{first.pk}" in findings[0].message and "jan.csv" in findings[0].message
    assert "stored 200.00, the file 250.00" in findings[0].message
    assert _state() == before


def test_preview_shows_pseudonyms_and_row_problems(world):
    good, bad = personnummer(1), wrong_check_digit(personnummer(2))
    content = csv_text(["personnummer", "included_on"], [[good, "2020-01-01"], [bad, "x"]])
    batch = import_upload(
        contract=world.contract,
        table="participants",
        uploaded=upload("p.csv", content),
        actor=world.users[Role.COMMISSIONER],
    )
    preview = import_preview(batch=batch)
    assert [row["number"] for row in preview.rows] == [2, 3]
    assert preview.rows[0]["cells"][0] == _expected_pseudonym(good)[:12] + "…"
    assert good not in str(preview.rows) and bad not in str(preview.rows)
    assert len(preview.rows[1]["problems"]) == 2


def _assert_rejected(world, table, name, content, code, *, row=None, column=None, **kwargs):
    before = _state()
    try:
        batch = _run(world, table, name, content, **kwargs)
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


def test_an_undeclared_table_is_refused_naming_the_declared_ones(world):
    findings = _assert_rejected(world, "sick_leave_days", "s.csv", "a,b\n1,2\n", "unknown-table")
    assert "cost_records" in findings[0].message and "participants" in findings[0].message


def test_wrong_encoding(world):
    _participants(world, [personnummer(1), personnummer(2)])
    content = csv_text(
        ["personnummer", "date", "category", "amount"],
        [
            [personnummer(1), "2020-01-01", "a", "1"],
            [personnummer(2), "2020-01-01", "Skärholmen", "1"],
        ],
    ).encode("cp1252")
    findings = _assert_rejected(
        world, "cost_records", "c.csv", content, "wrong-encoding", row=3, column="category"
    )
    assert "Windows-1252" in findings[0].message


def test_the_windows_1252_encoding_can_be_chosen(world):
    _participants(world, [personnummer(2)])
    content = csv_text(
        ["personnummer", "date", "category", "amount"],
        [[personnummer(2), "2020-01-01", "Skärholmen", "1"]],
    ).encode("cp1252")
    batch = _run(world, "cost_records", "c.csv", content, encoding="cp1252")
    assert batch.status == BatchStatus.COMMITTED
    assert _stored(world, "cost_records").column("category").to_pylist() == ["Skärholmen"]


def test_missing_columns_wait_at_the_mapping_with_the_reason(world):
    from utfall.platform.imports.selectors import import_mapping_problems

    content = csv_text(["personnummer", "kommentar"], [[personnummer(1), "x"]])
    batch = import_upload(
        contract=world.contract,
        table="participants",
        uploaded=upload("p.csv", content),
        actor=world.users[Role.COMMISSIONER],
    )
    assert batch.status == BatchStatus.MAPPING
    reasons = import_mapping_problems(batch=batch, language="sv")
    assert [(f.code, f.field_name) for f in reasons] == [("missing-column", "included_on")]
    assert "Inkluderingsdatum" in reasons[0].message and "kommentar" in reasons[0].message
    with pytest.raises(DataInvalid) as caught:
        import_set_mapping(
            batch=batch,
            mapping={"personnummer": "personnummer"},
            actor=world.users[Role.COMMISSIONER],
        )
    finding = caught.value.findings[0]
    assert (finding.code, finding.field_name) == ("missing-column", "included_on")
    assert "kommentar" in finding.message
    with pytest.raises(DataInvalid):
        import_validate(batch=batch, actor=world.users[Role.COMMISSIONER])
    assert _state() == (0, 0)


def test_bad_dates(world):
    content = csv_text(
        ["personnummer", "included_on"],
        [
            [personnummer(1), "2020-01-01"],
            [personnummer(2), "2020-02-30"],
            [personnummer(3), "31/01/2020"],
        ],
    )
    findings = _assert_rejected(
        world, "participants", "p.csv", content, "invalid-date", row=3, column="included_on"
    )
    assert [f.row for f in findings] == [3, 4]


def test_bad_choices_bounds_and_numbers_name_row_and_column(world):
    content = csv_text(
        ["personnummer", "included_on", "group", "earlier_placements"],
        [
            [personnummer(1), "2020-01-01", "control", "1"],
            [personnummer(2), "2020-01-01", "treatment", "-1"],
            [personnummer(3), "2020-01-01", "treatment", "1.5"],
        ],
    )
    findings = _assert_rejected(
        world, "participants", "p.csv", content, "invalid-choice", row=2, column="group"
    )
    assert "treatment, comparison" in findings[0].message
    codes = [(f.code, f.row, f.field_name) for f in findings]
    assert ("invalid-integer", 3, "earlier_placements") in codes
    assert ("invalid-integer", 4, "earlier_placements") in codes


def test_bad_personal_identity_numbers(world):
    bad = wrong_check_digit(personnummer(2))
    content = csv_text(
        ["personnummer", "included_on"],
        [[personnummer(1), "2020-01-01"], [bad, "2020-01-01"], ["19901340-1234", "2020-01-01"]],
    )
    findings = _assert_rejected(
        world, "participants", "p.csv", content, "invalid-person", row=3, column="personnummer"
    )
    assert "check digit" in findings[0].message
    assert bad not in str([f.message for f in findings])
    assert [f.row for f in findings] == [3, 4]


def test_duplicates(world):
    number = personnummer(5)
    content = csv_text(
        ["personnummer", "included_on"],
        [[number, "2020-01-01"], [personnummer(6), "2020-01-01"], [number[2:], "2020-01-01"]],
    )
    findings = _assert_rejected(world, "participants", "p.csv", content, "duplicate-row", row=4)
    assert "row 2" in findings[0].message


def test_duplicate_keys_of_a_participants_table(world):
    _participants(world, [personnummer(1)])
    content = csv_text(
        ["personnummer", "month", "days"],
        [[personnummer(1), "2020-01", 3], [personnummer(1), "2020-01-01", 4]],
    )
    findings = _assert_rejected(world, "placement_days", "d.csv", content, "duplicate-row", row=3)
    assert "the same person and month, placement_type as row 2" in findings[0].message


def test_empty_file(world):
    _assert_rejected(world, "participants", "p.csv", b"", "empty-file")
    _assert_rejected(world, "participants", "p.csv", "personnummer,included_on\n", "no-rows", row=2)


def test_fifty_megabyte_file(world):
    row = f"{personnummer(1)},2020-01-01\n".encode()
    content = b"personnummer,included_on\n" + row * (50_000_000 // len(row) + 1)
    assert len(content) >= 50_000_000
    findings = _assert_rejected(world, "participants", "big.csv", content, "file-too-large")
    assert "50.0 MB" in findings[0].message


def test_ragged_rows_and_unknown_participants(world):
    content = (
        csv_text(["personnummer", "month", "days"], [[personnummer(1), "2020-01-01", "2"]])
        + "only,two\n"
    )
    _participants(world, [personnummer(2)])
    findings = _assert_rejected(world, "placement_days", "s.csv", content, "ragged-row", row=3)
    assert findings[0].message == "the row has 2 cells, the header has 3"
    content = csv_text(["personnummer", "month", "days"], [[personnummer(1), "2020-01-01", "2"]])
    findings = _assert_rejected(
        world,
        "placement_days",
        "s.csv",
        content,
        "unknown-participant",
        row=2,
        column="personnummer",
    )
    assert "no child of this contract" in findings[0].message


def test_a_series_needs_no_participants(world):
    batch = _run(
        world,
        "price_index",
        "kpi.csv",
        csv_text(
            ["Månad", "Indexvärde"], [["2020-01", "101,5"], ["2020-02", "102"]], delimiter=";"
        ),
    )
    assert batch.status == BatchStatus.COMMITTED, batch.findings
    table = _stored(world, "price_index")
    assert table.column_names == ["month", "index"]
    assert table.column("index").to_pylist() == [Decimal("101.5000"), Decimal("102.0000")]


def test_commit_is_all_or_nothing(world):
    numbers = [personnummer(i) for i in range(1, 4)]
    _participants(world, numbers)
    rows = [[n, "2020-01", 3] for n in numbers]
    user = world.users[Role.COMMISSIONER]
    batch = import_upload(
        contract=world.contract,
        table="placement_days",
        uploaded=upload("d.csv", csv_text(["personnummer", "month", "days"], rows)),
        actor=user,
    )
    batch = import_validate(batch=batch, actor=user)
    assert batch.status == BatchStatus.VALID
    # Meanwhile a row with the last person's key is stored with another value.
    other = csv_text(["personnummer", "month", "days"], [[numbers[-1], "2020-01", 9]])
    _run(world, "placement_days", "other.csv", other)
    before = _state()
    batch = import_commit(batch=batch, actor=user)
    assert batch.status == BatchStatus.FAILED
    assert [f["code"] for f in batch.findings] == ["stored-row-differs"]
    assert batch.findings[0]["row"] == 4
    assert _state() == before


def test_large_files_run_as_a_background_task_with_progress(world, settings):
    settings.UTFALL_IMPORT_BACKGROUND_ROWS = 10
    references = [f"R-{i:04d}" for i in range(50)]
    rows = [[r, "2020-01-01"] for r in references]
    user = world.users[Role.COMMISSIONER]
    batch = import_upload(
        contract=world.contract,
        table="participants",
        uploaded=upload("p.csv", csv_text(["reference", "included_on"], rows)),
        actor=user,
    )
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


# --- a contract nobody's code knows ------------------------------------------------------


@pytest.fixture
def unknown(world):
    from utfall.platform.contracts.services import contract_create, contract_party_set

    contract = contract_create(
        text=UNKNOWN_CONTRACT,
        organisation=world.organisations[Role.COMMISSIONER],
        actor=world.users[Role.COMMISSIONER],
        file_name="unknown.yaml",
    )
    contract_party_set(
        contract=contract,
        organisation=world.organisations[Role.PROVIDER],
        role=Role.PROVIDER,
        actor=world.users[Role.COMMISSIONER],
        accepted_by=world.users[Role.PROVIDER],
    )
    return contract


def test_any_declared_table_of_a_contract_nobody_knows(world, unknown):
    from django.core.exceptions import PermissionDenied

    provider = world.users[Role.PROVIDER]

    def run(table, name, content, actor=provider):
        batch = import_upload(
            contract=unknown, table=table, uploaded=upload(name, content), actor=actor
        )
        assert batch.status == BatchStatus.READY, batch.mapping
        batch = import_validate(batch=batch, actor=actor)
        assert batch.status == BatchStatus.VALID, batch.findings
        return import_commit(batch=batch, actor=actor)

    people = csv_text(
        ["Deltagarreferens", "Anslöt", "Stadsdel"],
        [["H-1", "2024-02-01", "Norr"], ["H-2", "2024-03-01", "south"]],
    )
    with pytest.raises(PermissionDenied, match="provider"):
        import_upload(
            contract=unknown,
            table="participants",
            uploaded=upload("h.csv", people),
            actor=world.users[Role.COMMISSIONER],
        )
    assert run("participants", "h.csv", people).rows_written == 2
    visits = csv_text(
        ["participant", "Visit day", "Minutes", "genomfort"],
        [["H-1", "2024-02-10", "45", "ja"], ["H-2", "2024-03-05", "30", "nej"]],
    )
    batch = run("visits", "v.csv", visits, actor=world.users[Role.COMMISSIONER])
    assert batch.rows_written == 2
    tables = StoredTables(unknown)
    assert tables.table("visits").column("kept").to_pylist() == [True, False]
    assert tables.table("participants").column("district").to_pylist() == ["north", "south"]
    # A personnummer is not how these households are identified.
    with pytest.raises(DataInvalid):
        import_set_mapping(
            batch=import_upload(
                contract=unknown,
                table="visits",
                uploaded=upload(
                    "x.csv",
                    f"personnummer,visited,minutes,kept\n{personnummer(1)},2024-01-01,1,ja\n",
                ),
                actor=provider,
            ),
            mapping={
                "personnummer": "personnummer",
                "visited": "visited",
                "minutes": "minutes",
                "kept": "kept",
            },
            actor=provider,
        )


def test_a_later_participants_file_fills_an_empty_end_date_and_refuses_a_change(world, unknown):
    provider = world.users[Role.PROVIDER]

    def run(name, rows):
        batch = import_upload(
            contract=unknown,
            table="participants",
            uploaded=upload(name, csv_text(["reference", "joined", "left", "district"], rows)),
            actor=provider,
        )
        batch = import_validate(batch=batch, actor=provider)
        if batch.status == BatchStatus.VALID:
            batch = import_commit(batch=batch, actor=provider)
        return batch

    first = run(
        "p.csv",
        [
            ["H-1", "2024-01-01", "", "north"],
            ["H-2", "2024-01-01", "", ""],
            ["H-3", "2024-01-01", "2024-06-30", "south"],
        ],
    )
    assert first.status == BatchStatus.COMMITTED
    later = run(
        "later.csv",
        [
            ["H-1", "2024-01-01", "2025-03-15", ""],
            ["H-2", "2024-01-01", "", "south"],
            ["H-3", "2024-01-01", "2024-06-30", "south"],
        ],
    )
    assert later.status == BatchStatus.COMMITTED, later.findings
    assert (later.rows_written, later.rows_unchanged) == (2, 1)
    rows = {r["participant"]: r for r in StoredTables(unknown).table("participants").to_pylist()}
    assert len(rows) == 3
    by_left = sorted((str(r["left"]), r["district"]) for r in rows.values())
    assert by_left == [("2024-06-30", "south"), ("2025-03-15", "north"), ("None", "south")]

    changed = run("changed.csv", [["H-3", "2024-01-01", "2024-07-31", ""]])
    assert changed.status == BatchStatus.INVALID
    finding = changed.findings[0]
    assert (finding["code"], finding["row"], finding["field"]) == (
        "participant-conflict",
        2,
        "left",
    )
    assert "Left 2024-06-30; the file says 2024-07-31" in finding["message"]
    assert f"import #{first.pk}" in finding["message"]
    early = run("early.csv", [["H-4", "2024-03-01", "2024-02-28", ""]])
    assert early.findings[0]["code"] == "end-before-inclusion"
    assert early.findings[0]["field"] == "left"
