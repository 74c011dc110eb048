"""Writes of a running job's progress, called by the worker's reporter: the progress columns of its row
(only those the worker owns, with .update(), so a cancel request saved by the web process at the same
moment is never overwritten) and the points of its live curves. Each write is then published."""

from typing import Any

from django.utils import timezone

from webapp.jobs.events import publish_job_metrics, publish_job_update
from webapp.jobs.models import Job, JobMetric


def job_progress_write(job: Job) -> None:
    job.heartbeat_at = timezone.now()
    rows = Job.objects.filter(pk=job.pk)
    rows.update(
        step=job.step, total=job.total, message=job.message, log_tail=job.log_tail, heartbeat_at=job.heartbeat_at
    )
    if job.rate_since is None and job.step > 0:
        # The first step of this attempt: the time left is measured from here (see Job.eta_seconds).
        job.rate_since, job.rate_since_step = job.heartbeat_at, job.step
        rows.update(rate_since=job.rate_since, rate_since_step=job.rate_since_step)
    # Device time accrues on the row (the heartbeat adds it): show the page what the row holds, not the
    # value this process read when the job started.
    job.device_seconds = rows.values_list("device_seconds", flat=True).first() or job.device_seconds
    publish_job_update(job)


def job_metrics_add(job: Job, points: list[dict[str, Any]]) -> None:
    """points: [{"name", "step", "value"}]."""
    JobMetric.objects.bulk_create([JobMetric(job=job, **point) for point in points])
    publish_job_metrics(job, points)


def job_cancel_requested(job_id: int) -> bool:
    return Job.objects.filter(pk=job_id, cancel_requested=True).exists()
