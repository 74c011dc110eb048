"""State transitions of a job, as conditional updates so two processes can't both win one.

queued -> running -> succeeded | failed | errored | cancelled; running -> queued when a lost
worker's job is re-queued by the reaper. Each transition publishes the new state.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from webapp.jobs.events import publish_job_update
from webapp.jobs.models import Job

Status = Job.Status
FINISH_FIELDS = [
    "status",
    "finished_at",
    "message",
    "error",
    "traceback",
    "step",
    "total",
    "result",
    "device_kind",
    "device",
    "log_tail",
    "cancel_requested",  # taken from the locked row by job_finish, so writing it back loses nothing
]


def job_claim(*, job_id: int, worker: str) -> Job | None:
    """Mark the job running on `worker`, or return None if nobody should run it now: it is finished,
    cancelled, or already running elsewhere with a live heartbeat (a duplicate delivery)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_terminal:
            return None
        now = timezone.now()
        if job.status == Status.RUNNING and job.heartbeat_at and now - job.heartbeat_at < _heartbeat_timeout():
            return None
        if job.cancel_requested:
            _finish(job, Status.CANCELLED, message="Cancelled before it started.")
            return None
        job.status = Status.RUNNING
        job.attempts += 1
        job.worker = worker
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.rate_since = None  # a new attempt (maybe resumed from a checkpoint) measures its own rate
        if job.attempts > 1:
            job.append_log(f"attempt {job.attempts} on {worker}")
        job.save(update_fields=["status", "attempts", "worker", "started_at", "heartbeat_at", "log_tail", "rate_since"])
    publish_job_update(job)
    return job


def job_start_parent(job: Job, *, children: int) -> None:
    """A parent job (a sweep) runs nothing itself: it is running from the start, until its children end."""
    job.status = Status.RUNNING
    job.started_at = timezone.now()
    job.total = children
    job.message = f"0 of {children} students distilled"
    job.save(update_fields=["status", "started_at", "total", "message"])
    transaction.on_commit(lambda: publish_job_update(job))


def job_finish(job: Job, status: str, *, message: str = "", error: str = "", traceback: str = "") -> Job:
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        # Keep what the worker reported (progress, result) but take flags set by others from the row.
        job.cancel_requested = locked.cancel_requested
        job.log_tail = locked.log_tail if len(locked.log_tail) > len(job.log_tail) else job.log_tail
        _finish(job, status, message=message, error=error, traceback=traceback)
    return job


def _finish(job: Job, status: str, *, message: str = "", error: str = "", traceback: str = "") -> None:
    job.status = status
    job.finished_at = timezone.now()
    if message:
        job.message = message[:500]
    job.error = error
    job.traceback = traceback
    if status == Status.SUCCEEDED and job.total:
        job.step = job.total
    # Only the columns a finish owns: counters the worker added with F() (teacher usage) stay intact.
    job.save(update_fields=FINISH_FIELDS)
    transaction.on_commit(lambda: publish_job_update(job))
    if job.parent_id:
        _settle_parent(job.parent_id)


def _settle_parent(parent_id: int) -> None:
    """A sweep's progress is its children's: count the finished ones, finish it with the last."""
    parent = Job.objects.select_for_update().get(pk=parent_id)
    if parent.is_terminal:
        return
    statuses = list(Job.objects.filter(parent_id=parent_id).values_list("status", flat=True))
    # Its bar counts the students it made: a sweep cancelled (or failed) half-way shows half, not 100%.
    finished = sum(s in Job.TERMINAL for s in statuses)
    parent.step, parent.total = sum(s == Status.SUCCEEDED for s in statuses), len(statuses)
    if finished < parent.total:
        parent.message = f"{parent.step} of {parent.total} students distilled"
        if finished > parent.step:
            parent.message += f", {finished - parent.step} ended without one"
        parent.save(update_fields=["step", "total", "message"])
        transaction.on_commit(lambda: publish_job_update(parent))
        return
    broken = sum(s in (Status.FAILED, Status.ERRORED) for s in statuses)
    if parent.cancel_requested:
        _finish(parent, Status.CANCELLED, message="Cancelled.")
    elif broken:
        message = f"{broken} of {len(statuses)} students did not finish; see their jobs."
        _finish(parent, Status.FAILED, message=message, error=message)
    else:
        _finish(parent, Status.SUCCEEDED, message=f"All {len(statuses)} students distilled.")


