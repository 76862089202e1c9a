"""Fund pages: who sees what, and the call → application → selection → report → payment
path through the forms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fund_workflow import totp_code

from utfall.platform.fund.models import (
    Application,
    ApplicationStatus,
    Constellation,
    OutcomePayment,
)


def _login(client, user):
    client.force_login(user)
    return client


def test_anonymous_is_sent_to_sign_in(client, fund_world):
    response = client.get(f"/fund/{fund_world.fund.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_only_administrators_see_the_dashboard(client, fund_world):
    w = fund_world
    assert _login(client, w.applicant).get(f"/fund/{w.fund.pk}/").status_code == 403
    page = _login(client, w.admin).get(f"/fund/{w.fund.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    for year in range(2023, 2029):
        assert str(year) in text
    assert "365" in text  # the total budget, grouped by the locale
    assert _login(client, w.admin).get("/fund/").status_code == 302  # straight to the fund


def test_applicants_see_their_own_application_and_feedback_only(client, fund_world):
    from utfall.platform.fund import services

    w = fund_world
    mine = w.submit()
    theirs = w.submit(
        "Konstellation Söderås", organisation=w.other_municipality, actor=w.other_applicant
    )
    services.application_screen(
        application=mine,
        actor=w.admin,
        qualified=False,
        strengths="Good local data",
        weaknesses="Anchor the cooperation",
    )
    _login(client, w.applicant)
    page = client.get(f"/fund/applications/{mine.pk}/").content.decode()
    assert "Anchor the cooperation" in page
    assert client.get(f"/fund/applications/{theirs.pk}/").status_code == 404
    call_page = client.get(f"/fund/calls/{w.call.pk}/").content.decode()
    assert "Konstellation Norrby" in call_page and "Konstellation Söderås" not in call_page
    assert "selection-form" not in call_page and "ranking" not in call_page


def _apply_form(w):
    return {
        "organisation": w.municipality.pk,
        "constellation_name": "Konstellation Webb",
        "members": "Norrby kommun; municipality\nRegion Mitt; region\nFöreningen; civil_society",
        "needs_analysis": "Rising youth crime",
        "target_group": "Young people",
        "theory_of_change": "Prevention triangle",
        "evaluation_design": "Baseline comparison",
        "readiness": "Ready",
        "budget_total": "20000000",
        "co_financing": "10000000",
        "requested_outcome_payment": "10000000",
        "indicator_0": w.indicators["school_absence"].pk,
        "desired_change_0": "Pupils attend school",
        "causal_effect_0": "Difference against the baseline",
    }


def test_the_whole_path_through_the_forms(client, fund_world):
    w = fund_world
    _login(client, w.applicant)
    bad = dict(_apply_form(w), requested_outcome_payment="15000000")
    response = client.post(f"/fund/calls/{w.call.pk}/apply/", bad)
    assert response.status_code == 200 and "at most 50%" in response.content.decode()
    response = client.post(f"/fund/calls/{w.call.pk}/apply/", _apply_form(w))
    application = Application.objects.get(constellation_name="Konstellation Webb")
    assert response.status_code == 302
    assert application.members[2] == {"name": "Föreningen", "kind": "civil_society"}

    _login(client, w.admin)
    url = f"/fund/applications/{application.pk}/"
    client.post(url, {"screen": "1", "qualified": "yes", "strengths": "s", "weaknesses": "w"})
    for person in (w.admin, w.reviewer):
        _login(client, person)
        client.post(
            url,
            {
                "review": "1",
                "score_problem": "4",
                "score_capacity": "5",
                "score_cross_sector": "3",
                "comment": "ok",
            },
        )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SCREENED_IN
    assert application.reviews.count() == 2
    call_url = f"/fund/calls/{w.call.pk}/"
    client.post(call_url, {"close": "1"})
    page = client.get(call_url).content.decode()
    assert "selection-form" in page and "3.750" in page.replace(",", ".")
    client.post(
        call_url, {"select": "1", "applications": [str(application.pk)], "reasons": "Highest score"}
    )
    constellation = Constellation.objects.get(application=application)

    _login(client, w.applicant)
    c_url = f"/fund/constellations/{constellation.pk}/"
    client.post(
        c_url,
        {
            "report": "1",
            "period_start": "2025-01-01",
            "period_end": "2025-06-30",
            "reported_costs_to_date": "0",
            "is_baseline": "on",
            "n_school_absence": "300",
            "count_school_absence": "60",
        },
    )
    client.post(
        c_url,
        {
            "report": "1",
            "period_start": "2025-07-01",
            "period_end": "2025-12-31",
            "reported_costs_to_date": "2000000",
            "n_school_absence": "300",
            "count_school_absence": "30",
        },
    )
    report = constellation.reports.get(period_start=date(2025, 7, 1))
    page = client.get(c_url).content.decode()
    assert "evaluate-form" not in page and "pay-form" not in page

    # The evaluator evaluates: a draft statement in the settlement workflow, not a payment.
    _login(client, w.evaluator)
    assert "evaluate-form" in client.get(c_url).content.decode()
    response = client.post(c_url, {"evaluate": "1", "report_id": str(report.pk)})
    report.refresh_from_db()
    statement = report.settlement
    contract = constellation.contract
    statement_url = f"/contracts/{contract.identifier}/settlements/{statement.pk}/"
    assert response.status_code == 302 and response["Location"] == statement_url
    assert not OutcomePayment.objects.exists()

    _login(client, w.admin)
    page = client.get(c_url).content.decode()
    assert 'data-testid="statement-link"' in page and "pay-form" not in page
    client.post(c_url, {"pay": "1", "report_id": str(report.pk), "year": "2026"})
    assert not OutcomePayment.objects.exists()  # not final: nothing is paid

    _login(client, w.evaluator)
    client.post(statement_url + "action/", {"action": "review"})
    client.post(statement_url + "action/", {"action": "sign", "totp_code": totp_code(w.evaluator)})
    statement.refresh_from_db()
    assert statement.status == "signed"

    _login(client, w.admin)
    assert "pay-form" in client.get(c_url).content.decode()
    client.post(c_url, {"pay": "1", "report_id": str(report.pk), "year": "2026"})
    payment = OutcomePayment.objects.get(report=report)
    assert payment.settlement == statement
    # 30 fewer pupils with problematic absence × 10 000 SEK = 300 000 SEK, under 1 MSEK.
    assert payment.amount == Decimal("300000.00") and payment.binding == "outcomes"
    page = client.get(c_url).content.decode()
    assert 'data-testid="payment"' in page and "outcomes" in page


@pytest.mark.parametrize("path", ["/fund/indicators/"])
def test_indicator_library_page(client, fund_world, path):
    text = _login(client, fund_world.applicant).get(path).content.decode()
    assert "Minskad skolfrånvaro" in text and "Bilaga 4" in text


def test_new_call_form(client, fund_world):
    w = fund_world
    _login(client, w.admin)
    form = {
        "new_call": "1",
        "title": "Call 2",
        "description": "More",
        "opens_on": "2026-01-01",
        "deadline": "2026-03-01",
        "outcome_payment_frame": "30000000",
        "implementation_start_year": "2026",
        "implementation_end_year": "2028",
        "criteria": "problem; Problem; 1; base\nbroken line",
    }
    page = client.post(f"/fund/{w.fund.pk}/", form).content.decode()
    assert "Line 2" in page or "Rad 2" in page
    form["criteria"] = "problem; Problem; 1; base\ncross; Cross-sector; 2"
    response = client.post(f"/fund/{w.fund.pk}/", form)
    call = w.fund.calls.get(title="Call 2")
    assert response["Location"] == f"/fund/calls/{call.pk}/"
    assert [(c.code, c.weight, c.is_base) for c in call.criteria.all()] == [
        ("problem", Decimal("1.00"), True),
        ("cross", Decimal("2.00"), False),
    ]
    _login(client, w.applicant)
    assert client.post(f"/fund/{w.fund.pk}/", form).status_code == 403
