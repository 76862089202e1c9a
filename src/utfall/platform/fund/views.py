"""Fund pages: each view parses the request, calls a selector or service and renders."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from utfall.errors import FindingsError, UserError
from utfall.platform.contracts.models import SettlementStatus
from utfall.platform.fund import selectors, services
from utfall.platform.fund.forms import (
    ApplicationForm,
    CallForm,
    ReportForm,
    ReviewForm,
    ScreeningForm,
    SelectionForm,
    SettleForm,
    TerminateForm,
)
from utfall.platform.fund.models import (
    Application,
    ApplicationStatus,
    Call,
    CallStatus,
    Constellation,
    ConstellationStatus,
    Fund,
    Indicator,
    OutcomeReport,
    ReportStatus,
)
from utfall.platform.organisations.models import Organisation
from utfall.platform.params import id_param
from utfall.platform.permissions import Action, can, is_fund_administrator


def _error_context(error: UserError) -> dict[str, Any]:
    findings = [str(f) for f in error.findings] if isinstance(error, FindingsError) else []
    return {"error": error.message, "findings": findings or error.detail}


def _report(constellation: Constellation, request: HttpRequest) -> OutcomeReport:
    """The constellation's report a button posted; 404 for a malformed or unknown id."""
    report = constellation.reports.filter(pk=id_param(request.POST.get("report_id"))).first()
    if report is None:
        raise Http404(_("No such report."))
    return report


def _require_admin(request: HttpRequest, fund: Fund) -> None:
    if not is_fund_administrator(request.user, fund):
        raise PermissionDenied(_("Only the fund's administrators may see this page."))


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """A fund administrator's funds; an applicant's applications and the open calls."""
    funds = selectors.fund_list_for_user(user=request.user)
    if funds.count() == 1:
        return redirect("fund:dashboard", fund_id=funds.get().pk)
    return render(
        request,
        "fund/index.html",
        {
            "funds": funds,
            "applications": selectors.application_list_for_user(user=request.user),
            "open_calls": Call.objects.filter(status=CallStatus.OPEN).select_related("fund"),
        },
    )


@login_required
def dashboard(request: HttpRequest, fund_id: int) -> HttpResponse:
    """Budget by year with forecast, phases, calls, portfolio and decisions."""
    fund = get_object_or_404(Fund, pk=fund_id)
    _require_admin(request, fund)
    today = timezone.localdate()
    call_form = CallForm(request.POST if "new_call" in request.POST else None)
    context: dict[str, Any] = {"call_form": call_form}
    if request.method == "POST" and call_form.is_valid():
        data = call_form.cleaned_data
        try:
            call = services.call_create(
                fund=fund,
                actor=request.user,
                title=data["title"],
                description=data["description"],
                opens_on=data["opens_on"],
                deadline=data["deadline"],
                outcome_payment_frame=data["outcome_payment_frame"],
                implementation_start_year=data["implementation_start_year"],
                implementation_end_year=data["implementation_end_year"],
                criteria=data["criteria"],
                documents=data["documents"],
            )
        except UserError as error:
            context.update(_error_context(error))
        else:
            messages.success(request, _("The call is open."))
            return redirect("fund:call", call_id=call.pk)
    rows = selectors.fund_forecast(fund, today=today)
    state = selectors.fund_state(fund)
    totals = {
        "budget": sum(r.budget for r in rows),
        "paid": sum(r.paid for r in rows),
        "committed": sum(r.committed for r in rows),
        "forecast": sum(r.forecast for r in rows),
    }
    context.update(
        {
            "fund": fund,
            "years": rows,
            "totals": totals,
            "categories": [
                {"category": c, "amount": state.budget.for_category(c)}
                for c in state.budget.categories
            ],
            "outcome_paid": state.paid(kind="outcome_payment"),
            "phases": fund.phases.all(),
            "calls": fund.calls.all(),
            "portfolio": selectors.portfolio(fund),
            "decisions": fund.decisions.select_related("decided_by")[:12],
            "today": today,
        }
    )
    return render(request, "fund/dashboard.html", context)


@login_required
def indicators(request: HttpRequest) -> HttpResponse:
    """The indicator library."""
    return render(request, "fund/indicators.html", {"indicators": Indicator.objects.all()})


