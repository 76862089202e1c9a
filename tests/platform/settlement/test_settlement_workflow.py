"""The workflow through the services: draft from the imported data → review → sign-off → final;
corrections; what is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from platform_helpers import totp_code

from utfall.errors import FindingsError, UserError

PERIOD = {"period_start": dt.date(2016, 2, 15), "period_end": dt.date(2021, 12, 31)}
INVESTED = {"invested_sek": ("10000000", "sum of the financier's drawdowns, LSV statement")}


def _start(world, **extra):
    from utfall.platform.settlements.services import settlement_start

    return settlement_start(
        contract=world.contract,
        actor=world.evaluator,
        **{**PERIOD, "manual_inputs": INVESTED, **extra},
    )


@pytest.mark.django_db
def test_a_draft_is_computed_from_the_imported_data(settled_world):
    world = settled_world
    draft = _start(world)
    assert draft.status == "draft"
    inputs = draft.result["inputs"]
    assert Decimal(inputs["net_savings_sek"]) != 0
    assert inputs["invested_sek"] == "10000000.00"
    assert isinstance(inputs["school_results_met"], bool)
    tree = draft.result["explanation"]["repayment"]

    # The evaluated saving shows its estimate and confidence interval in the tree.
    def find(node, name):
        if node["name"] == name:
            return node
        for child in node["children"]:
            found = find(child, name)
            if found:
                return found
        return None

    saving = find(tree, "net_savings_sek")
    assert saving["details"]["method"] == "historical_reference"
    assert len(saving["details"]["ci_95"]) == 2
    assert saving["details"]["data"] == "costs.parquet"
    assert draft.manual_inputs["invested_sek"]["reason"].startswith("sum of")


@pytest.mark.django_db
def test_manual_inputs_need_a_value_and_a_reason(settled_world):
    from utfall.platform.settlements.services import settlement_start

    with pytest.raises(FindingsError) as error:
        settlement_start(
            contract=settled_world.contract,
            actor=settled_world.evaluator,
            manual_inputs={"invested_sek": ("10000000", " "), "net_savings_sek": ("1", "guess")},
            **PERIOD,
        )
    codes = {(f.path, f.code) for f in error.value.findings}
    assert codes == {("invested_sek", "reason-missing"), ("net_savings_sek", "computed-input")}


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
        manual_inputs={"invested_sek": ("9500000", "corrected LSV statement")},
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
    from utfall.platform.settlements.models import LedgerRecord

    kinds = list(
        LedgerRecord.objects.filter(
            contract_identifier=settled_world.contract.identifier
        ).values_list("kind", "attributes__what")
    )
    assert ("contract_version", None) in kinds
    assert {"participants", "cost_records", "price_index", "school_results"} <= {
        what for kind, what in kinds if kind == "import"
    }


@pytest.mark.django_db
def test_the_platform_settles_as_the_cli_does_on_the_same_synthetic_data(
    settled_world, specs_dir, tmp_path
):
    """The imported records, exported again, give the figures ``utfall settle --data-dir``
    gives on the generator's own files (same seed): nothing is lost or changed on the way."""
    import shutil

    from settlement_helpers import CONTRACT

    from utfall.services.contracts import contract_settle
    from utfall.synth import generate

    generate("norrkoping", tmp_path / "out/synth/norrkoping", size=20, seed=11)
    (tmp_path / "examples/contracts").mkdir(parents=True)
    shutil.copytree(specs_dir, tmp_path / "examples/evaluations")
    contract = tmp_path / "examples/contracts" / CONTRACT.name
    shutil.copy(CONTRACT, contract)
    facts = tmp_path / "facts.yaml"
    facts.write_text('invested_sek: "10000000"\n', encoding="utf-8")
    cli = contract_settle(
        contract_path=contract, facts_path=facts, data_dir=tmp_path / "out/synth/norrkoping"
    ).to_json()
    platform = _start(settled_world).result
    assert platform["inputs"] == cli["inputs"]
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
