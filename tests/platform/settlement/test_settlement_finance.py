"""The finance view: drawdowns against the imported cost reports, cash flows, IRR and multiple
from the final statement (by services/finance.py), and the Monte Carlo form."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from utfall.platform.contracts.models import Role

pytestmark = pytest.mark.django_db

PLAN = Path(__file__).resolve().parents[3] / "examples" / "finance" / "norrkoping-plan.yaml"


def _with_plan(world):
    from utfall.platform.settlements.services import finance_plan_upload

    finance_plan_upload(
        contract=world.contract,
        actor=world.users[Role.FINANCIER],
        text=PLAN.read_text(encoding="utf-8"),
    )


def test_finance_figures_come_from_the_final_statement_and_the_imported_reports(final_world):
    from utfall.platform.settlements.selectors import finance_report_for

    world = final_world
    _with_plan(world)
    finance = finance_report_for(user=world.users[Role.FINANCIER], contract=world.contract)
    report = finance["report"]
    assert finance["settlement"] == world.final and finance["imported_reports"]
    # The demo's cost reports: 18 quarters of 10 MSEK / 18 in the cost structure (sums to 100 %).
    assert len(report.drawdowns) == 18
    assert report.invested == sum((d.drawn for d in report.drawdowns), Decimal(0))
    assert report.invested == Decimal("10000000.00")
    paid = sum(Decimal(p["amount_sek"]) for p in world.final.result["payments"])
    assert report.received == paid
    assert report.multiple == (paid / report.invested)
    assert report.irr is not None


def test_the_finance_page_and_the_simulation(final_world, client):
    world = final_world
    _with_plan(world)
    client.force_login(world.users[Role.FINANCIER])
    url = f"/contracts/{world.contract.identifier}/finance/"
    page = client.get(url).content.decode()
    assert 'data-testid="irr"' in page and 'data-testid="drawdowns"' in page
    response = client.post(
        url,
        {
            "simulate": "1",
            "distributions": "net_savings_sek=normal(12000000, 4000000)",
            "size": 2000,
            "seed": 7,
        },
    )
    html = response.content.decode()
    assert 'data-testid="simulation"' in html and 'data-testid="expected-irr"' in html
    client.force_login(world.outsider)
    assert client.get(url).status_code == 404