@login_required
def call_detail(request: HttpRequest, call_id: int) -> HttpResponse:
    """A call: criteria, deadline, documents; for administrators the applications, their
    ranking and the selection."""
    call = get_object_or_404(Call.objects.select_related("fund"), pk=call_id)
    admin = is_fund_administrator(request.user, call.fund)
    context: dict[str, Any] = {"call": call, "admin": admin, "criteria": call.criteria.all()}
    if admin:
        ranked = selectors.selection_proposal(call)
        form = SelectionForm(request.POST or None, ranked=ranked)
        if request.method == "POST":
            try:
                if "close" in request.POST:
                    services.call_close(call=call, actor=request.user)
                    messages.success(request, _("The call is closed."))
                    return redirect("fund:call", call_id=call.pk)
                if form.is_valid():
                    services.selection_decide(
                        call=call,
                        actor=request.user,
                        application_ids=[int(i) for i in form.cleaned_data["applications"]],
                        reasons=form.cleaned_data["reasons"],
                    )
                    messages.success(request, _("The selection is decided."))
                    return redirect("fund:call", call_id=call.pk)
            except UserError as error:
                context.update(_error_context(error))
        context.update(
            applications=call.applications.select_related("organisation"),
            ranked=ranked,
            selection_form=form,
        )
    else:
        context["applications"] = call.applications.filter(
            organisation__memberships__user=request.user
        )
    return render(request, "fund/call.html", context)


@login_required
def apply(request: HttpRequest, call_id: int) -> HttpResponse:
    """A constellation applies to an open call."""
    call = get_object_or_404(Call, pk=call_id)
    organisations = Organisation.objects.filter(memberships__user=request.user)
    form = ApplicationForm(request.POST or None, organisations=organisations)
    context: dict[str, Any] = {"call": call, "form": form}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            application = services.application_submit(
                call=call,
                organisation=data["organisation"],
                actor=request.user,
                today=timezone.localdate(),
                constellation_name=data["constellation_name"],
                members=form.members_list(),
                needs_analysis=data["needs_analysis"],
                target_group=data["target_group"],
                theory_of_change=data["theory_of_change"],
                evaluation_design=data["evaluation_design"],
                readiness=data["readiness"],
                budget_total=data["budget_total"],
                co_financing=data["co_financing"],
                requested_outcome_payment=data["requested_outcome_payment"],
                outcomes=form.outcomes(),
            )
        except UserError as error:
            context.update(_error_context(error))
        else:
            messages.success(request, _("The application was submitted."))
            return redirect("fund:application", application_id=application.pk)
    return render(request, "fund/apply.html", context)


@login_required
def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    """An application with its feedback; administrators screen and score it here."""
    application = get_object_or_404(
        Application.objects.select_related("call__fund", "organisation"), pk=application_id
    )
    if not selectors.can_view_application(request.user, application):
        raise Http404(_("No such application."))
    admin = is_fund_administrator(request.user, application.call.fund)
    screening_form = ScreeningForm(request.POST if "screen" in request.POST else None)
    review_form = ReviewForm(
        request.POST if "review" in request.POST else None,
        criteria=application.call.criteria.all(),
    )
    context: dict[str, Any] = {"application": application, "admin": admin}
    if request.method == "POST" and admin:
        try:
            if "screen" in request.POST and screening_form.is_valid():
                services.application_screen(
                    application=application,
                    actor=request.user,
                    qualified=screening_form.cleaned_data["qualified"],
                    strengths=screening_form.cleaned_data["strengths"],
                    weaknesses=screening_form.cleaned_data["weaknesses"],
                )
                messages.success(request, _("The screening and its feedback are saved."))
                return redirect("fund:application", application_id=application.pk)
            if "review" in request.POST and review_form.is_valid():
                services.review_submit(
                    application=application,
                    actor=request.user,
                    scores=review_form.scores(),
                    comment=review_form.cleaned_data["comment"],
                )
                messages.success(request, _("Your scores are saved."))
                return redirect("fund:application", application_id=application.pk)
        except UserError as error:
            context.update(_error_context(error))
    context.update(
        outcomes=application.outcomes.select_related("indicator"),
        screening=getattr(application, "screening", None),
        reviews=application.reviews.select_related("reviewer").prefetch_related("scores__criterion")
        if admin
        else [],
        screening_form=screening_form
        if admin and application.status == ApplicationStatus.SUBMITTED
        else None,
        review_form=review_form
        if admin and application.status == ApplicationStatus.SCREENED_IN
        else None,
        constellation=getattr(application, "constellation", None),
    )
    return render(request, "fund/application.html", context)


