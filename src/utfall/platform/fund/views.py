"""Fund pages: each view parses the request, calls a selector or service and renders."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from utfall.errors import UserError
from utfall.platform.contracts.models import SettlementStatus
from utfall.platform.fund import charts, selectors, services
from utfall.platform.fund.budget_by_actor import actor_table
from utfall.platform.fund.forms import (
    ApplicationForm,
    CallForm,
    CriterionFormSet,
    MemberFormSet,
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
from utfall.platform.fund.problems import attach, translated
from utfall.platform.organisations.models import Organisation
from utfall.platform.params import id_param
from utfall.platform.permissions import Action, can, is_fund_administrator
from utfall.services import formatting


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
    posted = "new_call" in request.POST
    call_form = CallForm(request.POST if posted else None)
    criteria = CriterionFormSet(request.POST if posted else None, prefix="criteria")
    context: dict[str, Any] = {"call_form": call_form, "criteria_forms": criteria}
    if request.method == "POST" and posted and call_form.is_valid() & criteria.is_valid():
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
                criteria=criteria.criteria(),
                documents=data["documents"],
            )
        except UserError as error:
            extra: list[str] = []
            attach(call_form, error, fields=_call_field, extra=extra)
            criteria.non_form_errors().extend(extra)
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
            "budget_chart": charts.budget_chart(rows),
            "contract_tables": _contract_tables(fund),
            "outcome_paid": state.paid(kind="outcome_payment"),
            "actors": actor_table(state, today=today),
            "phases": fund.phases.all(),
            "calls": fund.calls.all(),
            "portfolio": selectors.portfolio(fund),
            "decisions": fund.decisions.select_related("decided_by")[:12],
            "today": today,
        }
    )
    return render(request, "fund/dashboard.html", context)


def _label_text(label: Any, language: str) -> str | None:
    """A contract's label (a Label, a {sv, en} mapping or a text) in ``language``."""
    if label is None:
        return None
    if hasattr(label, "text"):
        return str(label.text(language))
    if isinstance(label, dict):
        return str(label.get(language) or label.get("sv") or "") or None
    return str(label) or None


def _contract_tables(fund: Fund) -> list[dict[str, Any]]:
    """Where the fund writes into its contract, by the contract's own labels."""
    if fund.contract is None:
        return []
    try:
        terms = services.fund_contract_of(fund)
    except UserError:
        return []
    language = formatting.language_of(get_language())
    data = terms.document.data
    c = terms.configuration

    def table(what: str, name: str, columns: list[str]) -> dict[str, Any]:
        declared = data.table(name)
        return {
            "what": what,
            "table": _label_text(declared.label, language) or name,
            "columns": [
                _label_text(declared.column(column).label, language) or column for column in columns
            ],
        }

    rows = [
        table(
            _("Outcome reports"),
            c.reports_table,
            [c.indicator_column, c.n_column, c.count_column, c.baseline_column],
        ),
        table(_("Cost reports"), c.costs_table, [c.costs_column]),
        table(_("Outcome payments"), c.payments_table, [c.payment_column]),
    ]
    output = terms.document.outputs.get(c.value_output)
    value = _label_text(getattr(output, "label", None), language)
    rows.append(
        {
            "what": _("Outcome value"),
            "table": value or _("the contract's outcome value"),
            "columns": [],
        }
    )
    return rows


def _call_field(name: str) -> str | None:
    """The call form's field a finding of call_create names ("" for the criteria)."""
    return {"implementation": "implementation_start_year", "criteria": ""}.get(name, name)


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
    context: dict[str, Any] = {
        "call": call,
        "admin": admin,
        "criteria": call.criteria.all(),
        "before_deadline": timezone.localdate() <= call.deadline,
    }
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
                if "close" in request.POST:
                    context["close_errors"] = [translated(error.message)]
                else:
                    attach(form, error)
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
    members = MemberFormSet(request.POST or None, prefix="members")
    context: dict[str, Any] = {"call": call, "form": form, "members": members}
    if request.method == "POST" and form.is_valid() & members.is_valid():
        data = form.cleaned_data
        try:
            application = services.application_submit(
                call=call,
                organisation=data["organisation"],
                actor=request.user,
                today=timezone.localdate(),
                constellation_name=data["constellation_name"],
                members=members.members(),
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
            extra: list[str] = []
            attach(form, error, fields=_application_field(form), extra=extra)
            members.non_form_errors().extend(extra)
        else:
            messages.success(request, _("The application was submitted."))
            return redirect("fund:application", application_id=application.pk)
    return render(request, "fund/apply.html", context)


def _application_field(form: ApplicationForm) -> Any:
    """Where a finding of application_submit goes: ``outcomes.1`` to the second outcome's
    first empty level, ``members`` to the members ("")."""

    def field(name: str) -> str | None:
        if name == "members":
            return ""
        if name.startswith("outcomes."):
            slot = name.partition(".")[2]
            for level in ("indicator", "desired_change", "causal_effect"):
                if not form.cleaned_data.get(f"{level}_{slot}"):
                    return f"{level}_{slot}"
            return f"indicator_{slot}"
        if name == "outcomes":
            return "indicator_0"
        return name

    return field


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
            if "screen" in request.POST:
                attach(screening_form, error)
            else:
                attach(review_form, error, fields=lambda name: f"score_{name}")
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
    problems: dict[int, str] = {}
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
                    request,
                    _("Outcome payment: %(amount)s.")
                    % {
                        "amount": formatting.money(
                            payment.amount, formatting.language_of(get_language())
                        )
                    },
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
            if "report" in request.POST:
                attach(report_form, error, fields=_report_field(indicators))
            elif "terminate" in request.POST:
                attach(terminate_form, error)
            else:
                problems[id_param(request.POST.get("report_id"))] = translated(error.message)
    state = selectors.fund_state(fund)
    reports = list(
        constellation.reports.prefetch_related("lines__indicator").select_related(
            "payment", "settlement"
        )
    )
    for report in reports:
        report.statement = services.report_statement(report)
        report.problem = problems.get(report.pk)
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


def _report_field(indicators: list[Indicator]) -> Any:
    """Where a finding of report_submit goes: ``lines.0`` to the first indicator's count."""

    def field(name: str) -> str | None:
        if name.startswith("lines."):
            index = int(name.partition(".")[2])
            return f"count_{indicators[index].code}" if index < len(indicators) else None
        if name == "lines":
            return None
        return name

    return field
