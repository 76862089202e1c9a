"""``utfall synth`` for the cases the seeds name (issue 17): early-support
(Hässelby-Vällingby), collective-impact (Region Stockholm, Folkets Husby, Leksell Social
Ventures), diabetes (Region Stockholm's health bond) and homeless-families (Malmö). Each
writes its contract's declared tables in their layout, small, deterministic for a seed."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pytest
from stdnum.se import personnummer

from utfall.adapters.files import DirectoryTables, contract_read
from utfall.synth import SCENARIOS, generate

ROOT = Path(__file__).resolve().parents[2]
CASES = {
    "early-support": ("hasselby-vallingby-early-support", r"actor-\d"),
    "collective-impact": ("region-stockholm-collective-impact", r"M-\d{2}"),
    "diabetes": ("region-stockholm-diabetes-health-bond", r"D-\d{4}"),
    "homeless-families": ("malmo-homeless-families", r"HH-\d{4}"),
}
IDENTIFIERS = {
    "early-support": ("actor_reports", "actor"),
    "collective-impact": ("committee_votes", "member"),
    "diabetes": ("participants", "participant"),
    "homeless-families": ("participants", "participant"),
}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_cli_lists_every_seed_case_scenario() -> None:
    from utfall.cli.synth import ROWS_PER_UNIT
    from utfall.cli.synth import SCENARIOS as CLI_SCENARIOS

    assert set(CASES) <= set(SCENARIOS) == set(CLI_SCENARIOS) == set(ROWS_PER_UNIT)


@pytest.mark.parametrize("scenario", sorted(CASES))
def test_writes_the_declared_tables_in_the_contracts_layout(scenario: str, tmp_path: Path) -> None:
    name, _ = CASES[scenario]
    manifest = generate(scenario, tmp_path, seed=5)
    assert manifest["contracts"] == [name]
    contract = contract_read(ROOT / "examples" / "contracts" / f"{name}.yaml")
    declared = {t.name: t for t in contract.data}
    assert set(manifest["tables"]) == set(declared)
    for table_name, table in declared.items():
        header = next(csv.reader((tmp_path / f"{table_name}.csv").open(encoding="utf-8")))
        owned = ["participant"] if table.kind != "series" else []
        assert header == [*owned, *table.column_names], table_name
        rows = _rows(tmp_path / f"{table_name}.csv")
        assert manifest["tables"][table_name]["rows"] == len(rows)
        assert len(rows) < 1_000, "synthetic data stay small"
    # The rows conform to the declaration cell by cell.
    tables = DirectoryTables(tmp_path, contract.data)
    for table_name in declared:
        assert tables.table(table_name).num_rows == manifest["tables"][table_name]["rows"]


@pytest.mark.parametrize("scenario", sorted(CASES))
def test_deterministic_for_a_seed_and_different_for_another(scenario: str, tmp_path: Path) -> None:
    first = generate(scenario, tmp_path / "a", seed=3)
    again = generate(scenario, tmp_path / "b", seed=3)
    other = generate(scenario, tmp_path / "c", seed=4)
    assert first == again
    digests = {
        folder: {
            t: hashlib.sha256((tmp_path / folder / f"{t}.csv").read_bytes()).hexdigest()
            for t in first["tables"]
        }
        for folder in "abc"
    }
    assert digests["a"] == digests["b"]
    assert digests["a"] != digests["c"]
    assert set(other["tables"]) == set(first["tables"])


@pytest.mark.parametrize("scenario", sorted(CASES))
def test_references_never_look_like_a_personnummer(scenario: str, tmp_path: Path) -> None:
    generate(scenario, tmp_path, seed=9)
    table, column = IDENTIFIERS[scenario]
    pattern = CASES[scenario][1]
    ids = {r[column] for r in _rows(tmp_path / f"{table}.csv")}
    assert ids and all(re.fullmatch(pattern, i) for i in ids)
    assert not any(personnummer.is_valid(re.sub(r"\D", "", i).zfill(10)) for i in ids)


@pytest.mark.parametrize(
    ("scenario", "table", "size"),
    [
        ("collective-impact", "proposals", 30),
        ("diabetes", "participants", 40),
        ("homeless-families", "participants", 25),
    ],
)
def test_size_scales_and_bad_sizes_are_refused(
    scenario: str, table: str, size: int, tmp_path: Path
) -> None:
    manifest = generate(scenario, tmp_path / "ok", seed=1, size=size)
    assert manifest["tables"][table]["rows"] == size
    with pytest.raises(ValueError, match="size must be"):
        generate(scenario, tmp_path / "none", seed=1, size=0)
    with pytest.raises(ValueError, match="size must be"):
        generate(scenario, tmp_path / "huge", seed=1, size=10_000_000)


def test_the_homeless_families_plant_work_for_every_rule(tmp_path: Path) -> None:
    manifest = generate("homeless-families", tmp_path, seed=2016)
    planted = manifest["planted"]
    events = _rows(tmp_path / "events.csv")
    assert planted["events_without_evidence"] == sum(not e["evidence"] for e in events) > 0
    moved = {e["participant"] for e in events if e["outcome"] == "moved_in"}
    assert any(e["outcome"] == "housed_12_months" and e["participant"] not in moved for e in events)
    counted = {o: sum(e["outcome"] == o for e in events) for o in planted["events_by_outcome"]}
    assert counted == planted["events_by_outcome"]
    assert 0 < planted["families"] < planted["households"] == 200


def test_the_diabetes_follow_ups_leave_some_out_and_diagnose_from_hba1c(tmp_path: Path) -> None:
    manifest = generate("diabetes", tmp_path, seed=2016)
    planted = manifest["planted"]
    rows = _rows(tmp_path / "follow_ups.csv")
    assert len(rows) == planted["followed_up"] < planted["participants"]
    assert planted["cases"] == sum(r["type2_diabetes"] == "true" for r in rows) > 0
    for row in rows:
        assert (row["type2_diabetes"] == "true") == (float(row["hba1c_follow_up"]) >= 48)
        assert 39 <= float(row["hba1c_baseline"]) <= 47
