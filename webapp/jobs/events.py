"""Live job events. The only module that names channel groups or calls `group_send`.

Groups: `job.<id>` (one job's page) and `task.<id>.jobs` (a task's job list).
Messages:
- {"type": "job.update", "job": <job_payload>} to both groups; consumers forward {"type": "job", "job": ...}.
- {"type": "job.metrics", "job_id": id, "points": [{"name", "step", "value"}]} to the job's group only;
  consumers forward {"type": "metrics", "job_id": ..., "points": [...]} (live training curves).
"""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from webapp.jobs.models import Job
from webapp.jobs.payloads import job_payload

logger = logging.getLogger(__name__)


def job_group(job_id: int) -> str:
    return f"job.{job_id}"


def task_jobs_group(task_id: int) -> str:
    return f"task.{task_id}.jobs"


def publish_job_update(job: Job) -> None:
    """Tell every open page about the job's new state. The row is already saved: a lost event
    only delays a page until its next event or reconnect, so a broken Redis must not fail the job."""
    message = {"type": "job.update", "job": job_payload(job)}
    _send([job_group(job.pk), task_jobs_group(job.task_id)], message, job.pk)


def publish_job_metrics(job: Job, points: list[dict[str, Any]]) -> None:
    """New points of a job's live curves; the stored JobMetric rows are the truth."""
    _send([job_group(job.pk)], {"type": "job.metrics", "job_id": job.pk, "points": points}, job.pk)


def _send(groups: list[str], message: dict[str, Any], job_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.warning("could not publish an event of job %s", job_id, exc_info=True)
