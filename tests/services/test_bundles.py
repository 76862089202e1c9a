"""Settlement bundles: keys, writing, verifying, ledger files, data-bound inputs."""

from __future__ import annotations

import csv
import json
import stat
import sys
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from utfall.core.evaluation.result import Estimate
from utfall.core.ledger import KIND_IMPORT, verify_chain
from utfall.errors import BundleUnreadable, UserError
from utfall.services.bundles import (
    bundle_create,
    bundle_extract,
    bundle_render,
    bundle_verify,
    keys_generate,
    ledger_file_read,
    private_key_load,
    public_key_load,
)

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "examples/contracts/norrkoping-placed-children.yaml"
FACTS = ROOT / "examples/facts/norrkoping-placed-children.yaml"
NOW = datetime(2022, 1, 10, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return keys_generate(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def norrkoping(tmp_path_factory, keys):
    out = tmp_path_factory.mktemp("bundle") / "norrkoping.bundle.json"
    return bundle_create(
        contract_path=CONTRACT,
        facts_path=FACTS,
        out_path=out,
        private_key=private_key_load(keys.private_path),
        now=NOW,
    )


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
    data = json.loads(norrkoping.path.read_text(encoding="utf-8"))
    assert data["format"] == "utfall-settlement-bundle/1"
    assert data["settlement"]["payments"][1]["amount_sek"] == "850000.00"
    assert [e["kind"] for e in data["ledger"]] == ["contract_version", "import", "settlement"]
    assert data["statement"]["evaluator"] == "evaluator"  # the contract's evaluator party
    assert data["statement"]["signed_at"] == "2022-01-10T09:30:00.000000Z"
    report = bundle_verify(norrkoping.path)
    assert report.ok, report.differences
    assert report.key_source == "embedded"
    assert any("not who signed it" in note for note in report.notes)
    assert {c.name for c in report.checks} == {
        "layout",
        "signature",
        "statement",
        "parts",
        "ledger",
        "data",
        "contract",
        "recomputation",
    }
    given = bundle_verify(norrkoping.path, public_key=public_key_load(keys.public_path))
    assert given.ok and given.key_source == "given"
    assert not any("not who signed it" in note for note in given.notes)


def test_bundles_are_deterministic(norrkoping, keys, tmp_path):
    again = bundle_create(
        contract_path=CONTRACT,
        facts_path=FACTS,
        out_path=tmp_path / "again.json",
        private_key=private_key_load(keys.private_path),
        now=NOW,
    )
    # Ed25519 signatures are deterministic, so the same settlement gives the same bytes.
    assert again.path.read_bytes() == norrkoping.path.read_bytes()
    assert bundle_render(json.loads(again.path.read_bytes())) == again.path.read_bytes()


def test_another_key_is_refused(norrkoping, tmp_path):
    other = keys_generate(tmp_path)
    report = bundle_verify(norrkoping.path, public_key=public_key_load(other.public_path))
    assert not report.ok
    assert any(
        "the bundle was signed with key" in d and other.fingerprint in d for d in report.differences
    )


def test_what_if_overrides_are_recorded_and_recomputed(keys, tmp_path):
    written = bundle_create(
        contract_path=CONTRACT,
        facts_path=FACTS,
        overrides={"reading": "A", "premium_cap_sek": "500000"},
        out_path=tmp_path / "b.json",
        private_key=private_key_load(keys.private_path),
        now=NOW,
    )
    data = json.loads(written.path.read_text(encoding="utf-8"))
    assert data["overrides"] == {"reading": "A", "premium_cap_sek": "500000"}
    assert data["settlement"]["outputs"]["premium_sek"] == "500000.00"
    assert bundle_verify(written.path).ok


def test_a_ledger_file_grows_and_each_bundle_is_checked_against_it(keys, tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    key = private_key_load(keys.private_path)
    first = bundle_create(
        contract_path=CONTRACT,
        facts_path=FACTS,
        out_path=tmp_path / "1.json",
        private_key=key,
        now=NOW,
        ledger_path=ledger,
    )
    second = bundle_create(
        contract_path=CONTRACT,
        facts_path=FACTS,
        overrides={"reading": "A"},
        out_path=tmp_path / "2.json",
        private_key=key,
        now=NOW + timedelta(days=1),
        ledger_path=ledger,
        actor="lena.evaluator",
    )
    entries = ledger_file_read(ledger)
    assert len(entries) == 6 and verify_chain(entries) == []
    assert second.entries[0].previous_hash == first.entries[-1].hash
    assert second.entries[0].actor == "lena.evaluator"
    report = bundle_verify(second.path, ledger_path=ledger)
    assert report.ok, report.differences
    assert any("continues a ledger after entry 2" in n for n in report.notes)
    assert bundle_verify(first.path, ledger_path=ledger).ok

    # Someone rewrites an old ledger line: both the file and the check against it notice.
    lines = ledger.read_text(encoding="utf-8").splitlines()
    tampered = json.loads(lines[1])
    tampered["actor"] = "mallory"
    lines[1] = json.dumps(tampered, sort_keys=True)
    ledger.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = bundle_verify(first.path, ledger_path=ledger)
    assert not report.ok
    assert any(
        "ledger file: ledger entry 1: its content does not match" in d for d in report.differences
    )
    with pytest.raises(UserError, match="refusing to add"):
        bundle_create(
            contract_path=CONTRACT,
            facts_path=FACTS,
            out_path=tmp_path / "3.json",
            private_key=key,
            now=NOW + timedelta(days=2),
            ledger_path=ledger,
        )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe not utf-8", "byte 0 is not UTF-8"),
        (b"{not json", "not JSON at line 1"),
        (b"[1, 2]", "not an object"),
        (b'{"format": "utfall-settlement-bundle/1"}', "missing contract"),
    ],
)
def test_unreadable_bundles(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(BundleUnreadable, match=message):
        bundle_verify(path)


def test_wrong_shapes_are_unreadable(norrkoping, tmp_path):
    data = json.loads(norrkoping.path.read_bytes())
    data["evaluations"] = {"oops": 1}
    path = tmp_path / "shape.json"
    path.write_bytes(bundle_render(data))
    with pytest.raises(BundleUnreadable, match="evaluations must be a list"):
        bundle_verify(path)
    with pytest.raises(BundleUnreadable, match="no such bundle"):
        bundle_verify(tmp_path / "missing.json")


def test_extract_writes_the_parts(norrkoping, tmp_path):
    written = bundle_extract(norrkoping.path, tmp_path / "out")
    names = {p.relative_to(tmp_path / "out").as_posix() for p in written}
    assert names == {
        "norrkoping-placed-children.yaml",
        "facts/norrkoping-placed-children.yaml",
        "settlement.json",
        "statement.json",
        "ledger.json",
        "signature.json",
    }
    assert (tmp_path / "out/norrkoping-placed-children.yaml").read_text() == CONTRACT.read_text()


# ----------------------------------------------------------------------------- data-bound inputs
# A stand-in for the evaluation engine (utfall.services.evaluation) with the same
# two functions keeps these tests about the bundle, not the estimators: the saving
# is the sum of a column times a factor read from an auxiliary table named in the
# spec's options (``price_index``, one of bindings.AUXILIARY_TABLES).

DATA_CONTRACT = """\
id: data-bound
title: A contract with an input computed from data
version: "1"
parties:
  - {id: town, name: Town, role: commissioner}
  - {id: fund, name: Fund, role: financier}
  - {id: evaluator, name: Evaluator, role: evaluator}
inputs:
  saving_sek: {type: money, evaluate: ../evaluations/saving.yaml}
  invested_sek: {type: money, min: 0}
outputs:
  repaid_sek:
    type: money
    formula: min(max(saving_sek, 0), invested_sek)
payments:
  - {id: repayment, from: town, to: fund, label: Repayment, amount: repaid_sek}
"""


class StandInSpec(BaseModel):
    data: Path
    source: Path
    column: str
    options: dict[str, str] = {}


def _load_spec(path):
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return StandInSpec(
        data=Path(path).parent / raw["data"],
        source=Path(path),
        column=raw["column"],
        options=raw["options"],
    )


def _evaluate_spec(spec):
    with Path(spec.data).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    factor_file = Path(spec.source).parent / spec.options["price_index"]
    factor = float(factor_file.read_text(encoding="utf-8").split()[-1])
    total = sum(float(row[spec.column]) for row in rows) * factor
    return Estimate(
        method="column_sum",
        estimate=total,
        std_error=None,
        ci_low=None,
        ci_high=None,
        p_value=None,
        n_treated=len(rows),
        n_control=None,
        n_obs=len(rows),
    )


@pytest.fixture
def evaluation_engine(monkeypatch):
    module = types.ModuleType("utfall.services.evaluation")
    module.load_spec = _load_spec
    module.evaluate_spec = _evaluate_spec
    monkeypatch.setitem(sys.modules, "utfall.services.evaluation", module)
    return module


@pytest.fixture
def data_project(tmp_path):
    root = tmp_path / "project"
    (root / "contracts").mkdir(parents=True)
    (root / "evaluations").mkdir()
    (root / "data").mkdir()
    (root / "contracts/data-bound.yaml").write_text(DATA_CONTRACT, encoding="utf-8")
    (root / "evaluations/saving.yaml").write_text(
        "data: ../data/costs.csv\ncolumn: saving\noptions: {price_index: ../data/factor.txt}\n",
        encoding="utf-8",
    )
    (root / "data/costs.csv").write_text("id,saving\n1,100.25\n2,200.50\n3,50\n", encoding="utf-8")
    (root / "data/factor.txt").write_text("factor 2\n", encoding="utf-8")
    (root / "facts.yaml").write_text("invested_sek: 1000\n", encoding="utf-8")
    return root


def _data_bundle(root, keys, out, *, include_data):
    return bundle_create(
        contract_path=root / "contracts/data-bound.yaml",
        facts_path=root / "facts.yaml",
        data_dir=root / "data",
        out_path=out,
        private_key=private_key_load(keys.private_path),
        now=NOW,
        include_data=include_data,
    )


def test_data_files_are_hashed_in_the_ledger_and_re_evaluated(
    evaluation_engine, data_project, keys, tmp_path
):
    written = _data_bundle(data_project, keys, tmp_path / "b.json", include_data=True)
    data = json.loads(written.path.read_text(encoding="utf-8"))
    assert data["settlement"]["inputs"]["saving_sek"] == "701.50"
    assert data["settlement"]["payments"][0]["amount_sek"] == "701.50"
    (evaluation,) = data["evaluations"]
    assert [(f["role"], f["file"]) for f in evaluation["data"]] == [
        ("data", "costs.csv"),
        ("options.price_index", "factor.txt"),
    ]
    imports = [e for e in data["ledger"] if e["kind"] == KIND_IMPORT]
    assert [e["attributes"]["what"] for e in imports] == [
        "facts",
        "evaluation spec",
        "data",
        "options.price_index",
    ]
    # No absolute path of the evaluator's machine ends up in the bundle.
    assert str(data_project) not in written.path.read_text(encoding="utf-8")
    report = bundle_verify(written.path)
    assert report.ok, report.differences
    assert any("re-ran every evaluation on the data" in n for n in report.notes)

    # A changed evaluated figure: the evaluation run again on the included data says so.
    original = written.path.read_bytes()
    forged = json.loads(original)
    forged["settlement"]["inputs"]["saving_sek"] = "999.00"
    written.path.write_bytes(bundle_render(forged))
    report = bundle_verify(written.path)
    assert any(
        "recomputation: inputs.saving_sek: the bundle says '999.00', recomputed '701.50'" in d
        for d in report.differences
    )
    written.path.write_bytes(original)

    # A changed figure in the data: the hash check says so, and data that are not the
    # ones the settlement used are not evaluated.
    import base64

    costs = evaluation["data"][0]
    content = base64.b64decode(costs["content_base64"]).replace(b"200.50", b"900.50")
    costs["content_base64"] = base64.b64encode(content).decode()
    written.path.write_bytes(bundle_render(data))
    report = bundle_verify(written.path)
    assert not report.ok
    assert any(
        d.startswith("data: data file 'costs.csv' was changed: its SHA-256 is")
        for d in report.differences
    )
    assert any("evaluations not re-run (the data are not at hand)" in n for n in report.notes)


def test_without_the_data_the_recorded_figures_are_used_and_said_so(
    evaluation_engine, data_project, keys, tmp_path
):
    written = _data_bundle(data_project, keys, tmp_path / "b.json", include_data=False)
    data = json.loads(written.path.read_text(encoding="utf-8"))
    assert all(f["content_base64"] is None for f in data["evaluations"][0]["data"])
    assert "200.50" not in written.path.read_text(encoding="utf-8")
    report = bundle_verify(written.path)
    assert report.ok, report.differences
    assert any("evaluations not re-run (the data are not at hand)" in n for n in report.notes)
    data_check = next(c for c in report.checks if c.name == "data")
    assert data_check.detail == "0 of 2 data file(s) included and unchanged"


def test_data_kept_out_of_the_bundle_can_be_supplied_to_the_verifier(
    evaluation_engine, data_project, keys, tmp_path
):
    written = _data_bundle(data_project, keys, tmp_path / "b.json", include_data=False)
    supplied = tmp_path / "supplied"
    supplied.mkdir()
    (supplied / "costs.csv").write_bytes((data_project / "data/costs.csv").read_bytes())
    (supplied / "factor.txt").write_bytes((data_project / "data/factor.txt").read_bytes())
    report = bundle_verify(written.path, data_dir=supplied)
    assert report.ok, report.differences
    assert any("re-ran every evaluation on the data" in n for n in report.notes)
    (supplied / "factor.txt").write_text("factor 3\n", encoding="utf-8")
    report = bundle_verify(written.path, data_dir=supplied)
    assert any(
        d.startswith("data: data file 'factor.txt': the bundle records, but")
        for d in report.differences
    )
