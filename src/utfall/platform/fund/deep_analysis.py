"""Phase 3 of the fund, the deep analysis, as a workflow (seed 003 fas 3, tabell 5–6).

For each application qualified for deep analysis the fund opens a :class:`DeepAnalysis`
with the deliverables of seed 003's table 5, each with its owner, due date and status; the
theory of change covers the prevention triangle (universal, selective, indicated) and the
outcome definitions at three levels (desired change → indicator of the library → causal
effect) are the application's, refined here. Phase 3 ends with the delegation's decision
(:func:`deep_analysis_decide`): the financed are selected (``services.selection_decide``:
commitments, the constellation's contract), every one not financed gets the reasons and the
areas to improve in writing, and every decision is a :class:`Decision` and an audit event.

A financed constellation's local project leader is paid by the fund (decision 0960): the
lead organisation reports the project leader's costs of a half-year as a row of the
constellation's instance of the fund's support contract (:func:`support_costs_report`), the
evaluator's support statement goes through the settlement workflow (draft → review →
signed off with TOTP, :func:`support_statement_start`),
and :func:`support_pay` pays the signed output within the budget rule (the core's
``PaymentKind.SUPPORT``, out of the constellations' share) and writes it on the ledger.

Reviewers declare conflicts of interest per application before they score
(:func:`conflict_declare`), and see the others' scores only once they have scored
(:func:`reviews_visible`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from utfall.core.fund import Payment, PaymentKind
from utfall.core.ledger import KIND_FUND_PAYMENT, canonical_sha256, statement_from_dict
from utfall.errors import Finding, UserError
from utfall.platform.audit.services import audit_record
from utfall.platform.contracts.models import Contract, Settlement, SettlementStatus
from utfall.platform.contracts.selectors import latest_version, parsed_version
from utfall.platform.fund import services
from utfall.platform.fund.models import (
    Application,
    ApplicationOutcome,
    ApplicationStatus,
    Call,
    ConflictDeclaration,
    Constellation,
    ConstellationStatus,
    Decision,
    DecisionKind,
    DeepAnalysis,
    Deliverable,
    DeliverableKind,
    DeliverableStatus,
    Fund,
    Indicator,
    Review,
    SupportPayment,
)
from utfall.platform.fund.selectors import fund_state
from utfall.platform.fund.services import _require_admin
from utfall.platform.permissions import is_fund_administrator
from utfall.platform.settlements.ledger import ledger_append
from utfall.platform.settlements.services import settlement_start

__all__ = [
    "DELIVERABLES",
    "DeepAnalysisInvalid",
    "conflict_declare",
    "deep_analysis_decide",
    "deep_analysis_start",
    "deliverable_update",
    "fund_support_configure",
    "outcome_definition_set",
    "prevention_triangle_set",
    "reviews_visible",
    "support_costs_report",
    "support_pay",
    "support_statement_start",
]

ORE = Decimal("0.01")


class DeepAnalysisInvalid(services.ApplicationInvalid):
    """A phase-3 step that cannot be taken, with every finding."""


@dataclass(frozen=True)
class DeliverablePlan:
    """A deliverable of seed 003's table 5: who carries it and when it is due (months from
    the start of the six-month phase)."""

    kind: str
    owner: str
    months: int


# Seed 003 tabell 5 ("Aktivitet / Leverans / Utförare"), the owners as the seed names them
# ("svenska / English": the pages show the half in the reader's language).
DELIVERABLES = (
    DeliverablePlan(
        DeliverableKind.PROJECT_LEADER,
        "SKR + RISE + deltagare från konstellationen / SKR + RISE + the constellation",
        1,
    ),
    DeliverablePlan(
        DeliverableKind.LOCAL_DATA,
        "SKR + RISE + konstellationen, ev. civilsamhälle och målgrupper / SKR + RISE + the "
        "constellation, possibly civil society and target groups",
        2,
    ),
    DeliverablePlan(
        DeliverableKind.THEORY_OF_CHANGE,
        "SKR + RISE + deltagare från konstellationen / SKR + RISE + the constellation",
        3,
    ),
    DeliverablePlan(
        DeliverableKind.EVIDENCE,
        "SKR + RISE + expertmyndighet/akademi / SKR + RISE + expert agency/academia",
        4,
    ),
    DeliverablePlan(
        DeliverableKind.OUTCOME_DEFINITIONS,
        "SKR + RISE + delegationen + konstellationen / SKR + RISE + the delegation + the "
        "constellation",
        4,
    ),
    DeliverablePlan(
        DeliverableKind.IMPLEMENTATION_PLAN,
        "SKR + RISE + deltagare från konstellationen / SKR + RISE + the constellation",
        5,
    ),
    DeliverablePlan(
        DeliverableKind.FOLLOW_UP_PLAN,
        "SKR + RISE + deltagare från konstellationen / SKR + RISE + the constellation",
        5,
    ),
    DeliverablePlan(
        DeliverableKind.CONSEQUENCE_ANALYSIS,
        "SKR + RISE + deltagare från konstellationen / SKR + RISE + the constellation",
        5,
    ),
    DeliverablePlan(
        DeliverableKind.FOLLOW_UP_PROTOCOL,
        "Delegationen + SKR + RISE / The delegation + SKR + RISE",
        6,
    ),
)


def _require_participant(actor: AbstractBaseUser, application: Application) -> None:
    """The fund's administrators and the constellation's own members work on the analysis."""
    if is_fund_administrator(actor, application.call.fund):
        return
    if not application.organisation.memberships.filter(user=actor).exists():
        raise PermissionDenied("only the fund or the constellation works on its deep analysis")


def _open(analysis: DeepAnalysis) -> None:
    if analysis.decided_at is not None:
        raise UserError("the deep analysis is decided; it no longer changes")


@transaction.atomic
def deep_analysis_start(
    *, application: Application, actor: AbstractBaseUser | None, today: date
) -> DeepAnalysis:
    """Open phase 3 for an application qualified for deep analysis: the deliverables of
    seed 003's table 5 with their owners, due within the phase's six months."""
    fund = application.call.fund
    _require_admin(actor, fund)
    if application.status != ApplicationStatus.SCREENED_IN:
        raise UserError("only an application qualified for deep analysis enters phase 3")
    if DeepAnalysis.objects.filter(application=application).exists():
        raise UserError("the deep analysis of this application has already started")
    analysis = DeepAnalysis.objects.create(
        application=application, started_by=actor or application.submitted_by
    )
    Deliverable.objects.bulk_create(
        Deliverable(
            analysis=analysis,
            kind=plan.kind,
            owner=plan.owner,
            due_on=services._add_months(today, plan.months),
        )
        for plan in DELIVERABLES
    )
    audit_record(
        actor=actor,
        action="fund_deep_analysis_started",
        constellation=application.constellation_name,
    )
    return analysis


@transaction.atomic
def deliverable_update(
    *,
    deliverable: Deliverable,
    actor: AbstractBaseUser,
    status: str,
    content: str,
    owner: str | None = None,
    due_on: date | None = None,
) -> Deliverable:
    """Record a deliverable's progress: its status and what it says (a done deliverable
    needs its content); the fund may also move its owner and due date."""
    analysis = deliverable.analysis
    application = analysis.application
    _require_participant(actor, application)
    _open(analysis)
    findings = []
    if status not in DeliverableStatus.values:
        findings.append(Finding("status", "unknown status", field_name="status"))
    if status == DeliverableStatus.DONE and not content.strip():
        findings.append(
            Finding("required", "a done deliverable states what it delivered", field_name="content")
        )
    admin = is_fund_administrator(actor, application.call.fund)
    if (owner is not None or due_on is not None) and not admin:
        raise PermissionDenied("only the fund moves a deliverable's owner or due date")
    if owner is not None and not owner.strip():
        findings.append(Finding("required", "a deliverable has an owner", field_name="owner"))
    if findings:
        raise DeepAnalysisInvalid("the deliverable was not saved", findings)
    deliverable.status = status
    deliverable.content = content.strip()
    if owner is not None:
        deliverable.owner = owner.strip()
    if due_on is not None:
        deliverable.due_on = due_on
    deliverable.save()
    audit_record(
        actor=actor,
        action="fund_deliverable_updated",
        constellation=application.constellation_name,
        deliverable=deliverable.kind,
        status=status,
    )
    return deliverable


@transaction.atomic
def prevention_triangle_set(
    *,
    analysis: DeepAnalysis,
    actor: AbstractBaseUser,
    universal: str,
    selective: str,
    indicated: str,
    project_leader: str,
) -> DeepAnalysis:
    """The theory of change across the prevention triangle (universal, selective and
    indicated interventions, seed 003 tabell 5) and the local project leader's name."""
    _require_participant(actor, analysis.application)
    _open(analysis)
    analysis.universal = universal.strip()
    analysis.selective = selective.strip()
    analysis.indicated = indicated.strip()
    analysis.project_leader = project_leader.strip()
    analysis.save(update_fields=["universal", "selective", "indicated", "project_leader"])
    audit_record(
        actor=actor,
        action="fund_prevention_triangle_set",
        constellation=analysis.application.constellation_name,
    )
    return analysis


