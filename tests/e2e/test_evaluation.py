"""Evaluation on a real worker: a fine-tuned teacher and a distilled student scored on a test set, a
robustness probe made from it, and an OOD set holding out-of-scope rows; calibration fitted on validation,
per-example predictions stored, speed measured, the teacher's outputs reused for agreement."""

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from domain.specs import StudentOptions
from tests.e2e.conftest import SMALL
from tests.e2e.helpers import upload_teacher, wait_for
from webapp.distillation.services import distil_students
from webapp.evaluation.models import Evaluation
from webapp.evaluation.services import evaluate_many, robustness_probe_create
from webapp.jobs.models import Job
from webapp.registry.demo_data import demo_jsonl
from webapp.registry.models import Dataset, Student
from webapp.registry.services import dataset_upload

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
    assert evaluations.count() == 6
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
    # Per-example predictions, in dataset order, with the teacher's label probability.
    rows = [json.loads(line) for line in (Path(settings.DATA_DIR) / on_test.predictions_path).read_text().splitlines()]
    assert len(rows) == test.row_count and {"prediction", "confidence", "p_teacher_label"} <= set(rows[0])
    # Temperature and speed are stored with the model.
    student.refresh_from_db()
    tuned_teacher.refresh_from_db()
    assert student.metrics["temperature"] == on_test.temperature
    for model in (student, tuned_teacher):
        speed = model.metrics["speed"]
        assert speed["latency_p50_ms"] > 0 and speed["throughput_b32"] > 0 and speed["parameters"] > 0
    assert student.metrics["speed"]["parameters"] < tuned_teacher.metrics["speed"]["parameters"]
    # The teacher is not compared with itself; the probe's rows are perturbed copies of the test set.
    assert evaluations.get(teacher=tuned_teacher, dataset=test).agreement_with_teacher is None
    assert probe.row_count == test.row_count and probe.role == Dataset.Role.OOD


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
    teacher.refresh_from_db()
    assert "speed" not in teacher.metrics and teacher.metrics["temperature"] == evaluation.temperature
