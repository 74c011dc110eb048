"""A task as a team has it after a first week: the synthetic demo intents as train, validation, test and a
robustness probe; the offline teacher registered, fine-tuned by a job with its curves, distilled by a sweep
(one student done, one cancelled) and a single job, one student quantized; every model evaluated on
validation, test and the probe; a profile job; a saved scenario with τ set by hand, and a newer one with a
certified τ (the overview's "At a glance" reads the newest). Rows are written by the real services and
the real recording code (tests/factories.py), the jobs' own rows as their workers leave them."""

import io
import random
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from domain.naming import finetuned_teacher_name, quantized_name, student_name
from domain.results import Artifact, StudentQuantized, StudentTrained, TeacherTrained
from tests.factories import TEACHER_REF, evaluation_of
from webapp.distillation.recording import student_record, student_variant_record, teacher_record
from webapp.economics.models import Scenario
from webapp.economics.services import assumptions_from, scenario_save
from webapp.evaluation.services import robustness_probe_create
from webapp.jobs.models import Job, JobMetric
from webapp.registry.demo_data import demo_jsonl
from webapp.registry.models import Dataset, Student, Task, Teacher
from webapp.registry.services import dataset_upload, teacher_register

CPU = {"kind": "cpu", "name": "AMD EPYC 7B13", "threads": 2, "dtype": "float32"}
TEACHER_SPEED = {"latency_p50_ms": 11.8, "latency_p95_ms": 14.9, "throughput_b32": 61.0, "parameters": 22_713_216}


def side_by_side(teacher: Teacher, student: dict) -> dict:
    """What an evaluate job adds to a student's speed when it timed the teacher in the same rounds."""
    teacher_rounds = [12.4, 11.9, 13.6, 11.7, 12.0]
    student_rounds = [student["latency_p50_ms"] * f for f in (1.0, 0.98, 1.2, 1.01, 0.97)]
    teacher_throughput = [59.0, 61.5, 52.0, 60.2, 60.8]
    student_throughput = [student["throughput_b32"] * f for f in (1.0, 1.02, 0.8, 0.99, 1.01)]

    def spread(ratios: list[float]) -> dict:
        return {"median": sorted(ratios)[2], "min": min(ratios), "max": max(ratios), "rounds": 5, "per_round": ratios}

    return {
        "rounds": 5, "round_latency_ms": student_rounds, "round_throughput": student_throughput,
        "side_by_side": {
            "teacher_id": teacher.pk, "teacher_name": teacher.name, "teacher_sha256": teacher.artifact_sha256,
            "rounds": 5,
            "teacher": {"latency_p50_ms": 12.0, "latency_p95_ms": 15.2, "throughput_b32": 60.2,
                        "round_latency_ms": teacher_rounds, "round_throughput": teacher_throughput,
                        "parameters": TEACHER_SPEED["parameters"]},
            "latency_speedup": spread([t / s for t, s in zip(teacher_rounds, student_rounds, strict=True)]),
            "throughput_speedup": spread([s / t for s, t in zip(student_throughput, teacher_throughput, strict=True)]),
        },
    }  # fmt: skip


@dataclass
class Populated:
    task: Task
    datasets: dict[str, Dataset]
    base: Teacher
    teacher: Teacher
    students: list[Student]
    quantized: Student
    jobs: dict[str, Job]
    scenario: Scenario
    certified: Scenario  # the newest scenario: τ certified (accuracy ≥ 90% on kept validation traffic)


def _upload(task, user, role: str, per_intent: int, seed: int) -> Dataset:
    pool = role if role in ("validation", "test") else "train"
    content = demo_jsonl(per_intent=per_intent, seed=seed, pool=pool)
    return dataset_upload(task=task, user=user, file=io.BytesIO(content), filename=f"{role}.jsonl", role=role)


def _logits(targets: list[int], labels: int, *, seed: int, right: float) -> list[list[float]]:
    """Logits right with probability `right`, more confident when right."""
    rng = random.Random(seed)
    rows = []
    for truth in targets:
        correct = rng.random() < right
        guess = truth if correct else (truth + 1 + rng.randrange(labels - 1)) % labels
        row = [rng.random() * 0.5 for _ in range(labels)]
        row[guess] = (3.0 if correct else 1.5) + rng.random() * 2
        rows.append(row)
    return rows


def _finished(task, kind: str, *, minutes: float, **fields) -> Job:
    """A job row as its worker leaves it when it succeeds."""
    end = timezone.now() - timedelta(minutes=5)
    defaults = {"status": Job.Status.SUCCEEDED, "device": CPU, "device_kind": "cpu: AMD EPYC 7B13 (2 threads)"}
    return Job.objects.create(
        task=task, kind=kind, started_at=end - timedelta(minutes=minutes), finished_at=end,
        device_seconds=minutes * 60, **(defaults | fields),
    )  # fmt: skip


