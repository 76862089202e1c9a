"""Settlement pages: list and start, one statement (figures, explanation, review, sign-off),
bundle download, public keys, finance. Views parse, call a service or selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from utfall.errors import FindingsError, UserError, UtfallError
from utfall.platform.contracts import selectors as contract_selectors
from utfall.platform.contracts.models import Settlement, SettlementStatus
from utfall.platform.design.selectors import registration_for_statement
from utfall.platform.params import id_param
from utfall.platform.permissions import Action, can
from utfall.platform.settlements import selectors, services
from utfall.platform.settlements.forms import (
    CommentForm,
    FinancePlanForm,
    SignForm,
    SimulateForm,
    StartForm,
)
from utfall.platform.settlements.keys import evaluator_key_public_pem
from utfall.platform.settlements.models import EvaluatorKey
from utfall.platform.web.views import _contract, _contract_context


def _error_context(error: UtfallError) -> dict[str, Any]:
    findings = [str(f) for f in error.findings] if isinstance(error, FindingsError) else []
    return {"error": error.message, "findings": findings or error.detail}


def _statement(request: HttpRequest, contract: Any, pk: int) -> Settlement:
    try:
        return selectors.settlement_get(user=request.user, contract=contract, pk=pk)
    except Settlement.DoesNotExist:
        raise Http404(_("No such statement.")) from None


def _start_form(request: HttpRequest, contract: Any, correcting: bool) -> StartForm:
    version = contract_selectors.latest_version(contract)
    manual = (
        services.manual_inputs_needed(contract_selectors.parsed_version(version)) if version else []
    )
    return StartForm(request.POST or None, manual=manual, correcting=correcting)


@login_required
def statement_list(request: HttpRequest, identifier: str) -> HttpResponse:
    """The contract's statements; the evaluator starts a new one (or a correction)."""
    contract = _contract(request, identifier, Action.VIEW_SETTLEMENTS)
    context = _contract_context(request, contract, "settlements")
    statements = selectors.settlement_list(user=request.user, contract=contract)
    supersedes = None
    wanted = request.POST.get("supersedes") or request.GET.get("correct")
    if wanted:
        supersedes = _statement(request, contract, id_param(wanted))
    form = _start_form(request, contract, correcting=supersedes is not None)
    if request.method == "POST":
        if not can(request.user, Action.PREPARE_SETTLEMENT, contract):
            raise PermissionDenied
        if form.is_valid():
            try:
                statement = services.settlement_start(
                    contract=contract,
                    actor=request.user,
                    period_start=form.cleaned_data["period_start"],
                    period_end=form.cleaned_data["period_end"],
                    manual_inputs=form.manual_inputs(),
                    supersedes=supersedes,
                    correction_reason=form.cleaned_data.get("correction_reason", ""),
                )
            except UtfallError as error:
                context.update(_error_context(error))
            else:
                messages.success(request, _("A draft statement was computed."))
                return redirect("settlements:detail", identifier=identifier, pk=statement.pk)
    context.update(
        form=form,
        statements=statements,
        supersedes=supersedes,
        ledger=selectors.contract_ledger(user=request.user, contract=contract)
        if can(request.user, Action.VIEW_AUDIT, contract)
        else [],
        ledger_status=selectors.ledger_status(),
    )
    return render(request, "settlements/list.html", context)


@login_required
def statement_detail(request: HttpRequest, identifier: str, pk: int) -> HttpResponse:
    """One statement: payments, outputs, evaluations with CIs, explanation, review, sign-off."""
    contract = _contract(request, identifier, Action.VIEW_SETTLEMENTS)
    statement = _statement(request, contract, pk)
    context = _contract_context(request, contract, "settlements")
    context.update(
        s=statement,
        final=statement.status == SettlementStatus.SIGNED,
        comment_form=CommentForm(),
        sign_form=SignForm(),
        rows=selectors.explanation_rows(statement),
        can_see_rows=can(request.user, Action.VIEW_INDIVIDUAL_STATUS, contract),
        evaluations=selectors.evaluations_of(statement),
        registration=registration_for_statement(statement=statement),
        comments=statement.comments.select_related("author"),
        corrected_by=statement.corrections.filter(status=SettlementStatus.SIGNED).first(),
        key=EvaluatorKey.objects.filter(fingerprint=statement.key_fingerprint).first()
        if statement.key_fingerprint
        else None,
    )
    return render(request, "settlements/detail.html", context)


