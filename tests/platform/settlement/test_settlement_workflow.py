"""The workflow through the services: draft from the stored rows → review → sign-off → final;
corrections; what is refused; and the same figures as ``utfall settle --data-dir``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from platform_helpers import totp_code

from utfall.errors import FindingsError, UserError

PERIOD = {"period_start": dt.date(2016, 2, 15), "period_end": dt.date(2021, 12, 31)}


def _start(world, **extra):
    from utfall.platform.settlements.services import settlement_start

    return settlement_start(contract=world.contract, actor=world.evaluator, **{**PERIOD, **extra})


def _find(node, name):
    if node["name"] == name:
        return node
    for child in node["children"]:
        found = _find(child, name)
        if found:
            return found
    return None


@pytest.mark.django_db
def test_a_draft_is_computed_from_the_stored_rows(settled_world):
    from utfall.platform.tables import StoredTables

    world = settled_world
    draft = _start(world)
    assert draft.status == "draft"
    inputs = draft.result["inputs"]
    assert Decimal(inputs["net_savings_sek"]) != 0
    assert Decimal(inputs["invested_sek"]) > 0  # the drawdowns, from the cost reports
    assert isinstance(inputs["delivered_as_agreed"], bool)  # the evaluator's attestations
    assert isinstance(draft.result["outputs"]["school_results_met_flag"], bool)
    assert draft.manual_inputs == {}
    tree = draft.result["explanation"]["repayment"]
    # The evaluated saving shows its estimate, its interval and the tables it read.
    saving = _find(tree, "net_savings_sek")
    details = saving["details"]
    assert details["method"] == "historical_reference"
    assert len(details["ci_95"]) == 2
    assert details["data_as_of"] == "2021-12-31"
    tables = StoredTables(world.contract)
    assert set(details["tables"]) == {"cost_records", "participants", "price_index"}
    assert details["tables"]["price_index"] == tables.digest("price_index")


@pytest.mark.django_db
def test_data_after_the_period_is_not_used(settled_world):
    """A statement for an earlier period settles on the rows dated up to its end."""
    early = _start(settled_world, period_end=dt.date(2019, 12, 31))
    late = _start(settled_world)
    assert Decimal(early.result["inputs"]["invested_sek"]) < Decimal(
        late.result["inputs"]["invested_sek"]
    )


@pytest.mark.django_db
def test_computed_inputs_cannot_be_entered(settled_world):
    from utfall.platform.settlements.services import settlement_start

    with pytest.raises(FindingsError) as error:
        settlement_start(
            contract=settled_world.contract,
            actor=settled_world.evaluator,
            manual_inputs={"net_savings_sek": ("1", "guess")},
            **PERIOD,
        )
    codes = {(f.path, f.code) for f in error.value.findings}
    assert codes == {("net_savings_sek", "computed-input")}


@pytest.mark.django_db
def test_review_sign_off_and_correction(settled_world):
    from utfall.platform.contracts.models import Role
    from utfall.platform.settlements.ledger import ledger_verify
    from utfall.platform.settlements.models import LedgerRecord
    from utfall.platform.settlements.services import (
        settlement_comment,
        settlement_review_start,
        settlement_sign,
    )

    world = settled_world
    draft = _start(world)
    with pytest.raises(UserError, match="review"):
        settlement_sign(
            settlement=draft, actor=world.evaluator, totp_code=totp_code(world.evaluator)
        )
    settlement_review_start(settlement=draft, actor=world.evaluator)
    comment = settlement_comment(
        settlement=draft, actor=world.users[Role.FINANCIER], text="Drawdowns agree with ours."
    )
    assert comment.roles == "financier"
    with pytest.raises(UserError, match="two-factor"):
        settlement_sign(settlement=draft, actor=world.evaluator, totp_code="000000")
    before = LedgerRecord.objects.count()
    final = settlement_sign(
        settlement=draft, actor=world.evaluator, totp_code=totp_code(world.evaluator)
    )
    assert final.status == "signed" and final.signed_by == world.evaluator
    assert final.bundle and final.statement["ledger_head"] == LedgerRecord.objects.last().hash
    assert LedgerRecord.objects.count() > before
    assert ledger_verify() == []
    # Final: nothing changes it any more.
    with pytest.raises(UserError, match="final"):
        settlement_comment(settlement=final, actor=world.evaluator, text="late")
    with pytest.raises(UserError, match="final"):
        settlement_review_start(settlement=final, actor=world.evaluator)
    with pytest.raises(UserError, match="final"):
        settlement_sign(
            settlement=final, actor=world.evaluator, totp_code=totp_code(world.evaluator)
        )
    # A correction references the final statement with a reason.
    with pytest.raises(UserError, match="reason"):
        _start(world, supersedes=final)
    correction = _start(
        world,
        supersedes=final,
        correction_reason="Drawdowns were 9.5 MSEK",
    )
    assert correction.supersedes == final
    settlement_review_start(settlement=correction, actor=world.evaluator)
    signed = settlement_sign(
        settlement=correction, actor=world.evaluator, totp_code=totp_code(world.evaluator)
    )
    assert "Drawdowns were 9.5 MSEK" in signed.bundle  # the reason is signed with it
    from utfall.core.ledger import statement_from_dict

    # The signed statement names the one it corrects by its SHA-256.
    assert signed.statement["supersedes"] == statement_from_dict(final.statement).sha256()
    final.refresh_from_db()
    assert final.status == "signed" and final.bundle  # the old one is untouched


@pytest.mark.django_db
def test_imports_and_contract_versions_are_in_the_ledger(settled_world):
    from utfall.platform.imports.models import TableSegment
    from utfall.platform.settlements.models import LedgerRecord

    records = LedgerRecord.objects.filter(contract_identifier=settled_world.contract.identifier)
    kinds = list(records.values_list("kind", "attributes__what"))
    assert ("contract_version", None) in kinds
    assert {"participants", "cost_records", "price_index", "school_results", "cost_reports"} <= {
        what for kind, what in kinds if kind == "import"
    }
    # Each import entry records the SHA-256 of the rows it stored.
    stored = set(TableSegment.objects.values_list("sha256", flat=True))
    recorded = {r.attributes["rows_sha256"] for r in records.filter(kind="import")}
    assert stored == recorded


@pytest.mark.django_db
def test_the_platform_settles_as_the_cli_does_on_the_same_synthetic_files(settled_world, tmp_path):
    """The stored rows give to the öre what ``utfall settle --data-dir`` gives on the
    generator's own files (same scenario and seed): nothing is lost or changed on the way."""
    import json

    from settlement_helpers import SEED, SIZE, synthesise
    from typer.testing import CliRunner

    from utfall.cli.main import app

    data = synthesise("norrkoping", tmp_path / "synth", size=SIZE, seed=SEED)
    contract = tmp_path / "norrkoping-placed-children.yaml"
    contract.write_text(settled_world.text, encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["settle", str(contract), "--data-dir", str(data), "--as-of", "2021-12-31", "--json"],
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    platform = _start(settled_world).result
    assert platform["inputs"] == cli["inputs"]
    assert platform["outputs"] == cli["outputs"]
    assert platform["payments"] == cli["payments"]


@pytest.mark.django_db
def test_two_factor_codes_cannot_be_guessed(settled_world):
    from django.core.cache import cache

    from utfall.platform.settlements.services import settlement_review_start, settlement_sign

    world = settled_world
    draft = _start(world)
    settlement_review_start(settlement=draft, actor=world.evaluator)
    good = totp_code(world.evaluator)
    for wrong in ("000000", "111111", "222222", "333333", "444444"):
        with pytest.raises(UserError, match="wrong"):
            settlement_sign(settlement=draft, actor=world.evaluator, totp_code=wrong)
    with pytest.raises(UserError, match="too many"):
        settlement_sign(settlement=draft, actor=world.evaluator, totp_code=good)
    draft.refresh_from_db()
    assert draft.status == "review"
    cache.clear()
