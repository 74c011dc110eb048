"""Progress of a running job: to its row (throttled) and from there to every open page."""

import threading
import time
from collections.abc import Mapping

from django.db import close_old_connections, connection
from django.utils import timezone

from webapp.jobs.events import publish_job_metrics, publish_job_update
from webapp.jobs.models import Job, JobMetric

WRITE_EVERY_SECONDS = 0.5
# A fast job still shows its bar move: also write when progress moved this much since the last write.
WRITE_EVERY_PROGRESS = 0.05
CANCEL_CHECK_EVERY_SECONDS = 1.0


class JobReporter:
    """Implements workers.ml.reporting.Reporter for a Job row.

    Only the columns the worker owns are written (with .update()), so a cancel request saved by
    the web process at the same moment is never overwritten."""

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
            JobMetric.objects.bulk_create([JobMetric(job=self.job, **point) for point in points])
            publish_job_metrics(self.job, points)
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
            self._cancelled = Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()
        return self._cancelled

    def flush(self) -> None:
        self._last_write = time.monotonic()
        self._last_written_progress = self.job.progress
        self.job.heartbeat_at = timezone.now()
        Job.objects.filter(pk=self.job.pk).update(
            step=self.job.step,
            total=self.job.total,
            message=self.job.message,
            log_tail=self.job.log_tail,
            heartbeat_at=self.job.heartbeat_at,
        )
        publish_job_update(self.job)


class Heartbeat:
    """Writes the job's heartbeat from a side thread, so a long step without progress reports
    (loading a model, a slow batch) doesn't look like a dead worker to the reaper."""

    def __init__(self, job_id: int, every_seconds: float) -> None:
        self.job_id = job_id
        self.every_seconds = every_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every_seconds):
                close_old_connections()
                Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            connection.close()  # this thread's own connection
