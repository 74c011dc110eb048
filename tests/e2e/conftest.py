"""Data the end-to-end training tests share: the synthetic demo intents as train and validation sets."""

import io

import pytest

from domain.specs import TrainingOptions
from tests.e2e.helpers import wait_for
from webapp.distillation.services import finetune_start
from webapp.jobs.models import Job
from webapp.registry.demo_data import demo_jsonl
from webapp.registry.models import Teacher
from webapp.registry.services import dataset_upload

# One short epoch on short texts: these tests prove the pipeline, not the model.
SMALL = TrainingOptions(epochs=1, batch_size=16, learning_rate=1e-4, patience=2, max_length=32)


@pytest.fixture
def demo_data(task, member):
    train = dataset_upload(
        task=task, user=member, file=io.BytesIO(demo_jsonl(per_intent=40, seed=1)), filename="train.jsonl", role="train"
    )
    validation = dataset_upload(
        task=task,
        user=member,
        file=io.BytesIO(demo_jsonl(per_intent=10, seed=3, pool="validation")),
        filename="val.jsonl",
        role="validation",
    )
    task.refresh_from_db()
    return train, validation


@pytest.fixture
def tuned_teacher(live_stack, task, teacher, demo_data, member) -> Teacher:
    train, validation = demo_data
    job = finetune_start(task=task, teacher=teacher, train=train, validation=validation, user=member, options=SMALL)
    job = wait_for(job, Job.Status.SUCCEEDED)
    tuned = Teacher.objects.get(pk=job.result["teacher_id"])
    assert tuned.labels == task.labels and tuned.origin == Teacher.Origin.FINE_TUNED and tuned.source_job_id == job.pk
    assert job.device_kind.startswith("cpu") and job.device_seconds > 0
    return tuned
