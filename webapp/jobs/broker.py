"""The job queue as Redis holds it: send a job's run message, and list the jobs that have one.

The web process talks to Celery by task name only, so it never imports worker code (or torch). Each run
message's task id names its job, which lets the reaper see which queued jobs the broker holds no
message for (a send that failed after the row was committed, or a Redis restart that lost its queue)."""

import json
import re
import uuid

import redis
from kombu.exceptions import OperationalError

from webapp.jobs.models import Job

RUN_JOB_TASK = "distillery.run_job"
# What a failed publish raises: kombu wraps connection errors, redis-py raises its own on a timeout.
BROKER_ERRORS = (OperationalError, redis.RedisError, OSError)
_TASK_ID = re.compile(r"^job-(\d+)-")


def job_message_send(job: Job) -> None:
    from workers.celery_app import app

    app.send_task(RUN_JOB_TASK, args=[job.pk], queue=job.queue, task_id=f"job-{job.pk}-{uuid.uuid4().hex}")


def job_ids_with_messages() -> set[int]:
    """Jobs whose run message waits in a queue or is held, unacknowledged, by a worker (a message is
    acknowledged only when its job ends: tasks are acks_late). Reads kombu's Redis layout: one list per
    queue and priority step, and the `unacked` hash of [message, exchange, routing key]."""
    from workers.celery_app import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        client = channel.client
        messages = [
            raw
            for queue in Job.Queue.values
            for priority in channel.priority_steps
            for raw in client.lrange(channel._q_for_pri(queue, priority), 0, -1)
        ]
        messages += [json.loads(held)[0] for held in client.hvals(channel.unacked_key)]
    job_ids = set()
    for message in messages:
        headers = (json.loads(message) if isinstance(message, (bytes, str)) else message).get("headers", {})
        match = _TASK_ID.match(str(headers.get("id", "")))
        if headers.get("task") == RUN_JOB_TASK and match:
            job_ids.add(int(match.group(1)))
    return job_ids
