"""Where a finished attempt of a job becomes rows: the one writer of what a job produced.

A handler computes and returns a typed result (domain.results); the runner calls `job_conclude` with it.
Each app registers the service that records its result types (registry: teachers, students, cached
teacher outputs; evaluation: evaluations) from its AppConfig.ready(), so this module names none of them.
Everything happens in one transaction with the job's terminal state: a job is never "succeeded" without
its rows, nor its rows without the job. `job_recorded` is sent inside that transaction: the hook for
audit events (approvals) and anything else that must see every recorded result."""

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import F
from django.dispatch import Signal

from domain.results import CachedOutputs, JobResult, Ledger
from webapp.jobs import lifecycle
from webapp.jobs.models import Job

R = TypeVar("R", bound=JobResult)
# A recorder writes the rows for a result and returns ids to keep on Job.result (e.g. {"student_id": 7}).
Recorder = Callable[[Job, Any], dict[str, Any] | None]

_RECORDERS: dict[type[JobResult], Recorder] = {}
_OUTPUTS_RECORDER: list[Callable[[Job, CachedOutputs], None]] = []

# Sent with sender=Job, job=..., result=... (None unless it succeeded), status=...
job_recorded = Signal()


def register_recorder(result_type: type[R], recorder: Callable[[Job, R], dict[str, Any] | None]) -> None:
    _RECORDERS[result_type] = recorder


def register_outputs_recorder(recorder: Callable[[Job, CachedOutputs], None]) -> None:
    _OUTPUTS_RECORDER[:] = [recorder]


def job_conclude(
    job: Job,
    *,
    status: str,
    ledger: Ledger,
    device_seconds: float,
    result: JobResult | None = None,
    message: str = "",
    error: str = "",
    traceback: str = "",
) -> Job:
    """Record an attempt's ledger (always: teacher calls and cached outputs were paid for whatever came
    after), its result (when it succeeded), and the job's terminal state, all or nothing."""
    if status == Job.Status.SUCCEEDED and result is None:
        raise ValueError("a succeeded job needs its result")
    with transaction.atomic():
        _record_ledger(job, ledger, device_seconds)
        if result is not None:
            recorder = _RECORDERS.get(type(result))
            if recorder is None:
                raise LookupError(f"no service records {type(result).__name__}: register one in an AppConfig")
            job.result = result.summary | (recorder(job, result) or {})
            message = message or result.message
        lifecycle.job_finish(job, status, message=message, error=error, traceback=traceback)
        job_recorded.send(sender=Job, job=job, result=result, status=status)
    return job


def job_interrupted(job: Job, *, reason: str, ledger: Ledger, device_seconds: float) -> bool:
    """An attempt stopped by the infrastructure (the database went away), not by the job: record what it
    used and put it back on the queue with the real reason. False if it was no longer running here."""
    with transaction.atomic():
        _record_ledger(job, ledger, device_seconds)
        return lifecycle.job_requeue(job_id=job.pk, reason=reason) is not None


def _record_ledger(job: Job, ledger: Ledger, device_seconds: float) -> None:
    usage = ledger.usage
    Job.objects.filter(pk=job.pk).update(
        device_seconds=F("device_seconds") + max(device_seconds, 0.0),
        teacher_examples=F("teacher_examples") + usage.examples,
        teacher_input_tokens=F("teacher_input_tokens") + usage.input_tokens,
        teacher_output_tokens=F("teacher_output_tokens") + usage.output_tokens,
    )
    if usage.estimated:
        Job.objects.filter(pk=job.pk).update(teacher_usage_estimated=True)
    job.refresh_from_db(fields=["device_seconds", "teacher_examples", "teacher_input_tokens", "teacher_output_tokens"])
    if ledger.device is not None:
        job.device = asdict(ledger.device)
        job.device_kind = ledger.device.describe()[:120]
    for cached in ledger.cached_outputs:
        for recorder in _OUTPUTS_RECORDER:
            recorder(job, cached)