def _curves(job: Job, steps: int) -> None:
    points = []
    for step in range(10, steps + 1, 10):
        points.append(JobMetric(job=job, name="train_loss", step=step, value=1.8 * 0.97 ** (step / 10)))
        if step % 50 == 0:
            points.append(JobMetric(job=job, name="val_loss", step=step, value=1.6 * 0.95 ** (step / 50)))
            points.append(JobMetric(job=job, name="val_accuracy", step=step, value=min(0.97, 0.4 + step / 400)))
    JobMetric.objects.bulk_create(points)


def _artifact(name: str, size: int) -> Artifact:
    return Artifact(ref=f"./distillery/task-1/{name}", sha256=f"{abs(hash(name)):064x}"[:64], size_bytes=size)


@pytest.fixture
def populated(task: Task, member) -> Populated:
    task.requests_per_month = 3_000_000
    task.save(update_fields=["requests_per_month"])
    datasets = {
        "train": _upload(task, member, "train", 60, 1),
        "validation": _upload(task, member, "validation", 30, 3),
        "test": _upload(task, member, "test", 25, 5),
    }
    datasets["ood"] = robustness_probe_create(dataset=datasets["test"], user=member)
    task.refresh_from_db()
    labels = list(task.labels)

    # The teacher as a new user registers it (the name the form defaults to), and its fine-tune.
    base = teacher_register(task=task, user=member, name="", model_ref=TEACHER_REF)
    profile = _finished(
        task, Job.Kind.PROFILE_DATASET, minutes=0.3, step=1, total=1, created_by=member,
        title=f"Profile {datasets['train']} with {base.name}'s tokenizer",
        params={"dataset_id": datasets["train"].pk, "teacher_id": base.pk, "max_length": 128},
        result={"rows": 360, "dataset": str(datasets["train"]), "mean_tokens": 11.2, "median_tokens": 11,
                "p95_tokens": 16, "max_tokens": 19, "truncated_rows": 0, "truncated_share": 0.0, "max_length": 128,
                "unknown_tokens": 0, "unknown_token_rate": 0.0, "total_tokens": 4032,
                "histogram": {"edges": [0, 5, 10, 15, 20], "counts": [0, 120, 200, 40]}},
    )  # fmt: skip
    finetune = _finished(
        task, Job.Kind.FINETUNE_TEACHER, minutes=13, step=36, total=36, queue=Job.Queue.GPU, created_by=member,
        title=f"Fine-tune {base.name} on {datasets['train']}",
        params={"teacher_id": base.pk, "train_dataset_id": datasets["train"].pk,
                "training": {"epochs": 3, "batch_size": 32}},
        result={"epochs": 3.0, "seconds_per_epoch": 240.0},
    )  # fmt: skip
    _curves(finetune, 36 * 10)
    teacher = Teacher.objects.get(
        pk=teacher_record(
            finetune,
            TeacherTrained(
                message="", base_teacher_id=base.pk, name=finetuned_teacher_name(base.name, finetune.pk),
                artifact=_artifact(f"teacher-job{finetune.pk}", 90_868_000), labels=labels, max_length=128,
                parameters=22_717_830, metrics={"val_accuracy": 0.962, "val_loss": 0.21, "epochs": 3},
            ),
        )["teacher_id"]
    )  # fmt: skip

    # A sweep of two sizes, cancelled after its first student, and a single 4-layer distil job.
    sweep = _finished(
        task, Job.Kind.SWEEP, minutes=9, step=1, total=2, status=Job.Status.CANCELLED, queue=Job.Queue.GPU,
        title=f"Distil a sweep of 2, 3-layer students from {teacher.name}",
        params={"teacher_id": teacher.pk, "sizes": [2, 3]}, cancel_requested=True, message="Cancelled.",
    )  # fmt: skip
    children = [
        _finished(
            task, Job.Kind.DISTILL_STUDENT, minutes=6, step=200, total=200, parent=sweep, queue="gpu",
            title=f"Distil a 2-layer truncated student from {teacher.name}",
        ),
        _finished(
            task, Job.Kind.DISTILL_STUDENT, minutes=3, step=80, total=200, parent=sweep, queue="gpu",
            status=Job.Status.CANCELLED, message="Cancelled.",
            title=f"Distil a 3-layer truncated student from {teacher.name}",
        ),
    ]  # fmt: skip
    single = _finished(
        task, Job.Kind.DISTILL_STUDENT, minutes=7, step=200, total=200, queue="gpu",
        title=f"Distil a 4-layer truncated student from {teacher.name}",
    )  # fmt: skip
    _curves(single, 200)
    students = []
    for job, layers in ((children[0], 2), (single, 4)):
        result = StudentTrained(
            message="", teacher_id=teacher.pk, name=student_name("truncated", layers, job.pk),
            artifact=_artifact(f"student-job{job.pk}", 45_000_000 + layers * 7_000_000),
            construction="truncated", layers=layers, parameters=11_000_000 + layers * 1_800_000, labels=labels,
            config={"construction": "truncated", "layers": layers, "temperature": 2.0, "alpha": 0.5},
            metrics={"val_accuracy": 0.9 + layers / 100, "val_loss": 0.4, "epochs": 1},
        )  # fmt: skip
        students.append(Student.objects.get(pk=student_record(job, result)["student_id"]))
    quantize = _finished(
        task, Job.Kind.QUANTIZE_STUDENT, minutes=0.5, step=1, total=1, title=f"Quantize {students[0].name} to int8"
    )
    quantized = Student.objects.get(
        pk=student_variant_record(
            quantize,
            StudentQuantized(
                message="", parent_student_id=students[0].pk, name=quantized_name(students[0].name),
                artifact=_artifact(f"student-job{quantize.pk}", 18_500_000), method="int8_weight_only",
                metrics={"agreement_with_fp32": 0.994, "size_ratio": 0.41},
            ),
        )["student_id"]
    )  # fmt: skip

    # Every model on every set, as evaluate jobs record it (the validation set fits T and τ).
    models = [(teacher, 0.95, None), (students[0], 0.9, 2.4), (students[1], 0.93, 3.9)]
    models.append((quantized, 0.89, 1.7))
    for role, dataset in datasets.items():
        if role == "train":
            continue
        rows = list(dataset.rows())
        targets = [labels.index(row["label"]) for row in rows]
        teacher_logits = _logits(targets, len(labels), seed=dataset.pk, right=0.95)
        for i, (model, right, latency) in enumerate(models):
            speed = TEACHER_SPEED if latency is None else {
                "latency_p50_ms": latency, "latency_p95_ms": latency * 1.3, "throughput_b32": 1000 / latency,
                "parameters": model.parameters, "artifact_bytes": model.size_bytes,
            }  # fmt: skip
            if model == students[0]:  # timed beside its teacher; the others keep the older, alone-only shape
                speed = speed | side_by_side(teacher, speed)
            logits = (
                teacher_logits
                if model == teacher
                else _logits(targets, len(labels), seed=7 * i + dataset.pk, right=right)
            )
            evaluation_of(
                model, dataset, logits=logits, targets=targets, speed=speed,
                temperature=1.3 if model == quantized else 1.0,  # one T that makes a set worse: its warning shows
                teacher_logits=None if isinstance(model, Teacher) else teacher_logits,
            )  # fmt: skip

    scenario = scenario_save(
        task=task, student=students[0], user=member, name="Base case",
        assumptions=assumptions_from({"tau_rule": "manual", "manual_tau": 0.8}, task=task),
    )  # fmt: skip
    # 116 validation rows are too few to certify 99% agreement (299 needed); 90% accuracy certifies.
    certified = scenario_save(
        task=task, student=students[0], user=member, name="Certified pilot",
        assumptions=assumptions_from(
            {"tau_rule": "certified", "certify_on": "accuracy", "certified_target": 0.9}, task=task
        ),
    )  # fmt: skip
    # A fine-tune running now: its first step came after 35 s of loading, a few more since.
    now = timezone.now()
    running = Job.objects.create(
        task=task, kind=Job.Kind.FINETUNE_TEACHER, status=Job.Status.RUNNING, queue=Job.Queue.GPU, step=4,
        total=340, started_at=now - timedelta(seconds=50), heartbeat_at=now, rate_since=now - timedelta(seconds=12),
        rate_since_step=1, device=CPU, device_kind="cpu: AMD EPYC 7B13 (2 threads)", device_seconds=40.0,
        title=f"Fine-tune {base.name} on {datasets['train']}", message="epoch 1/1 step 4/340", created_by=member,
        params={"teacher_id": base.pk, "train_dataset_id": datasets["train"].pk},
    )  # fmt: skip
    jobs = {"profile": profile, "finetune": finetune, "sweep": sweep, "distil": single, "quantize": quantize}
    jobs["running"] = running
    jobs["evaluate"] = Job.objects.filter(task=task, kind=Job.Kind.EVALUATE).latest("pk")
    return Populated(task, datasets, base, teacher, students, quantized, jobs, scenario, certified)
