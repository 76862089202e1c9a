"""Council pages: the dashboard, its CSV and JSON, meetings, decisions and the report.

Each view parses the request, calls a selector or service and renders. The dashboard's
first computation of a day and the report's PDF run as background jobs
(:mod:`utfall.platform.council.jobs`): the page shows their progress and then the result.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone as dj_timezone
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from utfall.errors import UserError
from utfall.platform.contracts.models import Contract, Role
from utfall.platform.contracts.selectors import latest_version, parsed_version
from utfall.platform.council import jobs, selectors, services
from utfall.platform.council.charts import chart_spec, format_locale
from utfall.platform.council.forms import DecisionForm, FollowUpForm, MeetingForm
from utfall.platform.council.models import CouncilDecision, CouncilMeeting
from utfall.platform.council.report import report_html
from utfall.platform.council.tables import (
    dashboard_sections,
    dashboard_tables,
    declared,
    key_figures,
    table_csv,
)
from utfall.platform.messages import error_said, translate_text
from utfall.platform.params import id_param, language_param
from utfall.platform.permissions import Action, can, individual_status_roles
from utfall.platform.web.middleware import content_security_policy_for_document
from utfall.platform.web.views import _contract, _contract_context
from utfall.services.council.suppression import MIN_CELL


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


def document_of(contract: Contract) -> Any:
    """The contract's newest parsed version (its labels), or None without one."""
    version = latest_version(contract)
    return parsed_version(version) if version is not None else None


def _page_context(dashboard: dict[str, Any], document: Any = None) -> dict[str, Any]:
    """What the dashboard body shows: key figures, then each table with its chart and each
    panel without figures with the reason, in page order; identifiers the contract
    labels (inputs, tables) by their labels."""
    settlement = dashboard.get("settlement") or {}
    return {
        "dashboard": dashboard,
        "figures": key_figures(dashboard),
        "sections": [_shown(item) for item in dashboard_sections(dashboard, document)],
        "missing_inputs": [
            declared(document, "input", name) for name in settlement.get("missing") or []
        ],
        "settlement_failure": error_said(settlement.get("failure"), document=document),
        "notes": [
            {
                **note,
                "tables": [declared(document, "table", t) for t in note.get("tables", [])],
                "detail": translate_text(str(note["detail"]), document=document)
                if note.get("detail")
                else "",
            }
            for note in dashboard.get("notes") or []
        ],
        "vega_locale": format_locale(),
        "vega_i18n": {
            "CLICK_TO_VIEW_ACTIONS": _("Save the chart"),
            "PNG_ACTION": _("Save as PNG"),
            "SVG_ACTION": _("Save as SVG"),
        },
    }


def _dashboard_of(
    request: HttpRequest, contract: Contract, *, compute: bool = True
) -> dict[str, Any]:
    meeting_pk = request.GET.get("meeting", "")
    try:
        if meeting_pk:
            meeting = _meeting(request, contract, id_param(meeting_pk))
            return selectors.viewer_copy(meeting.snapshot, user=request.user, contract=contract)
        return selectors.dashboard_for(
            user=request.user, contract=contract, as_of=_as_of(request), compute=compute
        )
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


def _status_roles(contract: Contract) -> str:
    """The roles the contract's ``council: individual_status`` term shows the status per
    individual to, by their labels (for the page of a role it does not list)."""
    roles = individual_status_roles(contract)
    return ", ".join(str(role.label) for role in Role if role in roles)


def _query(request: HttpRequest) -> str:
    as_of = request.GET.get("as_of", "").strip()
    return f"?as_of={as_of}" if as_of else ""


def _progress(
    request: HttpRequest, contract: Contract, state: dict[str, Any] | None
) -> dict[str, Any]:
    """The progress partial's context for a dashboard job."""
    started = float((state or {}).get("started") or 0)
    seconds = max(0, int(dj_timezone.now().timestamp() - started)) if started else 0
    busy = (state or {}).get("state") == "busy"
    failed = (state or {}).get("state") == "failed"
    return {
        "poll_url": reverse("council:dashboard_progress", args=[contract.identifier])
        + _query(request),
        "label": _("Computing the dashboard"),
        "detail": _(
            "Started %(seconds)s s ago; the first computation of a day takes a few seconds."
        )
        % {"seconds": seconds},
        "finished": busy or failed,
        "failed": busy or failed,
        "error": _("Another dashboard of this contract is being computed; try again in a minute.")
        if busy
        else _("The dashboard could not be computed; reload the page to try again."),
    }


