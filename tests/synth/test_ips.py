"""``utfall synth ips``: the rate-card contract's declared tables, deterministic, with every
rule of the rate card given work."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pytest
from stdnum.se import personnummer

from utfall.adapters.files import DirectoryTables, contract_read
from utfall.services.contracts import contract_settle
from utfall.synth import generate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ips(tmp_path_factory):
    out = tmp_path_factory.mktemp("ips")
    return out, generate("ips", out, seed=7)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_writes_the_declared_tables_in_the_contracts_layout(ips):
    out, manifest = ips
    (name,) = manifest["contracts"]
    contract = contract_read(ROOT / "examples" / "contracts" / f"{name}.yaml")
    assert set(manifest["tables"]) == {t.name for t in contract.data}
    for table in contract.data:
        header = next(csv.reader((out / f"{table.name}.csv").open(encoding="utf-8")))
        assert header == ["participant", *table.column_names]
        assert manifest["tables"][table.name]["rows"] == len(_rows(out / f"{table.name}.csv"))
    # Conforms to the declaration cell by cell.
    tables = DirectoryTables(out, contract.data)
    assert tables.table("participants").num_rows == 300
    assert tables.table("events").num_rows == manifest["tables"]["events"]["rows"]


def test_deterministic_for_a_seed_and_different_for_another(ips, tmp_path):
    out, manifest = ips
    again = generate("ips", tmp_path / "again", seed=7)
    other = generate("ips", tmp_path / "other", seed=8)
    for name in ("participants.csv", "events.csv"):
        digest = hashlib.sha256((out / name).read_bytes()).hexdigest()
        assert digest == hashlib.sha256((tmp_path / "again" / name).read_bytes()).hexdigest()
    assert again == manifest
    assert (tmp_path / "other" / "events.csv").read_bytes() != (out / "events.csv").read_bytes()
    assert other["planted"]["rates"] == manifest["planted"]["rates"]


def test_references_never_look_like_a_personnummer(ips):
    out, _ = ips
    ids = [r["participant"] for r in _rows(out / "participants.csv")]
    assert all(re.fullmatch(r"IPS-\d{6}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert not any(personnummer.is_valid(i.removeprefix("IPS-")) for i in ids)


def test_the_manifest_records_the_planted_rates_and_rule_breaking_events(ips):
    out, manifest = ips
    planted = manifest["planted"]
    assert planted["participants"] == 300
    assert 0 < planted["high_support_need"] < 300
    assert planted["rates"]["p_work"] == {"standard": 0.55, "high": 0.40}
    events = _rows(out / "events.csv")
    by_outcome = {o: sum(e["outcome"] == o for e in events) for o in planted["events_by_outcome"]}
    assert by_outcome == planted["events_by_outcome"]
    assert all(n > 0 for n in planted["rule_breaking_events"].values())
    missing = sum(not e["evidence"] for e in events)
    assert missing == planted["rule_breaking_events"]["no_evidence"]


def test_every_rule_of_the_rate_card_has_work(ips):
    out, manifest = ips
    (name,) = manifest["contracts"]
    contract = contract_read(ROOT / "examples" / "contracts" / f"{name}.yaml")
    run = contract_settle(
        contract, tables=DirectoryTables(out, contract.data), overrides={"cap_sek": "2000000"}
    )
    (estimate,) = run.evaluations.values()
    uncounted = estimate.extras["uncounted"]
    planted = manifest["planted"]["rule_breaking_events"]
    for reason in (
        "before_inclusion",
        "after_leaving",
        "outside_window",
        "outside_period",
        "no_evidence",
        "before_prerequisite",
        "duplicate",
        "over_total_cap",
    ):
        assert uncounted[reason] > 0, reason
    assert uncounted["before_inclusion"] == planted["job_before_inclusion"]
    assert all(v > 0 for v in estimate.extras["counts"].values())
    # Inclusion runs over two years; the funnel grows month by month.
    funnel = estimate.extras["funnel"]
    assert funnel["month"][0] == "2024-01-01"
    assert funnel["included"][-1] == 300
    assert funnel["included"] == sorted(funnel["included"])


def test_size_scales_the_participants(tmp_path):
    manifest = generate("ips", tmp_path, seed=1, size=40)
    assert manifest["tables"]["participants"]["rows"] == 40
    with pytest.raises(ValueError, match="at least 1"):
        generate("ips", tmp_path / "none", seed=1, size=0)
