"""Evaluation on a real worker: a fine-tuned teacher and a distilled student scored on a test set, a
robustness probe made from it, and an OOD set holding out-of-scope rows; calibration fitted on validation,
per-example predictions stored, speed measured, the teacher's outputs reused for agreement."""

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from domain.digests import file_sha256
from domain.model_refs import resolve_model_ref
from domain.specs import StudentOptions
from tests.e2e.conftest import SMALL
from tests.e2e.helpers import upload_teacher, wait_for
from webapp.distillation.services import distil_students
from webapp.evaluation.models import Evaluation
from webapp.evaluation.services import evaluate_many, robustness_probe_create
from webapp.jobs.models import Job
from webapp.registry.demo_data import demo_jsonl
from webapp.registry.models import Dataset, Student, Teacher
from webapp.registry.services import dataset_upload
from workers.ml.artifacts import load_artifact_metadata

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OUT_OF_SCOPE = ["what's the weather in lisbon", "play some jazz", "how tall is mount everest", "tell me a joke"]


def upload(task, member, content: bytes, name: str, role: str) -> Dataset:
    return dataset_upload(task=task, user=member, file=io.BytesIO(content), filename=name, role=role)


def test_a_teacher_and_its_student_are_evaluated_in_and_out_of_distribution(
    live_stack, task, tuned_teacher, demo_data, member
):
    train, validation = demo_data
    test = upload(task, member, demo_jsonl(per_intent=6, seed=5, pool="test"), "test.jsonl", "test")
    ood_rows = [json.loads(line) for line in demo_jsonl(per_intent=2, seed=7, pool="test").decode().splitlines()]
    ood_rows += [{"text": text, "label": "oos"} for text in OUT_OF_SCOPE]
    ood = upload(task, member, "\n".join(json.dumps(r) for r in ood_rows).encode(), "traffic.jsonl", "ood")
    probe = robustness_probe_create(dataset=test, user=member)
    job = distil_students(
        confirm_below_bar=True,
        task=task,
        teacher=tuned_teacher,
        train=train,
        validation=validation,
        user=member,
        student=StudentOptions(layers=1),
        options=SMALL,
    )
    student = Student.objects.get(pk=wait_for(job, Job.Status.SUCCEEDED).result["student_id"])

    jobs = evaluate_many(task=task, user=member, models=[tuned_teacher, student], datasets=[test, ood, probe])
    for job in jobs:
        wait_for(job, Job.Status.SUCCEEDED)

    evaluations = Evaluation.objects.filter(task=task)
    # Each model on the three sets, and on the validation set its T and τ were fitted on (kept for routing).
    assert evaluations.count() == 8
    assert evaluations.filter(dataset=validation).count() == 2
    on_test = evaluations.get(student=student, dataset=test)
    # Quality, calibration before/after the temperature fitted on validation, and the teacher comparison.
    assert 0 <= on_test.accuracy <= 1 and on_test.macro_f1 is not None
    assert on_test.temperature > 0 and on_test.ece_before is not None and on_test.ece_after is not None
    assert on_test.metrics["calibration"]["fitted_on"] == validation.row_count
    assert 0 <= on_test.agreement_with_teacher <= 1
    assert len(on_test.metrics["quality"]["worst_classes"]) == 5
    # Out-of-scope rows are reported at τ, not scored against labels the model can't predict.
    on_ood = evaluations.get(student=student, dataset=ood)
    assert on_ood.in_scope_examples == len(ood_rows) - len(OUT_OF_SCOPE)
    assert on_ood.metrics["out_of_scope"]["count"] == len(OUT_OF_SCOPE)
    # Per-example predictions, in dataset order with stable row ids, with the teacher's label probability;
    # the file's digest is on the evaluation.
    path = Path(settings.DATA_DIR) / on_test.predictions_path
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == test.row_count and {"row", "prediction", "confidence", "p_teacher_label"} <= set(rows[0])
    assert [row["row"] for row in rows] == list(range(test.row_count))
    assert on_test.predictions_sha256 == file_sha256(path)
    # What was measured: the student's artifact (its digest, as recorded when it was produced), T and τ with
    # the validation set that fitted them, speed with the device it was timed on. Nothing is copied onto the
    # model row ("last run wins").
    student.refresh_from_db()
    tuned_teacher.refresh_from_db()
    assert on_test.artifact_sha256 == student.artifact_sha256 != ""
    assert on_test.artifact_sha256 == load_artifact_metadata(resolve(student.artifact))["sha256"]
    assert on_test.calibration_dataset == validation and on_test.calibration_dataset_sha256 == validation.sha256
    assert "temperature" not in student.metrics and "speed" not in student.metrics
    speeds = {}
    for model in (student, tuned_teacher):
        speed = Evaluation.objects.filter(job__in=jobs).filter(**{model_field(model): model}).first().speed
        assert speed["latency_p50_ms"] > 0 and speed["throughput_b32"] > 0 and speed["parameters"] > 0
        assert speed["device"]["kind"] == "cpu" and speed["device"]["threads"] >= 1
        speeds[model_field(model)] = speed
    assert speeds["student"]["parameters"] < speeds["teacher"]["parameters"]
    # The evaluate job's teacher calls are counted on the job (an encoder emits no output tokens).
    student_job = Job.objects.get(pk=jobs[1].pk)
    assert student_job.teacher_examples > 0 and student_job.teacher_input_tokens > 0
    # The teacher is not compared with itself; the probe's rows are perturbed copies of the test set.
    assert evaluations.get(teacher=tuned_teacher, dataset=test).agreement_with_teacher is None
    assert probe.row_count == test.row_count and probe.role == Dataset.Role.OOD


