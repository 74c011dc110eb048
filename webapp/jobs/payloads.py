"""The one JSON shape of a job: the status endpoint, the API and the websocket all send this."""

from datetime import datetime
from typing import Any

from django.urls import reverse

from webapp.jobs.models import Job


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def job_payload(job: Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "task_id": job.task_id,
        "parent_id": job.parent_id,
        "kind": job.kind,
        "kind_label": job.get_kind_display(),
        "title": job.display_title,
        "status": job.status,
        "status_label": job.get_status_display(),
        "is_terminal": job.is_terminal,
        "progress": round(job.progress, 4),
        "step": job.step,
        "total": job.total,
        "message": job.message,
        "log_tail": job.log_tail,
        "error": job.error,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "elapsed_seconds": job.elapsed_seconds,
        "eta_seconds": job.eta_seconds,
        "attempts": job.attempts,
        "params": job.params,
        "device_kind": job.device_kind,
        "device": job.device,
        "device_seconds": round(job.device_seconds, 3),
        "teacher_usage": {
            "examples": job.teacher_examples,
            "input_tokens": job.teacher_input_tokens,
            "output_tokens": job.teacher_output_tokens,
            "estimated": job.teacher_usage_estimated,
        },
        "cancel_requested": job.cancel_requested,
        "url": reverse("job-detail", args=[job.pk]),
    }
