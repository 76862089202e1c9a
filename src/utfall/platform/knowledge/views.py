"""Public pages of the knowledge platform: they parse, call a selector and render, in the
reader's language (:mod:`utfall.platform.knowledge.presentation`)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from utfall.platform.contracts.selectors import contract_render, latest_version, parsed_version
from utfall.platform.knowledge import presentation, selectors
from utfall.platform.knowledge.models import Publication, Stage
from utfall.services import labels as contract_labels
from utfall.services.knowledge import MIN_CELL, knowledge_render


def index(request: HttpRequest) -> HttpResponse:
    """Published contracts, searchable and filterable."""
    query = request.GET.get("q", "").strip()
    stage = request.GET.get("stage", "")
    sector = request.GET.get("sector", "")
    publications = selectors.publication_list(query=query, stage=stage, policy_sector=sector)
    sectors = sorted(
        set(
            selectors.publication_list()
            .exclude(policy_sector="")
            .values_list("policy_sector", flat=True)
        )
    )
    return render(
        request,
        "knowledge/index.html",
        {
            "publications": [
                {
                    "publication": p,
                    "summary": presentation.public_text(p.summary),
                    "sector": presentation.sector_label(p.policy_sector),
                }
                for p in publications
            ],
            "query": query,
            "stage": stage,
            "sector": sector,
            "stages": Stage.choices,
            "sectors": [(value, presentation.sector_label(value)) for value in sectors],
            "min_cell": MIN_CELL,
        },
    )


def _publication(identifier: str) -> Publication:
    try:
        return selectors.publication_get(identifier=identifier)
    except Publication.DoesNotExist:
        raise Http404(_("No such published contract.")) from None


def detail(request: HttpRequest, identifier: str) -> HttpResponse:
    """A published contract: terms and formulas readably, outcomes, suppressed results."""
    publication = _publication(identifier)
    version = latest_version(publication.contract)
    view = contract_render(version=version, lang=get_language() or "sv") if version else None
    results = presentation.sorted_results(selectors.public_results(publication))
    document = view.document if view is not None else None
    language = presentation.language()

    def named(kind: str, name: str) -> str:
        return contract_labels.label(document, kind, name, language)

    shown_results = [
        {
            "result": r,
            "outcome": named("input", r.row.outcome_metric_id),
            "group": presentation.group_label(str(r.row.group)),
        }
        for r in results
    ]
    inputs = [
        {
            **item,
            "label": named("input", item["name"]),
            "type_label": presentation.unit_label(item["unit"]) if item["unit"] else "",
            "summary": contract_labels.summary(document, "input", item["name"], language)
            or item["description"],
        }
        for item in (view.inputs if view else [])
    ]
    outputs = [
        {
            **item,
            "label": named("output", item["name"]),
            "summary": contract_labels.summary(document, "output", item["name"], language)
            or item["description"],
        }
        for item in (view.outputs if view else [])
    ]
    payments = [
        {
            **item,
            "label": named("payment", item["id"]),
            "payer": named("party", item["payer"]),
            "payee": named("party", item["payee"]),
        }
        for item in (view.payments if view else [])
    ]
    parties = [
        {"name": named("party", party.id), "role": contract_labels.role(party.role, language)}
        for party in (document.parties if document is not None else [])
    ]
    return render(
        request,
        "knowledge/detail.html",
        {
            "publication": publication,
            "contract": publication.contract,
            "version": version,
            "view": view,
            "results": shown_results,
            "withheld": sum(1 for r in results if r.suppressed),
            "min_cell": MIN_CELL,
            "lessons": [
                {
                    "lesson": lesson,
                    "title": presentation.public_text(lesson.title),
                    "body": presentation.public_text(lesson.body),
                }
                for lesson in publication.lessons.all()
            ],
            "summary": presentation.public_text(publication.summary),
            "sector": presentation.sector_label(publication.policy_sector),
            "title": named("contract", "title") if document is not None else "",
            "description": presentation.public_text(
                named("contract", "description") or getattr(document, "description", "") or ""
            )
            if document is not None
            else "",
            "parties": parties,
            "inputs": inputs,
            "outputs": outputs,
            "payments": payments,
            "parameters": presentation.parameter_rows(document) if document is not None else [],
        },
    )


def outcomes(request: HttpRequest) -> HttpResponse:
    """Outcome definitions across the published contracts."""
    query = request.GET.get("q", "").strip()
    language = presentation.language()
    documents: dict[str, Any] = {}

    def document_of(identifier: str) -> Any:
        if identifier not in documents:
            publication = selectors.publication_get(identifier=identifier)
            version = latest_version(publication.contract)
            documents[identifier] = parsed_version(version) if version else None
        return documents[identifier]

    definitions = [
        {
            "definition": d,
            "label": contract_labels.label(
                document_of(d.contract_identifier), "input", d.name, language
            ),
            "summary": contract_labels.summary(
                document_of(d.contract_identifier), "input", d.name, language
            )
            or d.description,
            "unit": presentation.unit_label(d.unit),
        }
        for d in selectors.outcome_definitions(query=query)
    ]
    return render(
        request,
        "knowledge/outcomes.html",
        {"definitions": definitions, "query": query},
    )


def _respond(document: dict, fmt: str, name: str, *, excel: bool = False) -> HttpResponse:
    kind = "text/csv" if fmt == "csv" else "application/json"
    text = knowledge_render(document, "csv" if fmt == "csv" else "json")
    if fmt == "csv" and excel:
        text = presentation.excel_csv(text)
        name = f"{name}-excel"
    response = HttpResponse(text, content_type=f"{kind}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def download(request: HttpRequest, identifier: str, fmt: str) -> HttpResponse:
    """One published contract as open data: its INDIGO project document, or its CSV."""
    publication = _publication(identifier)
    try:
        document = selectors.publication_document(
            publication,
            today=timezone.localdate(),
            base_url=request.build_absolute_uri("/")[:-1],
        )
    except Publication.DoesNotExist:
        raise Http404(_("No such published contract.")) from None
    return _respond(document, fmt, identifier, excel=request.GET.get("form") == "excel")


def fund_download(request: HttpRequest, identifier: str) -> HttpResponse:
    """A fund whose contract is published, as INDIGO's fund document (JSON)."""
    try:
        document = selectors.fund_document_for(identifier, today=timezone.localdate())
    except LookupError:
        raise Http404(_("No such fund.")) from None
    return _respond(document, "json", identifier)


def download_all(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every published contract as open data (JSON or CSV)."""
    document = selectors.publications_document(
        list(selectors.publication_list()),
        today=timezone.localdate(),
        base_url=request.build_absolute_uri("/")[:-1],
    )
    return _respond(document, fmt, "utfall-open-data", excel=request.GET.get("form") == "excel")
