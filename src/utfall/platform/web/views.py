"""Pages. Each view parses the request, calls a selector or service and renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from utfall.errors import FindingsError, UserError
from utfall.platform.audit.selectors import audit_entries
from utfall.platform.contracts import selectors as contract_selectors
from utfall.platform.contracts import services as contract_services
from utfall.platform.contracts.models import Contract, InvitationStatus
from utfall.platform.i18n import active_language as _language
from utfall.platform.imports import selectors as import_selectors
from utfall.platform.imports import services as import_services
from utfall.platform.imports.models import BatchStatus, ImportBatch
from utfall.platform.imports.templates import type_text
from utfall.platform.organisations import selectors as organisation_selectors
from utfall.platform.organisations import services as organisation_services
from utfall.platform.organisations.models import ApiToken
from utfall.platform.participants.selectors import participant_count, participant_page
from utfall.platform.permissions import Action, allowed_actions, can_import, roles_of
from utfall.platform.web.forms import (
    ContractUploadForm,
    ContractVersionForm,
    ImportUploadForm,
    MappingForm,
    PartyForm,
    TokenForm,
)
from utfall.services import formatting


def _error_context(error: UserError, document: Any = None) -> dict[str, Any]:
    """The error and its findings in the active language (utfall.platform.messages)."""
    from utfall.platform.messages import error_context

    return error_context(error, _language(), document)


def _contract(request: HttpRequest, identifier: str, action: Action = Action.VIEW_CONTRACT):
    try:
        return contract_selectors.contract_get(
            user=request.user, identifier=identifier, action=action
        )
    except Contract.DoesNotExist:
        raise Http404(_("No such contract.")) from None


def _contract_context(request: HttpRequest, contract: Contract, tab: str) -> dict[str, Any]:
    roles = roles_of(request.user, contract)
    return {
        "contract": contract,
        "tab": tab,
        "my_roles": sorted(role.label for role in roles),
        "allowed": allowed_actions(request.user, contract),
    }


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The contracts the person's organisations take part in, and a new-contract form."""
    organisations = organisation_selectors.organisation_list_for_user(user=request.user)
    context: dict[str, Any] = {
        "contracts": contract_selectors.contract_list(user=request.user),
        "organisations": organisations,
        "invitation_count": contract_selectors.invitations_for_user(user=request.user).count(),
    }
    form = ContractUploadForm(
        request.POST or None, request.FILES or None, organisations=organisations
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text = contract_services.decode_contract_upload(upload.read(), file_name=upload.name)
            contract = contract_services.contract_create(
                text=text,
                organisation=form.cleaned_data["organisation"],
                actor=request.user,
                file_name=upload.name,
            )
        except UserError as error:
            context.update(_error_context(error))
        else:
            messages.success(request, _("The contract was uploaded."))
            return redirect("web:contract", identifier=contract.identifier)
    context["form"] = form
    return render(request, "web/home.html", context)


@login_required
def contract_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    """The contract in readable form: parties, terms, formulas, tests."""
    contract = _contract(request, identifier)
    context = _contract_context(request, contract, "overview")
    version = contract_selectors.latest_version(contract)
    context.update(
        version=version,
        parties=contract_selectors.contract_parties(contract=contract),
        participant_count=participant_count(contract=contract),
        view=contract_selectors.contract_render(version=version, lang=get_language() or "sv")
        if version
        else None,
    )
    return render(request, "web/contract_detail.html", context)


@login_required
def contract_versions(request: HttpRequest, identifier: str) -> HttpResponse:
    """Every version with who uploaded it when; commissioners upload new ones."""
    contract = _contract(request, identifier)
    context = _contract_context(request, contract, "versions")
    form = ContractVersionForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if "in_force" in request.POST:
            try:
                contract_services.contract_put_in_force(contract=contract, actor=request.user)
            except UserError as error:
                context.update(_error_context(error))
            else:
                messages.success(request, _("The contract is now in force."))
                return redirect("web:contract_versions", identifier=identifier)
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                text = contract_services.decode_contract_upload(
                    upload.read(), file_name=upload.name
                )
                version = contract_services.contract_version_upload(
                    contract=contract,
                    text=text,
                    actor=request.user,
                    file_name=upload.name,
                    amendment_reason=form.cleaned_data["amendment_reason"],
                )
            except UserError as error:
                context.update(_error_context(error))
            else:
                messages.success(
                    request, _("Version %(number)s was saved.") % {"number": version.number}
                )
                return redirect("web:contract_versions", identifier=identifier)
    contract.refresh_from_db()
    context.update(form=form, versions=contract_selectors.contract_versions(contract=contract))
    return render(request, "web/contract_versions.html", context)


@login_required
def contract_version_text(request: HttpRequest, identifier: str, number: int) -> HttpResponse:
    """The exact YAML text of one version."""
    contract = _contract(request, identifier)
    version = contract_selectors.contract_versions(contract=contract).filter(number=number).first()
    if version is None:
        raise Http404
    return HttpResponse(version.text, content_type="text/plain; charset=utf-8")


def _posted_id(request: HttpRequest, name: str) -> int:
    """The numeric id a button posted; 404 for anything else (never a 500)."""
    value = request.POST.get(name, "")
    # At most 18 digits: a larger number is no id (and overflows SQLite's integers).
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise Http404
    return int(value)


@login_required
def contract_parties(request: HttpRequest, identifier: str) -> HttpResponse:
    """The parties and the invitations: the commissioner invites organisations (the
    financier and commissioner appoint the evaluator together), and removes parties."""
    contract = _contract(request, identifier)
    context = _contract_context(request, contract, "parties")
    roles = roles_of(request.user, contract)
    form = PartyForm(request.POST or None, roles=roles)
    if request.method == "POST":
        pending = contract_selectors.contract_invitations(contract=contract)
        try:
            if "remove" in request.POST:
                party = get_object_or_404(contract.parties, pk=_posted_id(request, "remove"))
                contract_services.contract_party_remove(
                    contract=contract, organisation=party.organisation, actor=request.user
                )
                done = _("The party was removed.")
            elif "approve" in request.POST:
                contract_services.contract_invitation_approve(
                    invitation=get_object_or_404(pending, pk=_posted_id(request, "approve")),
                    actor=request.user,
                )
                done = _("Your approval was recorded.")
            elif "withdraw" in request.POST:
                contract_services.contract_invitation_decline(
                    invitation=get_object_or_404(pending, pk=_posted_id(request, "withdraw")),
                    actor=request.user,
                )
                done = _("The invitation was withdrawn.")
            elif form.is_valid():
                contract_services.contract_party_invite(
                    contract=contract,
                    organisation=form.cleaned_data["organisation"],
                    role=form.cleaned_data["role"],
                    actor=request.user,
                )
                done = _(
                    "The invitation was sent: the organisation becomes a party when one of "
                    "its members accepts."
                )
            else:
                raise UserError(_("Choose an organisation and a role."))
        except UserError as error:
            context.update(_error_context(error))
        except PermissionDenied as error:
            context.update(error=str(error) or _("You may not do this."))
        else:
            messages.success(request, done)
            return redirect("web:contract_parties", identifier=identifier)
    context.update(
        form=form,
        may_invite=bool(form.fields["role"].choices),
        may_appoint=bool(roles & set(contract_services.APPOINTING_ROLES)),
        parties=contract_selectors.contract_parties(contract=contract),
        invitations=contract_selectors.contract_invitations(contract=contract),
    )
    return render(request, "web/contract_parties.html", context)


@login_required
def invitations(request: HttpRequest) -> HttpResponse:
    """Invitations to the person's organisations: accept (the organisation joins the
    contract) or decline."""
    context: dict[str, Any] = {}
    pending = contract_selectors.invitations_for_user(user=request.user)
    if request.method == "POST":
        try:
            if "accept" in request.POST:
                invitation = contract_services.contract_invitation_accept(
                    invitation=get_object_or_404(pending, pk=_posted_id(request, "accept")),
                    actor=request.user,
                )
                done = (
                    _("Accepted: your organisation is now a party to the contract.")
                    if invitation.status == InvitationStatus.ACCEPTED
                    else _("Accepted: the appointment now waits for the other approvals.")
                )
            else:
                contract_services.contract_invitation_decline(
                    invitation=get_object_or_404(pending, pk=_posted_id(request, "decline")),
                    actor=request.user,
                )
                done = _("The invitation was declined.")
        except UserError as error:
            context.update(_error_context(error))
        except PermissionDenied as error:
            context.update(error=str(error) or _("You may not do this."))
        else:
            messages.success(request, done)
            return redirect("web:invitations")
    context["invitations"] = pending
    return render(request, "web/invitations.html", context)


@login_required
def participants(request: HttpRequest, identifier: str) -> HttpResponse:
    """The participants table, as the contract declares it, by pseudonym (paginated)."""
    contract = _contract(request, identifier, Action.VIEW_PARTICIPANTS)
    context = _contract_context(request, contract, "participants")
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        number = 1
    context["page"] = participant_page(
        user=request.user, contract=contract, page=number, language=_language()
    )
    return render(request, "web/participants.html", context)


def _import_error_context(error: UserError, language: str) -> dict[str, Any]:
    """An import's refusal in the page's language: each problem with its row and column."""
    from utfall.platform.messages import finding_message

    if not isinstance(error, FindingsError) or not error.findings:
        return _error_context(error)
    lines = [finding_message(finding, language) for finding in error.findings]
    return {"error": _("The file cannot be used as it is."), "findings": lines}


def _described(table: Any, language: str) -> Any:
    """A declared table with each column's type in words, for the import page."""
    from utfall.platform.imports.columns import IDENTITY_KINDS, ImportColumn

    rows = []
    for kind in table.identity:
        label, _synonyms = IDENTITY_KINDS[kind]
        rows.append(
            {
                "label": label.text(language),
                "name": kind,
                "headers": _accepted_headers(kind, {"sv": label.sv, "en": label.en}, ()),
                "type": type_text(ImportColumn(kind, label, False, (), identity=kind)),
                "unit": "",
                "required": None,
                "choices": "",
                "bounds": "",
            }
        )
    for column in table.columns:
        bounds = " ".join(
            part
            for part in (
                f"≥ {formatting.number(column.minimum, language)}"
                if column.minimum is not None
                else "",
                f"≤ {formatting.number(column.maximum, language)}"
                if column.maximum is not None
                else "",
            )
            if part
        )
        kind = str(_type_name(column))
        rows.append(
            {
                "label": column.label,
                "name": column.name,
                "headers": _accepted_headers(column.name, column.labels, column.synonyms),
                "type": kind,
                "unit": column.unit or "",
                "required": column.required,
                "choices": ", ".join(label for _value, label in column.choices)
                if column.type == "choice"
                else "",
                "bounds": bounds,
            }
        )
    others = [(kind, IDENTITY_KINDS[kind][0].text(language)) for kind in table.identity[1:]]
    from utfall.platform.contracts.models import Role

    roles = [str(Role(role).label) if role in Role.values else role for role in table.import_roles]
    key = [next((c.label for c in table.columns if c.name == name), name) for name in table.key]
    return {
        "table": table,
        "rows": rows,
        "other_identities": others,
        "roles": roles,
        "key": key,
    }


def _accepted_headers(name: str, labels: dict[str, str], synonyms: Any) -> str:
    """The column names a file may use for a column (the mapping ignores case, spaces and
    punctuation), its labels first."""
    seen: list[str] = []
    for candidate in (labels.get("sv", ""), labels.get("en", ""), name, *synonyms):
        # A name written as code (``included_on``) is still recognised, but not shown.
        if "_" in candidate:
            continue
        if candidate and candidate.casefold() not in {s.casefold() for s in seen}:
            seen.append(candidate)
    return ", ".join(seen)


def _type_name(column: Any) -> str:
    from utfall.platform.imports.templates import TYPE_LABELS

    text = str(TYPE_LABELS.get(column.type, column.type))
    if column.type == "decimal" and column.places is not None:
        text += " " + _("(at most %(places)s decimals)") % {"places": column.places}
    return text


@login_required
def imports(request: HttpRequest, identifier: str) -> HttpResponse:
    """The contract's declared tables (their columns and templates), its imports and a
    form to start one."""
    contract = _contract(request, identifier, Action.VIEW_IMPORTS)
    context = _contract_context(request, contract, "imports")
    language = _language()
    declared = import_selectors.declared_tables(
        contract=contract, user=request.user, language=language
    )
    allowed = [table for table in declared if table.may_import]
    form = ImportUploadForm(request.POST or None, request.FILES or None, tables=allowed)
    if request.method == "POST":
        if not allowed:
            raise PermissionDenied
        if form.is_valid():
            try:
                batch = import_services.import_upload(
                    contract=contract,
                    table=form.cleaned_data["table"],
                    uploaded=form.cleaned_data["file"],
                    actor=request.user,
                    encoding=form.cleaned_data["encoding"],
                )
            except UserError as error:
                context.update(_import_error_context(error, language))
            else:
                return redirect("web:import", identifier=identifier, batch_id=batch.pk)
    labels = {table.name: table.label for table in declared}
    context.update(
        form=form if allowed else None,
        tables=[_described(table, language) for table in declared],
        labels=labels,
        batches=import_selectors.import_batch_list(user=request.user, contract=contract)[:200],
    )
    return render(request, "web/imports.html", context)


@login_required
def table_template(request: HttpRequest, identifier: str, table: str, format: str) -> HttpResponse:
    """The import template of a declared table, in the page's language (CSV or XLSX)."""
    contract = _contract(request, identifier)
    if format not in ("csv", "xlsx"):
        raise Http404
    try:
        name, content_type, data = import_selectors.import_template(
            contract=contract,
            table=table,
            format=format,
            language=_language(),
            identity=request.GET.get("identity") or None,
        )
    except UserError:
        raise Http404(_("The contract declares no such table.")) from None
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _batch(request: HttpRequest, contract: Contract, batch_id: int) -> ImportBatch:
    try:
        return import_selectors.import_batch_get(user=request.user, contract=contract, pk=batch_id)
    except ImportBatch.DoesNotExist:
        raise Http404 from None


@login_required
def import_detail(request: HttpRequest, identifier: str, batch_id: int) -> HttpResponse:
    """One import: column mapping, preview, validation, commit, progress and problems."""
    contract = _contract(request, identifier, Action.VIEW_IMPORTS)
    batch = _batch(request, contract, batch_id)
    context = _contract_context(request, contract, "imports")
    language = _language()
    try:
        target = import_services.import_target(contract, batch.table)
    except UserError as error:  # the newest version no longer declares the table
        context.update(
            _error_context(error),
            batch=batch,
            target=None,
            may_import=False,
            progress=import_selectors.import_progress(batch=batch),
        )
        return render(request, "web/import_detail.html", context)
    may_import = can_import(request.user, contract, target.table)
    form = MappingForm(
        request.POST or None,
        columns=target.columns,
        header=batch.columns,
        language=language,
        initial=batch.mapping,
    )
    if request.method == "POST":
        if not may_import:
            raise PermissionDenied
        try:
            if "mapping" in request.POST:
                if form.is_valid():
                    import_services.import_set_mapping(
                        batch=batch, mapping=form.cleaned_data, actor=request.user
                    )
            elif "validate" in request.POST:
                import_services.import_validate(batch=batch, actor=request.user)
            elif "commit" in request.POST:
                import_services.import_commit(batch=batch, actor=request.user)
        except UserError as error:
            context.update(_import_error_context(error, language))
        else:
            return redirect("web:import", identifier=identifier, batch_id=batch.pk)
    batch.refresh_from_db()
    preview = None
    # A refused file's problems are listed above; its preview would only repeat them.
    if batch.status in (BatchStatus.READY, BatchStatus.VALID):
        try:
            preview = import_selectors.import_preview(batch=batch, language=language)
        except UserError as error:
            context.update(_import_error_context(error, language))
    waiting = import_selectors.import_waiting(batch=batch, language=language)
    problems = (
        import_selectors.import_problems(
            batch=batch,
            language=language,
            kind=request.GET.get("kind") or None,
            column=request.GET.get("column") or None,
        )
        if batch.finding_count
        else None
    )
    context.update(
        problems=problems,
        batch=batch,
        target=target,
        table_label=target.table.label.text(language),
        form=form,
        preview=preview,
        waiting=waiting,
        may_import=may_import,
        progress=import_selectors.import_progress(batch=batch),
        # A file no longer kept (refused or expired, decision 0620) is uploaded again.
        file_kept=bool(batch.file_path),
        editable=bool(batch.file_path)
        and batch.status
        in (BatchStatus.MAPPING, BatchStatus.READY, BatchStatus.VALID, BatchStatus.INVALID),
    )
    return render(request, "web/import_detail.html", context)


@login_required
def import_progress(request: HttpRequest, identifier: str, batch_id: int) -> HttpResponse:
    """The progress bar (htmx polls it; a finished import reloads the page)."""
    contract = _contract(request, identifier, Action.VIEW_IMPORTS)
    batch = _batch(request, contract, batch_id)
    progress = import_selectors.import_progress(batch=batch)
    response = render(
        request,
        "web/_import_progress.html",
        {"contract": contract, "batch": batch, "progress": progress},
    )
    if progress["finished"] and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@login_required
def import_problems_csv(request: HttpRequest, identifier: str, batch_id: int) -> HttpResponse:
    """Every problem of an import as CSV (row, column, value, kind, message), in the page's
    language; identity numbers masked."""
    contract = _contract(request, identifier, Action.VIEW_IMPORTS)
    batch = _batch(request, contract, batch_id)
    data = import_selectors.import_problems_csv(batch=batch, language=_language())
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    name = f"{contract.identifier}-import-{batch.pk}-{_('problems')}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def audit(request: HttpRequest, identifier: str) -> HttpResponse:
    """The contract's audit trail."""
    contract = _contract(request, identifier, Action.VIEW_AUDIT)
    context = _contract_context(request, contract, "audit")
    context["events"] = audit_entries(user=request.user, contract=contract, language=_language())
    return render(request, "web/audit.html", context)


@login_required
def settlements(request: HttpRequest, identifier: str) -> HttpResponse:
    """Settlement statements (the settlement workflow's list page)."""
    from utfall.platform.settlements.views import statement_list

    return statement_list(request, identifier)


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """Personal API tokens: create (shown once) and revoke."""
    context: dict[str, Any] = {}
    form = TokenForm(request.POST or None)
    if request.method == "POST":
        if "revoke" in request.POST:
            token = ApiToken.objects.filter(
                user=request.user, pk=_posted_id(request, "revoke")
            ).first()
            if token is None:
                raise Http404
            organisation_services.api_token_revoke(token=token, actor=request.user)
            messages.success(request, _("The token was revoked."))
            return redirect("web:tokens")
        if form.is_valid():
            _record, clear = organisation_services.api_token_create(
                user=request.user, name=form.cleaned_data["name"]
            )
            context["new_token"] = clear
            form = TokenForm()
    context.update(form=form, tokens=organisation_selectors.api_token_list(user=request.user))
    return render(request, "web/tokens.html", context)


# --- The page shell: error pages and the favicon ---
# docs/decisions/0810-error-pages-rendered-by-the-platform.md

FAVICON = Path(__file__).resolve().parent.parent / "static" / "utfall" / "favicon.svg"


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 page in the active language; never shows the path or the exception's text.
    An unknown address under ``/api/`` answers the API's error shape (decision 0632)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"message": "not found", "detail": [], "findings": []}, status=404)
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 403 page in the active language; never shows the exception's text."""
    return render(request, "403.html", status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (expired or missing CSRF token): the 403 page saying what to do."""
    return render(request, "403.html", {"csrf_failed": True}, status=403)


def server_error(request: HttpRequest | None = None) -> HttpResponse:
    """The 500 page: rendered without the request, the session or the database, which may
    be what failed; a plain bilingual text if even the template cannot be rendered."""
    try:
        html = loader.get_template("500.html").render({})
    except Exception:  # the last resort must not fail in turn
        return HttpResponseServerError(
            "Något gick fel. Försök igen om en stund. / Something went wrong. Try again later.",
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponseServerError(html)


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico`` for clients that ask for it without reading the page's icon link."""
    response = HttpResponse(FAVICON.read_bytes(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
