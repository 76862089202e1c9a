"""Stored tables: segments merged under the newest declaration, the version rule at upload,
the data state for caches, and 100,000 participants and 300,000 events read once per data state."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from platform_helpers import UNKNOWN_CONTRACT, csv_text, personnummer, upload

from utfall.errors import ContractInvalid
from utfall.platform.contracts.models import Role
from utfall.platform.contracts.services import contract_version_upload
from utfall.platform.imports.models import BatchStatus, ImportBatch, TableSegment
from utfall.platform.imports.services import import_commit, import_upload, import_validate
from utfall.platform.tables import StoredTables, segment_encode
from utfall.services.tables import TableMissing, canonical_schema, table_digest

pytestmark = pytest.mark.django_db


def _import(world, table, content, name="f.csv"):
    user = world.users[Role.COMMISSIONER]
    batch = import_upload(
        contract=world.contract, table=table, uploaded=upload(name, content), actor=user
    )
    batch = import_validate(batch=batch, actor=user)
    assert batch.status == BatchStatus.VALID, batch.findings
    return import_commit(batch=batch, actor=user)


def _people(world, rows, name="p.csv"):
    header = ["personnummer", "included_on", "age_band", "earlier_placements"]
    return _import(world, "participants", csv_text(header, rows), name)


def _upload_version(world, text, name="v2.yaml"):
    return contract_version_upload(
        contract=world.contract, text=text, actor=world.users[Role.COMMISSIONER], file_name=name
    )


def test_no_rows_is_a_clear_table_missing(world):
    tables = StoredTables(world.contract)
    with pytest.raises(TableMissing, match="no imported data for the table cost_records"):
        tables.table("cost_records")
    with pytest.raises(TableMissing, match="declares no table 'nothing'"):
        tables.table("nothing")
    assert list(tables.names()) == []


def test_the_state_key_changes_exactly_with_the_rows_and_the_version(world, norrkoping_text):
    before = StoredTables(world.contract).state_key()
    assert StoredTables(world.contract).state_key() == before
    _people(world, [[personnummer(1), "2020-01-01", "6-12", "0"]])
    after_import = StoredTables(world.contract).state_key()
    assert after_import != before
    tables = StoredTables(world.contract)
    assert tables.digest("participants") == table_digest(tables.table("participants"))
    # The merged table is cached: a new provider on the same state hands out the same object.
    assert StoredTables(world.contract).table("participants").equals(tables.table("participants"))
    _upload_version(world, norrkoping_text + "\n# a comment\n")
    assert StoredTables(world.contract).state_key() not in (before, after_import)


def test_a_version_that_would_leave_stored_rows_unreadable_is_refused(world, norrkoping_text):
    _people(world, [[personnummer(1), "2020-01-01", "6-12", "2"]])
    removed = norrkoping_text.replace(
        "subgroups: [age_band, earlier_placements]", "subgroups: [age_band]"
    )
    start = removed.index("      earlier_placements:\n")
    end = removed.index("  tables:\n")
    removed = removed[:start] + removed[end:]
    with pytest.raises(ContractInvalid) as caught:
        _upload_version(world, removed)
    finding = next(f for f in caught.value.findings if f.code == "column-removed")
    assert finding.file == "v2.yaml" and finding.line is not None
    assert "participants.earlier_placements holds stored rows" in finding.message
    declared = "        type: integer\n        required: false\n        min: 0\n        label: {sv: Tidigare"
    assert declared in norrkoping_text
    retyped = norrkoping_text.replace(
        declared, "        type: text\n        required: false\n        label: {sv: Tidigare"
    )
    with pytest.raises(ContractInvalid) as caught:
        _upload_version(world, retyped)
    assert [f.code for f in caught.value.findings] == ["column-retyped"]
    assert caught.value.findings[0].path == "data.participants.columns.earlier_placements.type"
    assert world.contract.versions.count() == 1


def test_a_wrong_declaration_is_refused_with_file_line_and_field(world, norrkoping_text):
    wrong = norrkoping_text.replace(
        "        type: integer\n        required: false\n        min: 0",
        "        type: count\n        required: false\n        min: 0",
    )
    with pytest.raises(ContractInvalid) as caught:
        _upload_version(world, wrong)
    finding = caught.value.findings[0]
    assert finding.file == "v2.yaml" and finding.line is not None
    assert "earlier_placements" in (finding.path or "")


def test_stored_rows_are_read_under_the_newest_declaration(world, norrkoping_text):
    _people(
        world,
        [[personnummer(1), "2020-01-01", "6-12", "2"], [personnummer(2), "2020-02-01", "", ""]],
    )
    v2 = (
        norrkoping_text.replace(
            "subgroups: [age_band, earlier_placements]", "subgroups: [age_group]"
        )
        .replace("      age_band:\n", "      age_group:\n        renamed_from: age_band\n")
        .replace(
            "      earlier_placements:\n        type: integer",
            "      earlier_placements:\n        type: decimal\n        places: 1",
        )
        .replace(
            "  tables:\n",
            "      note:\n        type: text\n        required: false\n"
            "        default: none\n        label: {sv: Anteckning, en: Note}\n"
            "      school_form:\n        type: text\n        required: false\n"
            "        label: {sv: Skolform, en: School form}\n  tables:\n",
            1,
        )
    )
    _upload_version(world, v2)
    table = StoredTables(world.contract).table("participants")
    assert table.schema == canonical_schema(StoredTables(world.contract).declaration.participants)
    rows = table.to_pylist()
    assert [r["age_group"] for r in rows] == ["6-12", None]
    assert [r["earlier_placements"] for r in rows] == [Decimal("2.0"), None]
    assert [r["note"] for r in rows] == ["none", "none"]
    assert [r["school_form"] for r in rows] == [None, None]
    # A third version renames again: rows of version 1 follow both renames.
    v3 = v2.replace("subgroups: [age_group]", "subgroups: [age]").replace(
        "      age_group:\n        renamed_from: age_band\n",
        "      age:\n        renamed_from: age_group\n",
    )
    _upload_version(world, v3, "v3.yaml")
    # Rows imported under version 3 and version 1 sit side by side.
    _import(
        world,
        "participants",
        csv_text(
            ["personnummer", "included_on", "age"], [[personnummer(3), "2020-03-01", "16-17"]]
        ),
        "p3.csv",
    )
    rows = StoredTables(world.contract).table("participants").to_pylist()
    assert [r["age"] for r in rows] == ["6-12", None, "16-17"]
    assert [r["note"] for r in rows] == ["none", "none", "none"]


def test_rows_dated_after_a_day_are_left_out_as_of_that_day(world):
    from utfall.services.tables import as_of

    _people(
        world, [[personnummer(1), "2020-01-01", "", ""], [personnummer(2), "2021-01-01", "", ""]]
    )
    tables = StoredTables(world.contract)
    known = as_of(tables, tables.declaration, dt.date(2020, 6, 30), ["participants"])
    assert known.table("participants").num_rows == 1


def _bulk(contract, version, table, data: pa.Table, user, part: int = 0) -> None:
    """Store a segment directly (the import's own speed is measured elsewhere)."""
    batch = ImportBatch.objects.create(
        contract=contract,
        table=table,
        file_name=f"{table}.csv",
        file_path="-",
        file_sha256=f"{table}{part}".ljust(64, "0")[:64],
        file_size=0,
        row_count=data.num_rows,
        status=BatchStatus.COMMITTED,
        created_by=user,
    )
    TableSegment.objects.create(
        contract=contract,
        batch=batch,
        table=table,
        version=version,
        row_count=data.num_rows,
        new_rows=data.num_rows,
        sha256="0" * 64,
        data=segment_encode(data),
    )


def test_100000_participants_and_300000_events_are_read_once_per_data_state(world):
    # How fast is a benchmark's question (benchmarks/platform_stored.py: the settlement
    # from stored rows, cold and warm); here: the rows are right, and a second reader of
    # the same data state takes them from the cache without fetching a segment again.
    from utfall.platform.contracts.services import contract_create

    contract = contract_create(
        text=UNKNOWN_CONTRACT,
        organisation=world.organisations[Role.COMMISSIONER],
        actor=world.users[Role.COMMISSIONER],
        file_name="unknown.yaml",
    )
    version = contract.versions.get()
    declaration = StoredTables(contract).declaration
    people = 100_000
    references = [f"{i:064x}" for i in range(people)]
    start = dt.date(2024, 1, 1)
    participants = pa.Table.from_arrays(
        [
            pa.array(references, pa.string()),
            pa.array([start + dt.timedelta(days=i % 700) for i in range(people)], pa.date32()),
            pa.nulls(people, pa.date32()),
            pa.array(["north" if i % 2 else "south" for i in range(people)], pa.string()),
        ],
        schema=canonical_schema(declaration.participants),
    )
    events = 300_000
    visits = pa.Table.from_arrays(
        [
            pa.array([references[i % people] for i in range(events)], pa.string()),
            pa.array(
                [start + dt.timedelta(days=i // people * 30 + i % 28) for i in range(events)],
                pa.date32(),
            ),
            pa.array([i % 90 for i in range(events)], pa.int64()),
            pa.array([i % 3 != 0 for i in range(events)], pa.bool_()),
        ],
        schema=canonical_schema(declaration.table("visits")),
    )
    user = world.users[Role.COMMISSIONER]
    _bulk(contract, version, "participants", participants, user)
    # Three imports of events, as a provider would send them month by month.
    for part in range(3):
        _bulk(contract, version, "visits", visits.slice(part * 100_000, 100_000), user, part)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from utfall.platform.tables import _CACHE

    _CACHE.clear()
    tables = StoredTables(contract)
    with CaptureQueriesContext(connection) as first:
        assert tables.table("participants").num_rows == people
        assert tables.table("visits").num_rows == events
    assert len(_segment_reads(first)) == 2  # one query per table, every segment in it
    visits_read = tables.table("visits")
    assert visits_read.column("participant").null_count == 0
    assert sorted(visits_read.column("minutes").to_pylist()[:3]) == [0, 1, 2]

    again = StoredTables(contract)
    with CaptureQueriesContext(connection) as repeated:
        key = again.state_key()
        assert again.table("visits").num_rows == events
        assert again.table("participants").num_rows == people
    assert _segment_reads(repeated) == []
    assert again.with_batches("visits") is tables.with_batches("visits")

    # A fourth import is a new data state: the next reader reads the segments again.
    _bulk(contract, version, "visits", visits.slice(0, 10), user, 3)
    fresh = StoredTables(contract)
    with CaptureQueriesContext(connection) as after:
        assert fresh.state_key() != key
        assert fresh.table("visits").num_rows == events + 10
    assert len(_segment_reads(after)) == 1


def _segment_reads(captured) -> list[str]:
    """The queries that fetched stored segments' rows (their ``data`` column)."""
    table = TableSegment._meta.db_table
    return [q["sql"] for q in captured.captured_queries if f'"{table}"."data"' in q["sql"]]
