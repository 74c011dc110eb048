"""Live job events. The only module that names channel groups or calls `group_send`.

Groups: `job.<id>` (one job's page) and `task.<id>.jobs` (a task's job list).
Message: {"type": "job.update", "job": <job_payload>}; consumers forward it as {"type": "job", "job": ...}.
"""

import logging

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
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "job.update", "job": job_payload(job)}
    try:
        for group in (job_group(job.pk), task_jobs_group(job.task_id)):
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.warning("could not publish update of job %s", job.pk, exc_info=True)
