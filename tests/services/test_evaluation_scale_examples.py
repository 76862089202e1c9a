"""Every spec in examples/evaluations runs on the data ``utfall synth`` writes.

The specs point at ``../../out/synth/<scenario>/…``. The test copies each spec into
a temporary ``examples/evaluations`` and generates the data into the matching
temporary ``out/synth/<scenario>``, so the relative paths resolve as they do in a
checkout after ``utfall synth <scenario> --out out/synth/<scenario>``.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest

from utfall.services.evaluation import evaluate_file
from utfall.synth import generate

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "examples" / "evaluations").glob("*.yaml"))


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    base = tmp_path_factory.mktemp("checkout")
    (base / "examples" / "evaluations").mkdir(parents=True)
    return base


def scenario_of(spec: Path) -> str:
    found = re.search(r"out/synth/([a-z-]+)/", spec.read_text(encoding="utf-8"))
    assert found, f"{spec.name}: data should point into out/synth/<scenario>/"
    return found.group(1)


def test_there_are_specs_for_both_contract_specific_methods():
    methods = {re.search(r"^method: (\w+)", s.read_text(), re.M).group(1) for s in SPECS}
    assert {"trend_adjusted", "historical_reference"} <= methods


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_example_spec_runs(spec, layout):
    scenario = scenario_of(spec)
    out = layout / "out" / "synth" / scenario
    if not (out / "manifest.json").exists():
        generate(scenario, out)
    copy = layout / "examples" / "evaluations" / spec.name
    shutil.copy(spec, copy)
    estimate = evaluate_file(copy)
    assert math.isfinite(estimate.estimate)
    assert estimate.ci_low is not None and estimate.ci_low <= estimate.estimate <= estimate.ci_high
    planted = json.loads((out / "manifest.json").read_text())["planted"]
    if estimate.method == "trend_adjusted":
        assert estimate.ci_low < planted["saving_sek"] < estimate.ci_high
    if estimate.method == "historical_reference":
        assert estimate.estimate > 0  # the planted saving is clearly positive
        assert estimate.extras["price_indexed"] is True