@login_required
@require_POST
def statement_action(request: HttpRequest, identifier: str, pk: int) -> HttpResponse:
    """Comment, send for review, or sign off (each a service call; a final one refuses all)."""
    contract = _contract(request, identifier, Action.VIEW_SETTLEMENTS)
    statement = _statement(request, contract, pk)
    action = request.POST.get("action", "")
    try:
        if action == "comment":
            form = CommentForm(request.POST)
            if form.is_valid():
                services.settlement_comment(
                    settlement=statement, actor=request.user, text=form.cleaned_data["text"]
                )
                messages.success(request, _("Your comment was added."))
        elif action == "review":
            services.settlement_review_start(settlement=statement, actor=request.user)
            messages.success(request, _("The statement was sent to the parties for review."))
        elif action == "sign":
            form = SignForm(request.POST)
            code = form.cleaned_data["totp_code"] if form.is_valid() else ""
            services.settlement_sign(settlement=statement, actor=request.user, totp_code=code)
            messages.success(request, _("The statement was signed off; it is final."))
        else:
            raise Http404
    except UtfallError as error:
        messages.error(request, " ".join([error.message, *[str(d) for d in error.detail]]))
    return redirect("settlements:detail", identifier=identifier, pk=statement.pk)


@login_required
def statement_rows(
    request: HttpRequest, identifier: str, pk: int, evaluation: str, part: str
) -> HttpResponse:
    """The rows behind one evaluated figure (pseudonyms only; the parties allowed to see
    individuals): the participants counted, or the events not counted with the reason."""
    contract = _contract(request, identifier, Action.VIEW_SETTLEMENTS)
    statement = _statement(request, contract, pk)
    try:
        name, content = selectors.statement_rows(
            user=request.user, settlement=statement, evaluation=evaluation, part=part
        )
    except UserError as error:
        raise Http404(error.message) from None
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def statement_bundle(request: HttpRequest, identifier: str, pk: int) -> HttpResponse:
    """The signed bundle of a final statement (``utfall verify`` checks it)."""
    contract = _contract(request, identifier, Action.VIEW_SETTLEMENTS)
    statement = _statement(request, contract, pk)
    if statement.status != SettlementStatus.SIGNED or not statement.bundle:
        raise Http404(_("Only a final statement has a bundle."))
    response = HttpResponse(statement.bundle.encode("utf-8"), content_type="application/json")
    response["Content-Disposition"] = (
        f'attachment; filename="{contract.identifier}-settlement-{statement.pk}.bundle.json"'
    )
    return response


@login_required
def public_keys(request: HttpRequest) -> HttpResponse:
    """Every evaluator's public signing key with its fingerprint."""
    from utfall.platform.settlements.transparency import (
        log_checkpoint,
        log_checkpoint_note,
        log_verifier_key,
    )

    status = selectors.ledger_status()
    checkpoint = log_checkpoint_note(log_checkpoint()) if status["holds"] else ""
    return render(
        request,
        "settlements/keys.html",
        {
            "keys": selectors.evaluator_keys(),
            "ledger_status": status,
            "log_key": log_verifier_key(),
            "checkpoint": checkpoint,
        },
    )


@login_required
def public_key_pem(request: HttpRequest, fingerprint: str) -> HttpResponse:
    """One public key as PEM (``utfall verify --public-key``)."""
    key = EvaluatorKey.objects.filter(fingerprint=fingerprint).first()
    if key is None:
        raise Http404
    response = HttpResponse(evaluator_key_public_pem(key), content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="{fingerprint[:16]}.pem"'
    return response


@login_required
def finance(request: HttpRequest, identifier: str) -> HttpResponse:
    """Drawdowns against cost reports, cash flows, IRR and multiple; a Monte Carlo form."""
    contract = _contract(request, identifier, Action.VIEW_SETTLEMENTS)
    context = _contract_context(request, contract, "finance")
    plan_form = FinancePlanForm()
    simulate_form = SimulateForm(request.POST if "simulate" in request.POST else None)
    if request.method == "POST" and "plan" in request.POST:
        plan_form = FinancePlanForm(request.POST, request.FILES)
        if plan_form.is_valid():
            upload = plan_form.cleaned_data["file"]
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                context["error"] = _("The plan is not a UTF-8 text file.")
            else:
                try:
                    services.finance_plan_upload(contract=contract, actor=request.user, text=text)
                except UserError as error:
                    context.update(_error_context(error))
                else:
                    messages.success(request, _("The finance plan was saved."))
                    return redirect("settlements:finance", identifier=identifier)
    if simulate_form.is_bound and simulate_form.is_valid():
        try:
            context["simulation"] = selectors.finance_simulation(
                user=request.user,
                contract=contract,
                distributions=simulate_form.distribution_list(),
                size=simulate_form.cleaned_data["size"],
                seed=simulate_form.cleaned_data["seed"],
            )
        except UtfallError as error:
            context.update(_error_context(error))
    try:
        context["finance"] = selectors.finance_report_for(user=request.user, contract=contract)
    except UtfallError as error:
        context.update(_error_context(error))
    context.update(plan_form=plan_form, simulate_form=simulate_form)
    return render(request, "settlements/finance.html", context)
