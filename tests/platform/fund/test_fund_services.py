"""Fund services: applications, screening, scoring, selection, reports, payments, termination."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from fund_workflow import evaluate_and_sign

from utfall.errors import UserError
from utfall.platform.fund import selectors, services
from utfall.platform.fund.deep_analysis import conflict_declare
from utfall.platform.fund.models import (
    ApplicationStatus,
    CallStatus,
    Decision,
    DecisionKind,
    ReportStatus,
)
from utfall.platform.knowledge.models import PublishedResult

MSEK = Decimal(1_000_000)


def test_application_lists_every_problem(fund_world):
    w = fund_world
    with pytest.raises(services.ApplicationInvalid) as caught:
        services.application_submit(
            call=w.call,
            organisation=w.municipality,
            actor=w.applicant,
            today=w.today,
            constellation_name="",
            members=[{"name": "Norrby", "kind": "provider"}],
            needs_analysis="x",
            target_group="",
            theory_of_change="x",
            evaluation_design="x",
            readiness="",
            budget_total=10 * MSEK,
            co_financing=Decimal(0),
            requested_outcome_payment=6 * MSEK,
            outcomes=[
                {
                    "indicator": w.indicators["school_absence"],
                    "desired_change": "",
                    "causal_effect": "x",
                }
            ],
        )
    fields = {f.field_name for f in caught.value.findings}
    assert {
        "constellation_name",
        "target_group",
        "members",
        "requested_outcome_payment",
        "co_financing",
        "outcomes.0",
    } <= fields
    codes = {f.code for f in caught.value.findings}
    assert {"principal", "cross-sector", "share", "co-financing", "outcome-level"} <= codes


def test_only_own_organisation_and_only_while_the_call_is_open(fund_world):
    w = fund_world
    with pytest.raises(PermissionDenied):
        w.submit(organisation=w.other_municipality, actor=w.applicant)
    w.call.deadline = w.today - timedelta(days=1)
    w.call.save()
    with pytest.raises(UserError, match="does not take applications"):
        w.submit()


def test_screening_needs_written_feedback_and_an_administrator(fund_world):
    w = fund_world
    application = w.submit()
    with pytest.raises(PermissionDenied):
        services.application_screen(
            application=application,
            actor=w.applicant,
            qualified=True,
            strengths="a",
            weaknesses="b",
        )
    with pytest.raises(services.ApplicationInvalid, match="written feedback"):
        services.application_screen(
            application=application, actor=w.admin, qualified=False, strengths=" ", weaknesses=""
        )
    services.application_screen(
        application=application,
        actor=w.admin,
        qualified=False,
        strengths="Good data",
        weaknesses="No cooperation yet",
    )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SCREENED_OUT
    assert application.screening.weaknesses == "No cooperation yet"
    assert Decision.objects.filter(kind=DecisionKind.SCREENING).count() == 1
    with pytest.raises(UserError, match="only applications qualified"):
        services.review_submit(application=application, actor=w.admin, scores={})


def test_reviews_are_weighted_and_ranked_then_rank_and_fit(fund_world):
    w = fund_world
    big = w.submit("A big one", budget=60 * MSEK, requested=30 * MSEK)
    mid = w.submit("B middle", budget=30 * MSEK, requested=15 * MSEK)
    small = w.submit("C small", budget=16 * MSEK, requested=8 * MSEK)
    for application, scores in ((big, (5, 5, 5)), (mid, (4, 4, 4)), (small, (1, 2, 3))):
        services.application_screen(
            application=application, actor=w.admin, qualified=True, strengths="s", weaknesses="w"
        )
        for person in (w.admin, w.reviewer):
            conflict_declare(
                application=application, actor=person, has_conflict=False, description=""
            )
            services.review_submit(
                application=application,
                actor=person,
                scores=dict(zip(("problem", "capacity", "cross_sector"), scores, strict=True)),
            )
    with pytest.raises(services.ApplicationInvalid, match="incomplete"):
        services.review_submit(application=small, actor=w.admin, scores={"problem": 9})
    ranked = selectors.selection_proposal(w.call)
    assert [r.application for r in ranked] == [big, mid, small]
    # (1·1 + 1·2 + 2·3) / 4 = 2.25
    assert ranked[2].mean_score == Decimal("2.250")
    # 30 fits; 30 + 15 does not fit in 40; 30 + 8 does: rank and fit.
    assert [r.proposed for r in ranked] == [True, False, True]


def test_selection_within_the_frame_commits_by_year(fund_world):
    w = fund_world
    one = w.submit("One", budget=60 * MSEK, requested=30 * MSEK)
    two = w.submit("Two", budget=30 * MSEK, requested=15 * MSEK)
    for application in (one, two):
        services.application_screen(
            application=application, actor=w.admin, qualified=True, strengths="s", weaknesses="w"
        )
    services.call_close(call=w.call, actor=w.admin)
    with pytest.raises(UserError, match="above the call's frame"):
        services.selection_decide(
            call=w.call, actor=w.admin, application_ids=[one.pk, two.pk], reasons="Both"
        )
    with pytest.raises(UserError, match="reasons"):
        services.selection_decide(call=w.call, actor=w.admin, application_ids=[one.pk], reasons=" ")
    decision = services.selection_decide(
        call=w.call, actor=w.admin, application_ids=[one.pk], reasons="Best fit"
    )
    one.refresh_from_db()
    two.refresh_from_db()
    w.call.refresh_from_db()
    assert (one.status, two.status) == (ApplicationStatus.SELECTED, ApplicationStatus.NOT_SELECTED)
    assert w.call.status == CallStatus.DECIDED
    commitments = {c.year: c.amount for c in one.constellation.commitments.all()}
    assert sum(commitments.values()) == 30 * MSEK
    # In proportion to the implementation line 2025–2028: 20, 40, 70, 100 MSEK.
    assert commitments[2025] == Decimal("2608695.65")
    assert commitments[2028] > commitments[2027] > commitments[2026] > commitments[2025]
    assert decision.details["not_selected"] == ["Two"]


def test_fund_own_work_is_reserved_in_every_year(fund_world):
    state = selectors.fund_state(fund_world.fund)
    # 2025: 34 MSEK, of which 14 MSEK operations and agencies; 20 MSEK phase 3, of which
    # seed 003 table 12 gives SKR + RISE 10 and the constellations 10 (issue 18).
    assert state.available_for(year=2025, constellation="K-99") == 10 * MSEK


def _report(w, *, start, costs, school, work, baseline=False):
    return services.report_submit(
        constellation=w.constellation,
        actor=w.applicant,
        period_start=start,
        period_end=start + timedelta(days=180),
        reported_costs_to_date=costs,
        lines=[
            {"indicator": w.indicators["school_absence"], "n": 200, "count": school},
            {"indicator": w.indicators["work_or_studies"], "n": 150, "count": work},
        ],
        is_baseline=baseline,
    )


def test_report_cycle_pays_under_the_budget_rule_and_publishes_suppressed(selected):
    w = selected
    with pytest.raises(services.ApplicationInvalid, match="problem"):
        _report(w, start=date(2025, 1, 1), costs=Decimal(0), school=40, work=90)
    _report(w, start=date(2025, 1, 1), costs=Decimal(0), school=40, work=90, baseline=True)
    report = _report(w, start=date(2025, 7, 1), costs=4 * MSEK, school=20, work=110)
    with pytest.raises(PermissionDenied):  # only the evaluator evaluates
        services.report_evaluate(report=report, actor=w.admin)
    evaluate_and_sign(w, report)
    with pytest.raises(PermissionDenied):
        services.report_pay(report=report, actor=w.applicant, year=2026)
    payment = services.report_pay(report=report, actor=w.admin, year=2026)
    lines = {line.indicator.code: line for line in report.lines.all()}
    # Absence fell from 20 % to 10 % of 200 (lower is better): 20 pupils; work 60 % → 73.3 %.
    assert lines["school_absence"].verified_units == Decimal("20.0000")
    assert lines["work_or_studies"].verified_units == Decimal("20.0000")
    assert lines["school_absence"].evaluation["ci_low"] > 0
    # Rate card: 20 × 10 000 + 20 × 60 000 = 1.4 MSEK; ceiling 2 MSEK → outcomes bind.
    assert payment.outcome_value == Decimal("1400000.00")
    assert payment.amount == Decimal("1400000.00") and payment.binding == "outcomes"
    report.refresh_from_db()
    assert report.status == ReportStatus.PAID
    with pytest.raises(UserError, match="already been paid"):
        services.report_pay(report=report, actor=w.admin, year=2026)
    # A later report with more outcomes but few costs: the 50 % ceiling binds.
    later = _report(w, start=date(2026, 1, 1), costs=4 * MSEK, school=10, work=120)
    statement = evaluate_and_sign(w, later)
    assert statement.result["inputs"]["paid_before_sek"] == "1400000.00"
    second = services.report_pay(report=later, actor=w.admin, year=2026)
    assert second.binding == "cost_share"
    # Outcomes worth 2.1 MSEK; the ceiling is 2 MSEK less the 1.4 MSEK paid before.
    assert second.amount == Decimal("600000.00")
    assert selectors.fund_state(w.fund).paid(constellation=w.constellation.code) == 2 * MSEK
    # Published on the knowledge platform as those with a good outcome.
    rows = PublishedResult.objects.filter(publication__contract=w.contract)
    absence = rows.get(outcome_metric_id="school_absence_units", period_start=date(2025, 7, 1))
    assert (absence.n, absence.count, absence.group) == (200, 180, w.constellation.code)
    assert Decision.objects.filter(kind=DecisionKind.OUTCOME_PAYMENT).count() == 2


def test_the_year_budget_binds_when_little_is_left(selected):
    from utfall.platform.fund.models import BudgetLine

    w = selected
    BudgetLine.objects.filter(fund=w.fund, year=2026, category="phase_implementation").update(
        amount=Decimal("500000")
    )
    _report(w, start=date(2025, 1, 1), costs=Decimal(0), school=40, work=90, baseline=True)
    report = _report(w, start=date(2025, 7, 1), costs=4 * MSEK, school=20, work=110)
    evaluate_and_sign(w, report)
    payment = services.report_pay(report=report, actor=w.admin, year=2026)
    assert payment.binding == "year_budget"
    assert payment.amount == Decimal("500000.00")
    assert "stays due" in payment.explanation[-1]


def test_termination_releases_future_commitments(selected):
    w = selected
    with pytest.raises(UserError, match="reason"):
        services.constellation_terminate(
            constellation=w.constellation, actor=w.admin, reason="", today=date(2026, 6, 1)
        )
    decision = services.constellation_terminate(
        constellation=w.constellation,
        actor=w.admin,
        reason="Not implemented with quality",
        today=date(2026, 6, 1),
    )
    assert sorted(decision.details["released_years"]) == [2027, 2028]
    assert set(w.constellation.commitments.values_list("year", flat=True)) == {2025, 2026}
    with pytest.raises(UserError, match="terminated"):
        _report(w, start=date(2025, 1, 1), costs=Decimal(0), school=40, work=90, baseline=True)


def test_phases_follow_seed_003(fund_world):
    w = fund_world
    phases = services.phases_set(fund=w.fund, start=date(2023, 1, 1), actor=w.admin)
    assert [p.number for p in phases] == [1, 2, 3, 4, 5]
    assert phases[0].ends_on == date(2023, 5, 31)  # five months
    assert phases[1].starts_on == date(2023, 6, 1) and phases[1].ends_on == date(2023, 8, 31)
    assert phases[2].ends_on == date(2024, 2, 29)  # six months
    assert phases[4].ends_on == date(2029, 2, 28)  # four years, then one year
    with pytest.raises(PermissionDenied):
        services.phases_set(fund=w.fund, start=date(2023, 1, 1), actor=w.applicant)


def test_indicator_library_holds_appendix_4_and_reference_outcomes(fund_world):
    indicators = fund_world.indicators
    appendix = [i for i in indicators.values() if "bilaga 4" in i.source.lower()]
    assert len(appendix) == 7
    # The contract pays on each appendix-4 indicator: its code is a value of the reports'
    # indicator column, kept by one evaluation, through one input (decision 0506).
    terms = services.fund_contract_of(fund_world.fund)
    assert set(terms.indicator_codes) == {i.code for i in appendix}
    assert {i.code: terms.indicator_input(i.code) for i in appendix} == {
        "parenting_capacity": "parenting_capacity_units",
        "language_grade_1": "language_development_units",
        "school_absence": "school_absence_units",
        "upper_secondary_eligibility": "upper_secondary_eligibility_units",
        "work_or_studies": "work_or_studies_units",
        "criminal_group_inflow": "criminal_group_inflow_units",
        "youth_at_risk": "risk_zone_units",
    }
    # The other reference contracts' outcomes are in the library, followed, not paid.
    assert any("norrköping" in i.source.lower() for i in indicators.values())
    assert terms.indicator_input("placement_costs") is None


def test_a_call_needs_dates_in_order_years_in_the_budget_and_criteria(fund_world):
    w = fund_world
    with pytest.raises(services.ApplicationInvalid) as caught:
        services.call_create(
            fund=w.fund,
            actor=w.admin,
            title="Bad",
            description="",
            opens_on=date(2026, 5, 1),
            deadline=date(2026, 4, 1),
            outcome_payment_frame=Decimal(0),
            implementation_start_year=2027,
            implementation_end_year=2031,
            criteria=[],
        )
    assert {f.field_name for f in caught.value.findings} == {
        "deadline",
        "implementation",
        "outcome_payment_frame",
        "criteria",
    }
    with pytest.raises(PermissionDenied):
        services.call_create(
            fund=w.fund,
            actor=w.applicant,
            title="Mine",
            description="",
            opens_on=date(2026, 1, 1),
            deadline=date(2026, 2, 1),
            outcome_payment_frame=MSEK,
            implementation_start_year=2026,
            implementation_end_year=2027,
            criteria=[{"code": "a", "name": "A"}],
        )
