"""keygen → settle --sign --bundle → verify, through the installed console script.

Each call starts the console script (about a second or two), so the cases are
grouped; tests/services/test_bundles*.py cover the same ground in-process in depth.
"""

from __future__ import annotations

import json
import stat

import pytest

NORRKOPING = "examples/contracts/norrkoping-placed-children.yaml"
FACTS = "examples/facts/norrkoping-placed-children.yaml"


@pytest.fixture(scope="module")
def signed(utfall, tmp_path_factory):
    """A key pair and a bundle of the Norrköping example, made through the CLI."""
    work = tmp_path_factory.mktemp("cli")
    keys = work / "keys"
    made = utfall("keygen", "--out", keys, "--json")
    assert made.returncode == 0, made.stderr
    bundle = work / "norrkoping.bundle.json"
    settled = utfall(
        "settle",
        NORRKOPING,
        "--facts",
        FACTS,
        "--sign",
        keys / "private.pem",
        "--bundle",
        bundle,
        "--json",
    )
    assert settled.returncode == 0, settled.stdout + settled.stderr
    return {
        "keys": keys,
        "bundle": bundle,
        "keygen": json.loads(made.stdout),
        "settle": json.loads(settled.stdout),
    }


def test_keygen_and_settle(signed, utfall):
    keys = signed["keys"]
    assert stat.S_IMODE((keys / "private.pem").stat().st_mode) == 0o600
    assert (keys / "public.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    fingerprint = signed["keygen"]["public_key_sha256"]
    assert signed["settle"]["bundle"]["public_key_sha256"] == fingerprint
    assert signed["settle"]["payments"][1]["amount_sek"] == "850000.00"
    again = utfall("keygen", "--out", keys)
    assert again.returncode == 2
    assert "already there" in again.stderr


def test_verify_with_the_embedded_key_says_what_it_proves(signed, utfall, tmp_path):
    result = utfall("verify", signed["bundle"], "--extract", tmp_path / "parts")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified" in result.stdout
    assert "embedded in the bundle" in result.stdout
    assert "not who signed it" in result.stdout
    statement = json.loads((tmp_path / "parts/statement.json").read_text(encoding="utf-8"))
    assert statement["contract"] == "norrkoping-placed-children"


def test_verify_with_the_public_key(signed, utfall):
    result = utfall(
        "verify", signed["bundle"], "--public-key", signed["keys"] / "public.pem", "--json"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["key"] == {"source": "given", "sha256": signed["keygen"]["public_key_sha256"]}
    assert [p["amount_sek"] for p in report["payments"]] == ["10000000.00", "850000.00"]
    assert all(check["ok"] for check in report["checks"])
    assert not any("not who signed it" in note for note in report["notes"])


def test_sign_and_bundle_go_together(utfall, tmp_path):
    result = utfall("settle", NORRKOPING, "--facts", FACTS, "--bundle", tmp_path / "b.json")
    assert result.returncode == 2
    assert "--sign and --bundle go together" in result.stderr


def test_a_changed_payment_exits_1_and_names_it(signed, utfall, tmp_path):
    text = signed["bundle"].read_text(encoding="utf-8")
    tampered = tmp_path / "tampered.json"
    tampered.write_text(
        text.replace('"amount_sek":"850000.00"', '"amount_sek":"950000.00"', 1), encoding="utf-8"
    )
    result = utfall("verify", tampered)
    assert result.returncode == 1
    assert "verification failed" in result.stderr
    assert "payments[premium].amount_sek" in result.stderr


def test_an_unreadable_bundle_exits_2(utfall, tmp_path):
    garbage = tmp_path / "garbage.json"
    garbage.write_text("this is not a bundle", encoding="utf-8")
    result = utfall("verify", garbage)
    assert result.returncode == 2
    assert "not a readable settlement bundle" in result.stderr


@pytest.mark.parametrize("where", [0.995])
def test_a_flipped_byte_never_exits_0(signed, utfall, tmp_path, where):
    data = bytearray(signed["bundle"].read_bytes())
    position = int(len(data) * where)
    data[position] ^= 0x01
    flipped = tmp_path / "flipped.json"
    flipped.write_bytes(bytes(data))
    result = utfall("verify", flipped)
    assert result.returncode in (1, 2), result.stdout
