"""Reads of the knowledge platform. Only published contracts ever leave here, and results
only after small-cell suppression.

The open data is made by the same service as ``utfall knowledge export``
(:func:`utfall.services.knowledge.knowledge_export`), from the stored contract
versions and results as objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from utfall.platform.contracts.selectors import latest_version, parsed_version
from utfall.platform.knowledge.models import Publication
from utfall.platform.links import link_is_safe
from utfall.services.knowledge import (
    KnowledgeProject,
    PublishedResult,
    ResultRow,
    knowledge_export,
    suppress_results,
)

__all__ = [
    "OutcomeDefinition",
    "outcome_definitions",
    "public_results",
    "publication_get",
    "publication_list",
    "publications_document",
]


def publication_list(
    *, query: str = "", stage: str = "", policy_sector: str = ""
) -> QuerySet[Publication]:
    """Published contracts, searched in title, identifier and summary, filtered."""
    publications = Publication.objects.filter(published=True).select_related("contract")
    if query:
        publications = publications.filter(
            Q(contract__title__icontains=query)
            | Q(contract__identifier__icontains=query)
            | Q(summary__icontains=query)
        )
    if stage:
        publications = publications.filter(stage=stage)
    if policy_sector:
        publications = publications.filter(policy_sector=policy_sector)
    return publications.order_by("contract__title")


def publication_get(*, identifier: str) -> Publication:
    """A published contract by identifier (Publication.DoesNotExist when not published)."""
    return Publication.objects.select_related("contract").get(
        published=True, contract__identifier=identifier
    )


def _rows(publication: Publication) -> list[ResultRow]:
    return [
        ResultRow(
            r.outcome_metric_id,
            r.period_start,
            r.period_end,
            r.n,
            r.count,
            r.group,
            r.result_type,
        )
        for r in publication.results.all()
    ]


def public_results(publication: Publication) -> list[PublishedResult]:
    """The publication's results with small cells withheld."""
    return suppress_results(_rows(publication))


@dataclass(frozen=True)
class OutcomeDefinition:
    """An outcome a published contract measures."""

    contract_identifier: str
    contract_title: str
    name: str
    description: str
    unit: str
    type: str


def outcome_definitions(*, query: str = "") -> list[OutcomeDefinition]:
    """Every outcome (input) of every published contract, optionally searched."""
    found = []
    for publication in publication_list():
        version = latest_version(publication.contract)
        if version is None:
            continue
        for term in parsed_version(version).inputs.values():
            definition = OutcomeDefinition(
                publication.contract.identifier,
                publication.contract.title,
                term.name,
                " ".join((term.description or "").split()),
                term.unit or "",
                term.describe_type(),
            )
            text = f"{definition.name} {definition.description} {definition.contract_title}"
            if not query or query.lower() in text.lower():
                found.append(definition)
    return found


def publications_document(
    publications: list[Publication], *, today: date, base_url: str = ""
) -> dict[str, Any]:
    """The open-data document of the given (published) publications."""
    projects = []
    for publication in publications:
        if not publication.published:  # never, whatever the caller passes
            continue
        version = latest_version(publication.contract)
        if version is None:
            continue
        lessons = publication.lessons.all()
        projects.append(
            KnowledgeProject(
                contract=parsed_version(version),
                results=_rows(publication),
                stage=publication.stage,
                policy_sector=publication.policy_sector or None,
                sha256=version.sha256,
                url=f"{base_url}/knowledge/{publication.contract.identifier}/"
                if base_url
                else None,
                lessons=[
                    f"{lesson.title}: {lesson.body}".strip(": ")
                    for lesson in lessons
                    if lesson.kind == "lesson"
                ],
                documents=[
                    {"title": lesson.title, "url": lesson.url}
                    for lesson in lessons
                    if lesson.url and link_is_safe(lesson.url)
                ],
            )
        )
    return knowledge_export(projects, published=today)
