"""Progress of a running job: to its row (throttled) and from there to every open page."""

import logging
import threading
import time
from collections.abc import Mapping

from django.db import DatabaseError, close_old_connections, connection

from webapp.jobs.lifecycle import job_heartbeat
from webapp.jobs.models import Job
from webapp.jobs.progress import job_cancel_requested, job_metrics_add, job_progress_write

logger = logging.getLogger(__name__)

WRITE_EVERY_SECONDS = 0.5
# A fast job still shows its bar move: also write when progress moved this much since the last write.
WRITE_EVERY_PROGRESS = 0.05
CANCEL_CHECK_EVERY_SECONDS = 1.0


class JobReporter:
    """Implements workers.ml.reporting.Reporter for a Job row, through webapp.jobs.progress."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._last_write = 0.0
        self._last_written_progress = 0.0
        self._last_cancel_check = 0.0
        self._cancelled = False

    def report(self, step: int, total: int, metrics: Mapping[str, float] | None = None, message: str = "") -> None:
        self.job.step, self.job.total = min(step, total) if total else step, total
        if message:
            self.job.message = message[:500]
        if metrics:
            points = [{"name": name, "step": step, "value": float(value)} for name, value in metrics.items()]
            job_metrics_add(self.job, points)
        progress = step / total if total else 0.0
        due = time.monotonic() - self._last_write >= WRITE_EVERY_SECONDS
        moved = progress - self._last_written_progress >= WRITE_EVERY_PROGRESS
        if due or moved or step >= total or step == 0 or metrics:
            self.flush()

    def log(self, line: str) -> None:
        self.job.append_log(line)
        self.flush()

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self._cancelled and now - self._last_cancel_check >= CANCEL_CHECK_EVERY_SECONDS:
            self._last_cancel_check = now
            self._cancelled = job_cancel_requested(self.job.pk)
        return self._cancelled

    def flush(self) -> None:
        self._last_write = time.monotonic()
        self._last_written_progress = self.job.progress
        job_progress_write(self.job)


class Heartbeat:
    """Writes the job's heartbeat from a side thread, so a long step without progress reports
    (loading a model, a slow batch) doesn't look like a dead worker to the reaper; each beat also adds
    the device time used since the last one. A beat that fails (the database is away) is retried at the
    next: the thread must outlive an outage, or a live job would look lost once the database is back."""

    def __init__(self, job_id: int, every_seconds: float) -> None:
        self.job_id = job_id
        self.every_seconds = every_seconds
        self._accounted_until = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._accounted_until = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def unaccounted_seconds(self) -> float:
        """Device time since the last recorded beat (the runner records it with the job's outcome)."""
        return time.monotonic() - self._accounted_until

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every_seconds):
                now = time.monotonic()
                try:
                    close_old_connections()
                    job_heartbeat(job_id=self.job_id, device_seconds=now - self._accounted_until)
                except DatabaseError:
                    logger.warning("job %s: heartbeat not written (database unreachable)", self.job_id)
                    continue
                self._accounted_until = now
        finally:
            connection.close()  # this thread's own connection
