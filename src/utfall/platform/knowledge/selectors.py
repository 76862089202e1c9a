"""Reads of the knowledge platform. Only published contracts ever leave here, and results
only after small-cell suppression.

The open data is made by the same service as ``utfall knowledge export``
(:func:`utfall.services.knowledge.knowledge_export`), from the stored contract
versions, results and signed settlements as objects: one INDIGO 4.1.0 project document
per published contract, and a fund document per fund whose contract is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from utfall.core.ledger.statement import statement_from_dict
from utfall.platform.contracts.models import Contract, SettlementStatus
from utfall.platform.contracts.selectors import latest_version, parsed_version
from utfall.platform.knowledge.models import Publication
from utfall.platform.links import link_is_safe
from utfall.services.knowledge import (
    KnowledgeFund,
    KnowledgeProject,
    PublishedResult,
    ResultRow,
    SettledPayment,
    fund_id,
    knowledge_export,
    project_id,
    statement_payments,
    suppress_results,
)

__all__ = [
    "OutcomeDefinition",
    "fund_document_for",
    "fund_publications",
    "outcome_definitions",
    "public_results",
    "publication_document",
    "publication_get",
    "publication_list",
    "publications_document",
    "signed_payments",
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


def signed_payments(contract: Contract) -> list[SettledPayment]:
    """The payments of the contract's signed settlement statements (the ledger), a
    corrected statement left out, each with its settlement's period."""
    statements = []
    periods = {}
    for settlement in contract.settlements.filter(status=SettlementStatus.SIGNED).exclude(
        statement=None
    ):
        statement = statement_from_dict(settlement.statement)
        statements.append(statement)
        periods[statement.sha256()] = (settlement.period_start, settlement.period_end)
    return statement_payments(statements, periods=periods)


def _project(publication: Publication, base_url: str) -> KnowledgeProject | None:
    version = latest_version(publication.contract)
    if version is None:
        return None
    lessons = publication.lessons.all()
    return KnowledgeProject(
        contract=parsed_version(version),
        results=_rows(publication),
        payments=signed_payments(publication.contract),
        stage=publication.stage,
        policy_sector=publication.policy_sector or None,
        sha256=version.sha256,
        url=f"{base_url}/knowledge/{publication.contract.identifier}/" if base_url else None,
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


def _administrator(contract: Any) -> Any:
    return next((p for p in contract.parties if p.role == "fund_administrator"), None)


def fund_publications(publications: list[Publication]) -> list[KnowledgeFund]:
    """The funds whose contract (the rate card every constellation is paid under) is among
    the published ``publications``, each with the published projects it pays for."""
    from utfall.platform.fund.models import Fund
    from utfall.platform.fund.selectors import fund_state

    published = {p.contract_id: p for p in publications if p.published}
    compiled = {}
    for contract_pk, publication in published.items():
        version = latest_version(publication.contract)
        if version is not None:
            compiled[contract_pk] = parsed_version(version)
    funds = []
    for fund in Fund.objects.filter(contract__in=list(compiled)).select_related(
        "administrator", "contract"
    ):
        administrator = _administrator(compiled[fund.contract_id])
        if administrator is None:
            continue
        projects = [
            project_id(contract)
            for contract in compiled.values()
            if (party := _administrator(contract)) is not None and party.id == administrator.id
        ]
        funds.append(
            KnowledgeFund(
                administrator=administrator.id,
                name=fund.name,
                host=fund.administrator.name,
                state=fund_state(fund),
                projects=sorted(projects),
                mechanism=f"Outcome payments of at most {fund.max_share_of_costs * 100:.0f} % "
                "of a constellation's costs",
            )
        )
    return funds


def publications_document(
    publications: list[Publication], *, today: date, base_url: str = ""
) -> dict[str, Any]:
    """The open-data package of the given (published) publications and their funds."""
    publications = [p for p in publications if p.published]  # never, whatever the caller passes
    projects = [project for p in publications if (project := _project(p, base_url)) is not None]
    return knowledge_export(projects, funds=fund_publications(publications), published=today)


def publication_document(publication: Publication, *, today: date, base_url: str = "") -> dict:
    """One published contract's own INDIGO project document (Publication.DoesNotExist for
    an unpublished one or one without a version)."""
    project = _project(publication, base_url) if publication.published else None
    if project is None:
        raise Publication.DoesNotExist
    return knowledge_export([project], published=today, single=True)


def fund_document_for(identifier: str, *, today: date) -> dict[str, Any]:
    """The INDIGO fund document ``utfall-fund-…`` of a fund whose contract is published
    (LookupError if there is none)."""
    for fund in fund_publications(list(publication_list())):
        if fund_id(fund.administrator) == identifier:
            return knowledge_export([], funds=[fund], published=today, single=True)
    raise LookupError(identifier)
