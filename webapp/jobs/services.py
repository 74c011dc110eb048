"""Writes for jobs: create and enqueue after commit, cancel, and re-queue the jobs of lost workers.

No job may sit "queued" with nobody going to run it: a start while the job queue (Redis) is down is
refused before anything is stored (QueueUnavailable), and a job whose send still failed after its row
was committed says so on its page and is sent again by the reaper once Redis is back."""

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from domain.naming import shorten
from domain.specs import JobSpec, ProfileSpec, SpecError, SweepSpec
from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.config.health import REDIS, ServiceUnavailable, redis_problem
from webapp.jobs import lifecycle
from webapp.jobs.broker import BROKER_ERRORS, job_ids_with_messages, job_message_send
from webapp.jobs.models import Job
from webapp.registry.archiving import require_not_archived
from webapp.registry.models import Dataset, Task, Teacher

logger = logging.getLogger(__name__)
S = TypeVar("S")


class QueueUnavailable(ServiceUnavailable, ValidationError):
    """The job queue (Redis) can't be reached, so nothing was started. Also a ValidationError, so every
    form that starts a job shows it as a form error; the API answers it with a 503."""

    def __init__(self) -> None:
        super().__init__(REDIS, "The job queue (Redis) is unavailable; nothing was started. Try again in a moment.")


def send_to_worker(job: Job) -> bool:
    """Publish the job's run message (called after its row is committed). If Redis went away since the
    job was accepted, the job stays queued with the reason on its page, and the reaper sends it again."""
    try:
        job_message_send(job)
    except BROKER_ERRORS as exc:
        logger.warning("job %s: could not reach the job queue: %s", job.pk, exc)
        lifecycle.job_note_unsent(job_id=job.pk, reason=f"{type(exc).__name__}: {exc}")
        return False
    return True


def job_enqueue(
    *, task: Task, spec: JobSpec, user: AbstractBaseUser, parent: Job | None = None, title: str = ""
) -> Job:
    """The one way a job is created: its typed spec is what `params` stores, `title` says what it does in
    words. A sweep parent runs nothing itself (its children do), so it starts running at once instead of
    going to a queue."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    require_not_archived(task)
    # Ask Redis before storing anything: with the queue down the caller is told, and no row is left
    # behind (inside a caller's transaction, raising rolls back its other jobs too).
    if redis_problem(settings.CELERY_BROKER_URL) is not None:
        raise QueueUnavailable()
    job = Job.objects.create(
        task=task,
        parent=parent,
        kind=spec.kind,
        title=title[:300],
        params=spec.to_params(),
        queue=spec.queue,
        created_by=user,
    )
    if isinstance(spec, SweepSpec):
        lifecycle.job_start_parent(job, children=len(spec.sizes))
        return job
    job.append_log(f"queued on '{job.queue}'")
    job.save(update_fields=["log_tail"])
    # After commit: a worker must find the committed row when the message arrives.
    transaction.on_commit(lambda: send_to_worker(job))
    return job


def spec_or_validation_error(build: Callable[[], S]) -> S:
    """Build a spec, turning SpecError into the ValidationError forms and the API already show."""
    try:
        return build()
    except SpecError as exc:
        raise ValidationError({exc.field: exc.message} if exc.field else exc.message) from exc


def job_cancel(*, job: Job, user: AbstractBaseUser) -> Job:
    require_role(user=user, team=job.task.team, role=Role.MEMBER)
    return lifecycle.job_cancel_request(job)


def profile_job_start(
    *, task: Task, dataset: Dataset, teacher: Teacher, user: AbstractBaseUser, max_length: int | None = None
) -> Job:
    if dataset.task_id != task.pk or teacher.task_id != task.pk:
        raise ValidationError("The dataset and the teacher must belong to this task.")
    require_not_archived(dataset, teacher)
    if teacher.is_precomputed:
        raise ValidationError(f"Teacher '{teacher}' is uploaded outputs with no tokenizer: profile with a model.")
    spec = spec_or_validation_error(
        lambda: ProfileSpec(dataset_id=dataset.pk, teacher_id=teacher.pk, max_length=max_length or teacher.max_length)
    )
    title = f"Profile {dataset} with {shorten(teacher.name)}'s tokenizer"
    return job_enqueue(task=task, spec=spec, user=user, title=title)


def jobs_reap_lost() -> int:
    """Called by beat: re-queue (or give up on) running jobs whose worker stopped heartbeating, and
    send again the queued jobs that never reached the job queue."""
    count = 0
    for job_id in lifecycle.jobs_with_lost_workers():
        with transaction.atomic():
            job = lifecycle.job_reap(job_id=job_id)
            if job is not None:
                transaction.on_commit(lambda job=job: send_to_worker(job))
        count += 1
    return count + jobs_resend_undelivered()


def jobs_resend_undelivered() -> int:
    """Send again the jobs queued for longer than JOB_RESEND_AFTER_SECONDS that Redis holds no message
    for: their send failed after commit, or a Redis restart lost the queue. Returns how many were sent."""
    cutoff = timezone.now() - timedelta(seconds=settings.JOB_RESEND_AFTER_SECONDS)
    waiting = lifecycle.jobs_queued_before(cutoff)
    if not waiting:
        return 0
    try:
        delivered = job_ids_with_messages()
    except BROKER_ERRORS as exc:
        logger.warning("cannot re-send %d queued job(s) yet: the job queue is unavailable: %s", len(waiting), exc)
        return 0
    sent = 0
    for job_id in sorted(set(waiting) - delivered):
        job = lifecycle.job_note_resend(job_id=job_id)
        if job is not None and send_to_worker(job):
            sent += 1
    return sent
