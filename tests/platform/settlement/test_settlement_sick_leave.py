"""The sick-leave contracts settle on the platform from imported data (decision 0302).

Botkyrka's employees, sick days and the SLT index are imported from synthetic data through
the ordinary import services (as the demo does); the platform's statement must give the
figures ``utfall settle --data-dir`` gives on the generator's own files, to the öre, and its
signed bundle must pass ``utfall verify``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from platform_helpers import totp_code
from settlement_helpers import build_world, clean_database
from typer.testing import CliRunner

from utfall.errors import UserError

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = ROOT / "examples" / "contracts" / "sick-leave-botkyrka.yaml"
SIZE = 200
SEED = 17
PERIOD = {"period_start": dt.date(2019, 1, 1), "period_end": dt.date(2021, 12, 31)}
DAY_VALUE = {
    "value_per_sick_day_sek": ("2150.00", "agreed value of a sick day, contract appendix 3")
}


def _synth(out: Path) -> Path:
    from utfall.synth import generate

    generate("sick-leave", out, size=SIZE, seed=SEED)
    return out


def _world():
    from utfall.platform.contracts.models import Role
    from utfall.platform.demo import _import, _sick_leave_files

    world = build_world(contract=CONTRACT, with_data=False)
    commissioner = world.users[Role.COMMISSIONER]
    with tempfile.TemporaryDirectory(prefix="utfall-test-sick-leave-") as temporary:
        folder = Path(temporary)
        files = _sick_leave_files(folder, _synth(folder / "synth"))
        assert set(files) == {"participants", "sick_leave_days", "sick_leave_trend_index"}
        for kind, path in files.items():
            # The index is public reference data: the evaluator may import it too.
            actor = world.evaluator if kind == "sick_leave_trend_index" else commissioner
            _import(world.contract, kind, path, actor, lambda _text: None)
    return world


@pytest.fixture(scope="module")
def botkyrka(django_db_setup, django_db_blocker):
    """Botkyrka with its synthetic employees, sick days and SLT index, once per module."""
    with django_db_blocker.unblock():
        world = _world()
    yield world
    with django_db_blocker.unblock():
        clean_database()


def _start(world, **extra):
    from utfall.platform.settlements.services import settlement_start

    return settlement_start(
        contract=world.contract,
        actor=world.evaluator,
        **{**PERIOD, "manual_inputs": DAY_VALUE, **extra},
    )


def _cli_settlement(specs_dir: Path, tmp_path: Path) -> dict:
    """``utfall settle --data-dir`` on the generator's own files, laid out as the repository."""
    from utfall.services.contracts import contract_settle

    data_dir = _synth(tmp_path / "out" / "synth" / "sick-leave")
    (tmp_path / "examples" / "contracts").mkdir(parents=True)
    shutil.copytree(specs_dir, tmp_path / "examples" / "evaluations")
    contract = tmp_path / "examples" / "contracts" / CONTRACT.name
    shutil.copy(CONTRACT, contract)
    facts = tmp_path / "facts.yaml"
    facts.write_text('value_per_sick_day_sek: "2150.00"\n', encoding="utf-8")
    return contract_settle(contract_path=contract, facts_path=facts, data_dir=data_dir).to_json()


@pytest.mark.django_db
def test_the_platform_settles_botkyrka_as_the_cli_does(botkyrka, specs_dir, tmp_path):
    """Imported employees, sick days and SLT index, exported again, give to the öre what
    ``utfall settle --data-dir`` gives on the synthetic files: nothing lost on the way."""
    cli = _cli_settlement(specs_dir, tmp_path)
    platform = _start(botkyrka).result
    assert platform["inputs"] == cli["inputs"]
    assert platform["outputs"] == cli["outputs"]
    assert platform["payments"] == cli["payments"]
    assert len(platform["inputs"]["slt"]) == 36
    assert platform["inputs"]["employees"] == str(SIZE)
    assert platform["inputs"]["value_per_sick_day_sek"] == "2150.00"
    # A real settlement: the trend-adjusted saving is positive and the outcome part is paid.
    assert Decimal(platform["outputs"]["saving_sek"]) > 0
    outcome = next(p for p in platform["payments"] if p["id"] == "outcome")
    assert Decimal(outcome["amount_sek"]) > 0


