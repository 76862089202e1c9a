"""Background tasks (django-tasks): large imports run in the worker (``db_worker``)."""

from __future__ import annotations

from django_tasks import task


@task()
def run_import(batch_id: int) -> str:
    """Process one queued import batch; returns its final status."""
    from utfall.platform.imports.services import import_run

    return str(import_run(batch_id=batch_id).status)
