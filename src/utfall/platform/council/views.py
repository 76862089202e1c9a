"""Council pages: the dashboard, its CSV and JSON, meetings, decisions and the report.

Each view parses the request, calls a selector or service and renders.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from utfall.errors import UserError
from utfall.platform.contracts.models import Contract
from utfall.platform.council import selectors, services
from utfall.platform.council.charts import chart_spec
from utfall.platform.council.forms import DecisionForm, FollowUpForm, MeetingForm
from utfall.platform.council.models import CouncilDecision, CouncilMeeting
from utfall.platform.council.report import report_html, report_pdf
from utfall.platform.council.tables import (
    dashboard_sections,
    dashboard_tables,
    key_figures,
    table_csv,
)
from utfall.platform.params import id_param, language_param
from utfall.platform.permissions import Action, can
from utfall.platform.web.middleware import content_security_policy_for_document
from utfall.platform.web.views import _contract, _contract_context


def _as_of(request: HttpRequest) -> dt.date | None:
    text = request.GET.get("as_of", "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Http404(_("Not a date.")) from None


def _meeting(request: HttpRequest, contract: Contract, pk: int) -> CouncilMeeting:
    try:
        return selectors.meeting_get(user=request.user, contract=contract, pk=pk)
    except CouncilMeeting.DoesNotExist:
        raise Http404(_("No such meeting.")) from None


def _shown(item: dict[str, Any]) -> dict[str, Any]:
    if "note" in item:
        return item
    table = item["table"]
    return {
        "table": table,
        "cells": table.cells(),
        "spec": chart_spec(table),
        "spec_id": f"{table.id}-spec",
    }


def _page_context(dashboard: dict[str, Any]) -> dict[str, Any]:
    """What the dashboard body shows: key figures, then each table with its chart and each
    panel without figures with the reason, in page order."""
    return {
        "dashboard": dashboard,
        "figures": key_figures(dashboard),
        "sections": [_shown(item) for item in dashboard_sections(dashboard)],
    }


def _dashboard_of(request: HttpRequest, contract: Contract) -> dict[str, Any]:
    meeting_pk = request.GET.get("meeting", "")
    try:
        if meeting_pk:
            meeting = _meeting(request, contract, id_param(meeting_pk))
            return selectors.viewer_copy(meeting.snapshot, user=request.user, contract=contract)
        return selectors.dashboard_for(user=request.user, contract=contract, as_of=_as_of(request))
    except selectors.NoReportingDate:
        raise Http404(_("There is no reporting date on or before this day.")) from None


def _busy() -> HttpResponse:
    """The answer while another dashboard of the contract is being computed."""
    response = HttpResponse(
        _("Another dashboard of this contract is being computed; try again in a minute."),
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(selectors.RETRY_AFTER_SECONDS)
    return response


def _reporting_context(
    request: HttpRequest, contract: Contract, data: dict[str, Any]
) -> dict[str, Any]:
    """For a role that sees aggregates only: the reporting dates to choose from, and the day
    asked for when another was shown."""
    if not selectors.aggregate_only(request.user, contract):
        return {"reporting_dates": None, "snapped_from": None}
    requested = data.get("requested_as_of")
    return {
        "reporting_dates": data.get("reporting_dates") or [],
        "snapped_from": requested if requested and requested != data.get("as_of") else None,
    }


@login_required
def dashboard(request: HttpRequest, identifier: str) -> HttpResponse:
    """The contract's dashboard as the user's role may see it."""
    contract = _contract(request, identifier)
    try:
        data = _dashboard_of(request, contract)
    except selectors.DashboardBusy:
        return _busy()
    context = _contract_context(request, contract, "council")
    context.update(
        **_page_context(data),
        **_reporting_context(request, contract, data),
        as_of=data.get("as_of") or "",
        csv_query=f"as_of={data.get('as_of') or ''}",
        can_record=can(request.user, Action.RECORD_COUNCIL_MEETING, contract),
    )
    return render(request, "council/dashboard.html", context)


@login_required
def dashboard_json(request: HttpRequest, identifier: str) -> HttpResponse:
    """The dashboard as JSON (the same suppressed data the page shows)."""
    contract = _contract(request, identifier)
    try:
        data = _dashboard_of(request, contract)
    except selectors.DashboardBusy:
        return _busy()
    return JsonResponse(data, json_dumps_params={"indent": 1})


@login_required
def table_download(request: HttpRequest, identifier: str, table_id: str) -> HttpResponse:
    """One table of the dashboard (or of a meeting's snapshot) as CSV."""
    contract = _contract(request, identifier)
    try:
        data = _dashboard_of(request, contract)
    except selectors.DashboardBusy:
        return _busy()
    for table in dashboard_tables(data):
        if table.id == table_id:
            response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
            name = f"{contract.identifier}-{table.id}-{data.get('as_of') or ''}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
    raise Http404(_("No such table."))


@login_required
def meetings(request: HttpRequest, identifier: str) -> HttpResponse:
    """The council's meetings and, for those who keep the records, a new one."""
    contract = _contract(request, identifier)
    can_record = can(request.user, Action.RECORD_COUNCIL_MEETING, contract)
    as_of = selectors.default_as_of(contract)
    form = MeetingForm(
        request.POST or None,
        initial={"held_on": dt.date.today(), "as_of": as_of, "title": _("Intervention council")},
    )
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied
        if form.is_valid():
            try:
                meeting = services.meeting_record(
                    contract=contract, actor=request.user, **form.cleaned_data
                )
            except UserError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("The meeting is recorded with a frozen snapshot."))
                return redirect("council:meeting", contract.identifier, meeting.pk)
    context = _contract_context(request, contract, "council")
    context.update(
        meetings=selectors.meeting_list(user=request.user, contract=contract),
        form=form if can_record else None,
    )
    return render(request, "council/meetings.html", context)


