"""Fund pages: each view parses the request, calls a selector or service and renders."""

from __future__ import annotations

from decimal import Decimal
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
from utfall.platform.contracts.models import Settlement, SettlementStatus
from utfall.platform.fund import charts, deep_analysis, follow_up, selectors, services
from utfall.platform.fund import portfolio as fund_portfolio
from utfall.platform.fund import report as fund_report_module
from utfall.platform.fund.budget_by_actor import actor_table
from utfall.platform.fund.forms import (
    ApplicationForm,
    CallForm,
    ConflictForm,
    CriterionFormSet,
    DeliverableForm,
    FairTerminateForm,
    FidelityForm,
    FollowOnForm,
    MemberFormSet,
    OutcomeDefinitionForm,
    Phase3DecisionForm,
    PreventionForm,
    ReportForm,
    ReviewForm,
    ScreeningForm,
    SelectionForm,
    SettleForm,
    SupportCostsForm,
    SupportStatementForm,
    TerminateForm,
)
from utfall.platform.fund.models import (
    Application,
    ApplicationStatus,
    Call,
    CallStatus,
    Constellation,
    ConstellationStatus,
    DeepAnalysis,
    Fund,
    Indicator,
    OutcomeReport,
    ReportStatus,
    SupportPayment,
)
from utfall.platform.fund.problems import attach, translated
from utfall.platform.organisations.models import Organisation
from utfall.platform.params import id_param, language_param
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
def portfolio(request: HttpRequest, fund_id: int) -> HttpResponse:
    """The portfolio: the constellations' outcomes by indicator side by side, and their
    outcome payments against what was intended (for the dashboard's readers)."""
    fund = get_object_or_404(Fund, pk=fund_id)
    _require_admin(request, fund)
    figures = fund_portfolio.portfolio_of(fund)
    context = {
        "fund": fund,
        "portfolio": figures,
        "charts": fund_portfolio.chart_items(figures),
        "today": timezone.localdate(),
        "vega_locale": formatting.vega_format_locale(formatting.language_of(get_language())),
    }
    return render(request, "fund/portfolio.html", context)


@login_required
def fund_report(request: HttpRequest, fund_id: int) -> HttpResponse:
    """The fund-level evaluation report as a page, with links to its PDF."""
    fund = get_object_or_404(Fund, pk=fund_id)
    _require_admin(request, fund)
    context = fund_report_module.report_context(fund, today=timezone.localdate())
    context.update(
        layout="base.html",
        pdf=False,
        vega_locale=formatting.vega_format_locale(formatting.language_of(get_language())),
    )
    return render(request, "fund/report.html", context)


@login_required
def fund_report_pdf(request: HttpRequest, fund_id: int) -> HttpResponse:
    """The fund-level evaluation report as PDF, in ``?lang=sv`` or ``en``."""
    fund = get_object_or_404(Fund, pk=fund_id)
    _require_admin(request, fund)
    language = language_param(request.GET.get("lang"), formatting.language_of(get_language()))
    today = timezone.localdate()
    pdf = fund_report_module.report_pdf(fund, language=language, today=today)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = "fondrapport" if language == "sv" else "fund-report"
    response["Content-Disposition"] = f'inline; filename="{name}-{today.isoformat()}.pdf"'
    return response


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
        if call.status != CallStatus.DECIDED:
            # A reviewer sees the others' scores only once they have scored (issue 18).
            scored = set(
                call.applications.filter(reviews__reviewer=request.user).values_list(
                    "pk", flat=True
                )
            )
            for row in ranked:
                if row.application.pk not in scored:
                    row.mean_score = None
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
    conflict_form = ConflictForm(request.POST if "declare" in request.POST else None)
    context: dict[str, Any] = {"application": application, "admin": admin}
    if request.method == "POST" and admin:
        try:
            if "declare" in request.POST and conflict_form.is_valid():
                deep_analysis.conflict_declare(
                    application=application, actor=request.user, **conflict_form.cleaned_data
                )
                messages.success(request, _("Your declaration is saved."))
                return redirect("fund:application", application_id=application.pk)
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
            elif "declare" in request.POST:
                attach(conflict_form, error)
            else:
                attach(review_form, error, fields=lambda name: f"score_{name}")
    # Reviewers declare conflicts of interest before scoring and see the others' scores
    # only once they have scored (deep_analysis.reviews_visible).
    declaration = application.declarations.filter(reviewer=request.user).first() if admin else None
    scoring = admin and application.status == ApplicationStatus.SCREENED_IN
    reviews = deep_analysis.reviews_visible(application=application, user=request.user)
    context.update(
        outcomes=application.outcomes.select_related("indicator"),
        screening=getattr(application, "screening", None),
        reviews=reviews,
        reviews_hidden=admin and application.reviews.count() - reviews.count(),
        declaration=declaration,
        conflict_form=conflict_form if scoring and declaration is None else None,
        screening_form=screening_form
        if admin and application.status == ApplicationStatus.SUBMITTED
        else None,
        review_form=review_form
        if scoring and declaration is not None and not declaration.has_conflict
        else None,
        constellation=getattr(application, "constellation", None),
        analysis=getattr(application, "deep_analysis", None),
    )
    return render(request, "fund/application.html", context)


