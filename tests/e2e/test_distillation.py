"""The distillation engine on a real worker: fine-tune the offline teacher, distil a sweep of students from
its cached logits, and resume a distil job after its worker was SIGKILLed mid-training."""

import io
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from webapp.distillation.services import StudentSpec, TrainingOptions, distill_start, finetune_start, sweep_start
from webapp.jobs.models import Job
from webapp.jobs.services import jobs_reap_lost
from webapp.registry.demo_data import demo_jsonl
from webapp.registry.models import Student, Teacher, TeacherOutputs
from webapp.registry.services import dataset_upload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
Status = Job.Status
SMALL = TrainingOptions(epochs=1, batch_size=16, learning_rate=1e-4, patience=2, max_length=32)


def wait_for(job: Job, *statuses: str, timeout: float = 300, until=None) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if (until and until(job)) or job.status in statuses:
            return job
        if job.is_terminal:
            raise AssertionError(f"job {job.pk} ended {job.status}: {job.error}\n{job.log_tail}")
        time.sleep(0.2)
    raise AssertionError(f"job {job.pk} is still {job.status} (step {job.step}/{job.total})")


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
    job = wait_for(job, Status.SUCCEEDED)
    tuned = Teacher.objects.get(pk=job.result["teacher_id"])
    assert tuned.labels == task.labels and tuned.origin == Teacher.Origin.FINE_TUNED and tuned.source_job_id == job.pk
    assert job.device_kind.startswith("cpu") and job.device_seconds > 0
    return tuned


def test_a_sweep_distils_students_from_the_teachers_cached_logits(live_stack, task, tuned_teacher, demo_data, member):
    train, validation = demo_data
    sweep = sweep_start(
        task=task,
        teacher=tuned_teacher,
        train=train,
        validation=validation,
        user=member,
        layer_counts=[1, 2],
        spec=StudentSpec(),
        options=SMALL,
    )
    sweep = wait_for(sweep, Status.SUCCEEDED)
    students = list(Student.objects.filter(task=task).order_by("layers"))
    assert [s.layers for s in students] == [1, 2]
    # The teacher ran once over the training set; the second student reused its logits.
    assert TeacherOutputs.objects.filter(teacher=tuned_teacher).count() == 1
    logs = [child.log_tail for child in sweep.children.order_by("pk")]
    assert "to cache its logits" in logs[0] and "reused from cache" in logs[1]
    # Live curves were recorded, and each artifact loads in plain transformers.
    child = sweep.children.first()
    assert child.metrics.filter(name="val_accuracy").exists() and child.metrics.filter(name="train_loss").exists()
    from django.conf import settings

    folder = settings.MODEL_ROOT / students[0].artifact
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert model.config.num_hidden_layers == 1 and list(model.config.id2label.values()) == task.labels
    assert model(**tokenizer(["I lost my card"], return_tensors="pt")).logits.shape == (1, len(task.labels))


def test_a_distil_job_resumes_from_its_checkpoint_after_its_worker_is_killed(
    live_stack, settings, task, tuned_teacher, demo_data, member
):
    train, validation = demo_data
    options = TrainingOptions(epochs=4, batch_size=8, learning_rate=1e-4, patience=10, max_length=32)
    spec = StudentSpec(layers=1)

    def start() -> Job:
        job = distill_start(
            task=task,
            teacher=tuned_teacher,
            train=train,
            validation=validation,
            user=member,
            spec=spec,
            options=options,
        )
        Job.objects.filter(pk=job.pk).update(params=job.params | {"checkpoint_every_steps": 10})
        return job

    # An uninterrupted run, for reference.
    reference = wait_for(start(), Status.SUCCEEDED)

    # The same job again; kill its worker once it is well into training and has checkpointed.
    job = start()
    wait_for(job, until=lambda j: j.status == Status.RUNNING and j.total and j.step >= j.total // 3)
    live_stack.kill_worker()
    killed_at = Job.objects.get(pk=job.pk).step
    # The reaper notices the silence (made immediate here) and re-queues; a new worker resumes.
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert jobs_reap_lost() == 1
    live_stack.start_worker()
    job = wait_for(job, Status.SUCCEEDED)

    assert job.attempts == 2 and "worker lost" in job.log_tail
    assert 0 < job.result["resumed_from_step"] <= killed_at
    # Same seed, same data order, resumed state: as good as the uninterrupted run.
    assert job.result["val_accuracy"] == pytest.approx(reference.result["val_accuracy"], abs=0.02)
