"""Job state transitions, including the reaper that recovers jobs of dead workers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.jobs import lifecycle
from webapp.jobs.models import Job
from webapp.jobs.services import jobs_reap_lost

Status = Job.Status


def _stale(job: Job, *, attempts: int = 1) -> None:
    """Make the job look like its worker died mid-run: running, heartbeat long ago."""
    Job.objects.filter(pk=job.pk).update(
        status=Status.RUNNING,
        attempts=attempts,
        heartbeat_at=timezone.now() - timedelta(hours=1),
        started_at=timezone.now(),
    )


def test_claiming_starts_a_queued_job_once(job) -> None:
    claimed = lifecycle.job_claim(job_id=job.pk, worker="w1")
    assert claimed is not None and claimed.status == Status.RUNNING and claimed.attempts == 1
    # A duplicate delivery while the first worker is alive must not run it twice.
    assert lifecycle.job_claim(job_id=job.pk, worker="w2") is None
    job.refresh_from_db()
    assert job.worker == "w1"


def test_a_finished_job_is_never_claimed_again(job) -> None:
    claimed = lifecycle.job_claim(job_id=job.pk, worker="w1")
    lifecycle.job_finish(claimed, Status.SUCCEEDED)
    assert lifecycle.job_claim(job_id=job.pk, worker="w1") is None


def test_cancelling_a_queued_job_cancels_it_at_once(job) -> None:
    lifecycle.job_cancel_request(job)
    job.refresh_from_db()
    assert job.status == Status.CANCELLED and job.finished_at is not None
    assert lifecycle.job_claim(job_id=job.pk, worker="w1") is None


def test_cancelling_a_running_job_sets_the_flag_its_worker_checks(job) -> None:
    lifecycle.job_claim(job_id=job.pk, worker="w1")
    lifecycle.job_cancel_request(job)
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.cancel_requested


def test_the_reaper_requeues_a_job_whose_worker_stopped_heartbeating(job) -> None:
    _stale(job)
    assert jobs_reap_lost() == 1
    job.refresh_from_db()
    assert job.status == Status.QUEUED and "worker lost" in job.log_tail


def test_the_reaper_leaves_a_job_with_a_live_heartbeat_alone(job) -> None:
    lifecycle.job_claim(job_id=job.pk, worker="w1")
    assert jobs_reap_lost() == 0
    job.refresh_from_db()
    assert job.status == Status.RUNNING


def test_the_reaper_gives_up_after_the_maximum_attempts(job, settings) -> None:
    _stale(job, attempts=settings.JOB_MAX_ATTEMPTS)
    jobs_reap_lost()
    job.refresh_from_db()
    assert job.status == Status.ERRORED
    assert "stopped responding" in job.error and job.finished_at is not None


def test_progress_and_eta_come_from_the_row(job) -> None:
    job.step, job.total, job.status = 25, 100, Status.RUNNING
    job.started_at = timezone.now() - timedelta(seconds=70)  # a minute of start-up before the first step
    job.rate_since, job.rate_since_step = timezone.now() - timedelta(seconds=20), 5
    assert job.progress == pytest.approx(0.25)
    # 20 steps in 20 s since the first step: 75 left take 75 s (the start-up minute is not a step's cost).
    assert job.eta_seconds == pytest.approx(75, rel=0.1)


def test_the_time_left_is_withheld_until_the_rate_is_measured(job) -> None:
    """A 340-step fine-tune: loading took 35 s before step 1. Extrapolating from the start said 3 h 19 m."""
    job.status, job.total = Status.RUNNING, 340
    job.started_at = timezone.now() - timedelta(seconds=36)
    job_progress_write_at(job, step=1)
    assert job.rate_since is not None and job.rate_since_step == 1
    assert job.eta_seconds is None  # "estimating time left…"

    job.step = 3  # two steps since: too little work to extrapolate from
    assert job.eta_seconds is None
    job.step, job.rate_since = 12, timezone.now() - timedelta(seconds=22)  # 11 steps in 22 s: 2 s a step
    assert job.eta_seconds == pytest.approx(2 * (340 - 12), rel=0.05)
    job_progress_write_at(job, step=13)
    assert Job.objects.get(pk=job.pk).rate_since_step == 1  # measured from the first step, once


def test_a_new_attempt_measures_its_own_rate(job) -> None:
    Job.objects.filter(pk=job.pk).update(rate_since=timezone.now() - timedelta(hours=1), rate_since_step=50)
    claimed = lifecycle.job_claim(job_id=job.pk, worker="w")
    assert claimed is not None and Job.objects.get(pk=job.pk).rate_since is None


def job_progress_write_at(job: Job, *, step: int) -> None:
    from webapp.jobs.progress import job_progress_write

    job.step = step
    job_progress_write(job)


def test_the_log_tail_keeps_the_newest_lines(job) -> None:
    for i in range(2000):
        job.append_log(f"line {i}")
    assert job.log_tail.endswith("line 1999\n") and "line 0\n" not in job.log_tail
