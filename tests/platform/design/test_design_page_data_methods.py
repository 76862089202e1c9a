"""The design page for the historical reference (decision 0723): defaults from the
contract's bound evaluation and from its stored reference cohort, and the payment risk
of the evaluation simulated over the months it evaluates."""

from __future__ import annotations

import re

import pytest
from settlement_helpers import build_world

from utfall.platform.contracts.models import Role
from utfall.platform.design import services

pytestmark = pytest.mark.django_db


def _value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def test_defaults_come_from_the_stored_reference_cohort_and_risk_is_simulated(client):
    world = build_world(with_data=True)
    stored = services.stored_defaults(contract=world.contract, evaluation="costs")
    # The stored reference cohort: its size, its SD of an individual's total over months
    # 0–23 and its mean monthly cost (the Norrköping world's synthetic data).
    assert stored["n_reference"] > 2 and stored["sd"] > 0 and stored["reference_mean"] > 0
    assert stored["n_per_group"] >= 2
    assert services.stored_defaults(contract=world.contract, evaluation="school") == {}

    client.force_login(world.users[Role.COMMISSIONER])
    url = f"/contracts/{world.contract.identifier}/design/"
    html = client.get(url, {"evaluation": "costs"}).content.decode()
    assert _value(html, "months") == "24"  # options.horizon 23: months 0–23 (seed 000 p. 9)
    assert _value(html, "n_reference") == str(stored["n_reference"])
    shown_sd = _value(html, "sd").replace("\xa0", "").replace(" ", "").replace(",", ".")
    assert float(shown_sd) == pytest.approx(stored["sd"], rel=1e-3)
    assert "Uppföljningsmånader" in html  # the new field, translated

    form = {
        "evaluation": "costs",
        "method": "historical_reference",
        "alpha": "0,05",
        "power": "0,8",
        "effect_kind": "units",
        "effect": "200000",
        "sd": "300000",
        "n_reference": "60",
        "n_per_group": "20",
        "months": "6",
        "reference_mean": "30000",
        "autocorrelation": "0,5",
        "action": "risk",
    }
    page = client.post(url, form).content.decode()
    assert 'data-testid="payment-risk"' in page
    table = page.split('data-testid="risk-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]
    assert len(rows) == 8  # four true effects × repayment and premium
