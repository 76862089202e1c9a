"""Phases 4 and 5 of the fund after the decision (seed 003 fas 4–5, bilaga 2; decisions 0961
and 0962).

Phase 4: the six-monthly reports on a calendar (:func:`report_calendar`), with reminders
before a report is due and once it is overdue (:func:`report_reminders_send`) and the
overdue view of the whole fund (:func:`fund_calendar`); the follow-up of the quality and
fidelity of the implementation (:func:`fidelity_review_record`); and termination by the
seed's fairness rule (:func:`fairness_rule`, :func:`constellation_terminate_fairly`): a
constellation that did everything it could repays nothing, unused funds are returned, and
one that made an insufficient effort under the agreement repays what the delegation
decides, with reasons.

Phase 5: when a constellation's contract ends (:func:`constellation_complete`), the
dissemination call, the mentoring network and the support to sustain what worked are
tracked per constellation (:func:`follow_on_record`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from utfall.core.fund import PaymentKind
from utfall.core.fund.fairness import FairnessOutcome, fairness_rule
from utfall.errors import Finding, UserError
from utfall.platform.audit.services import audit_record
from utfall.platform.fund import services
from utfall.platform.fund.deep_analysis import DeepAnalysisInvalid
from utfall.platform.fund.models import (
    Constellation,
    ConstellationStatus,
    Decision,
    DecisionKind,
    FairnessSettlement,
    FidelityRating,
    FidelityReview,
    FollowOn,
    FollowOnKind,
    FollowOnStatus,
    Fund,
    OutcomeReport,
    ReportReminder,
)
from utfall.platform.fund.selectors import fund_state
from utfall.platform.fund.services import _require_admin

__all__ = [
    "GRACE_DAYS",
    "REMINDER_DAYS",
    "FairnessOutcome",
    "ReportDue",
    "constellation_complete",
    "constellation_terminate_fairly",
    "fairness_rule",
    "fidelity_review_record",
    "follow_on_record",
    "follow_on_status_set",
    "fund_calendar",
    "report_calendar",
    "report_reminders_send",
]

GRACE_DAYS = 30
"""A six-monthly report is due this many days after its period ends."""
REMINDER_DAYS = 14
"""The lead organisation is reminded this many days before a report is due."""
ORE = Decimal("0.01")


# The calendar.


@dataclass
class ReportDue:
    """One report of the common follow-up protocol: the baseline or a six-monthly report."""

    constellation: Constellation
    period_start: date
    period_end: date
    due_on: date
    is_baseline: bool
    report: OutcomeReport | None = None
    state: str = "upcoming"  # submitted, due (reminder window), overdue or upcoming
    reminders: list[ReportReminder] = field(default_factory=list)
    days_overdue: int = 0


def _anchor(constellation: Constellation) -> date:
    """Where the protocol's half-years start: the baseline's period, else the call's first
    implementation year."""
    baseline = constellation.reports.filter(is_baseline=True).first()
    if baseline is not None:
        return baseline.period_start
    return date(constellation.application.call.implementation_start_year, 1, 1)


def report_calendar(constellation: Constellation, *, today: date) -> list[ReportDue]:
    """The constellation's reports by half-year from the baseline to the end of the call's
    implementation, each with its due date (the period's end + :data:`GRACE_DAYS`) and its
    state as of ``today``."""
    call = constellation.application.call
    last = date(call.implementation_end_year, 12, 31)
    reports = list(constellation.reports.all())
    reminders = list(constellation.reminders.all())
    anchor = _anchor(constellation)
    dues = []
    index = 0
    while True:
        start = services._add_months(anchor, 6 * index)
        if start > last:
            break
        end = services._add_months(anchor, 6 * (index + 1)) - timedelta(days=1)
        due = ReportDue(
            constellation,
            start,
            end,
            end + timedelta(days=GRACE_DAYS),
            is_baseline=index == 0,
        )
        due.report = next((r for r in reports if start <= r.period_start <= end), None)
        due.reminders = [r for r in reminders if r.period_end == end]
        if due.report is not None:
            due.state = "submitted"
        elif constellation.status != ConstellationStatus.ACTIVE:
            due.state = "not_due"
        elif today > due.due_on:
            due.state = "overdue"
            due.days_overdue = (today - due.due_on).days
        elif today >= due.due_on - timedelta(days=REMINDER_DAYS):
            due.state = "due"
        dues.append(due)
        index += 1
    return dues


def fund_calendar(fund: Fund, *, today: date) -> list[ReportDue]:
    """Every active constellation's reports, by due date."""
    dues = []
    for constellation in Constellation.objects.filter(
        application__call__fund=fund, status=ConstellationStatus.ACTIVE
    ).select_related("application__call"):
        dues.extend(report_calendar(constellation, today=today))
    return sorted(dues, key=lambda d: (d.due_on, d.constellation.code))


def _remind(due: ReportDue) -> int:
    """E-mail the lead organisation's members, in Swedish (the platform's first language)."""
    constellation = due.constellation
    recipients = [
        m.user.email
        for m in constellation.application.organisation.memberships.select_related("user")
        if m.user.email
    ]
    if not recipients:
        return 0
    with translation.override("sv"):
        if due.state == "overdue":
            subject = gettext("The report for %(period)s is overdue") % {
                "period": f"{due.period_start}–{due.period_end}"
            }
        else:
            subject = gettext("The report for %(period)s is due on %(due)s") % {
                "period": f"{due.period_start}–{due.period_end}",
                "due": due.due_on.isoformat(),
            }
        body = gettext(
            "%(constellation)s: report the indicators of the common follow-up protocol and "
            "the costs to date on the constellation's page in utfall."
        ) % {"constellation": str(constellation)}
    send_mail(subject, body, getattr(settings, "DEFAULT_FROM_EMAIL", None), recipients)
    return len(recipients)


@transaction.atomic
def report_reminders_send(
    *, fund: Fund, actor: AbstractBaseUser | None, today: date
) -> list[ReportReminder]:
    """Remind each lead organisation of a report due within :data:`REMINDER_DAYS`, and again
    once it is overdue; each reminder is sent once (run it daily, or from the calendar)."""
    _require_admin(actor, fund)
    sent = []
    for due in fund_calendar(fund, today=today):
        if due.state not in ("due", "overdue"):
            continue
        overdue = due.state == "overdue"
        if any(r.overdue == overdue for r in due.reminders):
            continue
        sent.append(
            ReportReminder.objects.create(
                constellation=due.constellation,
                period_end=due.period_end,
                due_on=due.due_on,
                overdue=overdue,
                recipients=_remind(due),
            )
        )
    if sent:
        audit_record(actor=actor, action="fund_report_reminders_sent", count=len(sent))
    return sent


# Fidelity.


@transaction.atomic
def fidelity_review_record(
    *,
    constellation: Constellation,
    actor: AbstractBaseUser,
    reviewed_on: date,
    rating: str,
    findings: str,
    actions: str = "",
) -> FidelityReview:
    """Record a follow-up of the implementation's quality and fidelity to the plan (seed
    003 tabell 7, "Följa upp kvalitet i genomförande och programtrohet"); a rating below
    plan needs the agreed actions ("Extra stöd till konstellationer där genomförandet
    sviktar")."""
    _require_admin(actor, constellation.fund)
    problems = []
    if rating not in FidelityRating.values:
        problems.append(Finding("rating", "unknown rating", field_name="rating"))
    if not findings.strip():
        problems.append(Finding("required", "state the findings", field_name="findings"))
    if rating != FidelityRating.AS_PLANNED and not actions.strip():
        problems.append(
            Finding("required", "an implementation below plan needs actions", field_name="actions")
        )
    if problems:
        raise DeepAnalysisInvalid("the follow-up was not saved", problems)
    review = FidelityReview.objects.create(
        constellation=constellation,
        reviewed_on=reviewed_on,
        rating=rating,
        findings=findings.strip(),
        actions=actions.strip(),
        reviewed_by=actor,
    )
    audit_record(
        actor=actor, action="fund_fidelity_reviewed", code=constellation.code, rating=rating
    )
    return review


@transaction.atomic
def constellation_terminate_fairly(
    *,
    constellation: Constellation,
    actor: AbstractBaseUser,
    today: date,
    reason: str,
    effort: str,
    support_used: Decimal,
    repayment: Decimal = Decimal(0),
) -> FairnessSettlement:
    """Terminate the constellation's outcome financing (commitments of later years released,
    ``services.constellation_terminate``) and settle by the fairness rule, with reasons;
    both are decisions in the audit trail."""
    if not reason.strip():
        raise UserError("a termination needs its reasons")
    state = fund_state(constellation.fund)
    support_paid = state.paid(constellation=constellation.code, kind=PaymentKind.SUPPORT)
    outcome_paid = state.paid(constellation=constellation.code, kind=PaymentKind.OUTCOME_PAYMENT)
    outcome = fairness_rule(
        effort=effort,
        support_paid=support_paid,
        support_used=support_used,
        outcome_paid=outcome_paid,
        repayment=repayment,
    )
    services.constellation_terminate(
        constellation=constellation, actor=actor, reason=reason, today=today
    )
    decision = Decision.objects.create(
        fund=constellation.fund,
        kind=DecisionKind.FAIRNESS,
        summary=f"{constellation.code}: {outcome.total} SEK returned "
        f"({outcome.unused_returned} unused, {outcome.repayment} repayment)",
        reasons=reason.strip() + "\n" + "\n".join(outcome.explanation),
        details={
            "effort": effort,
            "support_paid": str(support_paid),
            "support_used": str(support_used),
            "outcome_paid": str(outcome_paid),
            "unused_returned": str(outcome.unused_returned),
            "repayment": str(outcome.repayment),
        },
        decided_by=actor,
    )
    settlement = FairnessSettlement.objects.create(
        constellation=constellation,
        effort=effort,
        support_paid=support_paid,
        support_used=support_used,
        outcome_paid=outcome_paid,
        unused_returned=outcome.unused_returned,
        repayment=outcome.repayment,
        reasons=reason.strip(),
        decision=decision,
    )
    audit_record(
        actor=actor,
        action="fund_fairness_settled",
        code=constellation.code,
        effort=effort,
        returned=str(outcome.total),
    )
    return settlement


# Phase 5.


@transaction.atomic
def constellation_complete(
    *, constellation: Constellation, actor: AbstractBaseUser, today: date
) -> Constellation:
    """The constellation's contract has ended (its implementation years are over): phase 5
    follows for it."""
    _require_admin(actor, constellation.fund)
    if constellation.status != ConstellationStatus.ACTIVE:
        raise UserError("only an active constellation's contract ends")
    if today.year <= constellation.application.call.implementation_end_year:
        raise UserError(
            "the contract ends after the call's last implementation year "
            f"({constellation.application.call.implementation_end_year})"
        )
    constellation.status = ConstellationStatus.COMPLETED
    constellation.completed_on = today
    constellation.save(update_fields=["status", "completed_on"])
    audit_record(actor=actor, action="fund_constellation_completed", code=constellation.code)
    return constellation


@transaction.atomic
def follow_on_record(
    *,
    constellation: Constellation,
    actor: AbstractBaseUser,
    kind: str,
    description: str,
    starts_on: date,
    partner: str = "",
    status: str = FollowOnStatus.PLANNED,
) -> FollowOn:
    """Track a phase-5 activity of a constellation whose contract has ended (seed 003 tabell
    9): a dissemination call, a place in the mentoring network ("Samla erfarenheter från
    projektledare … erbjud dem att vara mentorer"), or support to sustain what worked."""
    _require_admin(actor, constellation.fund)
    if constellation.status != ConstellationStatus.COMPLETED:
        raise UserError("phase 5 follows a constellation after its contract has ended")
    problems = []
    if kind not in FollowOnKind.values:
        problems.append(Finding("kind", "unknown kind", field_name="kind"))
    if status not in FollowOnStatus.values:
        problems.append(Finding("status", "unknown status", field_name="status"))
    if not description.strip():
        problems.append(Finding("required", "describe the activity", field_name="description"))
    if problems:
        raise DeepAnalysisInvalid("the activity was not saved", problems)
    follow_on = FollowOn.objects.create(
        constellation=constellation,
        kind=kind,
        description=description.strip(),
        partner=partner.strip(),
        starts_on=starts_on,
        status=status,
        recorded_by=actor,
    )
    audit_record(actor=actor, action="fund_follow_on_recorded", code=constellation.code, kind=kind)
    return follow_on


@transaction.atomic
def follow_on_status_set(*, follow_on: FollowOn, actor: AbstractBaseUser, status: str) -> FollowOn:
    """Move a phase-5 activity on (planned → ongoing → done)."""
    _require_admin(actor, follow_on.constellation.fund)
    if status not in FollowOnStatus.values:
        raise UserError("unknown status")
    follow_on.status = status
    follow_on.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="fund_follow_on_updated",
        code=follow_on.constellation.code,
        status=status,
    )
    return follow_on
