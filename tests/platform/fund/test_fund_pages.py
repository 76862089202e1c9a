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


def formset(prefix, rows, total=None):
    """The POST data of a formset with these rows (dicts of field values)."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(total or len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def _apply_form(w):
    return {
        **formset(
            "members",
            [
                {"name": "Norrby kommun", "kind": "municipality"},
                {"name": "Region Mitt", "kind": "region"},
                {"name": "Föreningen", "kind": "civil_society"},
            ],
            total=4,
        ),
        "organisation": w.municipality.pk,
        "constellation_name": "Konstellation Webb",
        "needs_analysis": "Rising youth crime",
        "target_group": "Young people",
        "theory_of_change": "Prevention triangle",
        "evaluation_design": "Baseline comparison",
        "readiness": "Ready",
        "budget_total": "20 000 000,00",
        "co_financing": "10000000",
        "requested_outcome_payment": "10 000 000",
        "indicator_0": w.indicators["school_absence"].pk,
        "desired_change_0": "Pupils attend school",
        "causal_effect_0": "Difference against the baseline",
    }


def test_the_whole_path_through_the_forms(client, fund_world):
    w = fund_world
    _login(client, w.applicant)
    bad = dict(_apply_form(w), requested_outcome_payment="15000000")
    response = client.post(f"/fund/calls/{w.call.pk}/apply/", bad)
    assert response.status_code == 200
    assert "högst 50\u00a0% av budgeten" in response.content.decode()
    response = client.post(f"/fund/calls/{w.call.pk}/apply/", _apply_form(w))
    application = Application.objects.get(constellation_name="Konstellation Webb")
    assert response.status_code == 302
    assert application.members[2] == {"name": "Föreningen", "kind": "civil_society"}

    _login(client, w.admin)
    url = f"/fund/applications/{application.pk}/"
    client.post(url, {"screen": "1", "qualified": "yes", "strengths": "s", "weaknesses": "w"})
    for person in (w.admin, w.reviewer):
        _login(client, person)
        client.post(url, {"declare": "1", "has_conflict": "no", "description": ""})
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
    assert "selection-form" in page and "3,75" in page
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
    assert 'data-testid="payment"' in page and "de verifierade utfallen" in page
    assert "300\u00a0000,00\u00a0kr" in page


@pytest.mark.parametrize("path", ["/fund/indicators/"])
def test_indicator_library_page(client, fund_world, path):
    text = _login(client, fund_world.applicant).get(path).content.decode()
    assert "Minskad skolfrånvaro" in text and "bilaga 4" in text
    assert "Reduced school absence" not in text and "Seed 003" not in text


def call_form(**changes):
    """The new-call form with three criteria rows (the third empty)."""
    form = {
        "new_call": "1",
        "title": "Call 2",
        "description": "More",
        "opens_on": "2026-01-01",
        "deadline": "2026-03-01",
        "outcome_payment_frame": "30 000 000,00",
        "implementation_start_year": "2026",
        "implementation_end_year": "2028",
        **formset(
            "criteria",
            [
                {"name": "Problemformulering", "weight": "1", "kind": "base"},
                {"name": "Tvärsektoriell samverkan", "weight": "1,5", "kind": "scored"},
                {"name": "", "weight": "1", "kind": "scored"},
            ],
        ),
    }
    form.update(changes)
    return form


def test_new_call_form(client, fund_world):
    w = fund_world
    _login(client, w.admin)
    page = client.post(f"/fund/{w.fund.pk}/", call_form(**{"criteria-1-weight": "abc"}))
    text = page.content.decode()
    assert page.status_code == 200 and "Vikt: ”abc” är inte ett tal" in text
    response = client.post(f"/fund/{w.fund.pk}/", call_form())
    call = w.fund.calls.get(title="Call 2")
    assert response["Location"] == f"/fund/calls/{call.pk}/"
    assert [(c.code, c.name, c.weight, c.is_base) for c in call.criteria.all()] == [
        ("problemformulering", "Problemformulering", Decimal("1.00"), True),
        ("tvarsektoriell_samverkan", "Tvärsektoriell samverkan", Decimal("1.50"), False),
    ]
    assert call.outcome_payment_frame == Decimal("30000000.00")
    _login(client, w.applicant)
    assert client.post(f"/fund/{w.fund.pk}/", call_form()).status_code == 403
