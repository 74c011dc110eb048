"""Runs one job: claim the row, call the handler for its kind, store the outcome.

"failed" is for problems the user can fix (JobFailed, with their message); anything else is a
bug and "errored", with its traceback kept. The compute used is recorded for the ROI."""

import logging
import socket
import time
import traceback

from django.conf import settings

from webapp.jobs import lifecycle
from webapp.jobs.models import Job
from workers.errors import JobFailed
from workers.handlers import HANDLERS
from workers.handlers.training import checkpoint_path
from workers.ml.reporting import StopRequested
from workers.reporter import Heartbeat, JobReporter

logger = logging.getLogger(__name__)
Status = Job.Status


def run_job(job_id: int) -> None:
    job = lifecycle.job_claim(job_id=job_id, worker=socket.gethostname())
    if job is None:
        logger.info("job %s: nothing to do (finished, cancelled or running elsewhere)", job_id)
        return
    reporter = JobReporter(job)
    handler = HANDLERS.get(job.kind)
    started = time.monotonic()
    try:
        if handler is None:
            raise JobFailed(f"This worker does not know how to run '{job.kind}' jobs; update the worker.")
        with Heartbeat(job.pk, settings.JOB_HEARTBEAT_SECONDS):
            outcome = handler(job, reporter)
        job.result = outcome.result
        job.device_kind = outcome.device_kind
        _add_compute(job, started)
        lifecycle.job_finish(job, Status.SUCCEEDED, message=outcome.message or "Done.")
    except StopRequested:
        _drop_checkpoint(job)
        _add_compute(job, started)
        lifecycle.job_finish(job, Status.CANCELLED, message="Cancelled.")
    except JobFailed as exc:
        _drop_checkpoint(job)
        _add_compute(job, started)
        job.append_log(f"failed: {exc}")
        lifecycle.job_finish(job, Status.FAILED, message="Failed: see the message below.", error=str(exc))
    except Exception as exc:
        logger.exception("job %s errored", job_id)
        _drop_checkpoint(job)
        _add_compute(job, started)
        job.append_log(f"error: {type(exc).__name__}: {exc}")
        lifecycle.job_finish(
            job,
            Status.ERRORED,
            message="Errored: an unexpected problem; the traceback is kept.",
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
        )


def _drop_checkpoint(job: Job) -> None:
    """A job that ended for good won't resume: free its checkpoint (hundreds of MB for a real model).
    A worker that dies never gets here, so its checkpoint stays for the re-queued attempt."""
    checkpoint_path(job).unlink(missing_ok=True)


def _add_compute(job: Job, started: float) -> None:
    # Device-seconds accumulate over attempts: a re-queued job's lost work was still paid for.
    job.device_seconds += time.monotonic() - started