def _constellation_roles(
    request: HttpRequest, constellation_id: int, contract_field: str
) -> tuple[Constellation, bool, bool, bool]:
    """The constellation and whether the user administers its fund, is a member of its
    organisation, or evaluates the contract in ``contract_field``; 404 for anyone else."""
    constellation = get_object_or_404(
        Constellation.objects.select_related(
            "application__call__fund", "application__organisation", contract_field
        ),
        pk=constellation_id,
    )
    admin = is_fund_administrator(request.user, constellation.fund)
    member = constellation.application.organisation.memberships.filter(user=request.user).exists()
    contract = getattr(constellation, contract_field)
    evaluator = contract is not None and can(request.user, Action.PREPARE_SETTLEMENT, contract)
    if not (admin or member or evaluator):
        raise Http404(_("No such constellation."))
    return constellation, admin, member, evaluator


@login_required
def constellation_detail(request: HttpRequest, constellation_id: int) -> HttpResponse:
    """A selected constellation: commitments, reports, evaluations, payments, termination."""
    # The evaluator party of the constellation's contract evaluates reports (draft statements).
    constellation, admin, member, evaluator = _constellation_roles(
        request, constellation_id, "contract"
    )
    fund = constellation.fund
    contract = constellation.contract
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


# Phase 3: the deep analysis (deep_analysis.py), phase 4 and 5 (follow_up.py).


def _deliverable_form(request: HttpRequest, deliverable: Any, admin: bool) -> Any:
    prefix = f"d{deliverable.pk}"
    posted = request.POST.get("deliverable_id") == str(deliverable.pk)
    return DeliverableForm(
        request.POST if posted else None,
        admin=admin,
        prefix=prefix,
        initial={
            "status": deliverable.status,
            "content": deliverable.content,
            "owner": deliverable.owner,
            "due_on": deliverable.due_on,
        },
    )


