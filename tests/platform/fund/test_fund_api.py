"""The fund's REST endpoints: the pages' rules (administrators see the fund, applicants their
own applications), money as exact decimal strings."""

from __future__ import annotations

from decimal import Decimal

from utfall.platform.fund import services
from utfall.platform.organisations.services import api_token_create


def _get(client, user, url):
    _record, token = api_token_create(user=user, name="test")
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_an_administrator_reads_the_budget_forecast_and_portfolio(client, selected):
    w = selected
    funds = _get(client, w.admin, "/api/funds").json()
    assert [f["name"] for f in funds] == ["Pilot fund"]
    detail = _get(client, w.admin, f"/api/funds/{w.fund.pk}").json()
    years = {y["year"]: y for y in detail["years"]}
    assert sorted(years) == list(range(2023, 2029))
    assert sum(Decimal(y["budget"]) for y in years.values()) == Decimal(365_000_000)
    # Money stays exact: decimal strings, never floats.
    assert all(isinstance(y["budget"], str) for y in years.values())
    [row] = detail["portfolio"]
    assert row["code"] == w.constellation.code
    assert row["constellation"] == "Konstellation Norrby"
    assert Decimal(row["committed"]) == sum(
        (c.amount for c in w.constellation.commitments.all()), Decimal(0)
    )
    assert Decimal(row["paid"]) == 0
    # What the fund knows about its contract is its configuration, checked at creation.
    assert detail["contract"] == w.contract.identifier
    assert detail["configuration"]["payments_table"] == w.fund.payments_table
    assert set(detail["configuration"]) == set(services.FundConfiguration.names())


def test_others_do_not_see_the_fund(client, selected):
    w = selected
    for user in (w.applicant, w.outsider, w.evaluator):
        assert _get(client, user, "/api/funds").json() == []
        response = _get(client, user, f"/api/funds/{w.fund.pk}")
        assert response.status_code == 404, user
    assert _get(client, w.admin, "/api/funds/999999").status_code == 404


def test_an_applicant_sees_its_own_applications_only(client, fund_world):
    w = fund_world
    w.submit()
    w.submit("Konstellation Söderås", organisation=w.other_municipality, actor=w.other_applicant)
    mine = _get(client, w.applicant, "/api/fund/applications").json()
    assert [(a["constellation"], a["call"], a["requested_outcome_payment"]) for a in mine] == [
        ("Konstellation Norrby", "Call 1", "17000000.00")
    ]
    assert _get(client, w.outsider, "/api/fund/applications").json() == []
    assert client.get("/api/fund/applications").status_code == 401
