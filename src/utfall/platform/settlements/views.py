"""Settlement pages: list and start, one statement (figures, explanation, review, sign-off),
bundle download, public keys, finance. Views parse, call a service or selector, render."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from utfall.errors import FindingsError, UserError, UtfallError
from utfall.platform.contracts import selectors as contract_selectors
from utfall.platform.contracts.models import Settlement, SettlementStatus
from utfall.platform.design.selectors import registration_for_statement
from utfall.platform.i18n import active_language
from utfall.platform.messages import note_message
from utfall.platform.params import id_param
from utfall.platform.permissions import Action, can
from utfall.platform.settlements import overview, selectors, services
from utfall.platform.settlements.forms import (
    CommentForm,
    DistributionFormSet,
    FinancePlanForm,
    SignForm,
    SimulateForm,
    StartForm,
)
from utfall.platform.settlements.keys import evaluator_key_public_pem
from utfall.platform.settlements.layered import statement_links
from utfall.platform.settlements.models import EvaluatorKey
from utfall.platform.settlements.presentation import (
    current_language,
    figure,
    ledger_subject,
    term_label,
)
from utfall.platform.web.views import _contract, _contract_context
from utfall.services.formatting import vega_format_locale


def _error_context(error: UtfallError, document: Any = None) -> dict[str, Any]:
    """The error and its findings in the active language (utfall.platform.messages)."""
    from utfall.platform.messages import error_context

    return error_context(error, current_language(), document)


def _statement(request: HttpRequest, contract: Any, pk: int) -> Settlement:
    try:
        return selectors.settlement_get(user=request.user, contract=contract, pk=pk)
    except Settlement.DoesNotExist:
        raise Http404(_("No such statement.")) from None


def _start_form(request: HttpRequest, contract: Any, correcting: bool) -> StartForm:
    version = contract_selectors.latest_version(contract)
    document = contract_selectors.parsed_version(version) if version else None
    manual = services.manual_inputs_needed(document) if document is not None else []
    labels = {t.name: term_label(document, "input", t.name) for t in manual}
    prefill = (
        overview.inputs_from_cost_reports(contract=contract, document=document, manual=manual)
        if manual and request.method != "POST"
        else {}
    )
    return StartForm(
        request.POST or None,
        manual=manual,
        correcting=correcting,
        labels=labels,
        prefill=prefill,
        helps={t.name: _summary(document, t.name) for t in manual},
    )


def _summary(document: Any, name: str) -> str:
    """An input's description in the active language (the contract's own text otherwise)."""
    from utfall.services.labels import summary

    try:
        return str(summary(document, "input", name, current_language()) or "")
    except (KeyError, LookupError, ValueError):
        return ""


def _findings_in_words(findings: list[Any]) -> list[str]:
    """Findings for a page: the message with the place named in words (an input, a row),
    never a file or a line."""
    from utfall.platform.messages import translate

    shown = []
    for finding in findings:
        if isinstance(finding, dict):
            path, message = finding.get("path"), finding.get("message", "")
            code, params = finding.get("code"), finding.get("params")
        else:
            path, message = getattr(finding, "path", None), getattr(finding, "message", finding)
            code, params = getattr(finding, "code", None), getattr(finding, "params", None)
        message = translate(code, params, str(message), current_language())
        shown.append(f"{path}: {message}" if path else str(message))
    return shown


@login_required
def statement_list(request: HttpRequest, identifier: str) -> HttpResponse:
    """The contract's statements; the evaluator starts a new one (or a correction), which is
    computed in the background while the page shows its progress."""
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
                job = services.settlement_job_start(
                    contract=contract,
                    actor=request.user,
                    period_start=form.cleaned_data["period_start"],
                    period_end=form.cleaned_data["period_end"],
                    manual_inputs=form.manual_inputs(),
                    supersedes=supersedes,
                    correction_reason=form.cleaned_data.get("correction_reason", ""),
                )
            except FindingsError as error:
                rest = form.add_findings(error.findings)
                if rest:
                    context.update(
                        error=_error_context(error)["error"], findings=_findings_in_words(rest)
                    )
            except UtfallError as error:
                context.update(_error_context(error))
            else:
                return redirect("settlements:job", identifier=identifier, job=job)
    ledger = (
        list(selectors.contract_ledger(user=request.user, contract=contract))
        if can(request.user, Action.VIEW_AUDIT, contract)
        else []
    )
    if ledger:
        document = _document_or_none(contract)
        for entry in ledger:
            entry.subject_shown = ledger_subject(entry, document)
    context.update(
        form=form,
        statements=statements,
        supersedes=supersedes,
        ledger=ledger,
        ledger_status=selectors.ledger_status(),
    )
    return render(request, "settlements/list.html", context)


def _document_or_none(contract: Any) -> Any:
    """The contract's newest parsed version (its labels), or None without one."""
    try:
        return selectors._newest_document(contract)
    except UserError:
        return None