def model_field(model) -> str:
    return "teacher" if isinstance(model, Teacher) else "student"


def resolve(ref: str) -> Path:
    return resolve_model_ref(ref, model_root=Path(settings.MODEL_ROOT)).path


def test_an_evaluate_job_on_a_deleted_dataset_fails_with_a_message(live_stack, task, demo_data, member):
    train, _ = demo_data
    test = upload(task, member, demo_jsonl(per_intent=3, seed=5, pool="test"), "test.jsonl", "test")
    teacher = upload_teacher(task, member, list(train.rows()) + list(test.rows()), "api-teacher")
    with transaction.atomic():  # the job reaches the worker on commit: after the dataset is gone
        [job] = evaluate_many(task=task, user=member, models=[teacher], datasets=[test])
        Dataset.objects.filter(pk=test.pk).delete()

    job = wait_for(job, Job.Status.FAILED)

    assert "no longer exists" in job.error
    assert not Evaluation.objects.exists()


def test_a_teacher_given_as_uploaded_outputs_is_evaluated_from_them(live_stack, task, demo_data, member):
    train, _ = demo_data
    test = upload(task, member, demo_jsonl(per_intent=3, seed=5, pool="test"), "test.jsonl", "test")
    teacher = upload_teacher(task, member, list(train.rows()) + list(test.rows()), "api-teacher")

    [job] = evaluate_many(task=task, user=member, models=[teacher], datasets=[test])
    wait_for(job, Job.Status.SUCCEEDED)

    # The upload put 0.8 on each row's own label: every answer right, no speed to measure (no weights).
    # It has no outputs for the validation set, so the evaluation stands uncalibrated and says so.
    evaluation = Evaluation.objects.get(teacher=teacher, dataset=test)
    assert evaluation.accuracy == 1.0 and evaluation.temperature == 1.0
    assert "not calibrated: Teacher 'api-teacher' has no uploaded outputs" in Job.objects.get(pk=job.pk).log_tail
    assert evaluation.speed is None and evaluation.calibration_dataset is None
    # Nothing ran here: the rows covered are counted, the tokens estimated and flagged so.
    job = Job.objects.get(pk=job.pk)
    assert job.teacher_examples >= test.row_count and job.teacher_input_tokens > 0 and job.teacher_usage_estimated
