"""Writes of the knowledge platform: publishing a contract, recording results and lessons.

Each function checks who may act, writes in one transaction and appends the
audit event in that same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from utfall.errors import UserError
from utfall.platform.audit.services import audit_record
from utfall.platform.contracts.models import Contract
from utfall.platform.contracts.selectors import latest_version, parsed_version
from utfall.platform.knowledge.models import Lesson, LessonKind, Publication, PublishedResult, Stage
from utfall.platform.links import link_problem
from utfall.platform.permissions import can_publish, can_record_results
from utfall.services.knowledge import ResultRow

__all__ = ["lesson_add", "publication_update", "results_record"]


def _require_publisher(actor: AbstractBaseUser | None, contract: Contract) -> None:
    # actor None: a trusted caller inside the platform (the demo loader).
    if actor is not None and not (can_publish(actor, contract) or actor.is_staff):
        raise PermissionDenied("only a commissioner of the contract may publish it")


@transaction.atomic
def publication_update(
    *,
    contract: Contract,
    actor: AbstractBaseUser | None,
    published: bool,
    summary: str | None = None,
    stage: str | None = None,
    policy_sector: str | None = None,
) -> Publication:
    """Publish or withdraw a contract on the knowledge platform, with its public summary."""
    _require_publisher(actor, contract)
    publication, _ = Publication.objects.select_for_update().get_or_create(contract=contract)
    if published and latest_version(contract) is None:
        raise UserError("a contract without a version cannot be published")
    if stage is not None:
        if stage not in Stage.values:
            raise UserError(f"stage {stage!r}: choose one of {', '.join(Stage.values)}")
        publication.stage = stage
    if summary is not None:
        publication.summary = summary.strip()
    if policy_sector is not None:
        publication.policy_sector = policy_sector.strip()
    if published and not publication.published:
        publication.published_at = timezone.now()
    publication.published = published
    publication.save()
    audit_record(
        actor=actor,
        action="knowledge_published" if published else "knowledge_withdrawn",
        contract=contract,
        stage=publication.stage,
    )
    return publication


@transaction.atomic
def results_record(
    *,
    contract: Contract,
    rows: Iterable[ResultRow],
    actor: AbstractBaseUser | None,
    source: str = "",
) -> list[PublishedResult]:
    """Store aggregated results (one per metric, period and group; a new figure replaces the
    old). Only a commissioner or a fund administrator records them; the metrics must be the
    contract's inputs. Small cells are kept here and withheld whenever they are shown."""
    if actor is not None and not (can_record_results(actor, contract) or actor.is_staff):
        raise PermissionDenied("only a commissioner or a fund administrator records results")
    publication, _ = Publication.objects.get_or_create(contract=contract)
    version = latest_version(contract)
    metrics = set(parsed_version(version).inputs) if version else set()
    rows = list(rows)
    unknown = sorted({row.outcome_metric_id for row in rows} - metrics)
    if unknown:
        raise UserError(f"the contract {contract.identifier!r} has no outcome {', '.join(unknown)}")
    stored = []
    for row in rows:
        if row.count is not None and row.count > row.n:
            raise UserError(f"{row.outcome_metric_id}: count {row.count} is larger than n {row.n}")
        result, _ = PublishedResult.objects.update_or_create(
            publication=publication,
            outcome_metric_id=row.outcome_metric_id,
            period_start=row.period_start,
            period_end=row.period_end,
            group=row.group,
            defaults={
                "n": row.n,
                "count": row.count,
                "result_type": row.result_type,
                "source": source,
            },
        )
        stored.append(result)
    details: dict[str, Any] = {"rows": len(stored), "source": source}
    audit_record(actor=actor, action="knowledge_results_recorded", contract=contract, **details)
    return stored


@transaction.atomic
def lesson_add(
    *,
    contract: Contract,
    actor: AbstractBaseUser | None,
    title: str,
    body: str = "",
    url: str = "",
    kind: str = LessonKind.LESSON,
) -> Lesson:
    """Add a lesson learnt or an evaluation report to a contract's public page."""
    _require_publisher(actor, contract)
    if not title.strip():
        raise UserError("a lesson needs a title")
    if url and (problem := link_problem(url)) is not None:
        raise UserError(f"the lesson's link is refused: {problem}")
    publication, _ = Publication.objects.get_or_create(contract=contract)
    lesson = Lesson.objects.create(
        publication=publication,
        kind=kind,
        title=title.strip(),
        body=body.strip(),
        url=url,
        created_by=actor,
    )
    audit_record(actor=actor, action="knowledge_lesson_added", contract=contract, kind=kind)
    return lesson
