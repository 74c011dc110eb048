"""Data the end-to-end training tests share: the synthetic demo intents as train and validation sets."""

import io
from dataclasses import replace

import pytest

from domain.results import Artifact, TeacherTrained
from domain.specs import FinetuneSpec, TrainingOptions
from tests.e2e.helpers import wait_for
from webapp.distillation.recording import teacher_record
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


# The first fine-tune of a run, reused by later tests: the same base model on the same seeded data would
# train to the same teacher, so it is trained once (on the real worker) and recorded again for each task.
_FIRST_FINE_TUNE: dict[str, TeacherTrained] = {}


@pytest.fixture
def tuned_teacher(live_stack, task, teacher, demo_data, member) -> Teacher:
    train, validation = demo_data
    if "result" not in _FIRST_FINE_TUNE:
        job = finetune_start(task=task, teacher=teacher, train=train, validation=validation, user=member, options=SMALL)
        job = wait_for(job, Job.Status.SUCCEEDED)
        tuned = Teacher.objects.get(pk=job.result["teacher_id"])
        assert tuned.labels == task.labels and tuned.origin == Teacher.Origin.FINE_TUNED
        assert tuned.source_job_id == job.pk and job.device["kind"] == "cpu" and job.device_seconds > 0
        _FIRST_FINE_TUNE["result"] = TeacherTrained(
            message="",
            base_teacher_id=0,
            name=tuned.name,
            artifact=Artifact(ref=tuned.model_ref, sha256=tuned.artifact_sha256, size_bytes=0),
            labels=list(tuned.labels),
            max_length=tuned.max_length,
            parameters=tuned.metrics["parameters"],
            metrics={k: v for k, v in tuned.metrics.items() if k != "parameters"},
        )
        return tuned
    # Later tests: a finished fine-tune job of this task, recorded by the real recording service.
    spec = FinetuneSpec(
        teacher_id=teacher.pk, train_dataset_id=train.pk, validation_dataset_id=validation.pk, training=SMALL
    )
    job = Job.objects.create(
        task=task, kind=spec.kind, params=spec.to_params(), queue=spec.queue, status=Job.Status.SUCCEEDED
    )
    result = replace(_FIRST_FINE_TUNE["result"], base_teacher_id=teacher.pk)
    return Teacher.objects.get(pk=teacher_record(job, result)["teacher_id"])
