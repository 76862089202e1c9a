"""The design page: the figures, power curve and payment risk of an evaluation, and its
registration. Views parse, call a service or selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from utfall.core.design import payment_risk_chart
from utfall.errors import UtfallError
from utfall.platform.contracts import selectors as contract_selectors
from utfall.platform.design import selectors, services
from utfall.platform.design.forms import METHOD_LABELS, DesignForm, initial_for
from utfall.platform.i18n import active_language
from utfall.platform.web.views import _contract, _contract_context


def _english() -> bool:
    return active_language() == "en"


def _evaluation_choices(parsed: Any) -> list[tuple[str, str]]:
    """The contract's evaluations by their labels (the bound ones, that pay, first)."""
    if parsed is None:
        return []
    english = _english()
    bound = list(parsed.bound_evaluations())
    names = bound + [name for name in parsed.evaluations if name not in bound]
    choices = []
    for name in names:
        declared = parsed.document.evaluations.get(name)
        label = getattr(declared, "label", None)
        text = (label.en if english else label.sv) if label is not None else name
        choices.append((name, text))
    return choices


def _payment_labels(parsed: Any) -> dict[str, str]:
    english = _english()
    return {
        payment.id: payment.label.en if english else payment.label.sv
        for payment in parsed.document.payments
    }


def _risk_context(risk: Any, parsed: Any) -> dict[str, Any]:
    labels = _payment_labels(parsed)
    rows = [
        {**row, "payment_label": labels.get(row["payment"], row["payment"])} for row in risk.rows
    ]
    chart = payment_risk_chart(
        risk,
        title=_("Probability that each payment is triggered"),
        x_title=_("True effect"),
        y_title=_("Probability triggered"),
        color_title=_("Payment"),
        labels=labels,
    )
    return {
        "risk": risk,
        "risk_rows": rows,
        "risk_chart": chart,
        "payer_risk": [(labels.get(k, k), v) for k, v in risk.payer_risk.items()],
        "investor_risk": [(labels.get(k, k), v) for k, v in risk.investor_risk.items()],
    }


@login_required
def design_page(request: HttpRequest, identifier: str) -> HttpResponse:
    """Every evaluation of the latest version; for the one chosen, the design figures,
    the power curve and the payment risk of the assumptions given in the form; the
    commissioner registers them."""
    contract = _contract(request, identifier)
    context = _contract_context(request, contract, "design")
    version = contract_selectors.latest_version(contract)
    parsed = contract_selectors.parsed_version(version) if version is not None else None
    choices = _evaluation_choices(parsed)
    names = [name for name, _label in choices]
    evaluation = (
        request.POST.get("evaluation")
        or request.GET.get("evaluation")
        or (names[0] if names else "")
    )
    chosen = parsed.evaluations.get(evaluation) if parsed is not None else None
    initial = initial_for(
        evaluation,
        getattr(chosen, "method", None),
        getattr(getattr(chosen, "ci", None), "level", None),
        options=dict(getattr(chosen, "options", None) or {}),
        stored=services.stored_defaults(contract=contract, evaluation=evaluation)
        if chosen is not None and chosen.method in ("historical_reference", "trend_adjusted")
        else None,
    )
    posted = request.method == "POST" and "method" in request.POST
    registration = selectors.registration_latest(contract=contract)
    form = DesignForm(request.POST if posted else None, initial=initial, evaluations=choices)
    context.update(
        form=form,
        method_labels=METHOD_LABELS,
        evaluations=choices,
        evaluation=evaluation,
        can_register=services.can_register(request.user, contract),
        registration=registration,
        registered_designs=[
            (dict(choices).get(name, name), entry["design"])
            for name, entry in (
                (registration.attributes.get("registration") or {}).get("evaluations") or {}
            ).items()
            if entry.get("design")
        ]
        if registration is not None
        else [],
    )
    if request.method != "POST":
        return render(request, "design/page.html", context)
    action = request.POST.get("action", "preview")
    spec: Any = None
    if evaluation not in names:
        context["error"] = _("Choose one of the contract's evaluations.")
    elif posted:
        if form.is_valid():
            spec = form.design_spec()
        else:
            context["error"] = _("Check the fields marked below.")
    else:
        # A design spec posted as YAML text (scripts and older clients).
        spec = request.POST.get("design") or ""
    if spec is not None and action == "register":
        if not services.can_register(request.user, contract):
            raise PermissionDenied
        try:
            services.design_register(
                contract=contract, evaluation=evaluation, text=spec, actor=request.user
            )
        except UtfallError as error:
            context["error"] = error.message
        else:
            messages.success(request, _("The design was registered in the ledger."))
            return redirect("design:page", identifier=contract.identifier)
    if spec is not None and "error" not in context:
        try:
            _spec, figures, chart = services.design_preview(
                contract=contract, evaluation=evaluation, text=spec
            )
            risk = (
                services.design_payment_risk(contract=contract, evaluation=evaluation, text=spec)
                if action == "risk"
                else None
            )
        except UtfallError as error:
            context["error"] = error.message
        else:
            context.update(figures=figures.as_dict(), chart=chart or None)
            if action == "risk":
                if risk is None:
                    context["risk_unavailable"] = True
                else:
                    context.update(_risk_context(risk, parsed))
    return render(request, "design/page.html", context)
