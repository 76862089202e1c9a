"""A bundle downloaded from the platform passes ``utfall verify`` (also against the public key
from the keys page, and with the platform's ledger), and fails after any byte is changed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from utfall.cli.main import app

pytestmark = pytest.mark.django_db


def _download(client, world) -> bytes:
    from utfall.platform.contracts.models import Role

    client.force_login(world.users[Role.FINANCIER])
    response = client.get(
        f"/contracts/{world.contract.identifier}/settlements/{world.final.pk}/bundle.json"
    )
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    return response.content


def _verify(*args: str):
    return CliRunner().invoke(app, ["verify", *args])


def test_a_downloaded_bundle_verifies_and_fails_after_any_byte_change(
    final_world, client, tmp_path
):
    world = final_world
    data = _download(client, world)
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(data)
    result = _verify(str(bundle))
    assert result.exit_code == 0, result.output
    # The signer is the evaluator whose public key the platform shows.
    key = world.final.key_fingerprint
    pem = client.get(f"/keys/{key}.pem")
    keys_page = client.get("/keys/").content.decode()
    assert key in keys_page
    (tmp_path / "public.pem").write_bytes(pem.content)
    assert _verify(str(bundle), "--public-key", str(tmp_path / "public.pem")).exit_code == 0
    # The bundle's ledger slice continues the platform's ledger.
    from utfall.platform.settlements.ledger import ledger_jsonl

    (tmp_path / "ledger.jsonl").write_bytes(ledger_jsonl())
    assert _verify(str(bundle), "--ledger", str(tmp_path / "ledger.jsonl")).exit_code == 0

    document = json.loads(data)
    # The facts the statement recorded (here: none entered, every input from the data).
    assert "Settlement of norrkoping-placed-children" in document["facts"]["text"]
    assert "period 2016-02-15 – 2021-12-31" in document["facts"]["text"]
    # One changed byte in each part of the bundle, in turn: verification fails.
    lines = data.split(b"\n")
    for index, line in enumerate(lines):
        if not line.startswith(b'"'):
            continue
        position = line.rfind(b"0")
        if position < 0:
            position = len(line) // 2
        changed = bytearray(line)
        changed[position] = ord("1") if changed[position] != ord("1") else ord("2")
        tampered = b"\n".join([*lines[:index], bytes(changed), *lines[index + 1 :]])
        bundle.write_bytes(tampered)
        outcome = _verify(str(bundle))
        assert outcome.exit_code in (1, 2), (line[:40], outcome.output)
    # And a byte changed anywhere at all (here: every 997th byte).
    for position in range(0, len(data), 997):
        changed = bytearray(data)
        changed[position] = (changed[position] + 1) % 256
        bundle.write_bytes(bytes(changed))
        assert _verify(str(bundle)).exit_code in (1, 2), position
