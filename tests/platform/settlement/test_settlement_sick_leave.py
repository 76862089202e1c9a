"""The sick-leave contracts settle on the platform from their stored rows.

Botkyrka's employees, sick days and trend index are ``utfall synth sick-leave`` output
imported table by table through the ordinary import services (as the demo does); the
platform's statement must give the figures ``utfall settle --data-dir`` gives on the
generator's own files, to the öre, and its signed bundle must pass ``utfall verify``.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from platform_helpers import csv_text, totp_code, upload
from settlement_helpers import build_world, clean_database, synthesise
from typer.testing import CliRunner

from utfall.cli.main import app
from utfall.errors import UserError

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = ROOT / "examples" / "contracts" / "sick-leave-botkyrka.yaml"
SIZE = 200
SEED = 17
PERIOD = {"period_start": dt.date(2019, 1, 1), "period_end": dt.date(2021, 12, 31)}


@pytest.fixture(scope="module")
def botkyrka(django_db_setup, django_db_blocker):
    """Botkyrka with its synthetic employees, sick days and trend index, once per module."""
    with django_db_blocker.unblock():
        world = build_world(contract=CONTRACT, scenario="sick-leave", size=SIZE, seed=SEED)
    yield world
    with django_db_blocker.unblock():
        clean_database()


def _start(world, **extra):
    from utfall.platform.settlements.services import settlement_start

    return settlement_start(contract=world.contract, actor=world.evaluator, **{**PERIOD, **extra})


@pytest.mark.django_db
def test_the_platform_settles_botkyrka_as_the_cli_does(botkyrka, tmp_path):
    data = synthesise("sick-leave", tmp_path / "synth", size=SIZE, seed=SEED)
    contract = tmp_path / CONTRACT.name
    contract.write_text(botkyrka.text, encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["settle", str(contract), "--data-dir", str(data), "--as-of", "2021-12-31", "--json"],
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    platform = _start(botkyrka).result
    assert platform["inputs"] == cli["inputs"]
    assert platform["outputs"] == cli["outputs"]
    assert platform["payments"] == cli["payments"]
    assert len(platform["inputs"]["slt"]) == 36
    assert platform["inputs"]["employees"] == str(SIZE)
    # A real settlement: the trend-adjusted saving is positive and the outcome part is paid.
    assert Decimal(platform["outputs"]["saving_sek"]) > 0
    outcome = next(p for p in platform["payments"] if p["id"] == "outcome")
    assert Decimal(outcome["amount_sek"]) > 0


@pytest.mark.django_db
def test_a_signed_sick_leave_bundle_verifies(botkyrka, tmp_path):
    from utfall.platform.settlements.ledger import ledger_jsonl
    from utfall.platform.settlements.services import settlement_review_start, settlement_sign
    from utfall.platform.tables import StoredTables

    draft = _start(botkyrka)
    settlement_review_start(settlement=draft, actor=botkyrka.evaluator)
    final = settlement_sign(
        settlement=draft, actor=botkyrka.evaluator, totp_code=totp_code(botkyrka.evaluator)
    )
    assert final.status == "signed"
    bundle = tmp_path / "bundle.json"
    bundle.write_text(final.bundle, encoding="utf-8")
    (tmp_path / "ledger.jsonl").write_bytes(ledger_jsonl())
    runner = CliRunner()
    result = runner.invoke(app, ["verify", str(bundle)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["verify", str(bundle), "--ledger", str(tmp_path / "ledger.jsonl")])
    assert result.exit_code == 0, result.output
    # The bundle records the digest of every table the evaluation read: the stored rows.
    tables = StoredTables(botkyrka.contract)
    for name in ("participants", "sick_leave_days", "trend_index"):
        assert tables.digest(name) in final.bundle or name in final.bundle


@pytest.mark.django_db
def test_without_a_stored_trend_index_the_statement_names_the_table(botkyrka):
    from utfall.platform.imports.models import TableSegment

    TableSegment.objects.filter(contract=botkyrka.contract, table="trend_index").delete()
    with pytest.raises(UserError) as raised:
        _start(botkyrka)
    message = str(raised.value)
    assert "no imported data for the table trend_index" in message
    assert "Sick-leave trend index" in message


@pytest.mark.django_db
def test_a_trend_index_with_a_missing_month_is_refused_as_the_cli_refuses_it(botkyrka, tmp_path):
    """The platform refuses exactly as ``utfall settle --data-dir`` on the same rows."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.imports.models import TableSegment
    from utfall.platform.imports.services import import_commit, import_upload, import_validate
    from utfall.platform.tables import StoredTables

    rows = StoredTables(botkyrka.contract).table("trend_index").to_pylist()
    kept = [r for r in rows if r["month"] != dt.date(2017, 6, 1)]
    assert len(kept) == len(rows) - 1
    TableSegment.objects.filter(contract=botkyrka.contract, table="trend_index").delete()
    user = botkyrka.users[Role.COMMISSIONER]
    content = csv_text(["month", "slt"], [[r["month"].isoformat(), r["slt"]] for r in kept])
    batch = import_upload(
        contract=botkyrka.contract,
        table="trend_index",
        uploaded=upload("slt.csv", content),
        actor=user,
    )
    import_commit(batch=import_validate(batch=batch, actor=user), actor=user)
    with pytest.raises(UserError) as raised:
        _start(botkyrka)
    data = synthesise("sick-leave", tmp_path / "synth", size=SIZE, seed=SEED)
    (data / "trend_index.csv").write_text(content, encoding="utf-8")
    contract = tmp_path / CONTRACT.name
    contract.write_text(botkyrka.text, encoding="utf-8")
    from utfall.adapters.files import DirectoryTables
    from utfall.core.contracts import parse_contract
    from utfall.services.contracts import contract_settle

    document = parse_contract(botkyrka.text, source=str(contract))
    with pytest.raises(UserError) as cli:
        contract_settle(
            document, tables=DirectoryTables(data, document.data), until=PERIOD["period_end"]
        )
    # The same refusal: the evaluation's message, the place aside (a file, the stored rows).
    assert type(raised.value) is type(cli.value)
    assert str(raised.value).split(": ", 1)[1] == str(cli.value).split(": ", 1)[1]
    shown = " ".join([str(raised.value), *raised.value.detail])
    assert "month 18" in shown, shown  # 2017-06: month 18 of the reference period


@pytest.mark.django_db
def test_an_employee_who_left_counts_until_the_month_of_leaving(botkyrka):
    """A later participants file adds the end date of an employee already stored; the
    head count the contract settles on falls from the month after."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.imports.services import import_commit, import_upload, import_validate
    from utfall.platform.tables import StoredTables

    before = _start(botkyrka).result["inputs"]["employees"]
    user = botkyrka.users[Role.COMMISSIONER]
    content = csv_text(
        ["participant", "included_on", "left_on"],
        [[f"E-{i:05d}", "2016-01-01", "2019-06-30"] for i in range(1, 51)],
    )
    batch = import_upload(
        contract=botkyrka.contract,
        table="participants",
        uploaded=upload("leavers.csv", content),
        actor=user,
    )
    batch = import_commit(batch=import_validate(batch=batch, actor=user), actor=user)
    assert batch.status == "committed", batch.findings
    assert (batch.rows_written, batch.rows_unchanged) == (50, 0)
    table = StoredTables(botkyrka.contract).table("participants")
    assert table.num_rows == SIZE
    assert sum(1 for v in table.column("left_on").to_pylist() if v is not None) == 50
    after = _start(botkyrka).result["inputs"]["employees"]
    assert int(after) < int(before)