@transaction.atomic
def outcome_definition_set(
    *,
    analysis: DeepAnalysis,
    actor: AbstractBaseUser,
    indicator: Indicator,
    desired_change: str,
    causal_effect: str,
) -> ApplicationOutcome:
    """A locally anchored outcome definition at three levels: the desired change, the
    indicator of the library that measures it, and how the causal effect is estimated."""
    application = analysis.application
    _require_participant(actor, application)
    _open(analysis)
    findings = services.blank_texts(
        "every level of the outcome definition is needed",
        desired_change=desired_change,
        causal_effect=causal_effect,
    )
    if findings:
        raise DeepAnalysisInvalid("the outcome definition was not saved", findings)
    outcome, _ = ApplicationOutcome.objects.update_or_create(
        application=application,
        indicator=indicator,
        defaults={"desired_change": desired_change.strip(), "causal_effect": causal_effect.strip()},
    )
    audit_record(
        actor=actor,
        action="fund_outcome_definition_set",
        constellation=application.constellation_name,
        indicator=indicator.code,
    )
    return outcome


def _incomplete(analysis: DeepAnalysis) -> list[str]:
    """What the analysis still lacks before the delegation decides on it."""
    missing = [
        str(d.get_kind_display())
        for d in analysis.deliverables.all()
        if d.status != DeliverableStatus.DONE
    ]
    if not (analysis.universal and analysis.selective and analysis.indicated):
        missing.append("the prevention triangle (universal, selective, indicated)")
    if not analysis.project_leader:
        missing.append("the local project leader")
    return missing