@login_required
def deep_analysis_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    """Phase 3 of one qualified application: its deliverables with owner, due date and
    status, the prevention triangle, the outcome definitions at three levels, and the
    delegation's decision with its reasons."""
    application = get_object_or_404(
        Application.objects.select_related("call__fund", "organisation"), pk=application_id
    )
    if not selectors.can_view_application(request.user, application):
        raise Http404(_("No such application."))
    admin = is_fund_administrator(request.user, application.call.fund)
    analysis = DeepAnalysis.objects.filter(application=application).first()
    here = redirect("fund:deep_analysis", application_id=application.pk)
    context: dict[str, Any] = {"application": application, "admin": admin, "analysis": analysis}
    if analysis is None:
        if request.method == "POST" and admin and "start" in request.POST:
            try:
                deep_analysis.deep_analysis_start(
                    application=application, actor=request.user, today=timezone.localdate()
                )
            except UserError as error:
                context["start_errors"] = [translated(error.message)]
            else:
                messages.success(request, _("The deep analysis has started."))
                return here
        context["can_start"] = admin and application.status == ApplicationStatus.SCREENED_IN
        return render(request, "fund/deep_analysis.html", context)
    editable = analysis.decided_at is None
    deliverables = list(analysis.deliverables.all())
    forms_by_pk = {d.pk: _deliverable_form(request, d, admin) for d in deliverables}
    prevention = PreventionForm(
        request.POST if "triangle" in request.POST else None,
        initial={
            "project_leader": analysis.project_leader,
            "universal": analysis.universal,
            "selective": analysis.selective,
            "indicated": analysis.indicated,
        },
    )
    outcome_form = OutcomeDefinitionForm(request.POST if "outcome" in request.POST else None)
    if request.method == "POST" and editable:
        try:
            if "deliverable_id" in request.POST:
                deliverable = next(
                    (d for d in deliverables if d.pk == id_param(request.POST["deliverable_id"])),
                    None,
                )
                if deliverable is None:
                    raise Http404(_("No such deliverable."))
                form = forms_by_pk[deliverable.pk]
                if form.is_valid():
                    data = form.cleaned_data
                    deep_analysis.deliverable_update(
                        deliverable=deliverable,
                        actor=request.user,
                        status=data["status"],
                        content=data["content"],
                        owner=data.get("owner") if admin else None,
                        due_on=data.get("due_on") if admin else None,
                    )
                    messages.success(request, _("The deliverable is saved."))
                    return here
            elif "triangle" in request.POST and prevention.is_valid():
                deep_analysis.prevention_triangle_set(
                    analysis=analysis, actor=request.user, **prevention.cleaned_data
                )
                messages.success(request, _("The theory of change is saved."))
                return here
            elif "outcome" in request.POST and outcome_form.is_valid():
                deep_analysis.outcome_definition_set(
                    analysis=analysis, actor=request.user, **outcome_form.cleaned_data
                )
                messages.success(request, _("The outcome definition is saved."))
                return here
        except UserError as error:
            if "deliverable_id" in request.POST:
                attach(forms_by_pk[id_param(request.POST["deliverable_id"])], error)
            elif "triangle" in request.POST:
                attach(prevention, error)
            else:
                attach(outcome_form, error)
    for deliverable in deliverables:
        deliverable.form = forms_by_pk[deliverable.pk] if editable else None
    context.update(
        deliverables=deliverables,
        done=sum(1 for d in deliverables if d.status == "done"),
        editable=editable,
        prevention_form=prevention if editable else None,
        outcome_form=outcome_form if editable else None,
        outcomes=application.outcomes.select_related("indicator"),
        today=timezone.localdate(),
    )
    return render(request, "fund/deep_analysis.html", context)


@login_required
def deep_analysis_decision(request: HttpRequest, call_id: int) -> HttpResponse:
    """The delegation's decision at the end of phase 3: who gets outcome financing, and the
    reasons and areas to improve for everyone who does not."""
    call = get_object_or_404(Call.objects.select_related("fund"), pk=call_id)
    _require_admin(request, call.fund)
    analyses = list(
        DeepAnalysis.objects.filter(application__call=call)
        .select_related("application")
        .prefetch_related("deliverables")
        .order_by("application__constellation_name")
    )
    open_analyses = [a for a in analyses if a.application.status == ApplicationStatus.SCREENED_IN]
    form = Phase3DecisionForm(request.POST or None, analyses=open_analyses)
    if request.method == "POST" and open_analyses and form.is_valid():
        try:
            deep_analysis.deep_analysis_decide(
                call=call,
                actor=request.user,
                financed_ids=form.financed(),
                reasons=form.cleaned_data["reasons"],
                feedback=form.feedback(),
                today=timezone.localdate(),
            )
        except UserError as error:
            attach(form, error, fields=lambda name: f"why_{name}" if name.isdigit() else name)
        else:
            messages.success(request, _("The phase-3 decision is recorded."))
            return redirect("fund:deep_analysis_decision", call_id=call.pk)
    for analysis in analyses:
        items = list(analysis.deliverables.all())
        analysis.done = sum(1 for d in items if d.status == "done")
        analysis.total = len(items)
        pk = analysis.application_id
        analysis.fields = (
            [form[f"financed_{pk}"], form[f"why_{pk}"], form[f"improve_{pk}"]]
            if analysis in open_analyses
            else []
        )
    qualified_without = call.applications.filter(
        status=ApplicationStatus.SCREENED_IN, deep_analysis__isnull=True
    )
    return render(
        request,
        "fund/deep_analysis_decision.html",
        {
            "call": call,
            "analyses": analyses,
            "form": form if open_analyses else None,
            "qualified_without": qualified_without,
        },
    )


