"""The demo loader: every example contract, and the declared tables of each contract whose
synthetic scenario exists, imported through the ordinary import services. Reads the demo
world this package loads once (``conftest.py``) rather than loading its own."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo-world")]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "contracts"


@pytest.mark.django_db
def test_the_demo_loads_every_contract_and_its_synthetic_tables(demo_db):
    from utfall.core.contracts import parse_contract
    from utfall.platform.contracts.models import Contract, ContractStatus
    from utfall.platform.demo import SYNTHETIC, load_demo
    from utfall.platform.tables import StoredTables
    from utfall.synth import SCENARIOS

    lines = demo_db.log
    assert {"commissioner", "evaluator", "admin"} <= {login.username for login in demo_db.logins}
    documents = [
        parse_contract(p.read_text(encoding="utf-8"), source=p.name)
        for p in sorted(EXAMPLES.glob("*.yaml"))
    ]
    assert documents
    assert {c.identifier for c in Contract.objects.all()} >= {d.id for d in documents}
    for document in documents:
        contract = Contract.objects.get(identifier=document.id)
        assert contract.status == ContractStatus.IN_FORCE
        plan = SYNTHETIC.get(document.id)
        if plan is None or plan.scenario not in SCENARIOS:
            continue
        stored = list(StoredTables(contract).names())
        assert stored, document.id
        assert set(stored) <= set(document.data.names)
        if document.data.participants is not None:
            assert "participants" in stored
    # Loading again changes nothing: the data are imported once.
    before = len([line for line in lines if "imported" in line])
    again: list[str] = []
    load_demo(log=again.append, with_data=True)
    assert not [line for line in again if "rows of" in line]
    assert before > 0
