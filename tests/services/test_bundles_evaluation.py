"""A bundle made from data with the real evaluation engine, verified by running it again.

Synthetic Norrköping data (20 children), the historical-reference evaluation of
``examples/evaluations`` with a 49-replicate bootstrap, the Norrköping contract
with its net savings bound to that evaluation.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from utfall.services.bundles import (
    bundle_create,
    bundle_render,
    bundle_verify,
    keys_generate,
    private_key_load,
)

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # about 10 s: data generation and the first DuckDB/Ibis import


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from utfall.synth import generate

    root = tmp_path_factory.mktemp("project")
    (root / "examples/contracts").mkdir(parents=True)
    (root / "examples/evaluations").mkdir()
    generate("norrkoping", root / "out/synth/norrkoping", size=20, seed=7)
    spec = (ROOT / "examples/evaluations/norrkoping-costs-historical-reference.yaml").read_text(
        encoding="utf-8"
    )
    (root / "examples/evaluations/costs.yaml").write_text(
        spec.replace("reps: 999", "reps: 49"), encoding="utf-8"
    )
    contract = (ROOT / "examples/contracts/norrkoping-placed-children.yaml").read_text(
        encoding="utf-8"
    )
    # The saving from the (faster) copy of the spec; school results from the facts.
    bound = contract.replace(
        "evaluate: ../evaluations/norrkoping-costs-historical-reference.yaml",
        "evaluate: ../evaluations/costs.yaml",
    ).replace(
        "    evaluate: ../evaluations/norrkoping-school-did.yaml\n    take: ci_low\n"
        "    at_least: 0\n",
        "",
    )
    assert bound.count("evaluate:") == 1
    (root / "examples/contracts/norrkoping.yaml").write_text(bound, encoding="utf-8")
    (root / "facts.yaml").write_text(
        "invested_sek: 10000000\nschool_results_met: true\n", encoding="utf-8"
    )
    return root


def test_a_bundle_from_data_is_re_evaluated_by_the_verifier(project, tmp_path):
    keys = keys_generate(tmp_path / "keys")
    written = bundle_create(
        contract_path=project / "examples/contracts/norrkoping.yaml",
        facts_path=project / "facts.yaml",
        data_dir=project / "out/synth/norrkoping",
        out_path=tmp_path / "bundle.json",
        private_key=private_key_load(keys.private_path),
        now=datetime(2022, 1, 10, tzinfo=UTC),
        include_data=True,
    )
    data = json.loads(written.path.read_text(encoding="utf-8"))
    roles = [(f["role"], f["file"]) for f in data["evaluations"][0]["data"]]
    assert roles == [
        ("data", "costs.parquet"),
        ("options.price_index", "price_index.parquet"),
    ]
    report = bundle_verify(written.path)
    assert report.ok, report.differences
    assert any("re-ran every evaluation on the data" in note for note in report.notes)

    # The evaluated saving changed after the fact: the evaluation run again says what it is.
    recorded = data["settlement"]["inputs"]["net_savings_sek"]
    data["settlement"]["inputs"]["net_savings_sek"] = "99999999.00"
    written.path.write_bytes(bundle_render(data))
    report = bundle_verify(written.path)
    assert any(
        d
        == f"recomputation: inputs.net_savings_sek: the bundle says '99999999.00', recomputed '{recorded}'"
        for d in report.differences
    ), report.differences