@login_required
def statement_job(request: HttpRequest, identifier: str, job: str) -> HttpResponse:
    """A statement being computed: its progress (htmx polls this page's partial); when it is
    done, the statement; when it failed, why, in words."""
    contract = _contract(request, identifier, Action.PREPARE_SETTLEMENT)
    state = services.settlement_job(job)
    if (
        state is None
        or state.get("contract") != contract.pk
        or state.get("actor") != (request.user.pk)
    ):
        raise Http404(_("No such computation."))
    if state.get("state") == "done":
        target = reverse("settlements:detail", args=[identifier, state["settlement"]])
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        messages.success(request, _("A draft statement was computed."))
        return redirect(target)
    context = _contract_context(request, contract, "settlements")
    context.update(
        job=job,
        state=state,
        findings=_findings_in_words(state.get("findings") or []) or state.get("detail") or [],
    )
    template = (
        "settlements/_job_progress.html"
        if request.headers.get("HX-Request")
        else "settlements/job.html"
    )
    return render(request, template, context)


@login_required
def statement_detail(request: HttpRequest, identifier: str, pk: int) -> HttpResponse:
    """One statement: payments, outputs, evaluations with CIs, explanation, review, sign-off."""
    contract = _contract(request, identifier, Action.VIEW_SETTLEMENTS)
    statement = _statement(request, contract, pk)
    return _detail(request, contract, statement)


def _detail(
    request: HttpRequest, contract: Any, statement: Settlement, sign_form: SignForm | None = None
) -> HttpResponse:
    context = _contract_context(request, contract, "settlements")
    document = contract_selectors.parsed_version(statement.version)
    labels = _labels(document)
    parties = {p.id: term_label(document, "party", p.id) for p in document.parties}
    context.update(
        s=statement,
        final=statement.status == SettlementStatus.SIGNED,
        comment_form=CommentForm(),
        sign_form=sign_form or SignForm(),
        payments=[
            {
                **p,
                "label": _payment_label(document, p),
                "from": parties.get(p.get("from"), p.get("from")),
                "to": parties.get(p.get("to"), p.get("to")),
            }
            for p in statement.result.get("payments") or []
        ],
        outputs=[
            {
                "name": name,
                "label": labels.get(name, name),
                "value": figure(document, name, value),
            }
            for name, value in (statement.result.get("outputs") or {}).items()
        ],
        manual=[
            {
                "label": labels.get(name, name),
                "value": figure(document, name, entry.get("value")),
                "reason": entry.get("reason"),
            }
            for name, entry in (statement.manual_inputs or {}).items()
        ],
        rows=[
            {
                **r,
                "label": labels.get(r["name"], r["name"]),
                "shown": figure(document, r["name"], r["value"]),
                "origin": _origin(document, r["origin"]),
                "plain": contract_selectors.plain_formula(
                    document, r["formula"], active_language()
                ),
                "notes": [_plain_numbers(n) for n in r["notes"]],
            }
            for r in selectors.explanation_rows(statement)
        ],
        can_see_rows=can(request.user, Action.VIEW_PARTICIPANTS, contract),
        evaluations=[
            {
                **e,
                "label": labels.get(e["name"], e["name"]),
                "shown": figure(document, e["name"], e["value"]),
            }
            for e in selectors.evaluations_of(statement)
        ],
        registration=registration_for_statement(statement=statement),
        links=_links(document, statement, request.user),
        comments=_comments(statement),
        corrected_by=statement.corrections.filter(status=SettlementStatus.SIGNED).first(),
        key=EvaluatorKey.objects.filter(fingerprint=statement.key_fingerprint).first()
        if statement.key_fingerprint
        else None,
    )
    return render(request, "settlements/detail.html", context)


