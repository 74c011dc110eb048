"""No job stays queued with nobody to run it: one whose run message never reached Redis (its send failed
after commit, or a Redis restart lost the queue) is sent again by the reaper and a real worker runs it."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.helpers import wait_for
from tests.outages import outage
from webapp.jobs.broker import job_ids_with_messages
from webapp.jobs.models import Job
from webapp.jobs.services import jobs_reap_lost, jobs_resend_undelivered, send_to_worker
from webapp.registry.services import dataset_upload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
Status = Job.Status


def unsent_profile_job(task, dataset, teacher, member, *, queued_minutes_ago: float) -> Job:
    """A queued row whose run message was never published, as a send lost to an outage leaves it."""
    job = Job.objects.create(
        task=task, kind=Job.Kind.PROFILE_DATASET, queue=Job.Queue.DEFAULT, created_by=member,
        params={"dataset_id": dataset.pk, "teacher_id": teacher.pk, "max_length": 32},
    )  # fmt: skip
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=queued_minutes_ago))
    return job


def test_the_reaper_sends_a_long_queued_undelivered_job_again_and_a_worker_runs_it(
    live_stack, member, task, dataset, teacher
):
    recent = unsent_profile_job(task, dataset, teacher, member, queued_minutes_ago=0)
    stale = unsent_profile_job(task, dataset, teacher, member, queued_minutes_ago=10)
    assert jobs_reap_lost() == 1  # the stale one only: a just-queued job may still be on its way
    stale = wait_for(stale, Status.SUCCEEDED, timeout=120)
    assert "not in the job queue (Redis was unavailable or restarted); sent again" in stale.log_tail
    assert stale.attempts == 1
    recent.refresh_from_db()
    assert recent.status == Status.QUEUED and "sent again" not in recent.log_tail
    Job.objects.filter(pk=recent.pk).delete()
    assert jobs_reap_lost() == 0  # nothing left undelivered


def test_a_job_whose_send_met_a_redis_outage_says_why_and_runs_once_redis_is_back(
    live_stack, member, task, dataset, teacher
):
    job = unsent_profile_job(task, dataset, teacher, member, queued_minutes_ago=0)
    with outage("redis"):
        assert send_to_worker(job) is False
        assert jobs_resend_undelivered() == 0  # nothing to send to yet
    job.refresh_from_db()
    assert job.status == Status.QUEUED
    assert job.message.startswith("Waiting for the job queue (Redis)")
    assert "could not reach the job queue" in job.log_tail

    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert jobs_resend_undelivered() == 1
    job = wait_for(job, Status.SUCCEEDED, timeout=180)


def test_a_job_a_worker_holds_is_not_sent_twice(live_stack, member, task, teacher):
    rows = "".join(f'{{"text": "message number {i} about topic {i % 7}", "label": "travel"}}\n' for i in range(20000))
    big = dataset_upload(task=task, user=member, file=io.BytesIO(rows.encode()), filename="big.jsonl", role="train")
    job = unsent_profile_job(task, big, teacher, member, queued_minutes_ago=10)
    assert send_to_worker(job)
    wait_for(job, Status.RUNNING, timeout=60)
    # The worker holds the message unacknowledged until the job ends: the broker still has it.
    assert job.pk in job_ids_with_messages()
    wait_for(job, Status.SUCCEEDED, timeout=120)
    assert job.pk not in job_ids_with_messages()
