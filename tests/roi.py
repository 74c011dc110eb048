"""A student with everything an ROI analysis needs, recorded the way evaluate jobs record it: predictions
(with its teacher's) on a validation and a test set, measured speed of both, and the producing jobs' compute."""

import io
import json
import random

import pytest

from tests.factories import evaluation_of
from webapp.jobs.models import Job
from webapp.registry.models import Student
from webapp.registry.services import dataset_upload

LABELS = ["banking", "travel"]
STUDENT_SPEED = {"latency_p50_ms": 2.0, "latency_p95_ms": 3.0, "throughput_b32": 400.0, "parameters": 5_000_000}
TEACHER_SPEED = {"latency_p50_ms": 12.0, "latency_p95_ms": 15.0, "throughput_b32": 60.0, "parameters": 22_000_000}


def _rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [{"text": f"message {seed}-{i} {rng.random():.6f}", "label": LABELS[i % 2]} for i in range(n)]


def _logits(rows: list[dict], *, seed: int, right: float, margin: float) -> list[list[float]]:
    """Logits that are right with probability `right`, confident by about `margin` when right."""
    rng = random.Random(seed)
    out = []
    for row in rows:
        truth = LABELS.index(row["label"])
        guess = truth if rng.random() < right else 1 - truth
        confidence = margin * rng.random() + (0.1 if guess == truth else 0.0)
        out.append([confidence, 0.0] if guess == 0 else [0.0, confidence])
    return out


def _upload(task, member, rows, name, role):
    content = "\n".join(json.dumps(r) for r in rows).encode()
    return dataset_upload(task=task, user=member, file=io.BytesIO(content), filename=name, role=role)


@pytest.fixture
def roi_student(task, member, teacher, dataset) -> Student:
    """A 2-layer student of `teacher` evaluated on 400 validation and 300 test rows (about 90% right, the
    teacher about 96%), timed on a CPU, with a fine-tune and a distil job of known device time."""
    teacher.labels = LABELS
    teacher.save(update_fields=["labels"])
    task.refresh_from_db()
    finetune = Job.objects.create(
        task=task, kind=Job.Kind.FINETUNE_TEACHER, status=Job.Status.SUCCEEDED, device_seconds=1800.0,
        device={"kind": "cpu", "name": "test", "threads": 2, "dtype": "float32"},
    )  # fmt: skip
    distil = Job.objects.create(
        task=task, kind=Job.Kind.DISTILL_STUDENT, status=Job.Status.SUCCEEDED, device_seconds=900.0,
        device={"kind": "cpu", "name": "test", "threads": 2, "dtype": "float32"}, params={"teacher_id": teacher.pk},
    )  # fmt: skip
    teacher.source_job = finetune
    teacher.save(update_fields=["source_job"])
    student = Student.objects.create(
        task=task, teacher=teacher, name="2-layer student", construction="truncated", layers=2, labels=LABELS,
        artifact="./distillery/none", source_job=distil,
    )  # fmt: skip
    for name, role, n, seed in (("val.jsonl", "validation", 400, 1), ("test.jsonl", "test", 300, 2)):
        rows = _rows(n, seed)
        dataset_ = _upload(task, member, rows, name, role)
        targets = [LABELS.index(r["label"]) for r in rows]
        teacher_logits = _logits(rows, seed=seed + 100, right=0.96, margin=4.0)
        evaluation_of(
            student, dataset_, logits=_logits(rows, seed=seed, right=0.9, margin=4.0), targets=targets,
            teacher_logits=teacher_logits, speed=STUDENT_SPEED,
        )  # fmt: skip
        evaluation_of(teacher, dataset_, logits=teacher_logits, targets=targets, speed=TEACHER_SPEED)
    return student


@pytest.fixture
def roi_scenario(task, member, roi_student):
    """A saved scenario of `roi_student` (τ by hand: the fixture's validation set is too small to certify)."""
    from webapp.economics.services import assumptions_from, scenario_save

    values = {"tau_rule": "manual", "manual_tau": 0.8}
    return scenario_save(
        task=task, student=roi_student, user=member, name="Base case", assumptions=assumptions_from(values, task=task)
    )


def side_by_side_speed(teacher, *, latency_rounds: list[float], throughput_rounds: list[float]) -> dict:
    """A student's speed as an evaluate job records it when it timed the teacher beside it: the student's own
    figures (the keys older evaluations have too) and the teacher's from the same rounds, with per-round ratios."""
    student = {"latency_p50_ms": 2.2, "latency_p95_ms": 3.1, "throughput_b32": 380.0, "parameters": 5_000_000}
    teacher_figures = {"latency_p50_ms": 13.0, "latency_p95_ms": 16.0, "throughput_b32": 58.0, "parameters": 22_000_000}

    def ratio(per_round: list[float]) -> dict:
        ordered = sorted(per_round)
        return {"median": ordered[len(ordered) // 2], "min": ordered[0], "max": ordered[-1],
                "rounds": len(per_round), "per_round": per_round}  # fmt: skip

    return student | {
        "rounds": len(latency_rounds),
        "side_by_side": {
            "teacher_id": teacher.pk, "teacher_name": teacher.name, "teacher_sha256": "", "rounds": len(latency_rounds),
            "teacher": teacher_figures, "latency_speedup": ratio(latency_rounds),
            "throughput_speedup": ratio(throughput_rounds),
        },
    }  # fmt: skip


@pytest.fixture
def self_hosted_teacher(roi_student):
    """roi_student's teacher registered as self-hosted at $3 per GPU-hour (its timing is on a CPU)."""
    teacher = roi_student.teacher
    teacher.cost_mode = teacher.CostMode.GPU
    teacher.gpu_hour_price = 3
    teacher.save(update_fields=["cost_mode", "gpu_hour_price"])
    return teacher
