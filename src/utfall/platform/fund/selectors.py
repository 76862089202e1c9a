"""Reads of the national outcomes fund: the core's FundState from the database, forecast,
ranking and selection proposal, portfolio. Pages for the fund administrator only; an
applicant sees its own applications."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from utfall.core.fund import (
    PILOT_ACTOR_BUDGET,
    FundBudget,
    FundState,
    Payment,
    PaymentKind,
    YearForecast,
    forecast,
)
from utfall.core.fund import (
    BudgetLine as CoreBudgetLine,
)
from utfall.core.fund import (
    Commitment as CoreCommitment,
)
from utfall.platform.fund.models import (
    Application,
    ApplicationStatus,
    Call,
    Commitment,
    Constellation,
    Fund,
    OutcomePayment,
    SupportPayment,
)
from utfall.platform.permissions import is_fund_administrator, membership_lookups

__all__ = [
    "PortfolioRow",
    "RankedApplication",
    "application_list_for_user",
    "call_ranking",
    "fund_forecast",
    "fund_list_for_user",
    "fund_state",
    "portfolio",
    "selection_proposal",
]


def fund_list_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Fund]:
    """The funds the user administers."""
    if not user.is_authenticated:
        return Fund.objects.none()
    # Through an API token only memberships older than the token count (decision 0602).
    return Fund.objects.filter(**membership_lookups(user, "administrator__")).distinct()


def application_list_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Application]:
    """The applications of the user's organisations (an applicant's own view)."""
    if not user.is_authenticated:
        return Application.objects.none()
    return Application.objects.filter(**membership_lookups(user, "organisation__")).select_related(
        "call", "screening"
    )


def can_view_application(user: AbstractBaseUser | AnonymousUser, application: Application) -> bool:
    """The fund's administrators and the applicant's members see an application."""
    if not user.is_authenticated:
        return False
    return is_fund_administrator(user, application.call.fund) or (
        application.organisation.memberships.filter(user=user).exists()
    )


def fund_state(fund: Fund) -> FundState:
    """The core's view of the fund: budget lines, commitments, outcome payments."""
    budget = FundBudget(
        tuple(
            CoreBudgetLine(line.year, line.category, line.amount)
            for line in fund.budget_lines.order_by("year", "pk")
        ),
        fund.outcome_payment_ceiling,
    )
    # The fund's own work (the budget lines other than the one for outcome payments) is
    # promised money too: a constellation can never be paid out of it.
    reserved = tuple(
        CoreCommitment(f"fund:{line.category}", line.year, line.amount)
        for line in budget.lines
        if line.category != fund.payment_category and line.amount > 0
    )
    commitments = reserved + tuple(
        CoreCommitment(c.constellation.code, c.year, c.amount)
        for c in Commitment.objects.filter(constellation__application__call__fund=fund)
        .select_related("constellation")
        .order_by("year", "pk")
    )
    payments = tuple(
        Payment(p.report.constellation.code, p.year, p.amount)
        for p in OutcomePayment.objects.filter(report__constellation__application__call__fund=fund)
        .select_related("report__constellation")
        .order_by("paid_at", "pk")
    ) + tuple(
        # Support for the local project leaders (decision 0960) comes out of the same budget.
        Payment(s.constellation.code, s.year, s.amount, kind=PaymentKind.SUPPORT)
        for s in SupportPayment.objects.filter(constellation__application__call__fund=fund)
        .select_related("constellation")
        .order_by("paid_at", "pk")
    )
    # Seed 003 table 12 splits the pilot's budget by actor; a fund whose yearly budget is
    # the pilot's gets that split, so outcome payments never consume SKR and RISE's share
    # (decision 0950).
    actors = PILOT_ACTOR_BUDGET if PILOT_ACTOR_BUDGET.fits(budget) else None
    return FundState(budget, commitments, payments, actors)


def fund_forecast(fund: Fund, *, today: date) -> list[YearForecast]:
    """Budget, paid, committed and forecast per year."""
    return forecast(fund_state(fund), today=today)


@dataclass
class RankedApplication:
    """An application with its reviewers' mean weighted score and whether it fits."""

    application: Application
    mean_score: Decimal | None
    reviews: int
    proposed: bool = False
    cumulative: Decimal = Decimal(0)


def call_ranking(call: Call) -> list[RankedApplication]:
    """Qualified applications ranked by mean weighted score (highest first)."""
    ranked = []
    for application in call.applications.filter(
        status__in=[
            ApplicationStatus.SCREENED_IN,
            ApplicationStatus.SELECTED,
            ApplicationStatus.NOT_SELECTED,
        ]
    ).prefetch_related("reviews"):
        scores = [r.weighted_score for r in application.reviews.all()]
        mean = (
            (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.001")) if scores else None
        )
        ranked.append(RankedApplication(application, mean, len(scores)))
    ranked.sort(
        key=lambda r: (r.mean_score is None, -(r.mean_score or 0), r.application.constellation_name)
    )
    return ranked


def selection_proposal(call: Call) -> list[RankedApplication]:
    """Rank and fit: in order of score, propose each reviewed application whose outcome
    payment still fits in the call's frame (a cheaper one further down may still fit)."""
    ranked = call_ranking(call)
    total = Decimal(0)
    for row in ranked:
        if row.mean_score is None:
            continue
        amount = row.application.requested_outcome_payment
        if total + amount <= call.outcome_payment_frame:
            total += amount
            row.proposed = True
        row.cumulative = total
    return ranked


@dataclass
class PortfolioRow:
    """One constellation in the portfolio."""

    constellation: Constellation
    committed: Decimal
    paid: Decimal
    reports: int
    latest: list[dict[str, object]] = field(default_factory=list)


def portfolio(fund: Fund) -> list[PortfolioRow]:
    """Every selected constellation with money committed and paid and its latest outcomes."""
    state = fund_state(fund)
    rows = []
    for constellation in Constellation.objects.filter(application__call__fund=fund).select_related(
        "application"
    ):
        latest = constellation.reports.filter(is_baseline=False).order_by("-period_start").first()
        baseline = constellation.reports.filter(is_baseline=True).first()
        base = {line.indicator_id: line for line in baseline.lines.all()} if baseline else {}
        outcomes = []
        if latest is not None:
            for line in latest.lines.select_related("indicator"):
                before = base.get(line.indicator_id)
                outcomes.append(
                    {
                        "indicator": line.indicator,
                        "baseline": round(100 * before.count / before.n, 1) if before else None,
                        "share": round(100 * line.count / line.n, 1),
                        "verified_units": line.verified_units,
                    }
                )
        rows.append(
            PortfolioRow(
                constellation,
                state.committed(constellation=constellation.code),
                state.paid(constellation=constellation.code),
                constellation.reports.count(),
                outcomes,
            )
        )
    return rows
