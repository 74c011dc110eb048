from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from webapp.accounts.selectors import scope_to_user
from webapp.jobs.models import Job, JobMetric
from webapp.registry.models import Task


def jobs_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Job]:
    return scope_to_user(Job.objects.select_related("task", "task__team"), user=user, team_path="task__team")


def job_get_for_user(*, user: AbstractBaseUser | AnonymousUser, job_id: int) -> Job:
    job = jobs_visible_to(user=user).filter(pk=job_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def jobs_of_task(*, task: Task) -> QuerySet[Job]:
    return Job.objects.filter(task=task).select_related("task").order_by("-created_at", "-id")


def jobs_comparable(*, task: Task) -> QuerySet[Job]:
    """The task's training runs (fine-tunes and distillations), newest first: what the compare page pairs."""
    return jobs_of_task(task=task).filter(kind__in=Job.TRAINING_KINDS)


def job_metrics(*, job: Job) -> QuerySet[JobMetric]:
    return JobMetric.objects.filter(job=job).order_by("name", "step")
