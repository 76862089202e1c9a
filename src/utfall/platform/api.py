"""The REST API (django-ninja): OpenAPI at /api/openapi.json, docs at /api/docs.

Token authentication (``Authorization: Bearer utf_…``, tokens made on the
"API tokens" page). Endpoints only parse, call a service or selector and shape
the answer; the permission rules are the same as the pages' (permissions.py).
Every error, 400 to 422 (ninja's own validation errors included), comes back as
``{"message": ..., "detail": [...], "findings": [...]}``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import File, Form, NinjaAPI, Schema, Status, UploadedFile
from ninja.errors import HttpError, ValidationError
from ninja.security import HttpBearer

from utfall.errors import FindingsError, UserError
from utfall.platform.api_schemas import COMMON, ErrorOut, request_finding
from utfall.platform.audit.selectors import audit_events_for_contract
from utfall.platform.contracts import selectors as contract_selectors
from utfall.platform.contracts import services as contract_services
from utfall.platform.contracts.models import Contract
from utfall.platform.imports import selectors as import_selectors
from utfall.platform.imports import services as import_services
from utfall.platform.organisations.selectors import (
    organisation_list_for_user,
    user_for_api_token,
)
from utfall.platform.participants.selectors import participant_count, participant_rows
from utfall.platform.permissions import Action, allowed_actions, roles_of

__all__ = ["api"]


class TokenAuth(HttpBearer):
    """Bearer token issued on the API tokens page."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_api_token(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="utfall API",
    version="1",
    description="Outcome contracts, their declared tables, participants (pseudonymised), "
    "imports, audit trail, settlements, the intervention council and the outcomes fund.",
    auth=TokenAuth(),
    urls_namespace="api",
)