@login_required
def follow_up_calendar(request: HttpRequest, fund_id: int) -> HttpResponse:
    """The six-monthly reports of every active constellation on a calendar, the overdue
    view (``?view=overdue``), and the reminders."""
    fund = get_object_or_404(Fund, pk=fund_id)
    _require_admin(request, fund)
    today = timezone.localdate()
    if request.method == "POST" and "remind" in request.POST:
        sent = follow_up.report_reminders_send(fund=fund, actor=request.user, today=today)
        messages.success(request, _("%(n)s reminder(s) sent.") % {"n": len(sent)})
        return redirect("fund:follow_up_calendar", fund_id=fund.pk)
    dues = follow_up.fund_calendar(fund, today=today)
    overdue_only = request.GET.get("view") == "overdue"
    return render(
        request,
        "fund/follow_up_calendar.html",
        {
            "fund": fund,
            "dues": [d for d in dues if d.state == "overdue"] if overdue_only else dues,
            "overdue_only": overdue_only,
            "overdue_count": sum(1 for d in dues if d.state == "overdue"),
            "grace_days": follow_up.GRACE_DAYS,
            "reminder_days": follow_up.REMINDER_DAYS,
        },
    )


@login_required
def constellation_follow_up(request: HttpRequest, constellation_id: int) -> HttpResponse:
    """After the phase-3 decision: the constellation's report calendar, the support for its
    project leader (statements through the settlement workflow, then paid), fidelity
    follow-up, termination by the fairness rule, and phase 5 after the contract ends."""
    # The evaluator party of the support contract reviews the project leader's statements.
    constellation, admin, member, evaluator = _constellation_roles(
        request, constellation_id, "support_contract"
    )
    fund = constellation.fund
    support = constellation.support_contract
    today = timezone.localdate()
    here = redirect("fund:constellation_follow_up", constellation_id=constellation.pk)
    post = request.POST
    statement_form = SupportStatementForm(post if "support_statement" in post else None)
    costs_form = SupportCostsForm(post if "support_costs" in post else None)
    fidelity_form = FidelityForm(
        post if "fidelity" in post else None, initial={"reviewed_on": today}
    )
    terminate_form = FairTerminateForm(post if "terminate" in post else None)
    follow_on_form = FollowOnForm(post if "follow_on" in post else None)
    years = selectors.fund_state(fund).budget.years
    context: dict[str, Any] = {"constellation": constellation, "admin": admin}
    problems: dict[int, str] = {}
    active = constellation.status == ConstellationStatus.ACTIVE
    if request.method == "POST":
        try:
            if "support_costs" in post and (admin or member) and costs_form.is_valid():
                deep_analysis.support_costs_report(
                    constellation=constellation, actor=request.user, **costs_form.cleaned_data
                )
                messages.success(request, _("The project leader's costs are reported."))
                return here
            if "support_statement" in post and evaluator and statement_form.is_valid():
                data = statement_form.cleaned_data
                draft = deep_analysis.support_statement_start(
                    constellation=constellation,
                    actor=request.user,
                    period_start=data["period_start"],
                    period_end=data["period_end"],
                )
                messages.success(request, _("A draft support statement for review and sign-off."))
                assert support is not None
                return redirect("settlements:detail", identifier=support.identifier, pk=draft.pk)
            if "support_pay" in post and admin and support is not None:
                settlement = Settlement.objects.filter(
                    contract=support, pk=id_param(post.get("settlement_id"))
                ).first()
                if settlement is None:
                    raise Http404(_("No such statement."))
                year = id_param(post.get("year"))
                if year not in years:
                    raise UserError(f"{year} is not a year of the fund's budget")
                payment = deep_analysis.support_pay(
                    constellation=constellation,
                    settlement=settlement,
                    actor=request.user,
                    year=year,
                )
                messages.success(
                    request,
                    _("Support paid: %(amount)s.")
                    % {
                        "amount": formatting.money(
                            payment.amount, formatting.language_of(get_language())
                        )
                    },
                )
                return here
            if "fidelity" in post and admin and fidelity_form.is_valid():
                follow_up.fidelity_review_record(
                    constellation=constellation, actor=request.user, **fidelity_form.cleaned_data
                )
                messages.success(request, _("The follow-up is saved."))
                return here
            if "terminate" in post and admin and terminate_form.is_valid():
                data = terminate_form.cleaned_data
                follow_up.constellation_terminate_fairly(
                    constellation=constellation,
                    actor=request.user,
                    today=today,
                    reason=data["reason"],
                    effort=data["effort"],
                    support_used=data["support_used"],
                    repayment=data["repayment"] or Decimal(0),
                )
                messages.success(request, _("The outcome financing is ended."))
                return here
            if "complete" in post and admin:
                follow_up.constellation_complete(
                    constellation=constellation, actor=request.user, today=today
                )
                messages.success(request, _("The contract has ended: phase 5 follows."))
                return here
            if "follow_on" in post and admin and follow_on_form.is_valid():
                follow_up.follow_on_record(
                    constellation=constellation, actor=request.user, **follow_on_form.cleaned_data
                )
                messages.success(request, _("The activity is saved."))
                return here
            if "follow_on_status" in post and admin:
                follow_on = get_object_or_404(
                    constellation.follow_ons, pk=id_param(post.get("follow_on_id"))
                )
                follow_up.follow_on_status_set(
                    follow_on=follow_on, actor=request.user, status=post.get("status", "")
                )
                return here
        except UserError as error:
            if "support_statement" in post:
                attach(statement_form, error)
            elif "support_costs" in post:
                attach(costs_form, error)
            elif "fidelity" in post:
                attach(fidelity_form, error)
            elif "terminate" in post:
                attach(terminate_form, error)
            elif "follow_on" in post:
                attach(follow_on_form, error)
            else:
                problems[id_param(post.get("settlement_id"))] = translated(error.message)
                context["problem"] = translated(error.message)
    paid = {p.settlement_id: p for p in SupportPayment.objects.filter(constellation=constellation)}
    statements = (
        list(Settlement.objects.filter(contract=support, supersedes__isnull=True).order_by("pk"))
        if support is not None
        else []
    )
    for statement in statements:
        statement.final = deep_analysis._final(statement)
        statement.support = (statement.final.result.get("outputs") or {}).get(fund.support_output)
        statement.payment = paid.get(statement.final.pk)
        statement.problem = problems.get(statement.pk)
    completed = constellation.status == ConstellationStatus.COMPLETED
    context.update(
        calendar=follow_up.report_calendar(constellation, today=today),
        statements=statements,
        support_payments=list(paid.values()),
        years=years,
        this_year=today.year,
        statement_form=statement_form if evaluator and active else None,
        costs_form=costs_form if (admin or member) and active and support is not None else None,
        evaluator=evaluator,
        fidelity_reviews=constellation.fidelity_reviews.select_related("reviewed_by"),
        fidelity_form=fidelity_form if admin and active else None,
        fairness=getattr(constellation, "fairness", None),
        terminate_form=terminate_form if admin and active else None,
        can_complete=admin
        and active
        and today.year > constellation.application.call.implementation_end_year,
        follow_ons=constellation.follow_ons.all(),
        follow_on_form=follow_on_form if admin and completed else None,
        completed=completed,
        signed=SettlementStatus.SIGNED,
    )
    return render(request, "fund/follow_up.html", context)
