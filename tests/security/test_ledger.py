"""Attacks on the ledger (issue 14, "Ledger" and "The ledger as a transparency log").

Each test replays the attack against the real services, API and pages: an operator
who edits the database, appends after tampering, or hides a broken chain; a bundle
whose proof of inclusion was altered; hostile proof and cosignature requests.
"""

from __future__ import annotations

import base64
import json

import pytest
from settlement_helpers import build_world, clean_database, make_final

from utfall.core.ledger.merkle import entry_leaf, leaf_hash, verify_inclusion
from utfall.core.ledger.note import checkpoint_parse, note_parse

pytestmark = pytest.mark.django_db


def _append(count: int, *, contract: str = "contract-a") -> list:
    from utfall.platform.settlements.ledger import ledger_append

    return [
        ledger_append(
            kind="import",
            subject=f"import {index}",
            data_sha256=f"{index:064x}",
            actor="someone",
            contract_identifier=contract,
        )
        for index in range(count)
    ]


def _bearer(user) -> dict[str, str]:
    from utfall.platform.organisations.services import api_token_create

    _record, clear = api_token_create(user=user, name="ledger")
    return {"HTTP_AUTHORIZATION": f"Bearer {clear}"}


# ----------------------------------------------------------------------------- the chain


def test_changing_an_entrys_contract_identifier_in_the_database_breaks_the_ledger():
    from utfall.platform.settlements.ledger import ledger_verify
    from utfall.platform.settlements.models import LedgerRecord

    records = _append(3)
    assert ledger_verify() == []
    LedgerRecord.objects.filter(pk=records[1].pk).update(contract_identifier="contract-b")
    problems = ledger_verify()
    assert problems and problems[0].sequence == 1
    assert "does not match its hash" in problems[0].message


def test_entries_written_before_format_two_still_verify():
    from utfall.core.ledger import canonical_sha256
    from utfall.platform.settlements.ledger import ledger_verify
    from utfall.platform.settlements.models import LedgerRecord

    record = _append(1)[0]
    old = {
        k: v for k, v in record.as_dict().items() if k not in ("hash", "entry_version", "contract")
    }
    LedgerRecord.objects.filter(pk=record.pk).update(entry_version=1, hash=canonical_sha256(old))
    assert ledger_verify() == []
    _append(1)  # a format 2 entry continues a format 1 one
    assert ledger_verify() == []


def test_an_import_after_tampering_is_refused_and_appends_nothing():
    from utfall.platform.settlements.ledger import LedgerBroken, ledger_append
    from utfall.platform.settlements.models import LedgerRecord

    records = _append(3)
    LedgerRecord.objects.filter(pk=records[0].pk).update(subject="something else")
    with pytest.raises(LedgerBroken, match=r"the ledger does not hold \(ledger entry 0"):
        ledger_append(
            kind="import", subject="x", data_sha256="f" * 64, actor="a", contract_identifier="c"
        )
    assert LedgerRecord.objects.count() == 3


def test_removing_signed_entries_is_found_and_refuses_appends():
    from utfall.platform.settlements.ledger import LedgerBroken, ledger_append
    from utfall.platform.settlements.models import LedgerRecord
    from utfall.platform.settlements.selectors import ledger_status
    from utfall.platform.settlements.transparency import log_checkpoint

    records = _append(3)
    log_checkpoint()
    LedgerRecord.objects.filter(pk=records[2].pk).delete()  # the chain of 0..1 still holds
    status = ledger_status()
    assert not status["holds"] and "entries were removed" in status["problems"][0]
    with pytest.raises(LedgerBroken):
        ledger_append(kind="import", subject="x", data_sha256="f" * 64, actor="a")


def test_a_broken_chain_is_reported_on_the_keys_page_and_in_the_api(client, make_user):
    from utfall.platform.settlements.models import LedgerRecord

    user = make_user("party")
    records = _append(2)
    headers = _bearer(user)
    assert client.get("/api/ledger/status", **headers).json()["holds"] is True
    LedgerRecord.objects.filter(pk=records[0].pk).update(actor="nobody")
    status = client.get("/api/ledger/status", **headers).json()
    assert status["holds"] is False and "ledger entry 0" in status["problems"][0]
    client.force_login(user)
    page = client.get("/keys/")
    assert page.status_code == 200
    assert b'data-testid="ledger-broken"' in page.content
    assert b"ledger entry 0" in page.content
    # The log signs no head over a broken chain.
    refused = client.get("/api/ledger/checkpoint", **headers)
    assert refused.status_code == 400 and "does not hold" in refused.json()["message"]


# ----------------------------------------------------------------------------- proof endpoints


@pytest.mark.parametrize(
    "query",
    [
        "/api/ledger/proof/inclusion?sequence=abc",
        "/api/ledger/proof/inclusion?sequence=-1",
        "/api/ledger/proof/inclusion?sequence=5",
        "/api/ledger/proof/inclusion?sequence=0&size=99999999999",
        "/api/ledger/proof/consistency?first=3&second=2",
        "/api/ledger/proof/consistency?first=0&second=99999999999",
        "/api/ledger/proof/consistency?first=x&second=2",
    ],
)
def test_hostile_proof_requests_get_a_clear_error_not_a_500(client, make_user, query):
    headers = _bearer(make_user("party"))
    _append(3)
    answer = client.get(query, **headers)
    assert answer.status_code in (400, 422), answer.content
    assert answer.json()["message"]