@api.exception_handler(UserError)
def _user_error(request: HttpRequest, error: UserError) -> HttpResponse:
    findings = [f.as_dict() for f in error.findings] if isinstance(error, FindingsError) else []
    return api.create_response(
        request,
        {"message": error.message, "detail": error.detail, "findings": findings},
        status=400,
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    # e.g. an unreadable JSON body; same shape as every other error.
    return api.create_response(
        request, {"message": str(error), "detail": [], "findings": []}, status=error.status_code
    )


@api.exception_handler(ValidationError)
def _invalid_request(request: HttpRequest, error: ValidationError) -> HttpResponse:
    # A request that does not fit the schema (ninja's 422): the same shape as every other
    # error, one finding per problem with where it is (``query.size``, ``body.file``).
    findings = [request_finding(item) for item in error.errors]
    return api.create_response(
        request,
        {
            "message": f"the request is not valid: {len(findings)} problem(s)",
            "detail": [str(finding) for finding in findings],
            "findings": [finding.as_dict() for finding in findings],
        },
        status=422,
    )


@api.exception_handler(PermissionDenied)
def _denied(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    return api.create_response(
        request, {"message": "not allowed", "detail": [str(error)], "findings": []}, status=403
    )


@api.exception_handler(Http404)
@api.exception_handler(ObjectDoesNotExist)
def _missing(request: HttpRequest, error: ObjectDoesNotExist | Http404) -> HttpResponse:
    return api.create_response(
        request, {"message": "not found", "detail": [], "findings": []}, status=404
    )


class OrganisationOut(Schema):
    id: int
    name: str


class MeOut(Schema):
    username: str
    organisations: list[OrganisationOut]


class PartyOut(Schema):
    organisation: str
    role: str


class VersionOut(Schema):
    number: int
    sha256: str
    declared_version: str
    uploaded_by: str
    uploaded_at: datetime
    amendment_reason: str
    tests_passed: int
    tests_failed: int


class ContractOut(Schema):
    identifier: str
    title: str
    status: str
    in_force_since: datetime | None
    my_roles: list[str]
    my_actions: list[str]


class ContractDetailOut(ContractOut):
    parties: list[PartyOut]
    versions: list[VersionOut]
    participant_count: int


class ParticipantOut(Schema):
    pseudonym: str
    values: dict[str, Any]


class LabelsOut(Schema):
    sv: str
    en: str


class ColumnOut(Schema):
    name: str
    type: str
    label: LabelsOut
    unit: str | None = None
    description: str | None = None
    required: bool
    choices: dict[str, LabelsOut] | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    places: int | None = None
    default: Any = None
    synonyms: list[str]


class TableOut(Schema):
    name: str
    kind: str
    label: LabelsOut
    description: str | None = None
    key: list[str]
    import_roles: list[str]
    identity: list[str]
    columns: list[ColumnOut]
    stored_rows: int
    may_import: bool


class FindingOut(Schema):
    code: str
    message: str
    file: str | None = None
    row: int | None = None
    field: str | None = None


class ImportOut(Schema):
    id: int
    table: str
    file_name: str
    file_sha256: str
    status: str
    operation: str
    columns: list[str]
    mapping: dict[str, str]
    row_count: int
    rows_written: int
    rows_unchanged: int
    finding_count: int
    findings: list[FindingOut]
    progress_percent: int
    created_by: str
    created_at: datetime


class MappingIn(Schema):
    mapping: dict[str, str]


class AuditOut(Schema):
    at: datetime
    actor: str | None
    action: str
    details: dict[str, Any]


def _contract(request: HttpRequest, identifier: str, action: Action = Action.VIEW_CONTRACT):
    return contract_selectors.contract_get(user=request.user, identifier=identifier, action=action)


def _contract_out(request: HttpRequest, contract: Contract) -> dict[str, Any]:
    roles = roles_of(request.user, contract)
    return {
        "identifier": contract.identifier,
        "title": contract.title,
        "status": contract.status,
        "in_force_since": contract.in_force_since,
        "my_roles": sorted(role.value for role in roles),
        "my_actions": sorted(allowed_actions(request.user, contract)),
    }


def _version_out(version: Any) -> dict[str, Any]:
    return {
        "number": version.number,
        "sha256": version.sha256,
        "declared_version": version.declared_version,
        "uploaded_by": version.uploaded_by.get_username(),
        "uploaded_at": version.uploaded_at,
        "amendment_reason": version.amendment_reason,
        "tests_passed": version.tests_passed,
        "tests_failed": version.tests_failed,
    }


def _import_out(batch: Any) -> dict[str, Any]:
    return {
        "id": batch.pk,
        "table": batch.table,
        "file_name": batch.file_name,
        "file_sha256": batch.file_sha256,
        "status": batch.status,
        "operation": batch.operation,
        "columns": batch.columns,
        "mapping": batch.mapping,
        "row_count": batch.row_count,
        "rows_written": batch.rows_written,
        "rows_unchanged": batch.rows_unchanged,
        "finding_count": batch.finding_count,
        "findings": batch.findings,
        "progress_percent": import_selectors.import_progress(batch=batch)["percent"],
        "created_by": batch.created_by.get_username(),
        "created_at": batch.created_at,
    }


@api.get("/me", response={**COMMON, 200: MeOut}, tags=["account"])
def me(request: HttpRequest) -> dict[str, Any]:
    """Who the token belongs to and their organisations."""
    return {
        "username": request.user.get_username(),
        "organisations": list(organisation_list_for_user(user=request.user)),
    }


@api.get("/contracts", response={**COMMON, 200: list[ContractOut]}, tags=["contracts"])
def contracts(request: HttpRequest) -> list[dict[str, Any]]:
    """The contracts your organisations are parties to."""
    return [
        _contract_out(request, contract)
        for contract in contract_selectors.contract_list(user=request.user)
    ]


@api.post(
    "/contracts",
    response={**COMMON, 201: ContractDetailOut, 400: ErrorOut, 403: ErrorOut},
    tags=["contracts"],
)
def contract_create(
    request: HttpRequest, organisation_id: Form[int], file: File[UploadedFile]
) -> Status:
    """Upload a new contract (YAML); your organisation becomes its commissioner."""
    organisation = organisation_list_for_user(user=request.user).filter(pk=organisation_id).first()
    if organisation is None:
        raise PermissionDenied("you are not a member of that organisation")
    text = contract_services.decode_contract_upload(file.read(), file_name=file.name or "")
    contract = contract_services.contract_create(
        text=text, organisation=organisation, actor=request.user, file_name=file.name or ""
    )
    return Status(201, _contract_detail(request, contract))


def _contract_detail(request: HttpRequest, contract: Contract) -> dict[str, Any]:
    return {
        **_contract_out(request, contract),
        "parties": [
            {"organisation": party.organisation.name, "role": party.role}
            for party in contract_selectors.contract_parties(contract=contract)
        ],
        "versions": [
            _version_out(v) for v in contract_selectors.contract_versions(contract=contract)
        ],
        "participant_count": participant_count(contract=contract),
    }


@api.get(
    "/contracts/{identifier}",
    response={**COMMON, 200: ContractDetailOut, 404: ErrorOut},
    tags=["contracts"],
)
def contract_detail(request: HttpRequest, identifier: str) -> dict[str, Any]:
    """One contract with its parties and versions."""
    return _contract_detail(request, _contract(request, identifier))


@api.post(
    "/contracts/{identifier}/versions",
    response={**COMMON, 201: VersionOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    tags=["contracts"],
)
def contract_version_upload(
    request: HttpRequest,
    identifier: str,
    file: File[UploadedFile],
    amendment_reason: Form[str] = "",
) -> Status:
    """Upload a new version (a contract in force needs an amendment reason)."""
    contract = _contract(request, identifier)
    text = contract_services.decode_contract_upload(file.read(), file_name=file.name or "")
    version = contract_services.contract_version_upload(
        contract=contract,
        text=text,
        actor=request.user,
        file_name=file.name or "",
        amendment_reason=amendment_reason,
    )
    return Status(201, _version_out(version))


@api.post(
    "/contracts/{identifier}/in-force",
    response={**COMMON, 200: ContractOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    tags=["contracts"],
)
def contract_put_in_force(request: HttpRequest, identifier: str) -> dict[str, Any]:
    """Put the contract in force (the commissioner; its tests must pass)."""
    contract = contract_services.contract_put_in_force(
        contract=_contract(request, identifier), actor=request.user
    )
    return _contract_out(request, contract)


@api.get(
    "/contracts/{identifier}/participants",
    response={**COMMON, 200: list[ParticipantOut], 403: ErrorOut, 404: ErrorOut},
    tags=["participants"],
)
def participants(
    request: HttpRequest, identifier: str, offset: int = 0, limit: int = 1000
) -> list[Any]:
    """The contract's participants by pseudonym, with the declared columns' values (dates
    ISO, decimals as text); ``offset`` and ``limit`` (at most 10000) page through them."""
    return participant_rows(
        user=request.user,
        contract=_contract(request, identifier),
        offset=max(offset, 0),
        limit=min(max(limit, 0), 10_000),
    )


def _labels(labels: dict[str, str]) -> dict[str, str]:
    return {"sv": labels["sv"], "en": labels["en"]}


def _table_out(table: Any) -> dict[str, Any]:
    return {
        "name": table.name,
        "kind": table.kind,
        "label": _labels(table.labels),
        "description": table.description,
        "key": table.key,
        "import_roles": table.import_roles,
        "identity": table.identity,
        "stored_rows": table.stored_rows,
        "may_import": table.may_import,
        "columns": [
            {
                "name": c.name,
                "type": c.type,
                "label": _labels(c.labels),
                "unit": c.unit,
                "description": c.description,
                "required": c.required,
                "choices": {v: _labels(label) for v, label in c.choice_labels.items()} or None,
                "min": c.minimum,
                "max": c.maximum,
                "places": c.places,
                "default": str(c.default)
                if isinstance(c.default, Decimal)
                else (c.default.isoformat() if hasattr(c.default, "isoformat") else c.default),
                "synonyms": c.synonyms,
            }
            for c in table.columns
        ],
    }


@api.get(
    "/contracts/{identifier}/tables",
    response={**COMMON, 200: list[TableOut], 403: ErrorOut, 404: ErrorOut},
    tags=["tables"],
)
def tables(request: HttpRequest, identifier: str) -> list[dict[str, Any]]:
    """The tables the contract declares (``data:``) with their columns, who may import each
    (and whether you may), and how many rows are stored."""
    contract = _contract(request, identifier)
    return [
        _table_out(table)
        for table in import_selectors.declared_tables(contract=contract, user=request.user)
    ]


@api.get(
    "/contracts/{identifier}/tables/{table}/template",
    response={**COMMON, 200: None, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    tags=["tables"],
)
def table_template(
    request: HttpRequest,
    identifier: str,
    table: str,
    format: Literal["csv", "xlsx"] = "csv",
    language: Literal["sv", "en"] = "sv",
    identity: Literal["personnummer", "reference"] | None = None,
) -> HttpResponse:
    """The import template of a declared table (CSV or XLSX; headers = the column labels in
    ``language``); ``identity`` chooses how a participant's table identifies the person."""
    from utfall.platform.imports.selectors import import_template

    name, content_type, data = import_template(
        contract=_contract(request, identifier),
        table=table,
        format=format,
        language=language,
        identity=identity,
    )
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@api.get(
    "/contracts/{identifier}/imports",
    response={**COMMON, 200: list[ImportOut], 403: ErrorOut, 404: ErrorOut},
    tags=["imports"],
)
def imports(request: HttpRequest, identifier: str) -> list[dict[str, Any]]:
    """The contract's imports, newest first."""
    contract = _contract(request, identifier)
    return [
        _import_out(batch)
        for batch in import_selectors.import_batch_list(user=request.user, contract=contract)
    ]


@api.post(
    "/contracts/{identifier}/imports",
    response={**COMMON, 201: ImportOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    tags=["imports"],
)
def import_upload(
    request: HttpRequest,
    identifier: str,
    table: Form[str],
    file: File[UploadedFile],
    encoding: Form[str] = "utf-8",
) -> Status:
    """Upload a CSV or XLSX file of a declared table (``GET …/tables`` lists them); the
    column mapping is proposed from the header."""
    batch = import_services.import_upload(
        contract=_contract(request, identifier),
        table=table,
        uploaded=file,
        actor=request.user,
        encoding=encoding,
    )
    return Status(201, _import_out(batch))


def _batch(request: HttpRequest, identifier: str, pk: int) -> Any:
    return import_selectors.import_batch_get(
        user=request.user, contract=_contract(request, identifier), pk=pk
    )


@api.get(
    "/contracts/{identifier}/imports/{batch_id}",
    response={**COMMON, 200: ImportOut, 403: ErrorOut, 404: ErrorOut},
    tags=["imports"],
)
def import_detail(request: HttpRequest, identifier: str, batch_id: int) -> dict[str, Any]:
    """One import with its status, progress and problems."""
    return _import_out(_batch(request, identifier, batch_id))


@api.put(
    "/contracts/{identifier}/imports/{batch_id}/mapping",
    response={**COMMON, 200: ImportOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    tags=["imports"],
)
def import_mapping(
    request: HttpRequest, identifier: str, batch_id: int, body: MappingIn
) -> dict[str, Any]:
    """Set the column mapping: contract column → file column."""
    batch = import_services.import_set_mapping(
        batch=_batch(request, identifier, batch_id), mapping=body.mapping, actor=request.user
    )
    return _import_out(batch)


@api.post(
    "/contracts/{identifier}/imports/{batch_id}/validate",
    response={**COMMON, 200: ImportOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    tags=["imports"],
)
def import_validate(request: HttpRequest, identifier: str, batch_id: int) -> dict[str, Any]:
    """Check every row without writing."""
    batch = import_services.import_validate(
        batch=_batch(request, identifier, batch_id), actor=request.user
    )
    return _import_out(batch)


@api.post(
    "/contracts/{identifier}/imports/{batch_id}/commit",
    response={**COMMON, 200: ImportOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    tags=["imports"],
)
def import_commit(request: HttpRequest, identifier: str, batch_id: int) -> dict[str, Any]:
    """Write every row in one transaction, or nothing."""
    batch = import_services.import_commit(
        batch=_batch(request, identifier, batch_id), actor=request.user
    )
    return _import_out(batch)


@api.get(
    "/contracts/{identifier}/audit",
    response={**COMMON, 200: list[AuditOut], 403: ErrorOut, 404: ErrorOut},
    tags=["audit"],
)
def audit(request: HttpRequest, identifier: str) -> list[dict[str, Any]]:
    """The contract's audit trail, newest first."""
    events = audit_events_for_contract(user=request.user, contract=_contract(request, identifier))
    return [
        {
            "at": event.at,
            "actor": event.actor.get_username() if event.actor else None,
            "action": event.action,
            "details": event.details,
        }
        for event in events[:500]
    ]


# Settlement workflow (utfall.platform.settlements): statements, review, sign-off, bundles, keys.
from utfall.platform.settlements.api import router as settlements_router  # noqa: E402

api.add_router("/", settlements_router)

# The intervention council (utfall.platform.council): dashboards and meetings.
from utfall.platform.council.api import router as council_router  # noqa: E402

api.add_router("/", council_router)

# The national outcomes fund (utfall.platform.fund): budget, forecast, portfolio, applications.
from utfall.platform.fund.api import router as fund_router  # noqa: E402

api.add_router("/", fund_router)

# Parties by invitation (utfall.platform.contracts, decision 0601).
from utfall.platform.contracts.api import router as parties_router  # noqa: E402

api.add_router("/", parties_router)