@transaction.atomic
def deep_analysis_decide(
    *,
    call: Call,
    actor: AbstractBaseUser,
    financed_ids: Sequence[int],
    reasons: str,
    feedback: Mapping[int, tuple[str, str]],
    today: date,
) -> list[Decision]:
    """The delegation's decision at the end of phase 3 (seed 003 tabell 6): which of the
    call's applications in deep analysis get outcome financing. Every analysis must be
    complete; each one not financed needs, in ``feedback[application id]``, the reasons
    and the areas to improve in writing (seed 003: "Motivering av beslut samt
    identifierade förbättringsområden"). The financed are selected within the call's frame
    and the budget (``selection_decide``) and get their support contract."""
    fund = call.fund
    _require_admin(actor, fund)
    analyses = {
        a.application_id: a
        for a in DeepAnalysis.objects.filter(
            application__call=call, application__status=ApplicationStatus.SCREENED_IN
        ).select_related("application")
    }
    if not analyses:
        raise UserError("no application of this call is in deep analysis")
    qualified = set(
        call.applications.filter(status=ApplicationStatus.SCREENED_IN).values_list("pk", flat=True)
    )
    findings = []
    for pk in sorted(qualified - set(analyses)):
        findings.append(
            Finding("no-analysis", "qualified but not in deep analysis", field_name=str(pk))
        )
    for pk in financed_ids:
        if pk not in analyses:
            findings.append(
                Finding("unknown", "not in this call's deep analysis", field_name=str(pk))
            )
    for pk, analysis in analyses.items():
        for missing in _incomplete(analysis):
            findings.append(
                Finding(
                    "incomplete",
                    f"{analysis.application.constellation_name}: {missing} is not done",
                    field_name=str(pk),
                )
            )
        if pk not in financed_ids:
            why, improve = feedback.get(pk, ("", ""))
            if not why.strip() or not improve.strip():
                findings.append(
                    Finding(
                        "feedback",
                        f"{analysis.application.constellation_name}: a constellation not "
                        "financed gets the reasons and the areas to improve in writing",
                        field_name=str(pk),
                    )
                )
    if not reasons.strip():
        findings.append(Finding("required", "the decision needs its reasons", field_name="reasons"))
    if findings:
        raise DeepAnalysisInvalid("the phase-3 decision cannot be taken yet", findings)
    services.selection_decide(
        call=call, actor=actor, application_ids=list(financed_ids), reasons=reasons
    )
    decisions = []
    now = timezone.now()
    for pk, analysis in sorted(analyses.items()):
        application = analysis.application
        financed = pk in financed_ids
        why, improve = (reasons.strip(), "") if financed else feedback[pk]
        analysis.financed = financed
        analysis.reasons = why.strip()
        analysis.improvement_areas = improve.strip()
        analysis.decided_by = actor
        analysis.decided_at = now
        analysis.save()
        details: dict[str, object] = {"application": pk, "financed": financed}
        if financed:
            constellation = Constellation.objects.get(application=application)
            protocol = analysis.deliverables.get(kind=DeliverableKind.FOLLOW_UP_PROTOCOL)
            constellation.follow_up_protocol = protocol.content
            if fund.support_contract_id is not None:
                constellation.support_contract = _support_contract(fund, constellation, actor)
            constellation.save(update_fields=["follow_up_protocol", "support_contract"])
            details["code"] = constellation.code
        decisions.append(
            Decision.objects.create(
                fund=fund,
                kind=DecisionKind.DEEP_ANALYSIS,
                summary=f"{application.constellation_name}: "
                + ("outcome financing granted" if financed else "not financed"),
                reasons=why.strip()
                if financed
                else f"{why.strip()}\nAreas to improve: {improve.strip()}",
                details=details,
                decided_by=actor,
            )
        )
        audit_record(
            actor=actor,
            action="fund_deep_analysis_decided",
            constellation=application.constellation_name,
            financed=financed,
            day=today.isoformat(),
        )
    return decisions


