"""Settlements are generic over the declaration: a contract nobody's code knows — households
and home visits — is imported, settled (one input from its data, one entered with a
reason), signed, and its bundle verifies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from platform_helpers import UNKNOWN_CONTRACT, csv_text, totp_code, upload
from settlement_helpers import build_world, clean_database
from typer.testing import CliRunner

from utfall.errors import FindingsError


@pytest.fixture(scope="module")
def households(django_db_setup, django_db_blocker):
    """The contract nobody knows, with four households and their visits imported."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.imports.services import import_file

    with django_db_blocker.unblock():
        world = build_world(
            text=UNKNOWN_CONTRACT, with_data=False, contract=Path("a-contract-nobody-knows.yaml")
        )
        provider = world.users[Role.PROVIDER]
        people = csv_text(
            ["reference", "joined", "district"],
            [
                ["H-1", "2024-01-10", "north"],
                ["H-2", "2024-02-01", "south"],
                ["H-3", "2024-02-15", "south"],
                ["H-4", "2025-05-01", "north"],
            ],
        )
        import_file(
            contract=world.contract,
            table="participants",
            name="households.csv",
            content=people.encode(),
            actor=provider,
        )
        visits = csv_text(
            ["reference", "visited", "minutes", "kept"],
            [
                ["H-1", "2024-01-20", 40, "ja"],
                ["H-1", "2024-03-02", 35, "ja"],
                ["H-2", "2024-02-10", 0, "nej"],
                ["H-3", "2024-03-01", 50, "ja"],
                ["H-4", "2025-06-01", 30, "ja"],
            ],
        )
        import_file(
            contract=world.contract,
            table="visits",
            name="visits.csv",
            content=visits.encode(),
            actor=world.users[Role.COMMISSIONER],
        )
    yield world
    with django_db_blocker.unblock():
        clean_database()


BONUS = {"bonus_sek": ("750", "agreed at the council meeting of 2024-12-01, minutes §4")}


def _start(world, **extra):
    from utfall.platform.settlements.services import settlement_start

    return settlement_start(
        contract=world.contract,
        actor=world.evaluator,
        period_start=dt.date(2024, 1, 1),
        period_end=dt.date(2024, 12, 31),
        **{"manual_inputs": BONUS, **extra},
    )


@pytest.mark.django_db
def test_a_contract_nobody_knows_settles_from_its_stored_rows(households):
    draft = _start(households)
    # Three kept visits in 2024 (the 2025 one is after the period), 1000 each, and the bonus.
    assert draft.result["inputs"]["visits_kept"] == "3"
    assert draft.result["outputs"]["paid_sek"] == "3750.00"
    assert draft.manual_inputs["bonus_sek"]["reason"].startswith("agreed at the council")


@pytest.mark.django_db
def test_entered_inputs_need_a_value_and_a_reason_and_computed_ones_are_refused(households):
    with pytest.raises(FindingsError) as error:
        _start(
            households,
            manual_inputs={"bonus_sek": ("750", " "), "visits_kept": ("9", "counted by hand")},
        )
    codes = {(f.path, f.code) for f in error.value.findings}
    assert codes == {("bonus_sek", "reason-missing"), ("visits_kept", "computed-input")}
    with pytest.raises(FindingsError) as error:
        _start(households, manual_inputs={})
    assert {(f.path, f.code) for f in error.value.findings} == {("bonus_sek", "input-missing")}


@pytest.mark.django_db
def test_a_contract_nobody_knows_is_signed_and_its_bundle_verifies(households, tmp_path):
    from utfall.cli.main import app
    from utfall.platform.settlements.ledger import ledger_jsonl, ledger_verify
    from utfall.platform.settlements.services import settlement_review_start, settlement_sign

    draft = _start(households)
    settlement_review_start(settlement=draft, actor=households.evaluator)
    final = settlement_sign(
        settlement=draft, actor=households.evaluator, totp_code=totp_code(households.evaluator)
    )
    assert final.status == "signed"
    assert ledger_verify() == []
    assert "minutes §4" in final.bundle  # the reason is signed with the figure
    bundle = tmp_path / "bundle.json"
    bundle.write_text(final.bundle, encoding="utf-8")
    (tmp_path / "ledger.jsonl").write_bytes(ledger_jsonl())
    runner = CliRunner()
    result = runner.invoke(app, ["verify", str(bundle), "--ledger", str(tmp_path / "ledger.jsonl")])
    assert result.exit_code == 0, result.output


@pytest.mark.django_db
def test_a_new_import_after_review_stops_the_sign_off(households):
    from utfall.platform.contracts.models import Role
    from utfall.platform.imports.services import import_commit, import_upload, import_validate
    from utfall.platform.settlements.services import settlement_review_start, settlement_sign

    draft = _start(households)
    settlement_review_start(settlement=draft, actor=households.evaluator)
    user = households.users[Role.COMMISSIONER]
    batch = import_upload(
        contract=households.contract,
        table="visits",
        uploaded=upload(
            "late.csv",
            csv_text(
                ["reference", "visited", "minutes", "kept"], [["H-2", "2024-11-30", 20, "ja"]]
            ),
        ),
        actor=user,
    )
    import_commit(batch=import_validate(batch=batch, actor=user), actor=user)
    from utfall.errors import UserError

    with pytest.raises(UserError, match="the data changed since this statement was computed"):
        settlement_sign(
            settlement=draft, actor=households.evaluator, totp_code=totp_code(households.evaluator)
        )