@pytest.mark.django_db
def test_a_signed_sick_leave_bundle_verifies(botkyrka, tmp_path):
    from utfall.cli.main import app
    from utfall.platform.settlements.ledger import ledger_jsonl
    from utfall.platform.settlements.services import settlement_review_start, settlement_sign

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
    # The bundle names the data files as a CLI bundle does, and the agreed day value's reason.
    assert "employee_months.parquet" in final.bundle and "slt_index.parquet" in final.bundle
    assert "contract appendix 3" in final.bundle


@pytest.mark.django_db
def test_the_exported_tables_follow_the_generator_layout(botkyrka, tmp_path):
    """Months without a record count 0 days; each month counts every included employee; the
    same records give the same bytes."""
    from utfall.platform.settlements.data import data_tables_export
    from utfall.services.contracts import contract_load

    document = contract_load(CONTRACT)
    names = ["employee_months.parquet", "slt_index.parquet"]
    first = data_tables_export(
        contract=botkyrka.contract,
        names=names,
        out_dir=tmp_path / "a",
        until=PERIOD["period_end"],
        document=document,
    )
    again = data_tables_export(
        contract=botkyrka.contract,
        names=names,
        out_dir=tmp_path / "b",
        until=PERIOD["period_end"],
        document=document,
    )
    for name in names:
        assert first[name].read_bytes() == again[name].read_bytes()
    synth = _synth(tmp_path / "synth")
    exported = pq.read_table(first["employee_months.parquet"]).to_pandas()
    generated = pq.read_table(synth / "employee_months.parquet").to_pandas()
    assert len(exported) == len(generated) == 72 * SIZE  # zero months included
    assert exported["employee"].nunique() == SIZE
    assert not exported["employee"].str.startswith("E-").any()  # pseudonyms, not references
    key = ["period", "month_index"]
    days = exported.groupby(key)["sick_days"].sum()
    expected = generated.assign(period=generated["period"].astype(str)).groupby(key)["sick_days"]
    assert days.to_dict() == expected.sum().astype(float).to_dict()
    assert exported.groupby(key).size().eq(SIZE).all()
    index = pq.read_table(first["slt_index.parquet"]).to_pandas()
    reference = pq.read_table(synth / "slt_index.parquet").to_pandas()
    assert index["period"].tolist() == reference["period"].tolist()
    assert index["month_index"].tolist() == reference["month_index"].tolist()
    assert index["slt"].tolist() == reference["slt"].tolist()
    assert [m.isoformat() for m in index["month"]] == [str(m) for m in reference["month"]]