# Support for the local project leader (decision 0960).


@dataclass(frozen=True)
class SupportTerms:
    """Where the support contract takes the project leader's costs and what it pays."""

    table: str
    date_column: str
    costs_column: str
    output: str


def _support_terms(fund: Fund, contract: Contract) -> SupportTerms:
    """The support contract's table, column and output named by the fund, checked against
    its declaration: the costs table is a dated series with the costs column, an input is
    computed from it and the output exists."""
    version = latest_version(contract)
    if version is None:
        raise UserError("the support contract has no version")
    document = parsed_version(version)
    problems = []
    table = document.data.tables.get(fund.support_table) if document.data else None
    if table is None or not table.date:
        problems.append(
            Finding(
                "support-table",
                f"the support contract has no dated table {fund.support_table!r}",
                field_name="support_table",
            )
        )
    elif fund.support_column not in {column.name for column in table.columns}:
        problems.append(
            Finding(
                "support-column",
                f"the table {fund.support_table!r} has no column {fund.support_column!r}",
                field_name="support_column",
            )
        )
    if fund.support_output not in document.outputs:
        problems.append(
            Finding(
                "support-output",
                f"the support contract has no output {fund.support_output!r}",
                field_name="support_output",
            )
        )
    manual = [name for name, term in document.inputs.items() if not term.evaluate]
    if manual:
        problems.append(
            Finding(
                "support-manual",
                "every input of the support contract is computed from its data",
                field_name="support_contract",
            )
        )
    if problems:
        raise DeepAnalysisInvalid("the support contract does not fit", problems)
    assert table is not None
    return SupportTerms(fund.support_table, table.date, fund.support_column, fund.support_output)


@transaction.atomic
def fund_support_configure(
    *,
    fund: Fund,
    contract: Contract,
    support_table: str,
    support_column: str,
    support_output: str,
    actor: AbstractBaseUser | None,
) -> Fund:
    """Name the contract the local project leaders' support is settled under, its table and
    column of the project leader's costs per period and its output (what the fund pays)."""
    _require_admin(actor, fund)
    fund.support_contract = contract
    fund.support_table = support_table
    fund.support_column = support_column
    fund.support_output = support_output
    _support_terms(fund, contract)
    fund.save(
        update_fields=["support_contract", "support_table", "support_column", "support_output"]
    )
    audit_record(actor=actor, action="fund_support_configured", fund=fund.name)
    return fund


def _support_contract(
    fund: Fund, constellation: Constellation, actor: AbstractBaseUser | None
) -> Contract:
    """An instance of the fund's support contract for one constellation, in force: the
    fund's administrator pays, the lead organisation carries the work (provider), the
    fund's evaluator checks the costs and signs the statements off."""
    assert fund.support_contract is not None
    if fund.evaluator is None or fund.evaluator_id == fund.administrator_id:
        raise UserError("the fund needs an evaluator of its own to sign support statements off")
    return services.constellation_contract_instance(
        fund,
        fund.support_contract,
        constellation,
        actor,
        basis=f"phase-3 decision on application {constellation.application.pk}",
        missing="the support contract has no version",
    )