@login_required
def constellation_detail(request: HttpRequest, constellation_id: int) -> HttpResponse:
    """A selected constellation: commitments, reports, evaluations, payments, termination."""
    constellation = get_object_or_404(
        Constellation.objects.select_related(
            "application__call__fund", "application__organisation"
        ),
        pk=constellation_id,
    )
    fund = constellation.fund
    admin = is_fund_administrator(request.user, fund)
    member = constellation.application.organisation.memberships.filter(user=request.user).exists()
    contract = constellation.contract
    # The evaluator party of the constellation's contract evaluates reports (draft statements).
    evaluator = contract is not None and can(request.user, Action.PREPARE_SETTLEMENT, contract)
    if not (admin or member or evaluator):
        raise Http404(_("No such constellation."))
    indicators = [
        o.indicator for o in constellation.application.outcomes.select_related("indicator")
    ]
    years = selectors.fund_state(fund).budget.years
    report_form = ReportForm(
        request.POST if "report" in request.POST else None, indicators=indicators
    )
    settle_form = SettleForm(
        request.POST if "pay" in request.POST else None,
        years=years,
        initial={"year": timezone.localdate().year},
    )
    terminate_form = TerminateForm(request.POST if "terminate" in request.POST else None)
    context: dict[str, Any] = {
        "constellation": constellation,
        "admin": admin,
        "evaluator": evaluator,
    }
    if request.method == "POST":
        try:
            if "report" in request.POST and (admin or member) and report_form.is_valid():
                data = report_form.cleaned_data
                services.report_submit(
                    constellation=constellation,
                    actor=request.user,
                    period_start=data["period_start"],
                    period_end=data["period_end"],
                    reported_costs_to_date=data["reported_costs_to_date"],
                    lines=report_form.lines(),
                    is_baseline=data["is_baseline"],
                )
                messages.success(request, _("The report was submitted."))
                return redirect("fund:constellation", constellation_id=constellation.pk)
            if "evaluate" in request.POST and evaluator:
                report = _report(constellation, request)
                statement = services.report_evaluate(report=report, actor=request.user)
                messages.success(
                    request,
                    _("The report is evaluated: a draft statement for review and sign-off."),
                )
                return redirect(
                    "settlements:detail", identifier=contract.identifier, pk=statement.pk
                )
            if "pay" in request.POST and admin and settle_form.is_valid():
                report = _report(constellation, request)
                payment = services.report_pay(
                    report=report, actor=request.user, year=settle_form.cleaned_data["year"]
                )
                messages.success(
                    request, _("Outcome payment: %(amount)s SEK.") % {"amount": payment.amount}
                )
                return redirect("fund:constellation", constellation_id=constellation.pk)
            if "terminate" in request.POST and admin and terminate_form.is_valid():
                services.constellation_terminate(
                    constellation=constellation,
                    actor=request.user,
                    reason=terminate_form.cleaned_data["reason"],
                    today=timezone.localdate(),
                )
                messages.success(request, _("The outcome financing is ended."))
                return redirect("fund:constellation", constellation_id=constellation.pk)
        except UserError as error:
            context.update(_error_context(error))
    state = selectors.fund_state(fund)
    reports = list(
        constellation.reports.prefetch_related("lines__indicator").select_related(
            "payment", "settlement"
        )
    )
    for report in reports:
        report.statement = services.report_statement(report)
    context.update(
        application=constellation.application,
        commitments=constellation.commitments.all(),
        reports=reports,
        committed=state.committed(constellation=constellation.code),
        paid=state.paid(constellation=constellation.code),
        report_form=report_form
        if (admin or member) and constellation.status == ConstellationStatus.ACTIVE
        else None,
        settle_form=settle_form if admin else None,
        terminate_form=terminate_form
        if admin and constellation.status == ConstellationStatus.ACTIVE
        else None,
        submitted=ReportStatus.SUBMITTED,
        signed=SettlementStatus.SIGNED,
    )
    return render(request, "fund/constellation.html", context)