def _one_more_employee(world, tmp_path, participant: list[str], sick_days: list[list[str]]):
    """Import one employee (``[reference, included_on, left_on]``) and their sick days;
    return the exported employee months and that employee's rows."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.demo import _import, _write_csv
    from utfall.platform.participants.models import Participant
    from utfall.platform.settlements.data import data_tables_export
    from utfall.services.contracts import contract_load

    commissioner = world.users[Role.COMMISSIONER]
    folder = tmp_path / "files"
    folder.mkdir()
    for kind, header, rows in (
        ("participants", ["reference", "included_on", "left_on"], [participant]),
        ("sick_leave_days", ["reference", "month", "days"], sick_days),
    ):
        path = _write_csv(folder, f"{kind}.csv", header, rows)
        _import(world.contract, kind, path, commissioner, lambda _text: None)
    included_on = dt.date.fromisoformat(participant[1])
    pseudonym = Participant.objects.get(contract=world.contract, included_on=included_on).pseudonym
    written = data_tables_export(
        contract=world.contract,
        names=["employee_months.parquet"],
        out_dir=tmp_path / "data",
        until=PERIOD["period_end"],
        document=contract_load(CONTRACT),
    )
    table = pq.read_table(written["employee_months.parquet"]).to_pandas()
    return table, table[table["employee"] == pseudonym]


@pytest.mark.django_db
def test_an_employee_counts_from_the_month_of_inclusion(botkyrka, tmp_path):
    table, rows = _one_more_employee(
        botkyrka,
        tmp_path,
        ["E-90001", "2020-03-10", ""],
        [["E-90001", "2019-05", "3"], ["E-90001", "2020-04", "2.5"]],
    )
    # Included in March 2020 = month 15 of the contract period: counted from then only, so
    # the May 2019 record (before inclusion) is not used.
    assert set(rows["period"]) == {"contract"}
    assert rows["month_index"].tolist() == list(range(15, 37))
    assert rows.set_index("month_index")["sick_days"].to_dict() == {
        i: (2.5 if i == 16 else 0.0) for i in range(15, 37)
    }
    counts = table.groupby(["period", "month_index"]).size()
    assert counts[("reference", 1)] == SIZE and counts[("contract", 14)] == SIZE
    assert counts[("contract", 15)] == SIZE + 1


@pytest.mark.django_db
def test_an_employee_who_left_counts_up_to_the_month_of_leaving(botkyrka, tmp_path):
    # Included in January 2019, month 1 of the contract period; left in June 2020.
    table, rows = _one_more_employee(
        botkyrka,
        tmp_path,
        ["E-90002", "2019-01-02", "2020-06-15"],
        [["E-90002", "2020-06", "4"], ["E-90002", "2020-09", "9"]],
    )
    # Contract months 1 (January 2019) to 18 (June 2020, the month of leaving); the
    # September 2020 record, after leaving, is not used.
    assert set(rows["period"]) == {"contract"}
    assert rows["month_index"].tolist() == list(range(1, 19))
    assert rows["sick_days"].sum() == 4
    counts = table.groupby(["period", "month_index"]).size()
    assert counts[("contract", 18)] == SIZE + 1 and counts[("contract", 19)] == SIZE


@pytest.mark.django_db
def test_a_contract_without_periods_is_refused_with_what_to_add(botkyrka, tmp_path):
    from utfall.core.contracts import parse_contract
    from utfall.platform.settlements.data import data_tables_export

    text = CONTRACT.read_text(encoding="utf-8")
    start = text.index("periods:\n")
    end = text.index("parameters:\n")
    document = parse_contract(text[:start] + text[end:], source="no-periods.yaml")
    with pytest.raises(UserError, match=r"periods 'reference' and 'contract'.*add them"):
        data_tables_export(
            contract=botkyrka.contract,
            names=["employee_months.parquet"],
            out_dir=tmp_path,
            until=PERIOD["period_end"],
            document=document,
        )


@pytest.mark.django_db
def test_a_trend_index_with_a_missing_month_is_refused_naming_the_month(botkyrka, tmp_path):
    from utfall.platform.imports.models import DataRecord
    from utfall.platform.settlements.data import data_tables_export
    from utfall.services.contracts import contract_load

    DataRecord.objects.filter(
        contract=botkyrka.contract, kind="sick_leave_trend_index", date=dt.date(2017, 6, 1)
    ).delete()
    with pytest.raises(UserError, match=r"lacks 1 month\(s\).*2017-06.*import the sick-leave"):
        data_tables_export(
            contract=botkyrka.contract,
            names=["slt_index.parquet"],
            out_dir=tmp_path,
            until=PERIOD["period_end"],
            document=contract_load(CONTRACT),
        )


@pytest.mark.django_db
def test_without_an_imported_trend_index_the_statement_names_what_to_import(botkyrka):
    from utfall.platform.imports.models import DataRecord

    DataRecord.objects.filter(contract=botkyrka.contract, kind="sick_leave_trend_index").delete()
    with pytest.raises(UserError) as raised:
        _start(botkyrka)
    message = str(raised.value)
    assert "slt_index.parquet" in message
    assert "import a sick-leave trend index (SLT) per calendar month" in message
    assert "sick_leave_trend_index" in message


@pytest.mark.django_db
def test_a_period_ending_before_the_reference_period_is_refused(botkyrka, tmp_path):
    from utfall.platform.settlements.data import data_tables_export
    from utfall.services.contracts import contract_load

    with pytest.raises(UserError, match="before the contract's reference period starts"):
        data_tables_export(
            contract=botkyrka.contract,
            names=["employee_months.parquet"],
            out_dir=tmp_path,
            until=dt.date(2015, 12, 31),
            document=contract_load(CONTRACT),
        )


@pytest.mark.django_db
def test_months_without_included_employees_are_refused_naming_them(botkyrka, tmp_path):
    """Employees imported as included at the contract's start leave the reference period
    without a head count: refused with what to do, not a bare estimator error."""
    from utfall.platform.participants.models import Participant
    from utfall.platform.settlements.data import data_tables_export
    from utfall.services.contracts import contract_load

    Participant.objects.filter(contract=botkyrka.contract).update(included_on=dt.date(2019, 1, 1))
    with pytest.raises(UserError, match=r"no employee is included in 36 month\(s\).*2016-01"):
        data_tables_export(
            contract=botkyrka.contract,
            names=["employee_months.parquet"],
            out_dir=tmp_path,
            until=PERIOD["period_end"],
            document=contract_load(CONTRACT),
        )