def _support_days(contract: Contract, terms: SupportTerms) -> set[date]:
    """The period ends of the project leader's costs stored in the support contract."""
    from utfall.platform.tables import StoredTables
    from utfall.services.tables import TableMissing

    try:
        table = StoredTables(contract).table(terms.table)
    except TableMissing:
        return set()
    return set(table.column(terms.date_column).to_pylist())


def _support_paid_for(constellation: Constellation, start: date, end: date) -> bool:
    return SupportPayment.objects.filter(
        constellation=constellation, period_start__lte=end, period_end__gte=start
    ).exists()


def _support_open(constellation: Constellation) -> Contract:
    contract = constellation.support_contract
    if contract is None:
        raise UserError("the constellation has no support contract (financed after phase 3)")
    if constellation.status != ConstellationStatus.ACTIVE:
        raise UserError("support is paid only while the constellation is active")
    return contract


def support_costs_report(
    *,
    constellation: Constellation,
    actor: AbstractBaseUser,
    period_end: date,
    costs: Decimal,
) -> None:
    """The lead organisation (or the fund) reports the project leader's costs of the
    half-year ending ``period_end``: a row of the support contract's table, imported as any
    file is (validated, audited, in the ledger; the contract's import roles decide who)."""
    from utfall.platform.fund.contract import rows_csv
    from utfall.platform.imports.services import import_file

    contract = _support_open(constellation)
    if costs < 0:
        raise UserError("costs cannot be negative")
    terms = _support_terms(constellation.fund, contract)
    if period_end in _support_days(contract, terms):
        raise UserError("the project leader's costs of this period are already reported")
    import_file(
        contract=contract,
        table=terms.table,
        name=f"{constellation.code.lower()}-{terms.table}-{period_end.isoformat()}.csv",
        content=rows_csv(
            [terms.date_column, terms.costs_column], [[period_end, costs.quantize(ORE)]]
        ),
        actor=actor,
    )
    audit_record(
        actor=actor,
        action="fund_support_costs_reported",
        code=constellation.code,
        period_end=period_end.isoformat(),
    )


def support_statement_start(
    *,
    constellation: Constellation,
    actor: AbstractBaseUser,
    period_start: date,
    period_end: date,
) -> Settlement:
    """The evaluator's draft support statement for a period: the one pipeline settles the
    support contract on its stored rows as of the period's end (the project leader's costs
    reported for that very period end). Review and sign-off follow in the settlement
    workflow; :func:`support_pay` pays only the final statement."""
    contract = _support_open(constellation)
    if period_end < period_start:
        raise UserError("the period ends before it starts")
    if _support_paid_for(constellation, period_start, period_end):
        raise UserError("support for this period has already been paid")
    terms = _support_terms(constellation.fund, contract)
    if period_end not in _support_days(contract, terms):
        raise UserError("the project leader's costs of this period are not reported yet")
    settlement = settlement_start(
        contract=contract, actor=actor, period_start=period_start, period_end=period_end
    )
    audit_record(
        actor=actor,
        action="fund_support_statement_started",
        code=constellation.code,
        settlement=settlement.pk,
    )
    return settlement


def _final(statement: Settlement) -> Settlement:
    """The newest signed correction of a statement (itself if it has none)."""
    while True:
        correction = (
            statement.corrections.filter(status=SettlementStatus.SIGNED).order_by("-pk").first()
        )
        if correction is None:
            return statement
        statement = correction


def _first(statement: Settlement) -> Settlement:
    while statement.supersedes is not None:
        statement = statement.supersedes
    return statement


