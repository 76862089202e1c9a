"""Phases 4 and 5 after the decision (issue 18).

Seed 003 (003_7d5cf87c6e04e6cb.txt) tabell 7: "Utvärdering av sociala och ekonomiska utfall –
Utfall presenteras för delegationen med sex månaders intervall" (the calendar) and "Följa
upp kvalitet i genomförande och programtrohet – Processuppföljning" (fidelity); bilaga 2,
the fairness rule: "ska slippa återbetalning till en eventuell fond om man gjort allt man
förmår men trots det inte nått önskat resultat, men återföra medel som inte använts eller om
man inte gjort en tillräcklig ansträngning enligt avtal"; tabell 9 (fas 5): "Utformning av
utlysning för spridning", "Nätverk för kunskapsöverföring" (mentors), "Stöd till
vidmakthållande".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from utfall.errors import UserError
from utfall.platform.fund import follow_up, services
from utfall.platform.fund.models import (
    ConstellationStatus,
    Decision,
    DecisionKind,
    Effort,
    FairnessSettlement,
    FidelityRating,
    FollowOnKind,
    FollowOnStatus,
    ReportReminder,
)


def _baseline(w, start=date(2025, 1, 1)):
    return services.report_submit(
        constellation=w.constellation,
        actor=w.applicant,
        period_start=start,
        period_end=date(2025, 6, 30),
        reported_costs_to_date=Decimal(0),
        lines=[
            {"indicator": w.indicators["school_absence"], "n": 100, "count": 30},
            {"indicator": w.indicators["work_or_studies"], "n": 100, "count": 40},
        ],
        is_baseline=True,
    )


def test_the_calendar_has_a_report_every_half_year_with_due_and_overdue(selected):
    w = selected
    w.applicant.email = "lead@example.invalid"
    w.applicant.save()
    # Before the baseline the calendar starts with the call's first implementation year.
    dues = follow_up.report_calendar(w.constellation, today=date(2025, 1, 20))
    assert dues[0].period_start == date(2025, 1, 1) and dues[0].is_baseline
    assert len(dues) == 8  # 2025–2028, two half-years each
    _baseline(w)
    dues = follow_up.report_calendar(w.constellation, today=date(2026, 1, 20))
    assert [d.state for d in dues[:3]] == ["submitted", "due", "upcoming"]
    assert dues[1].period_end == date(2025, 12, 31)
    assert dues[1].due_on == date(2026, 1, 30)
    late = follow_up.report_calendar(w.constellation, today=date(2026, 2, 5))
    assert late[1].state == "overdue" and late[1].days_overdue == 6
    overdue = [d for d in follow_up.fund_calendar(w.fund, today=date(2026, 2, 5))]
    assert [d.state for d in overdue if d.state == "overdue"] == ["overdue"]


def test_reminders_are_sent_once_before_the_due_date_and_once_overdue(selected):
    w = selected
    w.applicant.email = "lead@example.invalid"
    w.applicant.save()
    _baseline(w)
    with pytest.raises(PermissionDenied):
        follow_up.report_reminders_send(fund=w.fund, actor=w.applicant, today=date(2026, 1, 20))
    sent = follow_up.report_reminders_send(fund=w.fund, actor=w.admin, today=date(2026, 1, 20))
    assert [r.overdue for r in sent] == [False]
    assert sent[0].recipients == 1
    assert mail.outbox[-1].to == ["lead@example.invalid"]
    assert "2026-01-30" in mail.outbox[-1].subject
    assert (
        follow_up.report_reminders_send(fund=w.fund, actor=w.admin, today=date(2026, 1, 25)) == []
    )
    sent = follow_up.report_reminders_send(fund=w.fund, actor=w.admin, today=date(2026, 2, 2))
    assert [r.overdue for r in sent] == [True]
    assert ReportReminder.objects.count() == 2


def test_fidelity_below_plan_needs_actions(selected):
    w = selected
    with pytest.raises(follow_up.DeepAnalysisInvalid):
        follow_up.fidelity_review_record(
            constellation=w.constellation,
            actor=w.admin,
            reviewed_on=date(2025, 9, 1),
            rating=FidelityRating.PARTLY,
            findings="Half the home visits were made",
        )
    review = follow_up.fidelity_review_record(
        constellation=w.constellation,
        actor=w.admin,
        reviewed_on=date(2025, 9, 1),
        rating=FidelityRating.PARTLY,
        findings="Half the home visits were made",
        actions="Extra support from SKR and RISE for the home visits",
    )
    assert review.get_rating_display()


def test_termination_by_the_fairness_rule_is_decided_with_reasons(selected):
    w = selected
    with pytest.raises(UserError, match="reasons"):
        follow_up.constellation_terminate_fairly(
            constellation=w.constellation,
            actor=w.admin,
            today=date(2026, 3, 1),
            reason=" ",
            effort=Effort.DID_ALL,
            support_used=Decimal(0),
        )
    settlement = follow_up.constellation_terminate_fairly(
        constellation=w.constellation,
        actor=w.admin,
        today=date(2026, 3, 1),
        reason="The target group moved away; the constellation did all it could",
        effort=Effort.DID_ALL,
        support_used=Decimal(0),
    )
    w.constellation.refresh_from_db()
    assert w.constellation.status == ConstellationStatus.TERMINATED
    assert settlement.total_returned == 0
    assert FairnessSettlement.objects.count() == 1
    assert Decision.objects.filter(kind=DecisionKind.FAIRNESS).count() == 1
    assert Decision.objects.filter(kind=DecisionKind.TERMINATION).count() == 1
    assert "no repayment" in Decision.objects.get(kind=DecisionKind.FAIRNESS).reasons


def test_phase_5_follows_a_constellation_after_its_contract_ends(selected):
    w = selected
    with pytest.raises(UserError, match="after its contract"):
        follow_up.follow_on_record(
            constellation=w.constellation,
            actor=w.admin,
            kind=FollowOnKind.MENTORING,
            description="Mentor",
            starts_on=date(2029, 2, 1),
        )
    with pytest.raises(UserError, match="last implementation year"):
        follow_up.constellation_complete(
            constellation=w.constellation, actor=w.admin, today=date(2028, 6, 1)
        )
    follow_up.constellation_complete(
        constellation=w.constellation, actor=w.admin, today=date(2029, 1, 10)
    )
    for kind in FollowOnKind.values:
        follow_on = follow_up.follow_on_record(
            constellation=w.constellation,
            actor=w.admin,
            kind=kind,
            description=f"{kind} for the school-absence model",
            partner="Österby kommun",
            starts_on=date(2029, 2, 1),
        )
    follow_up.follow_on_status_set(follow_on=follow_on, actor=w.admin, status=FollowOnStatus.DONE)
    assert w.constellation.follow_ons.count() == 3
    assert w.constellation.follow_ons.filter(status=FollowOnStatus.DONE).count() == 1
    with pytest.raises(PermissionDenied):
        follow_up.follow_on_status_set(follow_on=follow_on, actor=w.applicant, status="ongoing")


def test_the_calendar_and_follow_up_pages(client, selected):
    w = selected
    _baseline(w)
    client.force_login(w.applicant)
    assert client.get(f"/fund/{w.fund.pk}/calendar/").status_code == 403
    page = client.get(f"/fund/constellations/{w.constellation.pk}/follow-up/").content.decode()
    assert "Halvårsrapporter" in page and 'data-testid="fidelity-form"' not in page
    client.force_login(w.admin)
    page = client.get(f"/fund/{w.fund.pk}/calendar/").content.decode()
    assert 'data-testid="calendar"' in page and "Baslinje" in page
    assert client.get(f"/fund/{w.fund.pk}/calendar/?view=overdue").status_code == 200
    response = client.post(f"/fund/{w.fund.pk}/calendar/", {"remind": "1"})
    assert response.status_code == 302
    url = f"/fund/constellations/{w.constellation.pk}/follow-up/"
    response = client.post(
        url,
        {
            "fidelity": "1",
            "reviewed_on": "2025-09-01",
            "rating": "partly",
            "findings": "Halva hembesöken gjordes",
            "actions": "",
        },
    )
    assert "Ett genomförande under plan behöver åtgärder." in response.content.decode()
    page = client.get(url).content.decode()
    assert 'data-testid="fair-terminate-form"' in page and "data-confirm=" in page
    response = client.post(
        url,
        {
            "terminate": "1",
            "reason": "Målgruppen flyttade",
            "effort": "did_all",
            "support_used": "0",
            "repayment": "1 000",
        },
    )
    assert "betalar inte tillbaka något" in response.content.decode()
    client.post(
        url,
        {
            "terminate": "1",
            "reason": "Målgruppen flyttade",
            "effort": "did_all",
            "support_used": "0",
            "repayment": "",
        },
    )
    page = client.get(url).content.decode()
    assert 'data-testid="fairness"' in page and "Gjorde allt den förmådde" in page