def test_proofs_need_a_signed_in_party(client):
    _append(1)
    assert client.get("/api/ledger/checkpoint").status_code == 401


def test_served_proofs_verify_against_the_signed_head(client, make_user):
    headers = _bearer(make_user("party"))
    records = _append(5)
    note = client.get("/api/ledger/checkpoint", **headers).content.decode()
    text, _signatures = note_parse(note)
    head = checkpoint_parse(text)
    assert head.size == 5
    answer = client.get("/api/ledger/proof/inclusion?sequence=3", **headers).json()
    proof = [base64.b64decode(h) for h in answer["proof"]]
    leaf = leaf_hash(entry_leaf(records[3].entry()))
    assert verify_inclusion(3, 5, leaf, proof, head.root)


def test_a_forged_cosignature_is_refused(client, make_user):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from utfall.core.ledger.note import Checkpoint, note_cosign
    from utfall.services.witness import witness_key

    headers = _bearer(make_user("party"))
    _append(2)
    note = client.get("/api/ledger/checkpoint", **headers).content.decode()
    text, _ = note_parse(note)
    witness = Ed25519PrivateKey.generate()
    other = Ed25519PrivateKey.generate()

    def post(cosignature: str, key: str):
        return client.post(
            "/api/ledger/cosignatures",
            json.dumps({"cosignature": cosignature, "witness_key": key}),
            content_type="application/json",
            **headers,
        )

    signed_by_other = note_cosign(text, name="auditor", private_key=other, timestamp=1)
    answer = post(note + signed_by_other.line(), witness_key("auditor", witness))
    assert answer.status_code == 400 and "no valid cosignature" in answer.json()["message"]
    # A head the log never signed (another history) is refused and named a split view.
    forged = Checkpoint(checkpoint_parse(text).origin, 2, b"\x07" * 32).text()
    line = note_cosign(forged, name="auditor", private_key=witness, timestamp=1).line()
    answer = post(forged + "\n" + line, witness_key("auditor", witness))
    assert answer.status_code == 400 and "split view" in answer.json()["message"]
    good = note_cosign(text, name="auditor", private_key=witness, timestamp=1).line()
    assert post(note + good, witness_key("auditor", witness)).status_code == 201
    assert good in client.get("/api/ledger/checkpoint", **headers).content.decode()


# ----------------------------------------------------------------------------- sign-off


@pytest.fixture(scope="module")
def final_world(django_db_setup, django_db_blocker):
    """The Norrköping world with one signed statement."""
    with django_db_blocker.unblock():
        world = build_world()
        world.final = make_final(world)
    yield world
    with django_db_blocker.unblock():
        clean_database()


def test_a_signed_bundle_carries_an_inclusion_proof_that_verifies_offline(final_world):
    from utfall.platform.settlements.transparency import log_verifier_key
    from utfall.services.bundles import bundle_render, bundle_verify

    raw = final_world.final.bundle.encode("utf-8")
    log_key = log_verifier_key()
    report = bundle_verify(raw, log_key=log_key, recompute=False)
    assert report.ok, report.differences
    check = next(c for c in report.checks if c.name == "transparency log")
    assert check.ok and "signed by" in check.detail
    # An altered proof, or another log's key, does not verify.
    data = json.loads(raw)
    data["transparency"]["proof"] = list(reversed(data["transparency"]["proof"]))
    changed = bundle_verify(bundle_render(data), log_key=log_key, recompute=False)
    if len(data["transparency"]["proof"]) > 1:
        assert any("transparency log" in d for d in changed.differences)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from utfall.core.ledger import public_key_raw
    from utfall.core.ledger.note import verifier_key

    other = verifier_key(
        checkpoint_parse(note_parse(data["transparency"]["checkpoint"])[0]).origin,
        public_key_raw(Ed25519PrivateKey.generate()),
    )
    foreign = bundle_verify(raw, log_key=other, recompute=False)
    assert any("not signed by log key" in d for d in foreign.differences)


def test_a_bundle_without_a_proof_still_verifies_and_says_so(final_world):
    from utfall.services.bundles import bundle_render, bundle_verify

    data = json.loads(final_world.final.bundle)
    del data["transparency"]
    report = bundle_verify(bundle_render(data), recompute=False)
    assert report.ok, report.differences
    assert any("no transparency-log proof" in note for note in report.notes)


