"""Background tasks (django-tasks) of the council: the first computation of a dashboard
for a day and the quarterly report's PDF run in the worker (``db_worker``), so the page
stays usable and shows their progress (:mod:`utfall.platform.council.jobs`)."""

from __future__ import annotations

from django_tasks import task


@task()
def compute_dashboard(contract_id: int, as_of: str, release: bool, job: str) -> str:
    """Compute (and cache, or store as a release) one dashboard; returns the job's state."""
    from utfall.platform.council.jobs import dashboard_job_run

    return dashboard_job_run(contract_id=contract_id, as_of=as_of, release=release, job=job)


@task()
def render_report_pdf(job: str) -> str:
    """Render one quarterly report as PDF into the job's cache entry; returns its state."""
    from utfall.platform.council.jobs import report_job_run

    return report_job_run(job=job)
