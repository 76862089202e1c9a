"""Background tasks (django-tasks): large imports run in the worker (``db_worker``)."""

from __future__ import annotations

from django_tasks import task


@task()
def run_import(batch_id: int) -> str:
    """Process one queued import batch; returns its final status.

    Imports left ``running`` by a worker that died are failed first (decision 0622): a
    restarted worker recovers them with its first task.
    """
    from utfall.platform.imports.services import import_recover_stale, import_run

    import_recover_stale()
    return str(import_run(batch_id=batch_id).status)
