"""The finance view on the one pipeline: the stored plan's text parsed against the contract,
the final statement's settlement, the contract's stored cost reports for a plan that draws on
its declared table — and, before there is a statement, what the plan alone says."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from utfall.platform.contracts.models import Role

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
PLANS = EXAMPLES / "finance"
CONTRACT = EXAMPLES / "contracts" / "norrkoping-placed-children.yaml"
FROM_DATA = PLANS / "norrkoping-plan-from-data.yaml"
SCHEDULED = PLANS / "norrkoping-plan.yaml"


def _with_plan(world, plan: Path = FROM_DATA, contract=None):
    from utfall.platform.settlements.services import finance_plan_upload

    finance_plan_upload(
        contract=contract or world.contract,
        actor=world.users[Role.FINANCIER],
        text=plan.read_text(encoding="utf-8"),
    )


def test_finance_figures_come_from_the_final_statement_and_the_stored_cost_reports(final_world):
    from utfall.platform.contracts.selectors import parsed_version
    from utfall.platform.settlements.selectors import (
        finance_break_even_for,
        finance_report_for,
        statement_facts_text,
    )
    from utfall.platform.tables import StoredTables
    from utfall.services.contracts import contract_settle, facts_parse
    from utfall.services.finance import finance_cashflows, finance_plan_parse
    from utfall.services.tables import ArrowTables

    world = final_world
    _with_plan(world)
    financier = world.users[Role.FINANCIER]
    finance = finance_report_for(user=financier, contract=world.contract)
    report = finance["report"]
    assert finance["settlement"] == world.final and finance["settled"]
    assert finance["imported_reports"] and finance["reports_table"].name == "cost_reports"
    # The synthetic cost reports: 18 quarters, by category, summing to the commitment.
    stored = StoredTables(world.contract).table("cost_reports")
    assert len(report.drawdowns) == 18 == len(set(stored.column("period_end").to_pylist()))
    reported = sum(stored.column("amount").to_pylist(), Decimal(0))
    assert sum((d.reported for d in report.drawdowns), Decimal(0)) == reported
    assert report.invested == min(reported, Decimal("10000000.00"))
    assert finance["categories"] == sorted(set(stored.column("category").to_pylist()))
    paid = sum(Decimal(p["amount_sek"]) for p in world.final.result["payments"])
    assert report.received == paid
    assert report.multiple == (paid / report.invested)
    assert report.irr is not None
    # The same figures as the service gives on the same rows and the statement's inputs.
    document = parsed_version(world.final.version)
    run = contract_settle(
        document, facts=facts_parse(statement_facts_text(world.final), source="s", json_text=True)
    )
    plan = finance_plan_parse(FROM_DATA.read_text(encoding="utf-8"), source="p", contract=document)
    assert finance_cashflows(run, plan, tables=ArrowTables({"cost_reports": stored})) == report
    # The one break-even: what the council shows is the finance view's.
    assert finance_break_even_for(user=financier, contract=world.contract) == report.break_even


def test_a_plan_with_listed_reports_draws_against_them(final_world):
    from utfall.platform.settlements.selectors import finance_report_for

    _with_plan(final_world, SCHEDULED)
    finance = finance_report_for(
        user=final_world.users[Role.FINANCIER], contract=final_world.contract
    )
    assert not finance["imported_reports"] and finance["reports_table"] is None
    assert len(finance["report"].drawdowns) == 20 and finance["settled"]


def _fresh_contract(world):
    """A second contract of the same parties, with no statement and no imported rows."""
    from utfall.platform.contracts.services import contract_create, contract_party_set

    text = CONTRACT.read_text(encoding="utf-8").replace(
        "id: norrkoping-placed-children", "id: placed-children-second-round", 1
    )
    contract = contract_create(
        text=text,
        organisation=world.organisations[Role.COMMISSIONER],
        actor=world.users[Role.COMMISSIONER],
        file_name="placed-children-second-round.yaml",
    )
    for role in (Role.FINANCIER, Role.EVALUATOR):
        contract_party_set(
            contract=contract,
            organisation=world.organisations[role],
            role=role,
            actor=world.users[Role.COMMISSIONER],
            accepted_by=world.users[role],
            approved_by=[world.users[Role.FINANCIER]],
        )
    return contract


def test_before_a_statement_the_financier_sees_the_drawdowns(final_world, client):
    from utfall.platform.settlements.selectors import finance_break_even_for, finance_report_for

    world = final_world
    contract = _fresh_contract(world)
    financier = world.users[Role.FINANCIER]
    assert finance_report_for(user=financier, contract=contract) is None
    _with_plan(world, SCHEDULED, contract)
    finance = finance_report_for(user=financier, contract=contract)
    report = finance["report"]
    assert finance["settlement"] is None and not finance["settled"]
    assert len(report.drawdowns) == 20 and report.invested == Decimal("10000000.00")
    assert report.irr is None and report.multiple is None and report.break_even is None
    assert {f.kind for f in report.flows} == {"drawdown", "cost"}
    assert finance_break_even_for(user=financier, contract=contract) is None
    client.force_login(financier)
    page = client.get(f"/contracts/{contract.identifier}/finance/").content.decode()
    assert 'data-testid="drawdowns"' in page and 'data-testid="needs-settlement"' in page
    assert 'data-testid="unsettled"' in page and 'data-testid="irr"' not in page
    # A plan drawing on the declared table before anything is imported: no drawdowns yet.
    _with_plan(world, FROM_DATA, contract)
    finance = finance_report_for(user=financier, contract=contract)
    assert finance["imported_reports"] and finance["report"].drawdowns == ()
    assert client.get(f"/contracts/{contract.identifier}/finance/").status_code == 200


def test_before_a_statement_a_table_backed_plan_draws_on_the_stored_rows(final_world):
    from utfall.platform.contracts.models import Settlement
    from utfall.platform.settlements.selectors import finance_report_for

    world = final_world
    _with_plan(world)
    financier = world.users[Role.FINANCIER]
    settled = finance_report_for(user=financier, contract=world.contract)
    # The same contract and rows as if no statement had been made yet (the test's own
    # transaction is rolled back afterwards).
    Settlement.objects.filter(contract=world.contract).update(supersedes=None)
    Settlement.objects.filter(contract=world.contract).delete()
    before = finance_report_for(user=financier, contract=world.contract)
    assert not before["settled"] and before["settlement"] is None
    assert before["report"].drawdowns == settled["report"].drawdowns
    assert before["report"].invested == settled["report"].invested


def test_a_broken_plan_is_shown_with_its_problems(final_world, client):
    from utfall.platform.settlements.services import finance_plan_upload

    world = final_world
    finance_plan_upload(
        contract=world.contract,
        actor=world.users[Role.FINANCIER],
        text="commitment_sek: 1\ncost_structure: {a: 1}\ncost_reports: {table: nowhere}\n"
        "settlement_date: 2022-01-01\n",
    )
    client.force_login(world.users[Role.FINANCIER])
    page = client.get(f"/contracts/{world.contract.identifier}/finance/").content.decode()
    assert "declares no table &#x27;nowhere&#x27;" in page or "declares no table 'nowhere'" in page


def test_the_finance_page_and_the_simulation(final_world, client):
    world = final_world
    _with_plan(world)
    client.force_login(world.users[Role.FINANCIER])
    url = f"/contracts/{world.contract.identifier}/finance/"
    page = client.get(url).content.decode()
    assert 'data-testid="irr"' in page and 'data-testid="drawdowns"' in page
    assert 'data-testid="break-even"' in page
    response = client.post(
        url,
        {
            "simulate": "1",
            # One row per input (issue 15); the others are fixed from the statement.
            "d-TOTAL_FORMS": "1",
            "d-INITIAL_FORMS": "1",
            "d-0-name": "net_savings_sek",
            "d-0-kind": "normal",
            "d-0-first": "12 000 000",
            "d-0-second": "4 000 000",
            "size": 2000,
            "seed": 7,
        },
    )
    html = response.content.decode()
    assert 'data-testid="simulation"' in html and 'data-testid="expected-irr"' in html
    client.force_login(world.outsider)
    assert client.get(url).status_code == 404
