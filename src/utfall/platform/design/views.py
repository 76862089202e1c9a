"""The design page: the figures and power curve of an evaluation, and its registration.
Views parse, call a service or selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from utfall.core.design.spec import DESIGN_METHODS
from utfall.errors import UtfallError
from utfall.platform.contracts import selectors as contract_selectors
from utfall.platform.design import selectors, services
from utfall.platform.web.views import _contract, _contract_context

EXAMPLE = "method: did\nalpha: 0.05\npower: 0.80\neffect: 10\nsd: 30\nautocorrelation: 0.5\n"


def _example(method: str | None) -> str:
    """Assumptions to start from, for the method of the evaluation chosen."""
    if method not in DESIGN_METHODS:
        return EXAMPLE
    lines = [f"method: {method}", "alpha: 0.05", "power: 0.80"]
    if method == "proportions":
        lines += ["p_control: 0.50", "p_treated: 0.65"]
    else:
        lines += ["effect: 10", "sd: 30"]
    if method in ("did", "trend_adjusted"):
        lines.append("autocorrelation: 0.5")
    return "\n".join(lines) + "\n"


@login_required
def design_page(request: HttpRequest, identifier: str) -> HttpResponse:
    """Every evaluation of the latest version; for the one chosen, the design figures and
    the power curve of the assumptions typed in; the commissioner registers them."""
    contract = _contract(request, identifier)
    context = _contract_context(request, contract, "design")
    version = contract_selectors.latest_version(contract)
    parsed = contract_selectors.parsed_version(version) if version is not None else None
    names = list(parsed.evaluations) if parsed is not None else []
    evaluation = (
        request.POST.get("evaluation")
        or request.GET.get("evaluation")
        or (names[0] if names else "")
    )
    chosen = parsed.evaluations.get(evaluation) if parsed is not None else None
    text = request.POST.get("design") or _example(getattr(chosen, "method", None))
    context.update(
        evaluations=names,
        evaluation=evaluation,
        design_text=text,
        can_register=services.can_register(request.user, contract),
        registration=selectors.registration_latest(contract=contract),
    )
    if request.method == "POST":
        action = request.POST.get("action", "preview")
        if evaluation not in names:
            context["error"] = _("Choose one of the contract's evaluations.")
        elif action == "register":
            if not services.can_register(request.user, contract):
                raise PermissionDenied
            try:
                services.design_register(
                    contract=contract, evaluation=evaluation, text=text, actor=request.user
                )
            except UtfallError as error:
                context["error"] = error.message
            else:
                messages.success(request, _("The design was registered in the ledger."))
                return redirect("design:page", identifier=contract.identifier)
        if "error" not in context:
            try:
                _spec, figures, chart = services.design_preview(
                    contract=contract, evaluation=evaluation, text=text
                )
            except UtfallError as error:
                context["error"] = error.message
            else:
                figures_dict: dict[str, Any] = figures.as_dict()
                context.update(figures=figures_dict, chart=chart or None)
    return render(request, "design/page.html", context)