@login_required
def meeting(request: HttpRequest, identifier: str, pk: int) -> HttpResponse:
    """One meeting: agenda, the frozen dashboard, decisions and follow-ups."""
    contract = _contract(request, identifier)
    record = _meeting(request, contract, pk)
    can_record = can(request.user, Action.RECORD_COUNCIL_MEETING, contract)
    decision_form = DecisionForm(request.POST if "add_decision" in request.POST else None)
    follow_form = FollowUpForm(request.POST if "follow_up" in request.POST else None)
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied
        try:
            if "add_decision" in request.POST and decision_form.is_valid():
                services.decision_add(
                    meeting=record, actor=request.user, **decision_form.cleaned_data
                )
                return redirect("council:meeting", contract.identifier, record.pk)
            if "follow_up" in request.POST and follow_form.is_valid():
                decision = CouncilDecision.objects.get(
                    pk=follow_form.cleaned_data["decision"], meeting__contract=contract
                )
                services.decision_follow_up(
                    decision=decision,
                    at_meeting=record,
                    actor=request.user,
                    status=follow_form.cleaned_data["status"],
                    note=follow_form.cleaned_data["note"],
                )
                return redirect("council:meeting", contract.identifier, record.pk)
        except (UserError, CouncilDecision.DoesNotExist) as error:
            messages.error(request, getattr(error, "message", str(error)))
    data = selectors.viewer_copy(record.snapshot, user=request.user, contract=contract)
    context = _contract_context(request, contract, "council")
    context.update(
        **_page_context(data),
        meeting=record,
        decisions=list(record.decisions.all()),
        follow_ups=list(selectors.open_decisions(meeting=record)),
        can_record=can_record,
        decision_form=decision_form,
        follow_form=FollowUpForm(),
        language=(get_language() or "en")[:2],
        csv_query=f"meeting={record.pk}",
    )
    return render(request, "council/meeting.html", context)


@login_required
def meeting_report(request: HttpRequest, identifier: str, pk: int, fmt: str) -> HttpResponse:
    """The quarterly report of a meeting, HTML or PDF, in ``?lang=sv`` or ``en``."""
    contract = _contract(request, identifier)
    record = _meeting(request, contract, pk)
    language = language_param(request.GET.get("lang"), (get_language() or "en")[:2])
    if fmt == "pdf":
        response = HttpResponse(
            report_pdf(record, user=request.user, language=language),
            content_type="application/pdf",
        )
        name = f"{contract.identifier}-council-{record.held_on:%Y-%m-%d}-{language}.pdf"
        response["Content-Disposition"] = content_disposition_header(True, name)
        return response
    html = report_html(record, user=request.user, language=language)
    response = HttpResponse(html)
    # The report carries its own <style> (for the PDF renderer): allowed by hash only.
    response["Content-Security-Policy"] = content_security_policy_for_document(html)
    return response
