"""Public pages of the knowledge platform: they parse, call a selector and render."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from utfall.platform.contracts.selectors import contract_render, latest_version
from utfall.platform.knowledge import selectors
from utfall.platform.knowledge.models import Publication, Stage
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
            "publications": publications,
            "query": query,
            "stage": stage,
            "sector": sector,
            "stages": Stage.choices,
            "sectors": sectors,
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
    results = selectors.public_results(publication)
    return render(
        request,
        "knowledge/detail.html",
        {
            "publication": publication,
            "contract": publication.contract,
            "version": version,
            "view": view,
            "results": results,
            "withheld": sum(1 for r in results if r.suppressed),
            "min_cell": MIN_CELL,
            "lessons": publication.lessons.all(),
        },
    )


def outcomes(request: HttpRequest) -> HttpResponse:
    """Outcome definitions across the published contracts."""
    query = request.GET.get("q", "").strip()
    return render(
        request,
        "knowledge/outcomes.html",
        {"definitions": selectors.outcome_definitions(query=query), "query": query},
    )


def _respond(document: dict, fmt: str, name: str) -> HttpResponse:
    kind = "text/csv" if fmt == "csv" else "application/json"
    response = HttpResponse(
        knowledge_render(document, "csv" if fmt == "csv" else "json"),
        content_type=f"{kind}; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def download(request: HttpRequest, identifier: str, fmt: str) -> HttpResponse:
    """One published contract as open data (JSON or CSV)."""
    publication = _publication(identifier)
    document = selectors.publications_document(
        [publication], today=timezone.localdate(), base_url=request.build_absolute_uri("/")[:-1]
    )
    return _respond(document, fmt, identifier)


def download_all(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every published contract as open data (JSON or CSV)."""
    document = selectors.publications_document(
        list(selectors.publication_list()),
        today=timezone.localdate(),
        base_url=request.build_absolute_uri("/")[:-1],
    )
    return _respond(document, fmt, "utfall-open-data")
