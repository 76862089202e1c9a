"""Access (issue 14, item 2): every change of the parties is in the signed bundle.

A separate module because its world is made once per module outside the test
transaction (a signed statement needs imported data), like the settlement tests.
"""

from __future__ import annotations

import json

import pytest
from settlement_helpers import build_world, clean_database, make_final
from typer.testing import CliRunner

from utfall.cli.main import app

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def signed_world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        world = build_world()
        world.final = make_final(world)
    yield world
    with django_db_blocker.unblock():
        clean_database()


def test_party_history_is_signed_in_the_bundle_and_tampering_is_detected(signed_world, tmp_path):
    world = signed_world
    data = world.final.bundle.encode()
    document = json.loads(data)
    parties = document["parties"]
    assert {"organisation": "Org evaluator", "role": "evaluator"} in parties["current"]
    joined = [
        entry
        for entry in parties["history"]
        if entry["action"] == "party.role_set" and entry["organisation"] == "Org evaluator"
    ]
    assert joined and joined[0]["accepted_by"] == "evaluator"
    assert joined[0]["approved_by"] == ["Org commissioner", "Org financier"]
    assert "parties" in document["statement"]["parts"]
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(data)
    result = CliRunner().invoke(app, ["verify", str(bundle)])
    assert result.exit_code == 0, result.output
    # An operator rewriting who approved the evaluator breaks the signature's part hash.
    document["parties"]["history"] = [
        {**entry, "approved_by": ["Org commissioner"]} if entry in joined else entry
        for entry in parties["history"]
    ]
    from utfall.services.bundles import bundle_render

    bundle.write_bytes(bundle_render(document))
    result = CliRunner().invoke(app, ["verify", str(bundle)])
    assert result.exit_code == 1, result.output
    assert "parties was changed after signing" in result.output
    # Dropping the part altogether is detected too.
    del document["parties"]
    bundle.write_bytes(bundle_render(document))
    result = CliRunner().invoke(app, ["verify", str(bundle)])
    assert result.exit_code == 1, result.output
    assert "parties" in result.output