def test_sign_off_after_tampering_is_refused_and_appends_nothing(final_world):
    import datetime as dt

    from platform_helpers import totp_code
    from settlement_helpers import PERIOD

    from utfall.errors import UserError
    from utfall.platform.settlements.ledger import ledger_verify
    from utfall.platform.settlements.models import LedgerRecord
    from utfall.platform.settlements.services import (
        settlement_review_start,
        settlement_sign,
        settlement_start,
    )

    draft = settlement_start(
        contract=final_world.contract,
        actor=final_world.evaluator,
        period_start=dt.date.fromisoformat(PERIOD["period_start"]),
        period_end=dt.date.fromisoformat(PERIOD["period_end"]),
    )
    settlement_review_start(settlement=draft, actor=final_world.evaluator)
    first = LedgerRecord.objects.order_by("sequence").first()
    original = first.subject
    count = LedgerRecord.objects.count()
    LedgerRecord.objects.filter(pk=first.pk).update(subject="rewritten")
    try:
        with pytest.raises(UserError, match="the ledger does not hold"):
            settlement_sign(
                settlement=draft,
                actor=final_world.evaluator,
                totp_code=totp_code(final_world.evaluator),
            )
        assert LedgerRecord.objects.count() == count
    finally:
        LedgerRecord.objects.filter(pk=first.pk).update(subject=original)
    assert ledger_verify() == []


def test_a_sign_off_error_does_not_show_a_server_path(final_world, monkeypatch):
    import datetime as dt

    from platform_helpers import totp_code
    from settlement_helpers import PERIOD

    from utfall.errors import UserError
    from utfall.platform.settlements import services

    draft = services.settlement_start(
        contract=final_world.contract,
        actor=final_world.evaluator,
        period_start=dt.date.fromisoformat(PERIOD["period_start"]),
        period_end=dt.date.fromisoformat(PERIOD["period_end"]),
    )
    services.settlement_review_start(settlement=draft, actor=final_world.evaluator)
    secret = "/tmp/utfall-xq12/media/imports/3/children.parquet"

    def unreadable(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", secret)

    monkeypatch.setattr(services, "bundle_create", unreadable)
    with pytest.raises(UserError) as raised:
        services.settlement_sign(
            settlement=draft,
            actor=final_world.evaluator,
            totp_code=totp_code(final_world.evaluator),
        )
    assert "/tmp" not in raised.value.message and "server log" in raised.value.message

    def refused(*args, **kwargs):
        raise UserError(f"{secret}: cannot be read")

    monkeypatch.setattr(services, "bundle_create", refused)
    with pytest.raises(UserError) as raised:
        services.settlement_sign(
            settlement=draft,
            actor=final_world.evaluator,
            totp_code=totp_code(final_world.evaluator),
        )
    assert "/tmp" not in raised.value.message
    assert "children.parquet: cannot be read" in raised.value.message


def test_utfall_verify_checks_the_proof_offline_and_refuses_another_logs_key(final_world, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from utfall.core.ledger import public_key_raw
    from utfall.core.ledger.note import verifier_key
    from utfall.platform.settlements.transparency import log_origin, log_verifier_key

    script = Path(sys.executable).with_name("utfall")
    bundle = tmp_path / "statement.bundle.json"
    bundle.write_text(final_world.final.bundle, encoding="utf-8")
    env = {"COLUMNS": "200", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}

    def verify(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), "verify", str(bundle), "--no-recompute", "--json", *extra],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    good = verify("--log-key", log_verifier_key())
    assert good.returncode == 0, good.stdout + good.stderr
    checks = {c["check"]: c for c in json.loads(good.stdout)["checks"]}
    assert checks["transparency log"]["ok"]
    other = verifier_key(log_origin(), public_key_raw(Ed25519PrivateKey.generate()))
    bad = verify("--log-key", other)
    assert bad.returncode == 1
    assert "not signed by log key" in bad.stdout


def test_an_import_after_tampering_is_refused_with_a_clear_message(final_world, tmp_path):
    from settlement_helpers import synthesise

    from utfall.errors import DataInvalid
    from utfall.platform.demo import demo_import_tables
    from utfall.platform.imports.models import TableSegment
    from utfall.platform.settlements.ledger import ledger_verify
    from utfall.platform.settlements.models import LedgerRecord

    # The world's own data (seed 11, 20 participants) without its participants and with one
    # row fewer per table: a new file that validates, as a re-export would be.
    folder = synthesise("norrkoping", tmp_path / "synth", size=20, seed=11)
    (folder / "participants.csv").unlink()
    for path in folder.glob("*.csv"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(lines[:-1]), encoding="utf-8")
    first = LedgerRecord.objects.order_by("sequence").first()
    original = first.subject
    entries, segments = LedgerRecord.objects.count(), TableSegment.objects.count()
    LedgerRecord.objects.filter(pk=first.pk).update(subject="rewritten by the operator")
    try:
        with pytest.raises(DataInvalid) as raised:
            demo_import_tables(final_world.contract, folder, final_world.users, lambda _t: None)
        found = [f.as_dict() for f in raised.value.findings]
        assert found[0]["code"] == "ledger-broken"
        assert "the ledger does not hold (ledger entry 0" in found[0]["message"]
        assert LedgerRecord.objects.count() == entries
        assert TableSegment.objects.count() == segments
    finally:
        LedgerRecord.objects.filter(pk=first.pk).update(subject=original)
    assert ledger_verify() == []
