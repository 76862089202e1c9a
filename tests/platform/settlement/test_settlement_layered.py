"""Layered contracts on the platform (issue 17): a downstream statement takes its upstream
figures from the upstream contract's signed statement, and refuses without one; the link is
signed with the figures and shown on both statements' pages.

Seed 004: "20% av Iris Hadars ersättning avhängig förbättrade skolutfall" – the provider's
pay follows the outcome contract's decision, so the provider contract is settled and signed
after the outcome contract. The contracts here are generic (nobody's code knows them).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from platform_helpers import totp_code
from settlement_helpers import add_parties, build_world, make_final

from utfall.errors import UserError

pytestmark = pytest.mark.django_db

UPSTREAM = """
id: an-outcome-contract
title: Ett utfallskontrakt
version: "1"
parties:
  - {id: town, name: Kommunen, role: commissioner}
  - {id: fund, name: Finansiären, role: financier}
  - {id: judge, name: Utvärderaren, role: evaluator}
inputs:
  results_met: {type: boolean, label: {sv: Resultaten nådda, en: Results met}}
  saved_sek: {type: money, label: {sv: Besparing, en: Saving}}
outputs:
  repaid_sek: {type: money, formula: "max(saved_sek, 0)", label: {sv: Återbetalning, en: Repayment}}
payments:
  - {id: repay, from: town, to: fund, label: Återbetalning, amount: repaid_sek}
"""

DOWNSTREAM = """
id: a-provider-contract
title: Ett leverantörskontrakt
version: "1"
parties:
  - {id: town, name: Kommunen, role: commissioner}
  - {id: firm, name: Leverantören, role: provider}
  - {id: judge, name: Utvärderaren, role: evaluator}
inputs:
  delivered: {type: boolean, label: {sv: Levererat, en: Delivered}}
  improved:
    type: boolean
    label: {sv: Förbättrade resultat, en: Improved results}
    from_contract: {contract: an-outcome-contract, input: results_met}
  upstream_repaid_sek:
    type: money
    label: {sv: Återbetalat i utfallskontraktet, en: Repaid in the outcome contract}
    from_contract: {contract: an-outcome-contract, output: repaid_sek}
outputs:
  pay_sek:
    type: money
    formula: "(if delivered then 800 else 0) + (if improved then 200 else 0)"
    label: {sv: Ersättning, en: Pay}
payments:
  - {id: fee, from: town, to: firm, label: Arvode, amount: pay_sek}