def _dashboard_or_job(
    request: HttpRequest, contract: Contract
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The dashboard if it is cached or stored, else (None, the state of the job computing
    it, started now if none is under way)."""
    try:
        return _dashboard_of(request, contract, compute=False), None
    except selectors.NotComputed as pending:
        state = jobs.dashboard_job_start(pending)
        if state.get("state") == "done":  # the immediate backend: computed already
            return _dashboard_of(request, contract), None
        return None, state


@login_required
def dashboard(request: HttpRequest, identifier: str) -> HttpResponse:
    """The contract's dashboard as the user's role may see it; while it is first computed
    for the day, the page with a progress indicator that shows the dashboard when ready."""
    contract = _contract(request, identifier)
    try:
        data, state = _dashboard_or_job(request, contract)
    except selectors.DashboardBusy:
        return _busy()
    if data is None and (state or {}).get("state") == "busy":
        return _busy()
    context = _contract_context(request, contract, "council")
    # Said above the figures before they are computed too (the dashboard's own min_cell).
    context["min_cell"] = MIN_CELL
    if "view_individual_status" not in context["allowed"]:
        context["status_roles"] = _status_roles(contract)
    if data is None:
        context.update(
            pending=_progress(request, contract, state),
            as_of=request.GET.get("as_of", "").strip(),
            reporting_dates=None,
            can_record=can(request.user, Action.RECORD_COUNCIL_MEETING, contract),
        )
        return render(request, "council/dashboard.html", context)
    context.update(
        **_page_context(data, document_of(contract)),
        **_reporting_context(request, contract, data),
        as_of=data.get("as_of") or "",
        csv_query=f"as_of={data.get('as_of') or ''}",
        can_record=can(request.user, Action.RECORD_COUNCIL_MEETING, contract),
    )
    return render(request, "council/dashboard.html", context)


@login_required
def dashboard_progress(request: HttpRequest, identifier: str) -> HttpResponse:
    """What the page polls while its dashboard is computed: the progress, or (when the
    dashboard is ready) the instruction to show the page again (``HX-Redirect``)."""
    contract = _contract(request, identifier)
    page = reverse("council:dashboard", args=[contract.identifier]) + _query(request)
    try:
        _dashboard_of(request, contract, compute=False)
    except selectors.NotComputed as pending:
        state = jobs.dashboard_job(pending)
        if state is None or state.get("state") not in ("queued", "running", "busy", "failed"):
            state = jobs.dashboard_job_start(pending)
        if state.get("state") != "done":
            return render(request, "web/_task_progress.html", _progress(request, contract, state))
    response = HttpResponse(status=204)
    response["HX-Redirect"] = page
    return response


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
    excel = request.GET.get("form") == "excel"
    for table in dashboard_tables(data, document_of(contract)):
        if table.id == table_id:
            response = HttpResponse(
                table_csv(table, excel=excel), content_type="text/csv; charset=utf-8"
            )
            suffix = "-excel" if excel else ""
            name = f"{contract.identifier}-{table.id}-{data.get('as_of') or ''}{suffix}.csv"
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
        **_page_context(data, document_of(contract)),
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


def _pdf_response(
    pdf: bytes, contract: Contract, record: CouncilMeeting, language: str
) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"{contract.identifier}-council-{record.held_on:%Y-%m-%d}-{language}.pdf"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def _report_progress(
    contract: Contract, record: CouncilMeeting, job: str, state: dict[str, Any]
) -> dict[str, Any]:
    done = state.get("state") == "done"
    failed = state.get("state") == "failed"
    base = reverse("council:report", args=[contract.identifier, record.pk, "pdf"])
    return {
        "poll_url": reverse("council:report_progress", args=[contract.identifier, record.pk])
        + f"?job={job}",
        "label": _("Preparing the PDF"),
        "detail": _("The charts are drawn and the pages laid out; this takes a few seconds."),
        "finished": done or failed,
        "failed": failed,
        "error": _("The PDF could not be made; try again."),
        "result_url": f"{base}?job={job}",
        "result_label": _("Download the PDF"),
    }


@login_required
def meeting_report(request: HttpRequest, identifier: str, pk: int, fmt: str) -> HttpResponse:
    """The quarterly report of a meeting, HTML or PDF, in ``?lang=sv`` or ``en``. The PDF is
    made in the background: the page shows its progress and the link to it when ready
    (``?job=`` serves the finished one)."""
    contract = _contract(request, identifier)
    record = _meeting(request, contract, pk)
    language = language_param(request.GET.get("lang"), (get_language() or "en")[:2])
    if fmt == "pdf":
        job = request.GET.get("job", "")
        if job:
            try:
                state = jobs.report_job(job, user=request.user, meeting=record)
            except KeyError:
                raise Http404(_("No such report.")) from None
            pdf = jobs.report_pdf_get(job) if state.get("state") == "done" else None
            if pdf is None:
                raise Http404(_("The PDF is not ready, or no longer kept."))
            return _pdf_response(pdf, contract, record, str(state.get("language") or language))
        job = jobs.report_job_start(meeting=record, user=request.user, language=language)
        state = jobs.report_job(job, user=request.user, meeting=record)
        pdf = jobs.report_pdf_get(job) if state.get("state") == "done" else None
        if pdf is not None:  # the immediate backend: made already
            return _pdf_response(pdf, contract, record, language)
        context = _contract_context(request, contract, "council")
        context.update(meeting=record, progress=_report_progress(contract, record, job, state))
        return render(request, "council/report_progress.html", context)
    html = report_html(record, user=request.user, language=language)
    response = HttpResponse(html)
    # The report carries its own <style> (for the PDF renderer): allowed by hash only.
    response["Content-Security-Policy"] = content_security_policy_for_document(html)
    return response


@login_required
def report_progress(request: HttpRequest, identifier: str, pk: int) -> HttpResponse:
    """What the report page polls: the PDF job's progress, with the link when ready."""
    contract = _contract(request, identifier)
    record = _meeting(request, contract, pk)
    job = request.GET.get("job", "")
    try:
        state = jobs.report_job(job, user=request.user, meeting=record)
    except KeyError:
        raise Http404(_("No such report.")) from None
    return render(
        request, "web/_task_progress.html", _report_progress(contract, record, job, state)
    )