@transaction.atomic
def support_pay(
    *, constellation: Constellation, settlement: Settlement, actor: AbstractBaseUser, year: int
) -> SupportPayment:
    """Pay the support of a final (signed) support statement in budget year ``year``: the
    statement's signed output, within the budget rule (the core's support kind, out of the
    constellations' share), recorded with its decision, an audit event and a ledger entry."""
    fund = constellation.fund
    _require_admin(actor, fund)
    if settlement.contract_id != constellation.support_contract_id:
        raise UserError("the statement is not one of the constellation's support contract")
    if constellation.status != ConstellationStatus.ACTIVE:
        raise UserError("support is paid only while the constellation is active")
    statement = _final(settlement)
    if statement.status != SettlementStatus.SIGNED:
        raise UserError("only a final statement is paid: the evaluator must sign it off first")
    chain = [statement]
    while chain[-1].supersedes is not None:
        chain.append(chain[-1].supersedes)
    if SupportPayment.objects.filter(settlement__in=chain).exists():
        raise UserError("the support of this statement has already been paid")
    if _support_paid_for(constellation, statement.period_start, statement.period_end):
        raise UserError("support for this period has already been paid")
    terms = _support_terms(fund, statement.contract)
    amount = Decimal(str(statement.result["outputs"][terms.output])).quantize(ORE)
    # The core's rule: support counts against the year and the constellations' share.
    fund_state(fund).with_payment(
        Payment(constellation.code, year, amount, kind=PaymentKind.SUPPORT)
    )
    payment = SupportPayment.objects.create(
        constellation=constellation,
        settlement=statement,
        year=year,
        period_start=statement.period_start,
        period_end=statement.period_end,
        amount=amount,
        paid_by=actor,
    )
    statement_sha256 = statement_from_dict(statement.statement).sha256()
    record = {
        "fund": fund.name,
        "constellation": constellation.code,
        "payment_kind": PaymentKind.SUPPORT,
        "period": f"{statement.period_start}/{statement.period_end}",
        "year": year,
        "amount_sek": str(amount),
        "settlement_sha256": statement.sha256,
        "statement_sha256": statement_sha256,
    }
    ledger_append(
        kind=KIND_FUND_PAYMENT,
        subject=f"fund support {constellation.code} {statement.period_start}–"
        f"{statement.period_end}",
        data_sha256=canonical_sha256(record),
        actor=actor,
        contract_identifier=statement.contract.identifier,
        attributes=record,
    )
    Decision.objects.create(
        fund=fund,
        kind=DecisionKind.SUPPORT_PAYMENT,
        summary=f"{constellation.code} {statement.period_start}–{statement.period_end}: "
        f"{amount} SEK support for the local project leader",
        reasons=f"Signed support statement {statement.pk} of {statement.contract.identifier}",
        details={"settlement": statement.pk, "year": year, "first": _first(statement).pk},
        decided_by=actor,
    )
    audit_record(
        actor=actor,
        action="fund_support_paid",
        code=constellation.code,
        amount=str(amount),
        settlement=statement.pk,
    )
    return payment


# Reviewers: conflicts of interest and blind scoring.


@transaction.atomic
def conflict_declare(
    *, application: Application, actor: AbstractBaseUser, has_conflict: bool, description: str
) -> ConflictDeclaration:
    """A reviewer declares, once per application and before scoring it, whether they have
    a conflict of interest; a declared conflict is described, and the reviewer then does
    not score the application."""
    _require_admin(actor, application.call.fund)
    if ConflictDeclaration.objects.filter(application=application, reviewer=actor).exists():
        raise UserError("you have already declared for this application")
    if has_conflict and not description.strip():
        raise DeepAnalysisInvalid(
            "describe the conflict of interest",
            [Finding("required", "describe the conflict", field_name="description")],
        )
    declaration = ConflictDeclaration.objects.create(
        application=application,
        reviewer=actor,
        has_conflict=has_conflict,
        description=description.strip(),
    )
    audit_record(
        actor=actor,
        action="fund_conflict_declared",
        constellation=application.constellation_name,
        has_conflict=has_conflict,
    )
    return declaration


def conflict_check(*, application: Application, actor: AbstractBaseUser) -> None:
    """Refuse scoring without a declaration, or with a declared conflict of interest."""
    declaration = ConflictDeclaration.objects.filter(
        application=application, reviewer=actor
    ).first()
    if declaration is None:
        raise UserError("declare any conflict of interest before scoring the application")
    if declaration.has_conflict:
        raise UserError("a reviewer with a conflict of interest does not score the application")


def reviews_visible(
    *, application: Application, user: AbstractBaseUser | AnonymousUser
) -> QuerySet[Review]:
    """The reviews the user may see: their own, and the others' once they have scored, or
    after the selection is decided (a reviewer with a conflict sees them only then)."""
    reviews = application.reviews.select_related("reviewer").prefetch_related("scores__criterion")
    if not user.is_authenticated or not is_fund_administrator(user, application.call.fund):
        return reviews.none()
    decided = application.status in (ApplicationStatus.SELECTED, ApplicationStatus.NOT_SELECTED)
    scored = reviews.filter(reviewer=user).exists()
    if decided or scored:
        return reviews
    return reviews.filter(reviewer=user)
