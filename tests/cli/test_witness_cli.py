"""``utfall witness`` end to end against a live platform on 127.0.0.1.

The witness cosigns heads that extend the last one it saw, and reports a split view
(exit 1, state kept) when the operator rewrites the stored history, whether the log
then shows another head of the same size or a larger one that does not extend it.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "utfall.platform.settings.test")

import django

django.setup()

import pytest  # noqa: E402

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _append(count: int, start: int = 0) -> None:
    from utfall.platform.settlements.ledger import ledger_append

    for index in range(start, start + count):
        ledger_append(
            kind="import",
            subject=f"import {index}",
            data_sha256=f"{index:064x}",
            actor="importer",
            contract_identifier="norrkoping",
        )


def _rewrite_history(from_sequence: int) -> None:
    """What an operator with the database can do: change an entry and re-chain every entry
    after it, so that the hash chain holds again; and drop the signed heads."""
    from utfall.core.ledger import new_entry
    from utfall.platform.settlements.models import LedgerRecord, LogCheckpoint

    previous = None
    for record in LedgerRecord.objects.order_by("sequence"):
        entry = record.entry()
        if record.sequence >= from_sequence:
            subject = entry.subject + (" (rewritten)" if record.sequence == from_sequence else "")
            entry = new_entry(
                previous,
                kind=entry.kind,
                subject=subject,
                data_sha256=entry.data_sha256,
                actor=entry.actor,
                recorded_at=entry.recorded_at,
                attributes=entry.attributes,
                contract=entry.contract,
            )
            LedgerRecord.objects.filter(pk=record.pk).update(
                subject=entry.subject, previous_hash=entry.previous_hash, hash=entry.hash
            )
        previous = entry
    LogCheckpoint.objects.all().delete()


@pytest.fixture
def witness(utfall, live_server, tmp_path):
    from django.contrib.auth import get_user_model

    from utfall.platform.organisations.services import api_token_create
    from utfall.platform.settlements.transparency import log_verifier_key

    user = get_user_model().objects.create_user(username="auditor", password="pw-test-123")
    _record, token = api_token_create(user=user, name="witness")
    keys = tmp_path / "witness-key"
    assert utfall("keygen", "--out", keys).returncode == 0
    state = tmp_path / "state.json"
    log_key = log_verifier_key()

    def run(*extra: str, pin: bool = True):
        args = [
            "witness",
            f"{live_server.url.replace('localhost', '127.0.0.1')}/api",
            "--state",
            state,
            "--key",
            keys / "private.pem",
            "--token",
            token,
            "--name",
            "kommunrevisionen",
            *extra,
        ]
        if pin:
            args += ["--log-key", log_key]
        return utfall(*args)

    run.state = state
    return run


def test_the_witness_cosigns_heads_that_extend_the_last_one(witness):
    from utfall.platform.settlements.models import WitnessCosignature
    from utfall.platform.settlements.transparency import log_checkpoint, log_checkpoint_note

    _append(3)
    first = witness("--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["size"] == 3 and json.loads(first.stdout)["posted"]
    assert json.loads(witness.state.read_text())["checkpoint"].split("\n")[1] == "3"
    stored = WitnessCosignature.objects.get()
    assert stored.name == "kommunrevisionen" and stored.checkpoint.size == 3
    assert stored.line in log_checkpoint_note(log_checkpoint())
    _append(4, start=3)
    second = witness(pin=False)  # the key is pinned in the state from now on
    assert second.returncode == 0, second.stderr
    assert "from size 3 to size 7" in second.stdout
    assert WitnessCosignature.objects.count() == 2


def test_a_rewritten_history_of_the_same_size_is_reported_as_a_split_view(witness):
    _append(5)
    assert witness().returncode == 0
    seen = witness.state.read_text()
    _rewrite_history(2)
    from utfall.platform.settlements.ledger import ledger_verify

    assert ledger_verify() == []  # the chain alone cannot tell
    result = witness()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "split view: two different heads of size 5" in result.stderr
    assert witness.state.read_text() == seen  # the state keeps the head it trusted


def test_a_larger_head_that_does_not_extend_the_last_one_is_reported(witness):
    _append(4)
    assert witness().returncode == 0
    _rewrite_history(1)
    _append(3, start=4)
    result = witness()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "does not extend the one this witness saw before" in result.stderr


def test_a_head_signed_with_another_key_is_refused(witness, tmp_path):
    from utfall.platform.settlements.models import LogCheckpoint, LogKey

    _append(2)
    assert witness().returncode == 0
    LogCheckpoint.objects.all().delete()
    LogKey.objects.all().delete()  # the operator swaps the log key
    _append(1, start=2)
    result = witness()
    assert result.returncode == 1
    assert "is not signed by the pinned log key" in result.stderr


def test_bad_input_exits_two(witness, utfall, tmp_path):
    _append(1)
    result = witness(pin=False)  # no state yet and no --log-key
    assert result.returncode == 2 and "give --log-key" in result.stderr
    witness.state.write_text("{not json")
    result = witness(pin=False)
    assert result.returncode == 2 and "not JSON" in result.stderr
