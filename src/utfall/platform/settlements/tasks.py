"""Background tasks (django-tasks): computing a statement runs in the worker (``db_worker``),
so the evaluator's page stays usable and shows its progress (decision 0837)."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def compute_statement(job: str, request: dict[str, Any]) -> str:
    """Compute the draft statement of one start request (``settlement_job_start``); the
    outcome is written to the job's cache entry, which the page polls."""
    from utfall.platform.settlements.services import settlement_job_run

    return settlement_job_run(job=job, request=request)
