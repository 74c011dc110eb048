"""Decisions as the serving process logs them, for monitoring tests: ServedDecision rows routed at the
deployment's τ (kept when the confidence reaches it), one a second from `start` unless times are given."""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.utils import timezone

from webapp.approvals.models import Deployment, ServedDecision
from webapp.approvals.monitoring import reference_of

LABELS = ("banking", "travel")


def validation_confidences(deployment: Deployment) -> list[float]:
    """The confidences of the validation set the deployment's τ was chosen on (the monitoring reference)."""
    reference = reference_of(deployment).reference
    assert reference is not None
    return [float(c) for c in reference.confidence]


def record_decisions(
    deployment: Deployment,
    confidences: Sequence[float],
    *,
    start: datetime | None = None,
    step: timedelta = timedelta(seconds=1),
    shadow_every: int = 0,
    teacher_agrees: Callable[[int, float], bool] | None = None,
    label_right: Callable[[int, float], bool] | None = None,
    teacher_answers: bool = True,
    source: str = ServedDecision.Source.ENDPOINT,
) -> list[ServedDecision]:
    """Escalated rows get the teacher's answer (unless not `teacher_answers`, as in an upload without it);
    every `shadow_every`-th kept one is shadowed. The teacher agrees with the student unless
    `teacher_agrees(i, confidence)` says not; with `label_right`, each row carries a true label, the student's
    when it says right."""
    start = start or timezone.now() - step * len(confidences)
    rows = []
    for i, confidence in enumerate(confidences):
        student = LABELS[i % 2]
        other = LABELS[(i + 1) % 2]
        kept = confidence >= deployment.tau
        shadow = kept and bool(shadow_every) and i % shadow_every == 0
        asked = (not kept or shadow) and teacher_answers
        agrees = teacher_agrees(i, confidence) if teacher_agrees else True
        rows.append(
            ServedDecision(
                deployment=deployment,
                created_at=start + step * i,
                source=source,
                tier=ServedDecision.Tier.STUDENT if kept else ServedDecision.Tier.TEACHER,
                confidence=confidence,
                student_label=student,
                teacher_label=(student if agrees else other) if asked else "",
                shadow=shadow,
                label=(student if label_right(i, confidence) else other) if label_right else "",
                latency_ms=3.0 if kept else 40.0,
            )
        )
    return ServedDecision.objects.bulk_create(rows)
