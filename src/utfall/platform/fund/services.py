"""Writes of the national outcomes fund (seed 003, DESIGN.md 2.4).

Every function checks who may act, writes in one transaction and appends an
audit event in it; decisions are also written as :class:`Decision` records.
The money rule is the core's (:mod:`utfall.core.fund`): a payment is the
smallest of what the outcomes earned, 50 % of the constellation's reported
costs and what is left of the year's budget, and the record says which bound.

Reports, costs and payments are rows of the constellation's contract (imported with
:func:`utfall.platform.imports.services.import_file`: validated, audited, in the
ledger); every figure of a statement comes from the one pipeline on those stored rows
(``settlement_start``). What the fund knows about its contract is its configuration
(:mod:`utfall.platform.fund.contract`, decision 0506).
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from utfall.core.finance import allocate
from utfall.core.fund import (
    BudgetExceeded,
    FundBudget,
    decide_payment,
    funding_mode,
)
from utfall.core.fund import Commitment as CoreCommitment
from utfall.core.ledger import (
    KIND_FUND_COMMITMENT,
    KIND_FUND_PAYMENT,
    canonical_sha256,
    statement_from_dict,
)
from utfall.errors import Finding, FindingsError, UserError
from utfall.platform.audit.services import audit_record
from utfall.platform.contracts.models import Contract, Role, Settlement, SettlementStatus
from utfall.platform.contracts.selectors import latest_version, parsed_version
from utfall.platform.contracts.services import (
    contract_create,
    contract_party_add_agreed,
    contract_put_in_force,
)
from utfall.platform.fund.contract import (
    FundConfiguration,
    FundContract,
    FundInvalid,
    fund_contract,
    rows_csv,
)
from utfall.platform.fund.models import (
    Application,
    ApplicationOutcome,
    ApplicationStatus,
    BudgetLine,
    Call,
    CallStatus,
    Commitment,
    Constellation,
    ConstellationStatus,
    Criterion,
    Decision,
    DecisionKind,
    Direction,
    Fund,
    Indicator,
    OutcomePayment,
    OutcomeReport,
    OutcomeReportLine,
    Phase,
    ReportStatus,
    Review,
    ReviewScore,
    Screening,
)
from utfall.platform.fund.selectors import fund_state
from utfall.platform.imports.services import import_file
from utfall.platform.links import link_problem
from utfall.platform.organisations.models import Organisation
from utfall.platform.permissions import (
    Action,
    is_fund_administrator,
    require,
    require_fund_administrator,
)
from utfall.platform.settlements.ledger import ledger_append
from utfall.platform.settlements.services import settlement_start

__all__ = [
    "MEMBER_KINDS",
    "PHASES",
    "ApplicationInvalid",
    "FundConfiguration",
    "FundInvalid",
    "IndicatorEntry",
    "application_screen",
    "application_submit",
    "call_close",
    "call_create",
    "constellation_terminate",
    "fund_contract_of",
    "fund_create",
    "indicator_library_update",
    "phases_set",
    "report_evaluate",
    "report_pay",
    "report_statement",
    "report_submit",
    "review_submit",
    "selection_decide",
]

MEMBER_KINDS = (
    "municipality",
    "region",
    "agency",
    "provider",
    "civil_society",
    "financier",
    "academia",
)
PRINCIPALS = {"municipality", "region", "agency"}


class ApplicationInvalid(FindingsError):
    """An application (or report) with problems in named fields."""


# Seed 003: five phases with their estimated durations (months), deliverables and decisions.
PHASES: tuple[tuple[str, int, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "Uppdrag och förankring / Mandate and anchoring",
        5,
        (
            "Delegation with secretariat; agreement with SKR and RISE on practical support",
            "In-depth needs inventory; outcomes with a model for socio-economic valuation",
            "Framework with an overall theory of change; hearings; criteria for taking part",
        ),
        ("Prioritised need areas with primary outcome definitions", "Criteria for taking part"),
    ),
    (
        "Utlysning / Call",
        3,
        (
            "Call inviting constellations to apply",
            "Applications: problem formulation, target groups, outcomes, readiness survey",
            "First screening; written feedback on strengths and weaknesses to every applicant",
        ),
        ("The call", "Feedback to applicants", "Which constellations go on to deep analysis"),
    ),
    (
        "Fördjupad analys / Deep analysis",
        6,
        (
            "Local project leader and a picture of current capacity",
            "Analysis of local quantitative and qualitative data",
            "Theory of change covering the prevention triangle; evidence matched against it",
            "Locally anchored outcome definitions; implementation and follow-up plans",
            "Common follow-up and evaluation protocol with baseline",
        ),
        ("Which constellations get outcome financing; reasons to the others",),
    ),
    (
        "Genomförandestöd / Implementation support",
        48,
        (
            "Baseline measurement and test of the follow-up protocol",
            "Six-monthly evaluation of social and economic outcomes",
            "Collaboration forum; extra support where implementation falters",
        ),
        (
            "Termination of work that does not meet the agreed criteria",
            "Confirmation of evaluated results; outcome payments",
        ),
    ),
    (
        "Implementering och spridning / Dissemination",
        12,
        (
            "Training material; dissemination call; support to new constellations",
            "Network of project leaders; evaluation of the process",
        ),
        ("Dissemination call", "Recommendation to the government"),
    ),
)


@dataclass(frozen=True)
class IndicatorEntry:
    """An entry of the indicator library (the demo loads seed 003 appendix 4 and the reference
    contracts' outcomes; a fund may add its own)."""

    code: str
    name: str
    desired_change: str
    unit: str
    direction: str
    source: str


def _require_admin(actor: AbstractBaseUser | None, fund: Fund) -> None:
    # actor None: a trusted caller inside the platform (the demo loader) — never a request.
    if actor is not None:
        require_fund_administrator(actor, fund)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@transaction.atomic
def fund_create(
    *,
    name: str,
    administrator: Organisation,
    budget: FundBudget,
    actor: AbstractBaseUser | None,
    contract: Contract | None = None,
    evaluator: Organisation | None = None,
    max_share_of_costs: Decimal = Decimal("0.50"),
    configuration: FundConfiguration | None = None,
) -> Fund:
    """Create a fund with its budget lines (e.g. :data:`utfall.core.fund.PILOT_BUDGET`);
    ``evaluator`` is the organisation that evaluates reports and signs statements off.

    With a ``contract`` (the outcome contract every constellation is paid under), the
    ``configuration`` says where in it the fund writes the reports, the costs and its
    payments; :class:`FundInvalid` lists every way it does not fit the declaration."""
    if actor is not None and not actor.is_staff:
        raise PermissionDenied("only a platform administrator creates a fund")
    if contract is not None:
        _contract_checked(contract, configuration)
    fund = Fund.objects.create(
        name=name,
        administrator=administrator,
        max_share_of_costs=max_share_of_costs,
        outcome_payment_ceiling=budget.outcome_payment_ceiling,
        contract=contract,
        evaluator=evaluator,
        **(configuration.as_dict() if configuration is not None else {}),
    )
    BudgetLine.objects.bulk_create(
        BudgetLine(fund=fund, year=line.year, category=line.category, amount=line.amount)
        for line in budget.lines
    )
    audit_record(actor=actor, action="fund_created", fund=fund.name, total=str(budget.total))
    return fund


@transaction.atomic
def phases_set(*, fund: Fund, start: date, actor: AbstractBaseUser | None) -> list[Phase]:
    """Lay out the five phases of seed 003 from ``start``, each after the one before."""
    _require_admin(actor, fund)
    fund.phases.all().delete()
    phases = []
    begins = start
    for number, (name, months, deliverables, decisions) in enumerate(PHASES, start=1):
        ends = _add_months(begins, months)
        phases.append(
            Phase.objects.create(
                fund=fund,
                number=number,
                name=name,
                starts_on=begins,
                ends_on=date.fromordinal(ends.toordinal() - 1),
                deliverables="\n".join(deliverables),
                decisions="\n".join(decisions),
            )
        )
        begins = ends
    audit_record(actor=actor, action="fund_phases_set", fund=fund.name, start=start.isoformat())
    return phases


def _contract_checked(contract: Contract, configuration: FundConfiguration | None) -> FundContract:
    """The configuration resolved against the contract's newest version (FundInvalid)."""
    version = latest_version(contract)
    if version is None:
        raise UserError("the fund's contract has no version")
    return fund_contract(parsed_version(version), configuration)


def fund_contract_of(fund: Fund, contract: Contract | None = None) -> FundContract:
    """The fund's configuration resolved against ``contract`` (a constellation's instance;
    the fund's own contract by default)."""
    contract = contract or fund.contract
    if contract is None:
        raise UserError("the fund has no contract to pay outcomes under")
    return _contract_checked(contract, FundConfiguration.of(fund))


@transaction.atomic
def indicator_library_update(*, entries: Sequence[IndicatorEntry]) -> list[Indicator]:
    """Add entries to the indicator library, or update those with the same code."""
    indicators = []
    for entry in entries:
        if entry.direction not in Direction.values:
            raise UserError(f"{entry.code}: the direction is one of {', '.join(Direction.values)}")
        indicator, _ = Indicator.objects.update_or_create(
            code=entry.code,
            defaults={
                "name": entry.name,
                "desired_change": entry.desired_change,
                "unit": entry.unit,
                "direction": entry.direction,
                "source": entry.source,
            },
        )
        indicators.append(indicator)
    return indicators


@transaction.atomic
def call_create(
    *,
    fund: Fund,
    actor: AbstractBaseUser | None,
    title: str,
    description: str,
    opens_on: date,
    deadline: date,
    outcome_payment_frame: Decimal,
    implementation_start_year: int,
    implementation_end_year: int,
    criteria: Sequence[Mapping[str, Any]],
    documents: str = "",
) -> Call:
    """Open a call with its criteria (code, name, description, weight, is_base)."""
    _require_admin(actor, fund)
    findings = []
    if deadline < opens_on:
        findings.append(
            Finding("deadline", "the deadline is before the call opens", field_name="deadline")
        )
    years = fund_state(fund).budget.years
    if not (
        implementation_start_year in years
        and implementation_end_year in years
        and implementation_start_year <= implementation_end_year
    ):
        findings.append(
            Finding(
                "years",
                f"implementation years must lie in the budget ({years[0]}–{years[-1]})",
                field_name="implementation",
            )
        )
    if outcome_payment_frame <= 0:
        findings.append(
            Finding("frame", "the frame must be positive", field_name="outcome_payment_frame")
        )
    if not criteria:
        findings.append(Finding("criteria", "a call needs criteria", field_name="criteria"))
    for number, line in enumerate(documents.splitlines(), start=1):
        problem = link_problem(line.strip()) if line.strip() else None
        if problem is not None:
            findings.append(Finding("document_link", problem, row=number, field_name="documents"))
    if findings:
        raise ApplicationInvalid("the call cannot be created", findings)
    call = Call.objects.create(
        fund=fund,
        title=title,
        description=description,
        opens_on=opens_on,
        deadline=deadline,
        outcome_payment_frame=outcome_payment_frame,
        implementation_start_year=implementation_start_year,
        implementation_end_year=implementation_end_year,
        documents=documents,
    )
    for item in criteria:
        Criterion.objects.create(
            call=call,
            code=item["code"],
            name=item["name"],
            description=item.get("description", ""),
            weight=Decimal(str(item.get("weight", 1))),
            is_base=bool(item.get("is_base", False)),
        )
    audit_record(actor=actor, action="fund_call_created", call=call.title)
    return call


@transaction.atomic
def call_close(*, call: Call, actor: AbstractBaseUser | None) -> Call:
    """Close a call to further applications."""
    _require_admin(actor, call.fund)
    call.status = CallStatus.CLOSED
    call.save(update_fields=["status"])
    audit_record(actor=actor, action="fund_call_closed", call=call.title)
    return call


def _application_findings(
    *,
    members: Sequence[Mapping[str, str]],
    texts: Mapping[str, str],
    budget_total: Decimal,
    co_financing: Decimal,
    requested: Decimal,
    outcomes: Sequence[Mapping[str, Any]],
    max_share: Decimal,
) -> list[Finding]:
    findings = []
    for name, text in texts.items():
        if not (text or "").strip():
            findings.append(
                Finding("required", "this part of the application is required", field_name=name)
            )
    kinds = [m.get("kind") for m in members]
    for index, member in enumerate(members):
        if member.get("kind") not in MEMBER_KINDS or not (member.get("name") or "").strip():
            findings.append(
                Finding(
                    "member",
                    f"member {index + 1}: a name and a kind ({', '.join(MEMBER_KINDS)}) are needed",
                    field_name="members",
                )
            )
    if not PRINCIPALS & set(kinds):
        findings.append(
            Finding(
                "principal",
                "a constellation is led by a municipality, region or national agency",
                field_name="members",
            )
        )
    if len(members) < 2:
        findings.append(
            Finding(
                "cross-sector",
                "cross-sector cooperation is a base criterion: "
                "name at least two cooperating parties",
                field_name="members",
            )
        )
    if budget_total <= 0:
        findings.append(Finding("budget", "the budget must be positive", field_name="budget_total"))
    if requested < 0 or co_financing < 0:
        findings.append(Finding("budget", "amounts cannot be negative", field_name="co_financing"))
    if requested > max_share * budget_total:
        findings.append(
            Finding(
                "share",
                f"the outcome payment applied for may be at most {max_share:.0%} of the budget",
                field_name="requested_outcome_payment",
            )
        )
    if co_financing + requested < budget_total:
        findings.append(
            Finding(
                "co-financing",
                "own and co-financing plus the outcome payment must cover the budget",
                field_name="co_financing",
            )
        )
    if not outcomes:
        findings.append(
            Finding("outcomes", "at least one outcome definition is needed", field_name="outcomes")
        )
    seen = set()
    for index, outcome in enumerate(outcomes):
        for level in ("desired_change", "indicator", "causal_effect"):
            if not outcome.get(level):
                findings.append(
                    Finding(
                        "outcome-level",
                        f"outcome {index + 1}: the level {level!r} is missing",
                        field_name=f"outcomes.{index}",
                    )
                )
        code = getattr(outcome.get("indicator"), "pk", None)
        if code in seen:
            findings.append(
                Finding(
                    "outcome-twice",
                    f"outcome {index + 1}: the indicator is chosen twice",
                    field_name=f"outcomes.{index}",
                )
            )
        seen.add(code)
    return findings


@transaction.atomic
def application_submit(
    *,
    call: Call,
    organisation: Organisation,
    actor: AbstractBaseUser,
    today: date,
    constellation_name: str,
    members: Sequence[Mapping[str, str]],
    needs_analysis: str,
    target_group: str,
    theory_of_change: str,
    evaluation_design: str,
    readiness: str,
    budget_total: Decimal,
    co_financing: Decimal,
    requested_outcome_payment: Decimal,
    outcomes: Sequence[Mapping[str, Any]],
) -> Application:
    """Submit a constellation's application; every problem is listed at once."""
    if not organisation.memberships.filter(user=actor).exists():
        raise PermissionDenied("you can only apply for your own organisation")
    if call.status != CallStatus.OPEN or today > call.deadline or today < call.opens_on:
        raise UserError(
            f"the call {call.title!r} does not take applications now "
            f"(open {call.opens_on}–{call.deadline})"
        )
    findings = _application_findings(
        members=members,
        texts={
            "constellation_name": constellation_name,
            "needs_analysis": needs_analysis,
            "target_group": target_group,
            "theory_of_change": theory_of_change,
            "evaluation_design": evaluation_design,
        },
        budget_total=budget_total,
        co_financing=co_financing,
        requested=requested_outcome_payment,
        outcomes=outcomes,
        max_share=call.fund.max_share_of_costs,
    )
    if findings:
        raise ApplicationInvalid(f"the application has {len(findings)} problem(s)", findings)
    application = Application.objects.create(
        call=call,
        organisation=organisation,
        constellation_name=constellation_name.strip(),
        members=[dict(m) for m in members],
        needs_analysis=needs_analysis,
        target_group=target_group,
        theory_of_change=theory_of_change,
        evaluation_design=evaluation_design,
        readiness=readiness,
        budget_total=budget_total,
        co_financing=co_financing,
        requested_outcome_payment=requested_outcome_payment,
        submitted_by=actor,
    )
    for outcome in outcomes:
        ApplicationOutcome.objects.create(
            application=application,
            indicator=outcome["indicator"],
            desired_change=outcome["desired_change"],
            causal_effect=outcome["causal_effect"],
            baseline_share=outcome.get("baseline_share"),
            target_share=outcome.get("target_share"),
        )
    audit_record(
        actor=actor,
        action="fund_application_submitted",
        call=call.title,
        constellation=application.constellation_name,
    )
    return application


def blank_texts(message: str, **texts: str) -> list[Finding]:
    """A "required" finding with ``message`` for each of ``texts`` (by field name) that is
    blank."""
    return [
        Finding("required", message, field_name=name)
        for name, text in texts.items()
        if not text.strip()
    ]


@transaction.atomic
def application_screen(
    *,
    application: Application,
    actor: AbstractBaseUser,
    qualified: bool,
    strengths: str,
    weaknesses: str,
) -> Screening:
    """Screen an application against the base criteria; written feedback is required."""
    fund = application.call.fund
    _require_admin(actor, fund)
    if application.status != ApplicationStatus.SUBMITTED:
        raise UserError("the application has already been screened")
    findings = blank_texts(
        "written feedback is required for every applicant",
        strengths=strengths,
        weaknesses=weaknesses,
    )
    if findings:
        raise ApplicationInvalid("the screening needs written feedback", findings)
    screening = Screening.objects.create(
        application=application,
        qualified=qualified,
        strengths=strengths.strip(),
        weaknesses=weaknesses.strip(),
        screened_by=actor,
    )
    application.status = (
        ApplicationStatus.SCREENED_IN if qualified else ApplicationStatus.SCREENED_OUT
    )
    application.save(update_fields=["status"])
    Decision.objects.create(
        fund=fund,
        kind=DecisionKind.SCREENING,
        summary=f"{application.constellation_name}: "
        f"{'qualified for deep analysis' if qualified else 'not qualified'}",
        reasons=f"Strengths: {screening.strengths}\nWeaknesses: {screening.weaknesses}",
        details={"application": application.pk},
        decided_by=actor,
    )
    audit_record(
        actor=actor,
        action="fund_application_screened",
        qualified=qualified,
        constellation=application.constellation_name,
    )
    return screening


@transaction.atomic
def review_submit(
    *,
    application: Application,
    actor: AbstractBaseUser,
    scores: Mapping[str, int],
    comment: str = "",
) -> Review:
    """A reviewer scores a qualified application 0–5 on every criterion (again: replaces)."""
    _require_admin(actor, application.call.fund)
    if application.status != ApplicationStatus.SCREENED_IN:
        raise UserError("only applications qualified for deep analysis are scored")
    from utfall.platform.fund.deep_analysis import conflict_check

    conflict_check(application=application, actor=actor)  # declared, and no conflict
    criteria = list(application.call.criteria.all())
    findings = []
    for criterion in criteria:
        score = scores.get(criterion.code)
        if score is None or not 0 <= int(score) <= 5:
            findings.append(
                Finding("score", "a score from 0 to 5 is needed", field_name=criterion.code)
            )
    if findings:
        raise ApplicationInvalid("the review is incomplete", findings)
    weights = sum((c.weight for c in criteria), Decimal(0))
    weighted = sum((c.weight * int(scores[c.code]) for c in criteria), Decimal(0)) / weights
    review, _ = Review.objects.update_or_create(
        application=application,
        reviewer=actor,
        defaults={
            "comment": comment.strip(),
            "weighted_score": weighted.quantize(Decimal("0.001")),
        },
    )
    review.scores.all().delete()
    ReviewScore.objects.bulk_create(
        ReviewScore(review=review, criterion=c, score=int(scores[c.code])) for c in criteria
    )
    audit_record(
        actor=actor,
        action="fund_application_reviewed",
        constellation=application.constellation_name,
    )
    return review


def _commitments(call: Call, amount: Decimal) -> dict[int, Decimal]:
    """Spread an outcome-payment frame over the implementation years in proportion to the
    fund's budget line for outcome payments in those years (whole öre, summing exactly)."""
    years = list(range(call.implementation_start_year, call.implementation_end_year + 1))
    lines = {
        line.year: line.amount
        for line in call.fund.budget_lines.filter(category=call.fund.payment_category)
    }
    weights = [lines.get(year, Decimal(0)) for year in years]
    if not any(weights):  # no line for outcome payments in those years: spread evenly
        weights = [Decimal(1)] * len(years)
    return dict(zip(years, allocate(amount, weights), strict=True))


@transaction.atomic
def selection_decide(
    *,
    call: Call,
    actor: AbstractBaseUser,
    application_ids: Sequence[int],
    reasons: str,
) -> Decision:
    """Select constellations for outcome financing, within the call's frame and the fund's
    yearly budget; the others qualified are not selected. Writes the decision record."""
    fund = call.fund
    _require_admin(actor, fund)
    if call.status == CallStatus.DECIDED:
        raise UserError("the selection of this call has already been decided")
    if not reasons.strip():
        raise UserError("a selection decision needs its reasons")
    if fund.contract is None or fund.evaluator is None:
        raise UserError(
            "the fund needs its rate-card contract and an evaluator before selecting: each "
            "selected constellation is paid under an instance of the contract"
        )
    fund_contract_of(fund)  # the configuration still fits the contract's newest version
    qualified = {a.pk: a for a in call.applications.filter(status=ApplicationStatus.SCREENED_IN)}
    unknown = [i for i in application_ids if i not in qualified]
    if unknown:
        raise UserError("only applications qualified for deep analysis can be selected")
    chosen = [qualified[i] for i in application_ids]
    total = sum((a.requested_outcome_payment for a in chosen), Decimal(0))
    if total > call.outcome_payment_frame:
        raise UserError(
            f"the selected constellations apply for {total} SEK, above the call's "
            f"frame of {call.outcome_payment_frame} SEK"
        )
    state = fund_state(fund)
    existing = Constellation.objects.filter(application__call__fund=fund).count()
    selected = []
    for offset, application in enumerate(
        sorted(chosen, key=lambda a: a.constellation_name), start=1
    ):
        code = f"K-{existing + offset:02d}"
        for year, amount in _commitments(call, application.requested_outcome_payment).items():
            try:
                state = state.with_commitment(CoreCommitment(code, year, amount))
            except BudgetExceeded as error:
                raise UserError(f"{application.constellation_name}: {error}") from None
        constellation = Constellation.objects.create(
            application=application,
            code=code,
            follow_up_protocol=(
                "Common follow-up protocol: baseline report before implementation, then a "
                "report every six months with, per indicator, the individuals in the target "
                "group (n) and those meeting it (count), and the costs to date."
            ),
        )
        Commitment.objects.bulk_create(
            Commitment(constellation=constellation, year=year, amount=amount)
            for year, amount in _commitments(call, application.requested_outcome_payment).items()
        )
        if constellation.contract_id is None:
            constellation.contract = _constellation_contract(fund, constellation, actor)
            constellation.save(update_fields=["contract"])
        for commitment in constellation.commitments.all():
            _ledger_commitment(commitment, actor, change="committed")
        application.status = ApplicationStatus.SELECTED
        application.save(update_fields=["status"])
        selected.append(
            {
                "code": code,
                "constellation": application.constellation_name,
                "outcome_payment_frame": str(application.requested_outcome_payment),
            }
        )
    not_selected = [a for pk, a in qualified.items() if pk not in application_ids]
    for application in not_selected:
        application.status = ApplicationStatus.NOT_SELECTED
        application.save(update_fields=["status"])
    call.status = CallStatus.DECIDED
    call.save(update_fields=["status"])
    decision = Decision.objects.create(
        fund=fund,
        kind=DecisionKind.SELECTION,
        summary=f"{call.title}: {len(selected)} constellation(s) selected, {total} SEK",
        reasons=reasons.strip(),
        details={
            "selected": selected,
            "not_selected": [a.constellation_name for a in not_selected],
        },
        decided_by=actor,
    )
    audit_record(
        actor=actor,
        action="fund_selection_decided",
        call=call.title,
        selected=len(selected),
        total=str(total),
    )
    return decision


@transaction.atomic
def constellation_terminate(
    *, constellation: Constellation, actor: AbstractBaseUser, reason: str, today: date
) -> Decision:
    """End a constellation's outcome financing (seed 003 phase 4): commitments of the
    years after ``today``'s are released; what was paid stays paid."""
    fund = constellation.fund
    _require_admin(actor, fund)
    if constellation.status == ConstellationStatus.TERMINATED:
        raise UserError("the constellation is already terminated")
    if not reason.strip():
        raise UserError("a termination needs its reason")
    released = constellation.commitments.filter(year__gt=today.year)
    freed = sum((c.amount for c in released), Decimal(0))
    years = [c.year for c in released]
    for commitment in released:
        _ledger_commitment(commitment, actor, change="released")
    released.delete()
    constellation.status = ConstellationStatus.TERMINATED
    constellation.terminated_at = timezone.now()
    constellation.termination_reason = reason.strip()
    constellation.save(update_fields=["status", "terminated_at", "termination_reason"])
    decision = Decision.objects.create(
        fund=fund,
        kind=DecisionKind.TERMINATION,
        summary=f"{constellation.code}: outcome financing ended, {freed} SEK released",
        reasons=reason.strip(),
        details={"released_years": years, "released": str(freed)},
        decided_by=actor,
    )
    audit_record(actor=actor, action="fund_constellation_terminated", code=constellation.code)
    return decision


@transaction.atomic
def report_submit(
    *,
    constellation: Constellation,
    actor: AbstractBaseUser,
    period_start: date,
    period_end: date,
    reported_costs_to_date: Decimal,
    lines: Sequence[Mapping[str, Any]],
    is_baseline: bool = False,
) -> OutcomeReport:
    """A constellation's six-monthly report (or its baseline): per indicator of its outcome
    definitions, n and count, and the costs to date. The lead organisation or the fund
    administrator submits."""
    fund = constellation.fund
    lead = constellation.application.organisation
    if not (lead.memberships.filter(user=actor).exists() or is_fund_administrator(actor, fund)):
        raise PermissionDenied("only the constellation or the fund administrator reports")
    if constellation.status != ConstellationStatus.ACTIVE:
        raise UserError("a terminated constellation no longer reports")
    if constellation.contract is None:
        raise UserError("the constellation has no contract to report under")
    terms = fund_contract_of(fund, constellation.contract)
    findings = []
    if period_end < period_start:
        findings.append(
            Finding("period", "the period ends before it starts", field_name="period_end")
        )
    if reported_costs_to_date < 0:
        findings.append(
            Finding("costs", "costs cannot be negative", field_name="reported_costs_to_date")
        )
    has_baseline = constellation.reports.filter(is_baseline=True).exists()
    if is_baseline and has_baseline:
        findings.append(
            Finding(
                "baseline", "the constellation already has a baseline", field_name="is_baseline"
            )
        )
    if not is_baseline and not has_baseline:
        findings.append(
            Finding(
                "baseline",
                "report the baseline first (common follow-up protocol)",
                field_name="is_baseline",
            )
        )
    previous = constellation.reports.order_by("-period_start").first()
    if previous is not None and period_start <= previous.period_end:
        findings.append(
            Finding(
                "period",
                f"the period must start after the last report ({previous.period_end})",
                field_name="period_start",
            )
        )
    if previous is not None and reported_costs_to_date < previous.reported_costs_to_date:
        findings.append(
            Finding(
                "costs",
                "costs to date cannot fall below the last report's",
                field_name="reported_costs_to_date",
            )
        )
    if not is_baseline and period_end in _payment_days(constellation, terms):
        findings.append(
            Finding(
                "period",
                f"the contract's payments table has a row dated {period_end} already (opened "
                "at selection): a paid report's payment is dated with its period end, so end "
                "the period on another day",
                field_name="period_end",
            )
        )
    expected = {o.indicator_id for o in constellation.application.outcomes.all()}
    given = {}
    for index, line in enumerate(lines):
        indicator = line["indicator"]
        n, count = int(line["n"]), int(line["count"])
        if indicator.pk not in expected:
            findings.append(
                Finding(
                    "indicator",
                    f"{indicator.code} is not one of the constellation's outcomes",
                    field_name=f"lines.{index}",
                )
            )
        if n <= 0 or not 0 <= count <= n:
            findings.append(
                Finding(
                    "count",
                    f"{indicator.code}: need 0 ≤ count ≤ n and n > 0",
                    field_name=f"lines.{index}",
                )
            )
        given[indicator.pk] = (indicator, n, count)
    for missing in expected - set(given):
        findings.append(
            Finding(
                "missing",
                f"indicator {Indicator.objects.get(pk=missing).code} is not reported",
                field_name="lines",
            )
        )
    if findings:
        raise ApplicationInvalid(f"the report has {len(findings)} problem(s)", findings)
    report = OutcomeReport.objects.create(
        constellation=constellation,
        period_start=period_start,
        period_end=period_end,
        is_baseline=is_baseline,
        reported_costs_to_date=reported_costs_to_date,
        submitted_by=actor,
    )
    for indicator, n, count in given.values():
        OutcomeReportLine.objects.create(report=report, indicator=indicator, n=n, count=count)
    _report_rows(report, terms, given.values(), actor)
    audit_record(
        actor=actor,
        action="fund_report_submitted",
        code=constellation.code,
        period=period_start.isoformat(),
        baseline=is_baseline,
    )
    return report


def _rows_import(
    constellation: Constellation,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    actor: AbstractBaseUser,
    day: date,
) -> None:
    """Rows of a declared table of the constellation's contract, imported as any file is
    (validated, audited, in the ledger); nothing is written when a row is refused."""
    assert constellation.contract is not None
    import_file(
        contract=constellation.contract,
        table=table,
        name=f"{constellation.code.lower()}-{table}-{day.isoformat()}.csv",
        content=rows_csv(columns, rows),
        actor=actor,
    )


def _report_rows(
    report: OutcomeReport,
    terms: FundContract,
    lines: Any,
    actor: AbstractBaseUser,
) -> None:
    """A report as rows of the contract: one per indicator the contract declares (others are
    followed, not paid), and the costs to date; all dated with the period's end."""
    c = terms.configuration
    declared = terms.document.data
    end = report.period_end
    codes = set(terms.indicator_codes)
    rows = [
        [end, indicator.code, n, count, report.is_baseline]
        for indicator, n, count in lines
        if indicator.code in codes
    ]
    if rows:
        columns = [
            declared.table(c.reports_table).date,
            c.indicator_column,
            c.n_column,
            c.count_column,
            c.baseline_column,
        ]
        _rows_import(report.constellation, c.reports_table, columns, rows, actor, end)
    _rows_import(
        report.constellation,
        c.costs_table,
        [declared.table(c.costs_table).date, c.costs_column],
        [[end, report.reported_costs_to_date.quantize(ORE)]],
        actor,
        end,
    )


def _payment_days(constellation: Constellation, terms: FundContract) -> set[date]:
    """The days of the payments stored in the constellation's contract."""
    from utfall.platform.tables import StoredTables
    from utfall.services.tables import TableMissing

    c = terms.configuration
    try:
        table = StoredTables(constellation.contract).table(c.payments_table)
    except TableMissing:
        return set()
    date_column = terms.document.data.table(c.payments_table).date
    return set(table.column(date_column).to_pylist())


def _payment_row(
    constellation: Constellation,
    terms: FundContract,
    day: date,
    amount: Decimal,
    actor: AbstractBaseUser,
) -> None:
    """A payment of the fund as a row of the contract's payments table, dated ``day``."""
    c = terms.configuration
    _rows_import(
        constellation,
        c.payments_table,
        [terms.document.data.table(c.payments_table).date, c.payment_column],
        [[day, amount.quantize(ORE)]],
        actor,
        day,
    )


def _with_top_level(text: str, key: str, value: str) -> str:
    """The contract text with one top-level ``key:`` line set to ``value`` (a JSON string is
    valid YAML, so any title is written safely)."""
    replaced, count = re.subn(
        rf"^{key}:[^\n]*$",
        f"{key}: {json.dumps(value, ensure_ascii=False)}",
        text,
        count=1,
        flags=re.MULTILINE,
    )
    if count != 1:
        raise UserError(f"the fund's contract has no top-level {key!r} line to set")
    return replaced


def constellation_contract_instance(
    fund: Fund,
    template: Contract,
    constellation: Constellation,
    actor: AbstractBaseUser | None,
    *,
    basis: str,
    missing: str,
) -> Contract:
    """An instance of one of the fund's contracts (``template``) for one constellation, put
    in force: its own id and title, the fund's administrator as the commissioner who created
    it, the constellation's lead organisation as provider (agreed on ``basis``) and the
    fund's evaluator. ``missing`` is the error when the template has no version."""
    version = latest_version(template)
    if version is None:
        raise UserError(missing)
    document = parsed_version(version)
    code = constellation.code.lower()
    identifier = f"{document.id}-{code}"
    if Contract.objects.filter(identifier=identifier).exists():
        identifier = f"{document.id}-{fund.pk}-{code}"
    name = constellation.application.constellation_name
    text = _with_top_level(version.text, "id", identifier)
    text = _with_top_level(text, "title", f"{document.title} – {constellation.code} {name}")
    contract = contract_create(
        text=text,
        organisation=fund.administrator,
        actor=actor,
        file_name=f"{identifier}.yaml",
    )
    lead = constellation.application.organisation
    if lead.pk != fund.administrator_id:
        contract_party_add_agreed(
            contract=contract, organisation=lead, role=Role.PROVIDER, actor=actor, basis=basis
        )
    contract_party_add_agreed(
        contract=contract,
        organisation=fund.evaluator,
        role=Role.EVALUATOR,
        actor=actor,
        basis=f"evaluator of fund {fund.pk}",
    )
    return contract_put_in_force(contract=contract, actor=actor)


def _constellation_contract(
    fund: Fund, constellation: Constellation, actor: AbstractBaseUser
) -> Contract:
    """An instance of the fund's rate-card contract for one constellation, put in force: the
    fund's administrator pays (commissioner), the constellation's lead organisation carries
    the work (provider) and the fund's evaluator evaluates and signs the statements off."""
    if fund.contract is None:
        raise UserError("the fund has no rate-card contract to pay outcomes under")
    if fund.evaluator is None:
        raise UserError("the fund has no evaluator to evaluate reports and sign statements off")
    if fund.evaluator_id == fund.administrator_id:
        raise UserError("the evaluator must be another organisation than the fund's administrator")
    contract = constellation_contract_instance(
        fund,
        fund.contract,
        constellation,
        actor,
        basis=f"application {constellation.application.pk} to the fund's call",
        missing="the fund's contract has no version",
    )
    # The pipeline reads every table an evaluation names: the payments table is opened with
    # nothing paid, dated the day of the decision (decision 0506).
    constellation.contract = contract
    _payment_row(
        constellation, fund_contract_of(fund, contract), timezone.localdate(), Decimal(0), actor
    )
    return contract


def _ledger_commitment(
    commitment: Commitment, actor: AbstractBaseUser | None, *, change: str
) -> None:
    """Append a commitment (or its release) to the platform's hash-chained ledger."""
    constellation = commitment.constellation
    record = {
        "fund": constellation.fund.name,
        "constellation": constellation.code,
        "year": commitment.year,
        "amount_sek": str(commitment.amount),
        "change": change,
    }
    ledger_append(
        kind=KIND_FUND_COMMITMENT,
        subject=f"fund commitment {constellation.code} {commitment.year} ({change})",
        data_sha256=canonical_sha256(record),
        actor=actor,
        contract_identifier=constellation.contract.identifier if constellation.contract else "",
        attributes=record,
    )


ORE = Decimal("0.01")


def _input_details(result: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The explanation's details of every input computed from data, by input name."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Mapping[str, Any]) -> None:
        if node.get("kind") == "input" and node.get("details") and node["name"] not in found:
            found[node["name"]] = dict(node["details"])
        for child in node.get("children", []):
            walk(child)

    for tree in (result.get("explanation") or {}).values():
        walk(tree)
    return found


def _rounded(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def _lines_evaluated(report: OutcomeReport, statement: Settlement, terms: FundContract) -> None:
    """Each report line with what the statement computed for its indicator: the verified
    units and the evaluation's figures (shares, change, interval); a line the contract does
    not pay on is marked followed."""
    inputs = statement.result["inputs"]
    details = _input_details(statement.result)
    for line in report.lines.select_related("indicator"):
        name = terms.indicator_input(line.indicator.code)
        if name is None or name not in inputs:
            line.verified_units = None
            line.evaluation = {"followed": True}
        else:
            shown = details.get(name, {})
            interval = next(
                (v for k, v in shown.items() if k.startswith("ci_") and isinstance(v, list)),
                None,
            )
            line.verified_units = Decimal(str(inputs[name]))
            line.evaluation = {
                "input": name,
                "evaluation": shown.get("evaluation"),
                "method": shown.get("method"),
                "baseline_share": _rounded(shown.get("baseline_share")),
                "share": _rounded(shown.get("share")),
                "change_in_good_direction": _rounded(shown.get("change_in_good_direction")),
                "ci_low": _rounded(interval[0]) if interval else None,
                "ci_high": _rounded(interval[1]) if interval else None,
                "verified_units": str(inputs[name]),
            }
        line.save(update_fields=["verified_units", "evaluation"])


def report_evaluate(*, report: OutcomeReport, actor: AbstractBaseUser) -> Settlement:
    """The evaluator starts the draft statement of a six-monthly report: the constellation's
    contract settled by the one pipeline on its stored rows as of the report's period end
    (every indicator against the baseline, the costs to date, what the fund paid before),
    with no manual inputs. Review, sign-off (TOTP) and the final statement follow in the
    settlement workflow; :func:`report_pay` pays only on a final statement."""
    constellation = report.constellation
    contract = constellation.contract
    if contract is None:
        raise UserError("the constellation has no contract to settle its reports under")
    require(actor, Action.PREPARE_SETTLEMENT, contract)
    if report.is_baseline:
        raise UserError("the baseline is not paid on; it is what later reports are compared to")
    if constellation.status != ConstellationStatus.ACTIVE:
        raise UserError("a terminated constellation is not paid")
    if report.status == ReportStatus.PAID:
        raise UserError("the report has already been paid")
    if report.settlement_id is not None:
        raise UserError(
            "the report already has a statement; correct it in the settlement workflow or "
            "discard the draft first"
        )
    earlier = constellation.reports.filter(
        is_baseline=False, period_start__lt=report.period_start
    ).exclude(status=ReportStatus.PAID)
    if earlier.exists():
        raise UserError("the earlier reports must be paid first (each settles on figures to date)")
    terms = fund_contract_of(constellation.fund, contract)
    with transaction.atomic():
        settlement = settlement_start(
            contract=contract,
            actor=actor,
            period_start=report.period_start,
            period_end=report.period_end,
        )
        _lines_evaluated(report, settlement, terms)
        report.settlement = settlement
        report.status = ReportStatus.EVALUATED
        report.save(update_fields=["settlement", "status"])
        audit_record(
            actor=actor,
            action="fund_report_evaluated",
            code=constellation.code,
            period=report.period_start.isoformat(),
            settlement=settlement.pk,
        )
    return settlement


def report_statement(report: OutcomeReport) -> Settlement | None:
    """The report's statement, or the final correction that supersedes it (the newest)."""
    statement = report.settlement
    while statement is not None:
        correction = (
            statement.corrections.filter(status=SettlementStatus.SIGNED).order_by("-pk").first()
        )
        if correction is None:
            return statement
        statement = correction
    return None


@transaction.atomic
def report_pay(*, report: OutcomeReport, actor: AbstractBaseUser, year: int) -> OutcomePayment:
    """Pay a report on its final (signed) statement: the rate-card value the evaluator signed,
    limited by the budget rule (50 % of the reported costs, the year's remaining budget), in
    ``year``. Records the payment, the decision with its explanation and a ledger entry, and
    publishes the aggregated results (small cells withheld) on the knowledge platform."""
    constellation = report.constellation
    fund = constellation.fund
    _require_admin(actor, fund)
    report = OutcomeReport.objects.select_for_update().get(pk=report.pk)
    if report.is_baseline:
        raise UserError("the baseline is not paid on; it is what later reports are compared to")
    if report.status == ReportStatus.PAID:
        raise UserError("the report has already been paid")
    if constellation.status != ConstellationStatus.ACTIVE:
        raise UserError("a terminated constellation is not paid")
    statement = report_statement(report)
    if statement is None:
        raise UserError("the report has no statement yet: the evaluator evaluates it first")
    if statement.status != SettlementStatus.SIGNED:
        raise UserError(
            "only a final statement is paid: the evaluator must sign the statement off "
            f"(it is {statement.get_status_display().lower()})"
        )
    terms = fund_contract_of(fund, statement.contract)
    inputs, outputs = statement.result["inputs"], statement.result["outputs"]
    if Decimal(str(inputs[terms.cost_input])) != report.reported_costs_to_date:
        raise UserError("the statement's costs are not the report's; correct the statement")
    state = fund_state(fund)
    paid_before = state.paid(constellation=constellation.code, kind="outcome_payment")
    if Decimal(str(inputs[terms.paid_input])) != paid_before:
        raise UserError(
            f"the statement counts {inputs[terms.paid_input]} SEK paid before, the fund has "
            f"paid {paid_before} SEK: the evaluator corrects the statement"
        )
    value = Decimal(str(outputs[terms.configuration.value_output]))
    # The contract declares the funding mode: a top-up share of the commissioner's outcome
    # payments (its value output is then those payments), or else the cap on the costs.
    mode = funding_mode(
        {name: term.default for name, term in terms.document.parameters.items()},
        max_share=fund.max_share_of_costs,
    )
    decision = decide_payment(
        state,
        mode=mode,
        constellation=constellation.code,
        year=year,
        outcome_value=value,
        reported_costs=report.reported_costs_to_date,
    )
    statement_sha256 = statement_from_dict(statement.statement).sha256()
    payment = OutcomePayment.objects.create(
        report=report,
        settlement=statement,
        year=year,
        outcome_value=value,
        amount=decision.payment,
        binding=decision.binding,
        explanation=decision.explanation(),
        paid_by=actor,
    )
    report.status = ReportStatus.PAID
    report.save(update_fields=["status"])
    _payment_row(constellation, terms, report.period_end, decision.payment, actor)
    valuation = {
        "contract": statement.contract.identifier,
        "contract_version": statement.version.number,
        "settlement": statement.pk,
        "settlement_sha256": statement.sha256,
        "statement_sha256": statement_sha256,
        "signed_by": statement.signed_by.get_username() if statement.signed_by else "",
        "inputs": {k: str(v) for k, v in inputs.items()},
        "value_output": terms.configuration.value_output,
        "outcome_value_sek": str(value),
        "statement_payments": statement.result.get("payments", []),
    }
    Decision.objects.create(
        fund=fund,
        kind=DecisionKind.OUTCOME_PAYMENT,
        summary=f"{constellation.code} {report.period_start}–{report.period_end}: "
        f"{decision.payment} SEK ({decision.binding})",
        reasons="\n".join(decision.explanation()),
        details={
            "valuation": valuation,
            "year": year,
            "cut_by_budget": str(decision.cut_by_budget),
        },
        decided_by=actor,
    )
    record = {
        "fund": fund.name,
        "constellation": constellation.code,
        "period": f"{report.period_start}/{report.period_end}",
        "year": year,
        "amount_sek": str(decision.payment),
        "binding": decision.binding,
        "outcome_value_sek": str(value),
        "settlement_sha256": statement.sha256,
        "statement_sha256": statement_sha256,
    }
    ledger_append(
        kind=KIND_FUND_PAYMENT,
        subject=f"fund payment {constellation.code} {report.period_start}–{report.period_end}",
        data_sha256=canonical_sha256(record),
        actor=actor,
        contract_identifier=statement.contract.identifier,
        attributes=record,
    )
    _publish_results(report, terms, actor)
    audit_record(
        actor=actor,
        action="fund_outcome_paid",
        code=constellation.code,
        amount=str(decision.payment),
        binding=decision.binding,
        settlement=statement.pk,
    )
    return payment


def _positive(line: OutcomeReportLine) -> int:
    # Published as those with a good outcome: for a lower-is-better indicator (e.g. the
    # share with problematic absence) that is everyone the indicator does not count.
    return line.count if line.indicator.direction == Direction.HIGHER else line.n - line.count


def _publish_results(
    report: OutcomeReport, terms: FundContract, actor: AbstractBaseUser | None
) -> None:
    """Record the report's aggregates on the knowledge platform under the fund's contract
    (for the indicators the contract pays on, under the input paid on each): one row per
    constellation, and the fund's total over every settled report of the same period
    (group ``all``)."""
    fund = report.constellation.fund
    if fund.contract is None:
        return
    from utfall.platform.knowledge.services import results_record
    from utfall.services.knowledge import ResultRow

    rows = []
    for line in report.lines.select_related("indicator"):
        metric = terms.indicator_input(line.indicator.code)
        if metric is None:
            continue
        rows.append(
            ResultRow(
                metric,
                report.period_start,
                report.period_end,
                line.n,
                _positive(line),
                report.constellation.code,
            )
        )
        same_period = OutcomeReportLine.objects.filter(
            indicator=line.indicator,
            report__status=ReportStatus.PAID,
            report__period_start=report.period_start,
            report__period_end=report.period_end,
            report__constellation__application__call__fund=fund,
        ).select_related("indicator")
        if same_period.count() > 1:
            rows.append(
                ResultRow(
                    metric,
                    report.period_start,
                    report.period_end,
                    sum(other.n for other in same_period),
                    sum(_positive(other) for other in same_period),
                    "all",
                )
            )
    results_record(
        contract=fund.contract,
        rows=rows,
        actor=actor,
        source=f"fund report {report.constellation.code} {report.period_start}",
    )
