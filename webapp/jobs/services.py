"""Writes for jobs: create and enqueue after commit, cancel, and re-queue the jobs of lost workers."""

from collections.abc import Callable
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from domain.specs import JobSpec, ProfileSpec, SpecError, SweepSpec
from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.jobs import lifecycle
from webapp.jobs.models import Job
from webapp.registry.models import Dataset, Task, Teacher

RUN_JOB_TASK = "distillery.run_job"
S = TypeVar("S")


def send_to_worker(job: Job) -> None:
    # By name, so the web process never imports worker code (or torch).
    from workers.celery_app import app

    app.send_task(RUN_JOB_TASK, args=[job.pk], queue=job.queue)


def job_enqueue(*, task: Task, spec: JobSpec, user: AbstractBaseUser, parent: Job | None = None) -> Job:
    """The one way a job is created: its typed spec is what `params` stores. A sweep parent runs nothing
    itself (its children do), so it starts running at once instead of going to a queue."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    job = Job.objects.create(
        task=task, parent=parent, kind=spec.kind, params=spec.to_params(), queue=spec.queue, created_by=user
    )
    if isinstance(spec, SweepSpec):
        lifecycle.job_start_parent(job, children=len(spec.sizes))
        return job
    job.append_log(f"queued on '{job.queue}'")
    job.save(update_fields=["log_tail"])
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
    if teacher.is_precomputed:
        raise ValidationError(f"Teacher '{teacher}' is uploaded outputs with no tokenizer: profile with a model.")
    spec = spec_or_validation_error(
        lambda: ProfileSpec(dataset_id=dataset.pk, teacher_id=teacher.pk, max_length=max_length or teacher.max_length)
    )
    return job_enqueue(task=task, spec=spec, user=user)


def jobs_reap_lost() -> int:
    """Called by beat: re-queue (or give up on) running jobs whose worker stopped heartbeating."""
    count = 0
    for job_id in lifecycle.jobs_with_lost_workers():
        with transaction.atomic():
            job = lifecycle.job_reap(job_id=job_id)
            if job is not None:
                transaction.on_commit(lambda job=job: send_to_worker(job))
        count += 1
    return count
