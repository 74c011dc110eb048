"""The runner in this process (no worker): outcomes of a job, failed vs errored vs cancelled."""

import pytest

from domain.results import Ledger
from domain.specs import spec_from_params
from webapp.jobs import lifecycle
from webapp.jobs.models import Job, JobMetric
from workers.handlers.base import JobContext
from workers.handlers.profile import profile_dataset
from workers.ml.reporting import StopRequested
from workers.reporter import JobReporter
from workers.runner import run_job

Status = Job.Status


def test_a_profile_job_succeeds_with_token_statistics(job, dataset) -> None:
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED, job.error
    assert job.result["rows"] == dataset.row_count and job.result["max_length"] == 128
    assert job.step == job.total == dataset.row_count
    assert job.device["kind"] == "cpu" and job.device_kind.startswith("cpu") and job.attempts == 1
    assert job.device_seconds > 0


def test_a_job_on_a_deleted_dataset_fails_with_a_message_saying_so(job, dataset) -> None:
    dataset.delete()
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "no longer exists" in job.error and not job.traceback


def test_a_teacher_whose_model_vanished_fails_naming_the_problem(job, teacher, settings) -> None:
    teacher.model_ref = "./gone-model"
    teacher.save()
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED and "gone-model" in job.error


def test_a_job_whose_stored_parameters_do_not_fit_its_spec_fails_naming_the_parameter(job) -> None:
    Job.objects.filter(pk=job.pk).update(params={"dataset_id": job.params["dataset_id"]})  # no teacher_id
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "teacher_id" in job.error and not job.traceback


def test_an_unexpected_error_is_errored_with_its_traceback(job, dataset) -> None:
    dataset.rows_path.write_text("not json\n")  # the stored rows are ours: a broken file is a bug, not the user's
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.ERRORED
    assert "JSONDecodeError" in job.error and "Traceback" in job.traceback


def test_a_job_cancelled_before_it_starts_never_runs(job) -> None:
    lifecycle.job_cancel_request(job)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Status.CANCELLED and job.started_at is None


def test_a_running_job_stops_at_its_next_step_when_cancelled(job) -> None:
    claimed = lifecycle.job_claim(job_id=job.pk, worker="here")
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)  # what the web process does
    with pytest.raises(StopRequested):
        spec = spec_from_params(claimed.kind, claimed.params)
        profile_dataset(spec, JobContext(job=claimed, reporter=JobReporter(claimed), ledger=Ledger()))


def test_the_reporter_never_overwrites_a_cancel_request(job) -> None:
    claimed = lifecycle.job_claim(job_id=job.pk, worker="here")
    reporter = JobReporter(claimed)
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    reporter.report(1, 10, {"loss": 0.5}, message="step 1")
    job.refresh_from_db()
    assert job.cancel_requested and job.step == 1 and job.message == "step 1"
    assert list(JobMetric.objects.filter(job=job).values_list("name", "value")) == [("loss", 0.5)]


def test_a_progress_report_shows_the_device_time_the_heartbeat_counted(job) -> None:
    from webapp.jobs.lifecycle import job_heartbeat

    claimed = lifecycle.job_claim(job_id=job.pk, worker="here")
    job_heartbeat(job_id=job.pk, device_seconds=12.5)  # what the heartbeat thread does every few seconds
    reporter = JobReporter(claimed)
    reporter.report(1, 10, message="step 1")
    assert reporter.job.device_seconds == 12.5  # the payload every open page receives
