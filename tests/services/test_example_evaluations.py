"""Every evaluation that ships runs on the data ``utfall synth`` writes.

* Each evaluation of each reference contract, on the contract's declared tables that
  the contract's synthetic scenario writes (the scenario's manifest names the
  contracts it serves), with its confidence interval where the method gives one and
  the planted effect inside it for the two scale-out methods.
* Each stand-alone spec in ``examples/evaluations``, whose ``data`` points at
  ``../../out/synth/<scenario>/…``: the test lays the spec and the data out as a
  checkout would after ``utfall synth <scenario> --out out/synth/<scenario>``.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest

from utfall.adapters.files import DirectoryTables, contract_read, evaluate_file
from utfall.services.bindings import evaluations_run
from utfall.synth import SCENARIOS, generate

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "examples" / "evaluations").glob("*.yaml"))
CONTRACTS = sorted((ROOT / "examples" / "contracts").glob("*.yaml"))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Scenario → (its folder, its manifest), generated once with the default seed."""
    base = tmp_path_factory.mktemp("synth")
    made = {}

    def folder(scenario: str):
        if scenario not in made:
            out = base / scenario
            manifest = generate(scenario, out)
            made[scenario] = (out, manifest)
        return made[scenario]

    return folder


def _served(synthetic) -> dict[str, tuple[Path, dict]]:
    served = {}
    for scenario in SCENARIOS:
        out, manifest = synthetic(scenario)
        for contract in manifest.get("contracts", []):
            served[contract] = (out, manifest)
    return served


@pytest.mark.parametrize("path", CONTRACTS, ids=[p.stem for p in CONTRACTS])
def test_every_evaluation_of_a_contract_runs_on_its_synthetic_data(path, synthetic):
    contract = contract_read(path)
    if not contract.evaluations:
        pytest.skip(f"{contract.id} declares no evaluation")
    served = _served(synthetic)
    assert contract.id in served, f"no synth scenario writes the tables of {contract.id}"
    out, manifest = served[contract.id]
    estimates, digests = evaluations_run(
        contract, DirectoryTables(out, contract.data), list(contract.evaluations)
    )
    assert set(estimates) == set(contract.evaluations)
    assert all(re.fullmatch(r"[0-9a-f]{64}", d) for d in digests.values())
    planted = manifest["planted"]
    for name, estimate in estimates.items():
        assert math.isfinite(estimate.estimate), name
        if estimate.ci_low is not None:
            assert estimate.ci_low <= estimate.estimate <= estimate.ci_high, name
        if estimate.method == "trend_adjusted" and "saving_days" in planted:
            days = estimate.extras["saving_days"]
            assert days == pytest.approx(planted["saving_days"], rel=0.15), name
        if estimate.method == "historical_reference":
            assert estimate.estimate > 0, name  # the planted saving is clearly positive
            assert estimate.extras["price_indexed"] is True


def test_there_are_stand_alone_specs():
    assert SPECS, "examples/evaluations shows the stand-alone spec form"


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_stand_alone_spec_runs(spec, tmp_path):
    found = re.search(r"out/synth/([a-z-]+)/", spec.read_text(encoding="utf-8"))
    assert found, f"{spec.name}: data should point into out/synth/<scenario>/"
    out = tmp_path / "out" / "synth" / found.group(1)
    generate(found.group(1), out, contract_tables=False)
    copy = tmp_path / "examples" / "evaluations" / spec.name
    copy.parent.mkdir(parents=True)
    shutil.copy(spec, copy)
    estimate = evaluate_file(copy)
    assert math.isfinite(estimate.estimate)
    assert estimate.ci_low is not None and estimate.ci_low <= estimate.estimate <= estimate.ci_high
    assert json.loads((out / "manifest.json").read_text())["planted"]