def _links(document: Any, statement: Settlement, user: Any) -> dict[str, list[Any]]:
    """The statement's links to other contracts' statements (layered contracts), each input
    by its label and each upstream figure with its value in the active language."""
    links = statement_links(statement, user)
    for link in links["taken_from"]:
        link["label"] = term_label(document, "input", link["input"])
        link["shown"] = figure(document, link["input"], link["value"])
    for link in links["used_by"]:
        link["shown"] = figure(document, link["name"], link["value"])
    return links


def _comments(statement: Settlement) -> list[Any]:
    """The statement's comments, each author's roles (stored as codes) by their labels."""
    from utfall.services.labels import role

    language = current_language()
    comments = list(statement.comments.select_related("author"))
    for comment in comments:
        codes = [r.strip() for r in str(comment.roles or "").split(",") if r.strip()]
        comment.roles_shown = ", ".join(role(code, language) for code in codes)
    return comments


def _labels(document: Any) -> dict[str, str]:
    """Every term of the contract by its label in the active language."""
    return {
        **{n: term_label(document, "parameter", n) for n in document.parameters},
        **{n: term_label(document, "input", n) for n in document.inputs},
        **{n: term_label(document, "output", n) for n in document.outputs},
        **{p.id: term_label(document, "payment", p.id) for p in document.payments},
    }


def _payment_label(document: Any, payment: dict[str, Any]) -> str:
    label = term_label(document, "payment", str(payment.get("id", "")))
    return label if label and "_" not in str(payment.get("label", "")) else payment["label"]


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")


def _plain_numbers(note: str) -> str:
    """A formula trace with its numbers in the active language's form."""
    from utfall.services.formatting import number

    language = current_language()
    return _NUMBER.sub(lambda m: number(m.group(0), language), str(note))


def _origin(document: Any, origin: str) -> str:
    """Where a figure comes from, in words: an evaluation by its label, a facts value as
    entered by the evaluator, a parameter as the contract's term."""
    if not origin:
        return ""
    match = re.match(r"evaluation (\w+) \(", origin)
    if match:
        name = term_label(document, "evaluation", match.group(1))
        return _("computed from the data: %(evaluation)s") % {"evaluation": name}
    match = re.match(r"from contract ([a-z0-9-]+) (output|input) (\w+), settlement (\w+)", origin)
    if match:
        contract, kind, name, sha = match.groups()
        text = (
            _("from the contract %(contract)s, output %(name)s (settlement %(sha)s)")
            if kind == "output"
            else _("from the contract %(contract)s, input %(name)s (settlement %(sha)s)")
        )
        return text % {"contract": contract, "name": name, "sha": sha[:12] + "…"}
    if origin == "contract term":
        return _("a term of the contract")
    if origin == "override":
        return _("a changed term (what-if)")
    if origin.startswith("facts") or "facts" in origin:
        return _("entered by the evaluator")
    return origin


_CODE_MESSAGES = (
    ("too many wrong", _lazy("Too many wrong two-factor codes: wait five minutes and try again.")),
    ("set up TOTP", _lazy("Signing off needs two-factor authentication: set up TOTP first.")),
    (
        "two-factor code",
        _lazy("The two-factor code is wrong or was used already: enter the current code."),
    ),
)


