"""An evaluate job of a student times its teacher in the same run (same device, texts and rounds, interleaved),
so the speed-up is a ratio per round with its spread; a teacher with nothing to run leaves the student timed
alone. Real jobs, run here on tiny models saved under MODEL_ROOT."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from tests.deployable import save_tiny_classifier
from tests.factories import upload
from tests.ml.tiny import one_torch_thread  # noqa: F401
from tests.roi import LABELS
from webapp.evaluation.models import Evaluation
from webapp.evaluation.services import evaluate_start
from webapp.jobs.models import Job
from webapp.registry.models import Student
from webapp.registry.services import dataset_upload, teacher_register, teacher_upload_outputs
from workers.runner import run_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("one_torch_thread")]

TEST_CSV = b"text,label\nbank card message,banking\nhotel trip,travel\nflight hotel message,travel\ncard bank,banking\n"


def _student(task, teacher, name: str) -> Student:
    relative = f"students/side-by-side-{task.pk}-{name}"
    sha256 = save_tiny_classifier(Path(settings.MODEL_ROOT) / relative, seed=1, layers=1)
    return Student.objects.create(
        task=task, teacher=teacher, name=name, construction=Student.Construction.TRUNCATED, layers=1,
        labels=LABELS, artifact=relative, artifact_sha256=sha256,
    )  # fmt: skip


def _evaluate(task, member, student, dataset) -> tuple[Job, Evaluation]:
    job = evaluate_start(task=task, user=member, model=student, datasets=[dataset])
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job, Evaluation.objects.get(job=job, dataset_sha256=dataset.sha256)


@pytest.fixture
def test_set(task, member, dataset):
    return dataset_upload(task=task, user=member, file=upload("t.csv", TEST_CSV), filename="t.csv", role="test")


def test_a_student_is_timed_side_by_side_with_its_teacher(task, member, test_set) -> None:
    save_tiny_classifier(Path(settings.MODEL_ROOT) / f"teachers/side-by-side-{task.pk}", layers=3)
    teacher = teacher_register(task=task, user=member, name="tiny", model_ref=f"./teachers/side-by-side-{task.pk}")
    teacher.labels = LABELS
    teacher.save(update_fields=["labels"])
    student = _student(task, teacher, "1-layer")

    job, evaluation = _evaluate(task, member, student, test_set)

    speed = evaluation.speed
    # The keys older evaluations have are still there, about the student.
    assert {"latency_p50_ms", "latency_p95_ms", "throughput_b32", "parameters", "device"} <= set(speed)
    side = speed["side_by_side"]
    assert (side["teacher_id"], side["teacher_name"], side["rounds"]) == (teacher.pk, "tiny", 5)
    assert side["teacher"]["parameters"] > speed["parameters"]  # 3 layers against 1: the teacher was timed
    assert side["teacher"]["latency_p50_ms"] > 0 and side["teacher"]["throughput_b32"] > 0
    # Each round's ratio is of the two models' figures in that same round.
    latency, throughput = side["latency_speedup"], side["throughput_speedup"]
    assert latency["per_round"] == pytest.approx(
        [t / s for t, s in zip(side["teacher"]["round_latency_ms"], speed["round_latency_ms"], strict=True)]
    )
    assert throughput["per_round"] == pytest.approx(
        [s / t for s, t in zip(speed["round_throughput"], side["teacher"]["round_throughput"], strict=True)]
    )
    for ratio in (latency, throughput):
        assert ratio["rounds"] == len(ratio["per_round"]) == 5
        assert ratio["min"] <= ratio["median"] <= ratio["max"]
    assert "timing student and teacher side by side ('tiny')" in job.log_tail
    assert "side by side: " in job.log_tail and "lower latency (rounds " in job.log_tail


def test_a_student_of_uploaded_teacher_outputs_is_timed_alone_saying_why(task, member, test_set) -> None:
    outputs = "".join(
        json.dumps({"text": row["text"], "probs": [0.2, 0.8] if row["label"] == "travel" else [0.9, 0.1]}) + "\n"
        for row in test_set.rows()
    ).encode()
    teacher = teacher_upload_outputs(
        task=task, user=member, name="api", file=upload("o.jsonl", outputs), filename="o.jsonl"
    )
    student = _student(task, teacher, "of-uploads")

    job, evaluation = _evaluate(task, member, student, test_set)

    assert "side_by_side" not in evaluation.speed and evaluation.speed["throughput_b32"] > 0
    assert "timing the student alone: teacher 'api' is uploaded outputs only" in job.log_tail
