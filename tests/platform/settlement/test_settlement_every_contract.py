"""Every shipped contract with a synthetic scenario (the demo's table), its tables imported
through the import services: the platform's statement equals, to the öre, what the one
pipeline gives on the generator's own files (``DirectoryTables``, as ``utfall settle
--data-dir`` reads them), as of the same day. A contract added to ``examples/contracts``
with a scenario in the demo's table is covered without a change here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from settlement_helpers import ROOT, build_world, fast_text, synthesise

EXAMPLES = ROOT / "examples" / "contracts"
SIZES = {"norrkoping": 20, "sick-leave": 120, "ips": 200}
"""Smaller synthetic data than the demo's, per scenario (the scenario's own default else)."""


def _synthetic_contracts() -> list[Path]:
    from utfall.core.contracts import parse_contract
    from utfall.platform.demo import SYNTHETIC
    from utfall.synth import SCENARIOS

    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        identifier = parse_contract(path.read_text(encoding="utf-8"), source=path.name).id
        plan = SYNTHETIC.get(identifier)
        if plan is not None and plan.scenario in SCENARIOS:
            found.append(path)
    return found


def _period(document) -> tuple[dt.date, dt.date]:
    """From the first period's start to the last period's end (all the data without any)."""
    starts = [p.start for p in document.periods.values()]
    ends = [p.end for p in document.periods.values()]
    if not starts:
        return dt.date(2000, 1, 1), dt.date.today()
    return min(starts), max(ends)


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("path", _synthetic_contracts(), ids=lambda p: p.stem)
def test_every_shipped_contract_settles_from_stored_rows_as_from_its_files(path, tmp_path):
    from utfall.adapters.files import DirectoryTables
    from utfall.core.contracts import parse_contract
    from utfall.platform.demo import SYNTHETIC
    from utfall.platform.settlements.services import settlement_start
    from utfall.services.bundles import settlement_document
    from utfall.services.contracts import contract_settle

    text = fast_text(path)
    document = parse_contract(text, source=path.name)
    plan = SYNTHETIC[document.id]
    size = SIZES.get(plan.scenario, plan.size)
    seed = plan.seed if plan.seed is not None else 2016
    world = build_world(contract=path, text=text, scenario=plan.scenario, size=size, seed=seed)
    start, end = _period(document)
    platform = settlement_start(
        contract=world.contract, actor=world.evaluator, period_start=start, period_end=end
    ).result
    files = synthesise(plan.scenario, tmp_path / "synth", size=size, seed=seed)
    run = contract_settle(document, tables=DirectoryTables(files, document.data), until=end)
    cli = settlement_document(run.settlement)
    assert platform["inputs"] == cli["inputs"]
    assert platform["outputs"] == cli["outputs"]
    assert platform["payments"] == cli["payments"]