def job_cancel_request(job: Job) -> Job:
    """Queued jobs are cancelled at once; running ones stop at their next progress check."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.is_terminal:
            return locked
        locked.cancel_requested = True
        if locked.kind == Job.Kind.SWEEP:  # a sweep stops when its children do
            locked.message = "Cancelling its students…"
            locked.save(update_fields=["cancel_requested", "message"])
            for child in Job.objects.filter(parent=locked).exclude(status__in=Job.TERMINAL):
                job_cancel_request(child)
            _settle_parent(locked.pk)
            locked.refresh_from_db()
            return locked
        if locked.status == Status.QUEUED:
            _finish(locked, Status.CANCELLED, message="Cancelled before it started.")
        else:
            locked.message = "Cancelling…"
            locked.save(update_fields=["cancel_requested", "message"])
            transaction.on_commit(lambda: publish_job_update(locked))
    return locked


def jobs_with_lost_workers() -> list[int]:
    cutoff = timezone.now() - _heartbeat_timeout()
    return list(Job.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff).values_list("pk", flat=True))


def job_reap(*, job_id: int) -> Job | None:
    """Re-queue a job whose worker died, or give up after JOB_MAX_ATTEMPTS. Returns the job if it
    was re-queued (the caller sends it to a worker again after commit)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, status=Status.RUNNING).first()
        if job is None or (job.heartbeat_at and timezone.now() - job.heartbeat_at < _heartbeat_timeout()):
            return None
        silent = int(_heartbeat_timeout().total_seconds())
        if job.cancel_requested:
            _finish(job, Status.CANCELLED, message="Cancelled (its worker had stopped).")
            return None
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            _finish(
                job,
                Status.ERRORED,
                message="Its worker stopped responding.",
                error=(
                    f"The worker running this job stopped responding (no heartbeat for {silent}s) "
                    f"{job.attempts} times; giving up. Check the worker logs, then start the job again."
                ),
            )
            return None
        job.status = Status.QUEUED
        job.worker = ""
        job.message = "Re-queued: its worker stopped responding."
        job.append_log(f"worker lost (no heartbeat for {silent}s); re-queued")
        job.save(update_fields=["status", "worker", "message", "log_tail"])
        transaction.on_commit(lambda: publish_job_update(job))
        return job


def job_requeue(*, job_id: int, reason: str) -> Job | None:
    """Back to the queue after an attempt the infrastructure stopped (the caller sends it again after
    commit). The log says why, so nobody is told its worker was lost when it was not."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, status=Status.RUNNING).first()
        if job is None:
            return None
        job.status = Status.QUEUED
        job.worker = ""
        job.message = f"Re-queued: {reason[:200]}."
        job.append_log(f"{reason}; re-queued (it resumes from its last checkpoint)")
        job.save(update_fields=["status", "worker", "message", "log_tail"])
        transaction.on_commit(lambda: publish_job_update(job))
        return job


def jobs_queued_before(cutoff: datetime) -> list[int]:
    return list(Job.objects.filter(status=Status.QUEUED, created_at__lt=cutoff).values_list("pk", flat=True))


def job_note_unsent(*, job_id: int, reason: str) -> None:
    """Say on a queued job's page why no worker has it yet: its run message could not be published."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, status=Status.QUEUED).first()
        if job is None:
            return
        job.message = "Waiting for the job queue (Redis), which was unavailable; it is sent again once Redis is back."
        job.append_log(f"could not reach the job queue ({reason[:200]}); will retry")
        job.save(update_fields=["message", "log_tail"])
        transaction.on_commit(lambda: publish_job_update(job))


def job_note_resend(*, job_id: int) -> Job | None:
    """Record that a queued job which never reached the job queue is sent again; None if it is no
    longer queued (a worker claimed it, or it was cancelled, meanwhile)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, status=Status.QUEUED).first()
        if job is None:
            return None
        job.message = "Sent to the job queue again: it had not reached a worker."
        job.append_log("not in the job queue (Redis was unavailable or restarted); sent again")
        job.save(update_fields=["message", "log_tail"])
        transaction.on_commit(lambda: publish_job_update(job))
        return job


def job_heartbeat(*, job_id: int, device_seconds: float) -> bool:
    """A running job is alive, and has used `device_seconds` more since the last beat. Device time accrues
    here, so an attempt whose worker is killed still counts in the job's compute (the ROI's cost)."""
    updated = Job.objects.filter(pk=job_id, status=Status.RUNNING).update(
        heartbeat_at=timezone.now(), device_seconds=F("device_seconds") + max(device_seconds, 0.0)
    )
    return bool(updated)


def _heartbeat_timeout() -> timedelta:
    return timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS)
