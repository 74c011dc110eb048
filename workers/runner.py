"""Runs one job: claim the row, rebuild its typed spec, call the handler for its kind, and hand what it
returned to webapp.jobs.recording.job_conclude, which writes every row. The runner itself writes nothing.

"failed" is for problems the user can fix (JobFailed, with their message); anything else is a bug and
"errored", with its traceback kept. A lost database connection is neither: the job goes back to the queue
once the database answers again, keeping its checkpoint, and its log says why. A checkpoint is dropped
only after the job's terminal state is stored."""

import logging
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections

from domain.results import JobResult, Ledger
from domain.specs import SpecError, spec_from_params
from webapp.jobs import lifecycle
from webapp.jobs.models import Job
from webapp.jobs.recording import job_conclude, job_interrupted
from webapp.jobs.services import send_to_worker
from workers.errors import JobFailed
from workers.handlers import HANDLERS
from workers.handlers.base import JobContext
from workers.ml.reporting import StopRequested
from workers.paths import checkpoint_path
from workers.reporter import Heartbeat, JobReporter

logger = logging.getLogger(__name__)
Status = Job.Status
DATABASE_ERRORS = (OperationalError, InterfaceError)
# How long a worker waits for the database to come back before leaving the job to the reaper.
DATABASE_WAIT_SECONDS = 15 * 60


@dataclass
class Ending:
    """How an attempt ended, before it is recorded."""

    status: str
    message: str = ""
    error: str = ""
    traceback: str = ""
    result: JobResult | None = None
    log: list[str] = field(default_factory=list)


def run_job(job_id: int) -> None:
    job = lifecycle.job_claim(job_id=job_id, worker=socket.gethostname())
    if job is None:
        logger.info("job %s: nothing to do (finished, cancelled or running elsewhere)", job_id)
        return
    ledger = Ledger()
    heartbeat = Heartbeat(job.pk, settings.JOB_HEARTBEAT_SECONDS)
    with heartbeat:
        try:
            ending = _attempt(job, ledger)
        except DATABASE_ERRORS as exc:
            ending = None
            outage = exc
    if ending is None:
        _requeue_after_outage(job, outage, ledger, heartbeat.unaccounted_seconds())
        return
    for line in ending.log:
        job.append_log(line)
    try:
        _with_database(
            lambda: job_conclude(
                job,
                status=ending.status,
                ledger=ledger,
                device_seconds=heartbeat.unaccounted_seconds(),
                result=ending.result,
                message=ending.message,
                error=ending.error,
                traceback=ending.traceback,
            ),
            job_id=job.pk,
        )
    except Job.DoesNotExist:
        # Its task was deleted while it ran (the rows cascade): there is nothing left to record it on.
        logger.info("job %s was deleted while it ran; its outcome (%s) is not recorded", job.pk, ending.status)
    # Only now that the terminal state is stored: a job that ended for good won't resume. (A worker that
    # dies never gets here, so its checkpoint stays for the re-queued attempt.)
    checkpoint_path(job.pk).unlink(missing_ok=True)


def _attempt(job: Job, ledger: Ledger) -> Ending:
    handler = HANDLERS.get(job.kind)
    try:
        if handler is None:
            raise JobFailed(f"This worker does not know how to run '{job.kind}' jobs; update the worker.")
        try:
            spec = spec_from_params(job.kind, job.params)
        except SpecError as exc:
            raise JobFailed(f"The job's parameters are not valid: {exc}") from exc
        result = handler(spec, JobContext(job=job, reporter=JobReporter(job), ledger=ledger))
        return Ending(Status.SUCCEEDED, result=result)
    except StopRequested:
        return Ending(Status.CANCELLED, message="Cancelled.")
    except JobFailed as exc:
        return Ending(Status.FAILED, "Failed: see the message below.", str(exc), log=[f"failed: {exc}"])
    except DATABASE_ERRORS:
        raise
    except Exception as exc:
        logger.exception("job %s errored", job.pk)
        return Ending(
            Status.ERRORED,
            "Errored: an unexpected problem; the traceback is kept.",
            f"{type(exc).__name__}: {exc}",
            traceback.format_exc(),
            log=[f"error: {type(exc).__name__}: {exc}"],
        )


def _requeue_after_outage(job: Job, exc: Exception, ledger: Ledger, device_seconds: float) -> None:
    """The database went away mid-job: nothing the user did, and nothing lost. Wait for it, then put the
    job back on the queue with the real reason, its checkpoint kept so the next attempt resumes."""
    logger.warning("job %s lost its database connection: %s", job.pk, exc)
    reason = f"lost its database connection ({type(exc).__name__}: {str(exc).strip()[:200]})"

    def requeue() -> None:
        if job_interrupted(job, reason=reason, ledger=ledger, device_seconds=device_seconds):
            send_to_worker(job)

    _with_database(requeue, job_id=job.pk)


def _with_database(write: Callable[[], object], *, job_id: int) -> None:
    """Run a write, retrying while the database is unreachable (with back-off, up to DATABASE_WAIT_SECONDS).
    If it never comes back the job stays running without a heartbeat and the reaper re-queues it."""
    deadline = time.monotonic() + DATABASE_WAIT_SECONDS
    delay = 1.0
    while True:
        try:
            write()
            return
        except DATABASE_ERRORS:
            if time.monotonic() >= deadline:
                logger.exception("job %s: the database did not come back; leaving the job to the reaper", job_id)
                raise
            logger.warning("job %s: database unreachable, retrying in %.0fs", job_id, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
            close_old_connections()