@login_required
@require_POST
def statement_action(request: HttpRequest, identifier: str, pk: int) -> HttpResponse:
    """Comment, send for review, or sign off (each a service call; a final one refuses all).
    A sign-off refused for its code shows the page again with the error at the code field."""
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
            sign_form = SignForm(request.POST)
            code = sign_form.cleaned_data["totp_code"] if sign_form.is_valid() else ""
            try:
                services.settlement_sign(settlement=statement, actor=request.user, totp_code=code)
            except UserError as error:
                said = next((m for key, m in _CODE_MESSAGES if key in error.message), None)
                if said is None:
                    raise
                sign_form = SignForm(request.POST)
                sign_form.is_valid()
                sign_form.errors.pop("totp_code", None)
                sign_form.add_error("totp_code", str(said))
                statement.refresh_from_db()
                response = _detail(request, contract, statement, sign_form=sign_form)
                response.status_code = 400
                return response
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


def _simulation_inputs(document: Any) -> list[tuple[str, str]]:
    return overview.input_choices(document)


@login_required
def finance(request: HttpRequest, identifier: str) -> HttpResponse:
    """Drawdowns against cost reports, cash flows, IRR and multiple, each with its chart; the
    expected payout with its band (loaded after the page, computed from the evaluations); a
    Monte Carlo form of one row per input."""
    contract = _contract(request, identifier, Action.VIEW_SETTLEMENTS)
    context = _contract_context(request, contract, "finance")
    document = selectors._newest_document(contract)
    inputs = _simulation_inputs(document)
    plan_form = FinancePlanForm()
    simulating = request.method == "POST" and "simulate" in request.POST
    simulate_form = SimulateForm(request.POST if simulating else None)
    rows = DistributionFormSet(
        request.POST if simulating else None,
        inputs=inputs,
        prefix="d",
        initial=[{"name": name, "kind": "normal"} for name, _label in inputs],
    )
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
    if simulating and simulate_form.is_valid() and rows.is_valid():
        try:
            result = overview.expected_payout(
                user=request.user,
                contract=contract,
                distributions=rows.distributions() or None,
                size=simulate_form.cleaned_data["size"],
                seed=simulate_form.cleaned_data["seed"],
            )
        except UtfallError as error:
            context.update(_error_context(error))
        else:
            context["simulation"] = result["outcome"]
            context["simulation_chart"] = overview.simulation_chart(result["outcome"])
    try:
        context["finance"] = selectors.finance_report_for(user=request.user, contract=contract)
    except UtfallError as error:
        context.update(_error_context(error))
    names = {p.id: term_label(document, "party", p.id) for p in document.parties}
    language = current_language()
    if context.get("finance"):
        context["finance_notes"] = [
            note_message(n, language, document) for n in context["finance"]["report"].notes
        ]
    if context.get("simulation"):
        context["simulation_notes"] = [
            note_message(n, language, document) for n in context["simulation"].notes
        ]
    if context.get("finance"):
        categories = context["finance"]["categories"]
        context["category_labels"] = [term_label(document, "cost_category", c) for c in categories]
        names.update(zip(categories, context["category_labels"], strict=True))
        context["charts"] = {c["id"]: c for c in overview.finance_charts(context["finance"], names)}
    context.update(
        plan_form=plan_form,
        simulate_form=simulate_form,
        rows=rows,
        parties=names,
        vega_locale=vega_format_locale(current_language()),
    )
    return render(request, "settlements/finance.html", context)


@login_required
def finance_expected(request: HttpRequest, identifier: str) -> HttpResponse:
    """The expected payout with its band, from the default distributions (the evaluations on
    the data so far): a partial the finance page loads after itself (htmx)."""
    contract = _contract(request, identifier, Action.VIEW_SETTLEMENTS)
    context: dict[str, Any] = {"contract": contract}
    try:
        result = overview.expected_payout(user=request.user, contract=contract)
    except UtfallError as error:
        context.update(_error_context(error))
    else:
        document = result["document"]
        context.update(
            outcome=result["outcome"],
            distributions=[
                {
                    "label": term_label(document, "input", d.name),
                    "d": d,
                    "boolean": getattr(document.inputs.get(d.name), "type", "") == "boolean",
                }
                for d in result["distributions"]
            ],
            chart=overview.simulation_chart(result["outcome"]),
        )
    return render(request, "settlements/_expected.html", context)
