"""Phase 3, the deep analysis, as a workflow (issue 18).

Seed 003 (003_7d5cf87c6e04e6cb.txt) fas 3, tabell 5: the deliverables ("Projektledare för
konstellationens arbete", "Bild av behov och datatillgång", "Lokalt anpassad effektlogik"
across "hela preventionstriangeln (universella, riktade och indikerade insatser)",
"Kvalitetssäkrad effektlogik", "Förankrade uppföljningsbara utfallsformuleringar",
"Genomförandeplan … Uppföljningsplan … Konsekvensanalys"), and tabell 6: "Vilka
konstellationer som får utfallsfinansiering – Delegationen"; those refused get
"Motivering av beslut samt identifierade förbättringsområden". The local project leader
"— om ansökan blir beviljad — finansieras av den nationella utfallsfinansieringen": the
support payments, through the settlement workflow and on the ledger.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from fund_workflow import totp_code

from utfall.core.fund import PaymentKind
from utfall.core.ledger import KIND_FUND_PAYMENT
from utfall.errors import UserError
from utfall.platform.audit.models import AuditEvent
from utfall.platform.contracts.models import ContractStatus, SettlementStatus
from utfall.platform.fund import deep_analysis, selectors, services
from utfall.platform.fund.models import (
    ApplicationStatus,
    Decision,
    DecisionKind,
    DeliverableKind,
    DeliverableStatus,
    SupportPayment,
)
from utfall.platform.settlements.ledger import ledger_entries, ledger_verify
from utfall.platform.settlements.services import settlement_review_start, settlement_sign

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "contracts")
SUPPORT_CONTRACT = os.path.join(EXAMPLES, "national-fund-support.yaml")
MSEK = Decimal(1_000_000)
TODAY = date(2024, 1, 15)


def _support_contract(w):
    from utfall.platform.contracts.services import contract_create

    with open(SUPPORT_CONTRACT, encoding="utf-8") as handle:
        contract = contract_create(
            text=handle.read(),
            organisation=w.delegation,
            actor=w.admin,
            file_name="national-fund-support.yaml",
        )
    return deep_analysis.fund_support_configure(
        fund=w.fund,
        contract=contract,
        support_table="project_leader_costs",
        support_column="costs",
        support_output="support_payment_sek",
        actor=w.admin,
    )


def _qualified(w, name, requested):
    application = w.submit(name, budget=2 * requested, requested=requested)
    services.application_screen(
        application=application, actor=w.admin, qualified=True, strengths="s", weaknesses="w"
    )
    for person in (w.admin, w.reviewer):
        deep_analysis.conflict_declare(
            application=application, actor=person, has_conflict=False, description=""
        )
        services.review_submit(
            application=application,
            actor=person,
            scores={"problem": 4, "capacity": 3, "cross_sector": 5},
        )
    return application


def _complete(w, analysis, actor=None):
    actor = actor or w.applicant
    for deliverable in analysis.deliverables.all():
        deep_analysis.deliverable_update(
            deliverable=deliverable,
            actor=actor,
            status=DeliverableStatus.DONE,
            content=f"{deliverable.kind}: delivered",
        )
    deep_analysis.prevention_triangle_set(
        analysis=analysis,
        actor=actor,
        universal="Parent support for all families in the area",
        selective="Homework clubs for pupils with rising absence",
        indicated="Multi-agency team for young people already offending",
        project_leader="Eva Projektledare",
    )


@pytest.fixture
def phase3(fund_world):
    w = fund_world
    _support_contract(w)
    w.first = _qualified(w, "Konstellation Norrby", 17 * MSEK)
    w.second = _qualified(w, "Konstellation Söderås", 10 * MSEK)
    w.unscreened = w.submit("Konstellation Ute", budget=10 * MSEK, requested=5 * MSEK)
    services.call_close(call=w.call, actor=w.admin)
    w.analyses = [
        deep_analysis.deep_analysis_start(application=a, actor=w.admin, today=TODAY)
        for a in (w.first, w.second)
    ]
    return w


def test_deep_analysis_has_the_deliverables_of_table_5(phase3):
    w = phase3
    analysis = w.analyses[0]
    kinds = [d.kind for d in analysis.deliverables.all()]
    assert kinds == [plan.kind for plan in deep_analysis.DELIVERABLES]
    assert DeliverableKind.FOLLOW_UP_PROTOCOL in kinds
    for deliverable in analysis.deliverables.all():
        assert deliverable.owner
        assert TODAY < deliverable.due_on <= date(2024, 7, 15)
        assert deliverable.status == DeliverableStatus.PLANNED
    with pytest.raises(UserError, match="already started"):
        deep_analysis.deep_analysis_start(application=w.first, actor=w.admin, today=TODAY)
    # Not qualified: no phase 3.
    with pytest.raises(UserError, match="qualified"):
        deep_analysis.deep_analysis_start(application=w.unscreened, actor=w.admin, today=TODAY)


def test_deliverables_need_content_when_done_and_only_the_fund_moves_dates(phase3):
    w = phase3
    deliverable = w.analyses[0].deliverables.first()
    with pytest.raises(deep_analysis.DeepAnalysisInvalid, match="not saved"):
        deep_analysis.deliverable_update(
            deliverable=deliverable, actor=w.applicant, status="done", content=" "
        )
    with pytest.raises(PermissionDenied):
        deep_analysis.deliverable_update(
            deliverable=deliverable,
            actor=w.applicant,
            status="in_progress",
            content="",
            due_on=date(2025, 1, 1),
        )
    with pytest.raises(PermissionDenied):
        deep_analysis.deliverable_update(
            deliverable=deliverable, actor=w.other_applicant, status="in_progress", content=""
        )
    deep_analysis.deliverable_update(
        deliverable=deliverable,
        actor=w.admin,
        status="in_progress",
        content="Interviews booked",
        owner="SKR",
        due_on=date(2024, 3, 1),
    )
    deliverable.refresh_from_db()
    assert (deliverable.owner, deliverable.due_on) == ("SKR", date(2024, 3, 1))
    assert AuditEvent.objects.filter(action="fund_deliverable_updated").count() == 1


def test_outcome_definitions_at_three_levels_link_the_library(phase3):
    w = phase3
    analysis = w.analyses[0]
    outcome = deep_analysis.outcome_definition_set(
        analysis=analysis,
        actor=w.applicant,
        indicator=w.indicators["youth_at_risk"],
        desired_change="Fewer young people at risk in Norrby",
        causal_effect="Share against the baseline and two comparison areas",
    )
    assert outcome.indicator.code == "youth_at_risk"
    assert w.first.outcomes.count() == 3
    with pytest.raises(deep_analysis.DeepAnalysisInvalid):
        deep_analysis.outcome_definition_set(
            analysis=analysis,
            actor=w.applicant,
            indicator=w.indicators["youth_at_risk"],
            desired_change="",
            causal_effect="x",
        )


def test_the_decision_waits_for_complete_analyses_and_written_feedback(phase3):
    w = phase3
    with pytest.raises(deep_analysis.DeepAnalysisInvalid) as refused:
        deep_analysis.deep_analysis_decide(
            call=w.call,
            actor=w.admin,
            financed_ids=[w.first.pk],
            reasons="Best fit",
            feedback={},
            today=TODAY,
        )
    codes = {f.code for f in refused.value.findings}
    assert {"incomplete", "feedback"} <= codes
    for analysis in w.analyses:
        _complete(w, analysis)
    with pytest.raises(deep_analysis.DeepAnalysisInvalid, match="cannot be taken") as refused:
        deep_analysis.deep_analysis_decide(
            call=w.call,
            actor=w.admin,
            financed_ids=[w.first.pk],
            reasons="Best fit",
            feedback={w.second.pk: ("Too little evidence", "")},
            today=TODAY,
        )
    assert [f.code for f in refused.value.findings] == ["feedback"]
    with pytest.raises(PermissionDenied):
        deep_analysis.deep_analysis_decide(
            call=w.call,
            actor=w.applicant,
            financed_ids=[w.first.pk],
            reasons="Best fit",
            feedback={},
            today=TODAY,
        )
    decisions = deep_analysis.deep_analysis_decide(
        call=w.call,
        actor=w.admin,
        financed_ids=[w.first.pk],
        reasons="Complete analysis; the evidence matches the theory of change",
        feedback={
            w.second.pk: (
                "The evidence for the selective interventions is thin",
                "Anchor data sharing between school and social services",
            )
        },
        today=TODAY,
    )
    assert len(decisions) == 2
    w.first.refresh_from_db()
    w.second.refresh_from_db()
    assert w.first.status == ApplicationStatus.SELECTED
    assert w.second.status == ApplicationStatus.NOT_SELECTED
    refused_analysis = w.second.deep_analysis
    assert refused_analysis.financed is False
    assert "data sharing" in refused_analysis.improvement_areas
    assert Decision.objects.filter(kind=DecisionKind.DEEP_ANALYSIS).count() == 2
    assert Decision.objects.filter(kind=DecisionKind.SELECTION).count() == 1
    assert "Areas to improve" in decisions[1].reasons or "Areas to improve" in decisions[0].reasons
    assert AuditEvent.objects.filter(action="fund_deep_analysis_decided").count() == 2
    constellation = w.first.constellation
    assert constellation.follow_up_protocol == "follow_up_protocol: delivered"
    assert constellation.support_contract.status == ContractStatus.IN_FORCE
    # Decided: the analysis no longer changes.
    with pytest.raises(UserError, match="decided"):
        deep_analysis.deliverable_update(
            deliverable=refused_analysis.deliverables.first(),
            actor=w.admin,
            status="done",
            content="late",
        )


def _financed(w):
    for analysis in w.analyses:
        _complete(w, analysis)
    deep_analysis.deep_analysis_decide(
        call=w.call,
        actor=w.admin,
        financed_ids=[w.first.pk, w.second.pk],
        reasons="Both complete",
        feedback={},
        today=TODAY,
    )
    w.first.refresh_from_db()
    return w.first.constellation


def test_support_payment_goes_through_the_settlement_workflow_and_the_ledger(phase3):
    w = phase3
    constellation = _financed(w)
    with pytest.raises(UserError, match="not reported yet"):
        deep_analysis.support_statement_start(
            constellation=constellation,
            actor=w.evaluator,
            period_start=date(2025, 1, 1),
            period_end=date(2025, 6, 30),
        )
    with pytest.raises(PermissionDenied):
        deep_analysis.support_costs_report(
            constellation=constellation,
            actor=w.other_applicant,
            period_end=date(2025, 6, 30),
            costs=Decimal("520000"),
        )
    deep_analysis.support_costs_report(
        constellation=constellation,
        actor=w.applicant,
        period_end=date(2025, 6, 30),
        costs=Decimal("520000"),
    )
    with pytest.raises(UserError, match="already reported"):
        deep_analysis.support_costs_report(
            constellation=constellation,
            actor=w.applicant,
            period_end=date(2025, 6, 30),
            costs=Decimal("1"),
        )
    draft = deep_analysis.support_statement_start(
        constellation=constellation,
        actor=w.evaluator,
        period_start=date(2025, 1, 1),
        period_end=date(2025, 6, 30),
    )
    assert draft.result["inputs"]["project_leader_costs_sek"] in ("520000.00", 520000, "520000")
    assert draft.status == SettlementStatus.DRAFT
    with pytest.raises(UserError, match="final statement"):
        deep_analysis.support_pay(
            constellation=constellation, settlement=draft, actor=w.admin, year=2025
        )
    settlement_review_start(settlement=draft, actor=w.evaluator)
    final = settlement_sign(settlement=draft, actor=w.evaluator, totp_code=totp_code(w.evaluator))
    with pytest.raises(PermissionDenied):
        deep_analysis.support_pay(
            constellation=constellation, settlement=final, actor=w.applicant, year=2025
        )
    payment = deep_analysis.support_pay(
        constellation=constellation, settlement=final, actor=w.admin, year=2025
    )
    # The contract's cap per half-year binds: 450 000 of the 520 000 reported.
    assert payment.amount == Decimal("450000.00")
    with pytest.raises(UserError, match="already been paid"):
        deep_analysis.support_pay(
            constellation=constellation, settlement=final, actor=w.admin, year=2025
        )
    with pytest.raises(UserError, match="already been paid"):
        deep_analysis.support_statement_start(
            constellation=constellation,
            actor=w.evaluator,
            period_start=date(2025, 1, 1),
            period_end=date(2025, 6, 30),
        )
    state = selectors.fund_state(w.fund)
    assert state.paid(constellation=constellation.code, kind=PaymentKind.SUPPORT) == Decimal(
        "450000.00"
    )
    assert state.paid(constellation=constellation.code, kind="outcome_payment") == 0
    entries = [e for e in ledger_entries() if e.kind == KIND_FUND_PAYMENT]
    assert [e.attributes["payment_kind"] for e in entries] == ["support"]
    assert entries[0].attributes["amount_sek"] == "450000.00"
    assert ledger_verify() == []
    assert Decision.objects.filter(kind=DecisionKind.SUPPORT_PAYMENT).count() == 1
    assert SupportPayment.objects.get().settlement == final


def test_support_cannot_consume_more_than_the_constellations_share(phase3):
    w = phase3
    constellation = _financed(w)
    deep_analysis.support_costs_report(
        constellation=constellation,
        actor=w.admin,
        period_end=date(2023, 6, 30),
        costs=Decimal("100000"),
    )
    draft = deep_analysis.support_statement_start(
        constellation=constellation,
        actor=w.evaluator,
        period_start=date(2023, 1, 1),
        period_end=date(2023, 6, 30),
    )
    settlement_review_start(settlement=draft, actor=w.evaluator)
    final = settlement_sign(settlement=draft, actor=w.evaluator, totp_code=totp_code(w.evaluator))
    # 2023: the constellations' share of table 12 is 0 SEK.
    with pytest.raises(UserError, match="constellations' share"):
        deep_analysis.support_pay(
            constellation=constellation, settlement=final, actor=w.admin, year=2023
        )
    assert not SupportPayment.objects.exists()


def test_the_phase_3_pages_show_progress_and_the_decision(client, phase3):
    w = phase3
    url = f"/fund/applications/{w.first.pk}/deep-analysis/"
    client.force_login(w.applicant)
    page = client.get(url).content.decode()
    assert "Lokal projektledare och nulägesbild av förmågan" in page
    assert "0 av 9 leveranser klara" in page
    first = w.analyses[0].deliverables.first()
    response = client.post(
        url,
        {
            "deliverable_id": str(first.pk),
            f"d{first.pk}-status": "done",
            f"d{first.pk}-content": "",
        },
    )
    assert "En klar leverans anger vad den levererade." in response.content.decode()
    client.post(
        url,
        {
            "deliverable_id": str(first.pk),
            f"d{first.pk}-status": "done",
            f"d{first.pk}-content": "Eva is appointed",
        },
    )
    assert "1 av 9 leveranser klara" in client.get(url).content.decode()
    # The decision page is the fund's; it lists what is missing before deciding.
    assert client.get(f"/fund/calls/{w.call.pk}/phase-3/").status_code == 403
    client.force_login(w.admin)
    decision_url = f"/fund/calls/{w.call.pk}/phase-3/"
    page = client.get(decision_url).content.decode()
    assert 'data-testid="phase3-decision-form"' in page and "data-confirm=" in page
    post = {
        f"financed_{w.first.pk}": "yes",
        f"financed_{w.second.pk}": "no",
        f"why_{w.second.pk}": "Thin evidence",
        f"improve_{w.second.pk}": "Anchor data sharing",
        "reasons": "Complete",
    }
    response = client.post(decision_url, post)
    assert "inte klart ännu" in response.content.decode()
    for analysis in w.analyses:
        _complete(w, analysis)
    response = client.post(decision_url, post)
    assert response.status_code == 302
    client.force_login(w.applicant)
    page = client.get(f"/fund/applications/{w.second.pk}/").content.decode()
    assert 'data-testid="phase3-feedback"' in page and "Anchor data sharing" in page


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_phase_3_in_the_browser_in_swedish_and_english(browser, live_server, phase3):
    from pathlib import Path

    w = phase3
    base = live_server.url
    shots = Path(__file__).resolve().parents[3] / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)

    def signed_in(username, locale):
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_login", username)
        page.fill("#id_password", "pw-test-123")
        page.click("main form button[type=submit]")
        page.wait_for_selector("[data-testid=signed-in-as]")
        return page

    applicant = signed_in("applicant", "sv-SE")
    applicant.goto(f"{base}/fund/applications/{w.first.pk}/deep-analysis/")
    form = "[data-testid=deliverable-form-local_data]"
    applicant.click(f"details:has({form}) > summary")
    applicant.select_option(f"{form} select[name$=status]", value="done")
    applicant.fill(f"{form} textarea[name$=content]", "Skolfrånvaro per område 2019–2023")
    applicant.click(f"{form} button[type=submit]")
    applicant.wait_for_selector("[data-testid=deliverable-local_data] [data-status=done]")
    assert "Genomförd" in applicant.inner_text("[data-testid=deliverable-local_data]")
    assert "1 av 9 leveranser klara" in applicant.inner_text("[data-testid=analysis-progress]")
    applicant.screenshot(path=str(shots / "fund-deep-analysis-sv.png"), full_page=True)

    for analysis in w.analyses:
        _complete(w, analysis)
    admin = signed_in("fundadmin", "sv-SE")
    admin.goto(f"{base}/fund/calls/{w.call.pk}/phase-3/")
    admin.select_option(f"#id_financed_{w.first.pk}", value="yes")
    admin.select_option(f"#id_financed_{w.second.pk}", value="no")
    admin.fill(f"#id_why_{w.second.pk}", "Evidensen för de selektiva insatserna är svag")
    admin.fill(f"#id_improve_{w.second.pk}", "Förankra uppgiftsdelningen")
    admin.fill("#id_reasons", "Fullständig analys inom ramen")
    admin.screenshot(path=str(shots / "fund-phase-3-decision-sv.png"), full_page=True)
    admin.click("[data-testid=phase3-decision-form] button[type=submit]")
    admin.wait_for_selector("[data-testid=confirm-dialog][open]")
    admin.click("[data-testid=confirm-ok]")
    admin.wait_for_selector("[data-testid=analyses] .badge")
    table = admin.inner_text("[data-testid=analyses]")
    assert "Utfallsfinansiering beviljad" in table and "Inte finansierad" in table

    english = signed_in("fundadmin", "en-GB")
    english.goto(f"{base}/fund/applications/{w.second.pk}/deep-analysis/")
    english.wait_for_selector("[data-testid=analysis-decision]")
    assert "Not financed" in english.inner_text("[data-testid=analysis-status]")
    decision = english.inner_text("[data-testid=analysis-decision]")
    assert "Areas to improve" in decision and "Förankra uppgiftsdelningen" in decision
    assert "Local project leader and current capacity" in english.inner_text(
        "[data-testid=deliverables]"
    )
    english.screenshot(path=str(shots / "fund-deep-analysis-en.png"), full_page=True)


def test_the_follow_up_page_starts_and_pays_support(client, phase3):
    w = phase3
    constellation = _financed(w)
    url = f"/fund/constellations/{constellation.pk}/follow-up/"
    client.force_login(w.applicant)
    response = client.post(
        url, {"support_costs": "1", "period_end": "2025-06-30", "costs": "380 000,00"}
    )
    assert response.status_code == 302
    client.force_login(w.evaluator)
    response = client.post(
        url, {"support_statement": "1", "period_start": "2025-01-01", "period_end": "2025-06-30"}
    )
    assert response.status_code == 302 and "/settlements/" in response["Location"]
    draft = constellation.support_contract.settlements.get()
    client.force_login(w.admin)
    page = client.get(url).content.decode()
    assert 'data-testid="support-pay-form"' not in page  # not final yet
    settlement_review_start(settlement=draft, actor=w.evaluator)
    settlement_sign(settlement=draft, actor=w.evaluator, totp_code=totp_code(w.evaluator))
    page = client.get(url).content.decode()
    assert 'data-testid="support-pay-form"' in page and "380\u00a0000,00\u00a0kr" in page
    response = client.post(
        url, {"support_pay": "1", "settlement_id": str(draft.pk), "year": "2025"}
    )
    assert response.status_code == 302
    assert SupportPayment.objects.get().amount == Decimal("380000.00")
    assert 'data-testid="support-paid"' in client.get(url).content.decode()