"""

PERIOD = {"period_start": dt.date(2024, 1, 1), "period_end": dt.date(2024, 12, 31)}
DELIVERED = {"delivered": ("ja", "the provider's activity report of 2024-12-31")}


@pytest.fixture
def worlds():
    """Both contracts, every role a party of each; the same people."""
    from utfall.platform.contracts.models import Role
    from utfall.platform.contracts.services import contract_create

    world = build_world(text=UPSTREAM, with_data=False, contract=Path("upstream.yaml"))
    upstream = world.contract
    world.contract = contract_create(
        text=DOWNSTREAM,
        organisation=world.organisations[Role.COMMISSIONER],
        actor=world.users[Role.COMMISSIONER],
        file_name="downstream.yaml",
    )
    add_parties(world)
    world.downstream, world.upstream = world.contract, upstream
    return world


def _start(world, contract):
    from utfall.platform.settlements.services import settlement_start

    return settlement_start(
        contract=contract, actor=world.evaluator, manual_inputs=DELIVERED, **PERIOD
    )


def _sign_upstream(world, saved="1500000"):
    world.contract = world.upstream
    final = make_final(
        world,
        period_start="2024-01-01",
        period_end="2024-12-31",
        manual_inputs={
            "results_met": ("ja", "the evaluator's report"),
            "saved_sek": (saved, "the evaluator's report"),
        },
    )
    world.contract = world.downstream
    return final


def test_the_downstream_waits_for_a_signed_upstream_statement(worlds):
    from django.utils import translation

    from utfall.platform.messages import error_message
    from utfall.platform.settlements.services import (
        manual_inputs_needed,
        settlement_job_start,
        settlement_start,
    )

    with pytest.raises(UserError) as caught:
        _start(worlds, worlds.downstream)
    assert "sign off a statement of contract an-outcome-contract first" in caught.value.message
    with translation.override("sv"):
        said = error_message(caught.value, "sv")
    assert said.startswith("signera först en avräkning i kontraktet an-outcome-contract")
    with pytest.raises(UserError, match="an-outcome-contract first"):
        settlement_job_start(
            contract=worlds.downstream, actor=worlds.evaluator, manual_inputs=DELIVERED, **PERIOD
        )
    # A draft of the upstream is not enough: it must be signed off.
    settlement_start(
        contract=worlds.upstream,
        actor=worlds.evaluator,
        manual_inputs={"results_met": ("ja", "r"), "saved_sek": ("10", "r")},
        **PERIOD,
    )
    with pytest.raises(UserError, match="an-outcome-contract first"):
        _start(worlds, worlds.downstream)
    from utfall.platform.contracts.selectors import latest_version, parsed_version

    document = parsed_version(latest_version(worlds.downstream))
    assert [t.name for t in manual_inputs_needed(document)] == ["delivered"]


def test_the_downstream_statement_records_signs_and_shows_the_upstream_it_used(worlds, client):
    from django.conf import settings

    from utfall.platform.settlements.services import settlement_review_start, settlement_sign
    from utfall.services.bundles import bundle_verify

    upstream = _sign_upstream(worlds)
    draft = _start(worlds, worlds.downstream)
    assert draft.result["inputs"]["improved"] is True
    assert draft.result["inputs"]["upstream_repaid_sek"] == "1500000.00"
    assert [p["amount_sek"] for p in draft.result["payments"]] == ["1000.00"]
    origins = str(draft.result["explanation"])
    assert (
        f"from contract an-outcome-contract input results_met, settlement {upstream.sha256}"
        in origins
    )

    settlement_review_start(settlement=draft, actor=worlds.evaluator)
    final = settlement_sign(
        settlement=draft, actor=worlds.evaluator, totp_code=totp_code(worlds.evaluator)
    )
    assert final.status == "signed"
    report = bundle_verify(final.bundle.encode("utf-8"))
    assert report.ok, report.differences
    assert upstream.sha256 in final.bundle  # the link is in the signed facts

    client.force_login(worlds.evaluator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"
    down_page = client.get(
        f"/contracts/a-provider-contract/settlements/{final.pk}/"
    ).content.decode()
    assert 'data-testid="taken-from"' in down_page
    assert "Hämtat från andra kontrakt" in down_page
    assert "från kontraktet an-outcome-contract, indata results_met" in down_page
    assert f"/contracts/an-outcome-contract/settlements/{upstream.pk}/" in down_page
    up_page = client.get(
        f"/contracts/an-outcome-contract/settlements/{upstream.pk}/"
    ).content.decode()
    assert 'data-testid="used-by"' in up_page and "Används av" in up_page
    assert f"/contracts/a-provider-contract/settlements/{final.pk}/" in up_page
    assert "indata improved" in up_page

    # An outsider to the downstream contract sees that its statement used the figure, not
    # which statement: no link to a contract it is not a party to.
    from utfall.platform.contracts.models import ContractParty, Role

    ContractParty.objects.filter(contract=worlds.downstream, role=Role.FINANCIER).delete()
    client.force_login(worlds.users[Role.FINANCIER])
    hidden = client.get(f"/contracts/an-outcome-contract/settlements/{upstream.pk}/")
    assert hidden.status_code == 200
    text = hidden.content.decode()
    assert "en avräkning i ett kontrakt där du inte är part" in text
    assert f"/contracts/a-provider-contract/settlements/{final.pk}/" not in text


def test_a_new_upstream_statement_after_the_draft_stops_its_sign_off(worlds):
    from utfall.platform.settlements.services import settlement_review_start, settlement_sign

    _sign_upstream(worlds, saved="1500000")
    draft = _start(worlds, worlds.downstream)
    settlement_review_start(settlement=draft, actor=worlds.evaluator)
    _sign_upstream(worlds, saved="900000")  # a later upstream statement, other figures
    with pytest.raises(UserError, match="the data changed since this statement was computed"):
        settlement_sign(
            settlement=draft, actor=worlds.evaluator, totp_code=totp_code(worlds.evaluator)
        )


def test_the_council_takes_the_linked_inputs_from_the_signed_upstream(worlds):
    """The council's "what it would pay today" reads the upstream contract's signed
    statement for the inputs it takes from there, instead of listing them as missing."""
    from utfall.platform.contracts.selectors import latest_version, parsed_version
    from utfall.platform.council.selectors import _statement_facts

    document = parsed_version(latest_version(worlds.downstream))
    assert _statement_facts(None, document).values == {}
    final = _sign_upstream(worlds, saved="1500000")
    values = _statement_facts(None, document).values
    assert values["improved"] == {"value": True, "settlement": final.sha256}
    assert values["upstream_repaid_sek"]["settlement"] == final.sha256
    assert str(values["upstream_repaid_sek"]["value"]) in ("1500000.00", "1500000")
