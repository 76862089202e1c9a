"""Settlement bundles: keys, making and verifying bundles, ledger files, tables by digest."""

from __future__ import annotations

import datetime as dt
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from utfall.adapters.bundles import (
    bundle_extract,
    bundle_file_verify,
    bundle_write,
    keys_generate,
    ledger_file_read,
    private_key_load,
    public_key_load,
)
from utfall.adapters.files import DirectoryTables, contract_read, facts_read
from utfall.core.contracts import parse_contract
from utfall.core.ledger import KIND_IMPORT, verify_chain
from utfall.errors import BundleUnreadable, UserError
from utfall.services.bundles import (
    BUNDLE_FORMAT,
    LedgerCopy,
    bundle_create,
    bundle_render,
    bundle_verify,
    settlement_document,
)
from utfall.services.contracts import Facts, contract_settle, facts_parse
from utfall.services.tables import ArrowTables, table_digest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "examples/contracts/norrkoping-placed-children.yaml"
FACTS = ROOT / "examples/facts/norrkoping-placed-children.yaml"
NOW = datetime(2022, 1, 10, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return keys_generate(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def key(keys):
    return private_key_load(keys.private_path)


def _facts_bundle(key, **changes):
    arguments = {
        "contract": contract_read(CONTRACT),
        "contract_file": CONTRACT.name,
        "facts": facts_read(FACTS),
        "tables": None,
        "until": None,
        "overrides": {},
        "private_key": key,
        "now": NOW,
    }
    return bundle_create(**{**arguments, **changes})


@pytest.fixture(scope="module")
def norrkoping(key):
    return _facts_bundle(key)


def test_keygen_writes_a_private_key_only_its_owner_can_read(tmp_path):
    pair = keys_generate(tmp_path / "k")
    assert stat.S_IMODE(pair.private_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(pair.public_path.stat().st_mode) == 0o644
    assert len(public_key_load(pair.public_path)) == 32
    with pytest.raises(UserError, match="already there"):
        keys_generate(tmp_path / "k")
    again = keys_generate(tmp_path / "k", force=True)
    assert again.fingerprint != pair.fingerprint


def test_a_private_key_readable_by_others_is_refused(tmp_path):
    pair = keys_generate(tmp_path)
    pair.private_path.chmod(0o644)
    with pytest.raises(UserError, match="can be read by others"):
        private_key_load(pair.private_path)
    with pytest.raises(UserError, match="not an unencrypted PEM private key"):
        pair.public_path.chmod(0o600)
        private_key_load(pair.public_path)


def test_the_norrkoping_example_settles_into_a_bundle_that_verifies(norrkoping, keys):
    data = json.loads(norrkoping.data)
    assert data["format"] == BUNDLE_FORMAT == "utfall-settlement-bundle/2"
    assert data["settlement"]["payments"][1]["amount_sek"] == "850000.00"
    assert data["evaluations"] == [] and data["tables"] == {}
    assert data["facts"]["file"] == "norrkoping-placed-children.yaml"  # no folder of this machine
    assert [e["kind"] for e in data["ledger"]] == ["contract_version", "import", "settlement"]
    assert data["statement"]["evaluator"] == "evaluator"  # the contract's evaluator party
    assert data["statement"]["signed_at"] == "2022-01-10T09:30:00.000000Z"
    assert norrkoping.settlement.payments[1].amount == norrkoping.statement.payments[1].amount
    report = bundle_verify(norrkoping.data)
    assert report.ok, report.differences
    assert report.key_source == "embedded"
    assert any("not who signed it" in note for note in report.notes)
    assert [c.name for c in report.checks] == [
        "layout",
        "signature",
        "statement",
        "parts",
        "ledger",
        "contract",
        "evaluations",
        "tables",
        "recomputation",
    ]
    given = bundle_verify(norrkoping.data, public_key=public_key_load(keys.public_path))
    assert given.ok and given.key_source == "given"
    assert not any("not who signed it" in note for note in given.notes)


def test_the_settlement_part_is_the_settlement_document(norrkoping):
    """The platform compares its statement's document with the signed part by SHA-256."""
    data = json.loads(norrkoping.data)
    assert data["settlement"] == settlement_document(norrkoping.settlement)


def test_bundles_are_deterministic(norrkoping, key):
    again = _facts_bundle(key)
    # Ed25519 signatures are deterministic, so the same settlement gives the same bytes.
    assert again.data == norrkoping.data
    assert bundle_render(json.loads(again.data)) == again.data


def test_another_key_is_refused(norrkoping, tmp_path):
    other = keys_generate(tmp_path)
    report = bundle_verify(norrkoping.data, public_key=public_key_load(other.public_path))
    assert not report.ok
    assert any(
        "the bundle was signed with key" in d and other.fingerprint in d for d in report.differences
    )


def test_what_if_overrides_are_recorded_and_recomputed(key):
    written = _facts_bundle(key, overrides={"reading": "A", "premium_cap_sek": "500000"})
    data = json.loads(written.data)
    assert data["overrides"] == {"reading": "A", "premium_cap_sek": "500000"}
    assert data["settlement"]["outputs"]["premium_sek"] == "500000.00"
    assert bundle_verify(written.data).ok


def test_facts_without_their_text_are_recorded_as_json(key):
    facts = facts_read(FACTS)
    written = _facts_bundle(key, facts=Facts(values=dict(facts.values)))
    data = json.loads(written.data)
    assert data["facts"]["file"] == "facts.json"
    assert json.loads(data["facts"]["text"])["net_savings_sek"] == "10850000.00"
    assert bundle_verify(written.data).ok


def test_facts_whose_text_says_something_else_are_refused(key):
    facts = facts_read(FACTS)
    with pytest.raises(UserError, match="a bundle records the text it settles on"):
        _facts_bundle(key, facts=Facts(values={"invested_sek": 1}, text=facts.text))


def test_a_contract_without_one_evaluator_needs_a_signer(key):
    text = CONTRACT.read_text(encoding="utf-8").replace("role: evaluator", "role: intermediary")
    with pytest.raises(UserError, match="no single party with role 'evaluator'"):
        _facts_bundle(key, contract=parse_contract(text, source="x.yaml"))
    signed = _facts_bundle(key, contract=parse_contract(text, source="x.yaml"), evaluator="skl")
    assert signed.statement.evaluator == "skl"


def test_a_ledger_file_grows_and_each_bundle_is_checked_against_it(key, tmp_path):
    ledger = tmp_path / "ledger.jsonl"

    def write(out, when, **changes):
        arguments = {
            "contract": contract_read(CONTRACT),
            "contract_file": CONTRACT.name,
            "facts": facts_read(FACTS),
            "tables": None,
            "until": None,
            "overrides": {},
            "out_path": tmp_path / out,
            "private_key": key,
            "now": when,
            "ledger_path": ledger,
        }
        return bundle_write(**{**arguments, **changes})

    first = write("1.json", NOW)
    second = write("2.json", NOW + timedelta(days=1), overrides={"reading": "A"}, actor="lena")
    assert first.path.read_bytes() == first.written.data
    entries = ledger_file_read(ledger)
    assert len(entries) == 6 and verify_chain(entries) == []
    assert second.entries[0].previous_hash == first.entries[-1].hash
    assert second.entries[0].actor == "lena"
    report = bundle_file_verify(second.path, ledger_path=ledger)
    assert report.ok, report.differences
    assert any("continues a ledger after entry 2" in n for n in report.notes)
    assert bundle_file_verify(first.path, ledger_path=ledger).ok
    # The platform hands its ledger over as entries; the check is the same.
    copy = LedgerCopy("the platform's ledger", tuple(entries))
    assert bundle_verify(second.written.data, ledger=copy).ok
    # ... and may hand over only its latest entries to continue.
    tail = _facts_bundle(key, ledger=entries[-2:], now=NOW + timedelta(days=2))
    assert tail.entries[0].sequence == 6 and tail.entries[0].previous_hash == entries[-1].hash
    assert bundle_verify(tail.data, ledger=LedgerCopy("x", (*entries, *tail.entries))).ok

    # Someone rewrites an old ledger line: both the file and the check against it notice.
    lines = ledger.read_text(encoding="utf-8").splitlines()
    tampered = json.loads(lines[1])
    tampered["actor"] = "mallory"
    lines[1] = json.dumps(tampered, sort_keys=True)
    ledger.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = bundle_file_verify(first.path, ledger_path=ledger)
    assert not report.ok
    assert any(
        "whole ledger: ledger entry 1: its content does not match" in d for d in report.differences
    )
    with pytest.raises(UserError, match="refusing to add"):
        write("3.json", NOW + timedelta(days=2))
    assert not (tmp_path / "3.json").exists()
    with pytest.raises(UserError, match="refusing to add"):
        _facts_bundle(key, ledger=ledger_file_read(ledger))

    # A ledger line that is no entry at all: a difference of the whole-ledger check.
    ledger.write_text("not json\n", encoding="utf-8")
    report = bundle_file_verify(first.path, ledger_path=ledger)
    assert any(
        d.startswith(f"whole ledger: {ledger}:1: not a ledger entry") for d in report.differences
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe not utf-8", "byte 0 is not UTF-8"),
        (b"{not json", "not JSON at line 1"),
        (b"[1, 2]", "not an object"),
        (b'{"format": "utfall-settlement-bundle/2"}', "missing contract"),
        (b'{"format": "something/9", "x": 1}', "missing contract"),
    ],
)
def test_unreadable_bundles(content, message):
    with pytest.raises(BundleUnreadable, match=message):
        bundle_verify(content, source="bad.json")


def test_an_older_format_is_refused_with_a_clear_message(norrkoping):
    data = json.loads(norrkoping.data)
    data["format"] = "utfall-settlement-bundle/1"
    with pytest.raises(
        BundleUnreadable, match="format utfall-settlement-bundle/1 is an older"
    ) as e:
        bundle_verify(bundle_render(data), source="old.json")
    assert "utfall-settlement-bundle/2" in str(e.value) and str(e.value).startswith("old.json: ")


def test_wrong_shapes_are_unreadable(norrkoping, tmp_path):
    data = json.loads(norrkoping.data)
    data["evaluations"] = {"oops": 1}
    with pytest.raises(BundleUnreadable, match="evaluations must be a list"):
        bundle_verify(bundle_render(data))
    data = json.loads(norrkoping.data)
    data["tables"] = {"../etc": "x"}
    with pytest.raises(BundleUnreadable, match="named as a declared table"):
        bundle_verify(bundle_render(data))
    with pytest.raises(BundleUnreadable, match="no such bundle"):
        bundle_file_verify(tmp_path / "missing.json")


def test_extract_writes_the_parts(norrkoping, tmp_path):
    path = tmp_path / "b.json"
    path.write_bytes(norrkoping.data)
    written = bundle_extract(path, tmp_path / "out")
    names = {p.relative_to(tmp_path / "out").as_posix() for p in written}
    assert names == {
        "norrkoping-placed-children.yaml",
        "facts/norrkoping-placed-children.yaml",
        "evaluations.json",
        "settlement.json",
        "statement.json",
        "ledger.json",
        "signature.json",
    }
    assert (tmp_path / "out/norrkoping-placed-children.yaml").read_text() == CONTRACT.read_text()


# ----------------------------------------------------------------------------- tables
# A small contract nobody's code knows, whose inputs come from its own tables through
# the real engine (exact aggregates: fast, and every figure is known by hand).

DATA_CONTRACT = """\
id: data-bound
title: A contract whose inputs come from its own tables
version: "1"
parties:
  - {id: town, name: Town, role: commissioner}
  - {id: fund, name: Fund, role: financier}
  - {id: evaluator, name: Evaluator, role: evaluator}
data:
  participants:
    label: {sv: Deltagare, en: Participants}
    unit: {sv: deltagare, en: participant}
    inclusion: included_on
    columns:
      included_on: {type: date, label: {sv: Inkluderad, en: Included}}
      note: {type: text, required: false, label: {sv: Anteckning, en: Note}}
  tables:
    savings:
      kind: records
      label: {sv: Besparingar, en: Savings}
      date: date
      key: [date]
      columns:
        date: {type: date, label: {sv: Datum, en: Date}}
        amount: {type: money, label: {sv: Belopp, en: Amount}}
evaluations:
  saved:
    method: aggregate
    table: savings
    outcome: amount
    options: {statistic: sum}
  enrolled:
    method: aggregate
    table: participants
    options: {statistic: count}
inputs:
  saving_sek: {type: money, evaluate: saved, take: value}
  participants_n: {type: number, evaluate: enrolled, take: value}
  invested_sek: {type: money, min: 0}
outputs:
  repaid_sek:
    type: money
    formula: min(max(saving_sek, 0), invested_sek)
payments:
  - {id: repayment, from: town, to: fund, label: Repayment, amount: repaid_sek}
"""

# A note with a comma, one that reads "NA", an empty one: text must survive the CSV.
PARTICIPANTS_CSV = (
    "participant,included_on,note\n"
    'p1,2020-01-15,"commas, and ""quotes"""\n'
    "p2,2020-03-01,NA\n"
    "p3,2021-02-01,\n"
)
SAVINGS_CSV = """\
participant,date,amount
p1,2020-02-01,100.25
p2,2020-04-01,200.50
p3,2021-03-01,50
"""
DATA_FACTS = "invested_sek: 1000\n"


def data_project(root: Path) -> Path:
    """The data contract, its facts and its two tables as files under ``root``."""
    (root / "data").mkdir(parents=True)
    (root / "data-bound.yaml").write_text(DATA_CONTRACT, encoding="utf-8")
    (root / "facts.yaml").write_text(DATA_FACTS, encoding="utf-8")
    (root / "data/participants.csv").write_text(PARTICIPANTS_CSV, encoding="utf-8")
    (root / "data/savings.csv").write_text(SAVINGS_CSV, encoding="utf-8")
    return root


def data_bundle(root: Path, key, *, include_data: bool, until=None, tables=None, **changes):
    contract = contract_read(root / "data-bound.yaml")
    arguments = {
        "contract": contract,
        "contract_file": "data-bound.yaml",
        "facts": facts_read(root / "facts.yaml"),
        "tables": tables or DirectoryTables(root / "data", contract.data),
        "until": until,
        "overrides": {},
        "private_key": key,
        "now": NOW,
        "include_data": include_data,
    }
    return bundle_create(**{**arguments, **changes})


@pytest.fixture
def project(tmp_path):
    return data_project(tmp_path / "project")


def _arrow_tables(contract) -> ArrowTables:
    """The same rows as the files, built in memory, in another row order."""
    participants = pa.table(
        {
            "participant": ["p3", "p1", "p2"],
            "included_on": pa.array(
                [dt.date(2021, 2, 1), dt.date(2020, 1, 15), dt.date(2020, 3, 1)], pa.date32()
            ),
            "note": [None, 'commas, and "quotes"', "NA"],
        }
    )
    savings = pa.table(
        {
            "participant": ["p2", "p3", "p1"],
            "date": pa.array(
                [dt.date(2020, 4, 1), dt.date(2021, 3, 1), dt.date(2020, 2, 1)], pa.date32()
            ),
            "amount": pa.array(["200.50", "50.00", "100.25"]).cast(pa.decimal128(18, 2)),
        }
    )
    from utfall.services.tables import conform

    return ArrowTables(
        {
            "participants": conform(participants, contract.data.table("participants"), where="p"),
            "savings": conform(savings, contract.data.table("savings"), where="s"),
        },
        origin="the platform's rows",
    )


def test_the_evaluations_part_records_each_table_by_digest_and_rows(project, key):
    written = data_bundle(project, key, include_data=False)
    data = json.loads(written.data)
    assert data["settlement"]["inputs"]["saving_sek"] == "350.75"
    assert data["settlement"]["inputs"]["participants_n"] == "3"
    contract = contract_read(project / "data-bound.yaml")
    files = DirectoryTables(project / "data", contract.data)
    assert data["evaluations"] == [
        {
            "evaluation": "saved",
            "method": "aggregate",
            "inputs": ["saving_sek"],
            "as_of": None,
            "tables": [
                {"table": "savings", "sha256": files.digest("savings"), "rows": 3},
                {"table": "participants", "sha256": files.digest("participants"), "rows": 3},
            ],
        },
        {
            "evaluation": "enrolled",
            "method": "aggregate",
            "inputs": ["participants_n"],
            "as_of": None,
            "tables": [
                {"table": "participants", "sha256": files.digest("participants"), "rows": 3}
            ],
        },
    ]
    assert data["tables"] == {}
    # The ledger records each table once, by its digest (as it recorded file hashes before).
    imports = [e for e in data["ledger"] if e["kind"] == KIND_IMPORT]
    assert [(e["subject"], e["data_sha256"]) for e in imports] == [
        ("facts facts.yaml", imports[0]["data_sha256"]),
        ("table savings", files.digest("savings")),
        ("table participants", files.digest("participants")),
    ]
    assert imports[1]["attributes"] == {"what": "table", "table": "savings", "rows": 3}
    assert str(project) not in written.data.decode("utf-8")  # no folder of this machine
    assert "commas" not in written.data.decode("utf-8")  # no row without --include-data


def test_files_and_rows_in_memory_make_the_same_evaluations_part(project, key):
    """The property that lets a platform's bundle be checked offline like the CLI's: the
    same rows give the same digests, whichever provider held them (and in any order)."""
    contract = contract_read(project / "data-bound.yaml")
    from_files = data_bundle(project, key, include_data=True)
    from_memory = data_bundle(project, key, include_data=True, tables=_arrow_tables(contract))
    files, memory = json.loads(from_files.data), json.loads(from_memory.data)
    assert files["evaluations"] == memory["evaluations"]
    assert files["tables"] == memory["tables"]
    assert from_files.data == from_memory.data  # settlement, ledger and signature too
    assert {t: table_digest(table) for t, table in _arrow_tables(contract).tables.items()} == {
        t["table"]: t["sha256"] for e in files["evaluations"] for t in e["tables"]
    }


def test_an_include_data_bundle_verifies_by_recomputation(project, key):
    written = data_bundle(project, key, include_data=True)
    data = json.loads(written.data)
    assert sorted(data["tables"]) == ["participants", "savings"]
    assert data["tables"]["participants"].splitlines()[0] == '"participant","included_on","note"'
    report = bundle_verify(written.data)
    assert report.ok, report.differences
    assert any(n == "re-ran every evaluation on the tables and settled again" for n in report.notes)
    assert next(c for c in report.checks if c.name == "tables").detail == (
        "2 of 2 table(s) included and unchanged"
    )

    # A changed evaluated figure: the evaluations run again on the included tables say so.
    forged = json.loads(written.data)
    forged["settlement"]["inputs"]["saving_sek"] = "999.00"
    report = bundle_verify(bundle_render(forged))
    assert any(
        "recomputation: inputs.saving_sek: the bundle says '999.00', recomputed '350.75'" in d
        for d in report.differences
    )


def test_a_changed_cell_in_an_included_table_is_found(project, key):
    data = json.loads(data_bundle(project, key, include_data=True).data)
    data["tables"]["savings"] = data["tables"]["savings"].replace("200.50", "900.50")
    report = bundle_verify(bundle_render(data))
    assert not report.ok
    assert any(
        d.startswith("tables: table 'savings' was changed: its SHA-256 is")
        for d in report.differences
    ), report.differences
    # Rows that are not the ones the settlement used are not evaluated.
    assert any(
        "evaluations not re-run (not every table is at hand: savings)" in n for n in report.notes
    )
    # With the fast checks only, the changed cell is found just the same.
    assert any(
        d.startswith("tables: table 'savings' was changed")
        for d in bundle_verify(bundle_render(data), recompute=False).differences
    )


def test_tables_can_be_left_out_of_a_bundle_without_breaking_it(project, key):
    """The signed evaluations part binds the tables by digest; removing their rows (to
    pass the bundle on to someone not allowed to see them) keeps the bundle valid."""
    data = json.loads(data_bundle(project, key, include_data=True).data)
    data["tables"] = {}
    report = bundle_verify(bundle_render(data))
    assert report.ok, report.differences
    assert bundle_render(data) == data_bundle(project, key, include_data=False).data


def test_a_table_no_evaluation_read_is_a_difference(project, key):
    data = json.loads(data_bundle(project, key, include_data=True).data)
    data["tables"]["extra"] = "x\n1\n"
    report = bundle_verify(bundle_render(data))
    assert any(
        "tables: table 'extra' is in the bundle, but no evaluation" in d for d in report.differences
    )


def test_without_the_tables_the_recorded_figures_are_used_and_said_so(project, key):
    written = data_bundle(project, key, include_data=False)
    report = bundle_verify(written.data)
    assert report.ok, report.differences
    assert any(
        "evaluations not re-run (not every table is at hand: participants, savings)" in n
        for n in report.notes
    )
    assert next(c for c in report.checks if c.name == "tables").detail == (
        "0 of 2 table(s) included and unchanged"
    )


def test_tables_kept_out_of_the_bundle_can_be_supplied_to_the_verifier(project, key, tmp_path):
    written = data_bundle(project, key, include_data=False)
    path = tmp_path / "b.json"
    path.write_bytes(written.data)
    report = bundle_file_verify(path, data_dir=project / "data")
    assert report.ok, report.differences
    assert any("re-ran every evaluation on the tables" in n for n in report.notes)
    # A provider in memory does the same (the platform's stored rows, say).
    contract = contract_read(project / "data-bound.yaml")
    assert bundle_verify(written.data, tables=_arrow_tables(contract)).ok

    (project / "data/savings.csv").write_text(
        SAVINGS_CSV.replace("200.50", "200.51"), encoding="utf-8"
    )
    report = bundle_file_verify(path, data_dir=project / "data")
    assert any(
        d.startswith("tables: table 'savings': the bundle records SHA-256")
        and str(project / "data/savings.csv") in d
        for d in report.differences
    ), report.differences
    with pytest.raises(UserError, match="no such data directory"):
        bundle_file_verify(path, data_dir=tmp_path / "nowhere")


def test_data_as_of_a_day_are_recorded_and_re_run_as_of_that_day(project, key, tmp_path):
    written = data_bundle(project, key, include_data=True, until=dt.date(2020, 12, 31))
    data = json.loads(written.data)
    assert data["settlement"]["inputs"]["saving_sek"] == "300.75"
    assert {e["as_of"] for e in data["evaluations"]} == {"2020-12-31"}
    assert [t["rows"] for t in data["evaluations"][0]["tables"]] == [2, 2]
    assert "p3" not in data["tables"]["participants"]  # included after the day
    report = bundle_verify(written.data)
    assert report.ok, report.differences
    assert any("re-ran every evaluation on the tables as of 2020-12-31" in n for n in report.notes)
    # The full files supplied are taken as of the recorded day before they are compared.
    data["tables"] = {}
    path = tmp_path / "b.json"
    path.write_bytes(bundle_render(data))
    report = bundle_file_verify(path, data_dir=project / "data")
    assert report.ok, report.differences
    assert any("re-ran every evaluation on the tables as of 2020-12-31" in n for n in report.notes)


def test_extracted_tables_settle_again_with_the_cli_adapter(project, key, tmp_path):
    written = data_bundle(project, key, include_data=True, until=dt.date(2020, 12, 31))
    path = tmp_path / "b.json"
    path.write_bytes(written.data)
    out = tmp_path / "out"
    names = {p.relative_to(out).as_posix() for p in bundle_extract(path, out)}
    assert {
        "data-bound.yaml",
        "facts/facts.yaml",
        "data/participants.csv",
        "data/savings.csv",
    } <= names
    contract = contract_read(out / "data-bound.yaml")
    again = contract_settle(
        contract,
        facts=facts_read(out / "facts/facts.yaml"),
        tables=DirectoryTables(out / "data", contract.data),
        until=dt.date(2020, 12, 31),
    )
    assert settlement_document(again.settlement) == json.loads(written.data)["settlement"]


def test_facts_and_data_may_not_give_the_same_input(project, key):
    facts = facts_parse("invested_sek: 1000\nsaving_sek: 5\n", source="facts.yaml")
    with pytest.raises(UserError, match="would come both from the facts and from the data"):
        data_bundle(project, key, include_data=False, facts=facts)
