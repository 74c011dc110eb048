"""The distillation engine on a real worker: fine-tune the offline teacher, distil a sweep of students from
its cached logits, and resume a distil job after its worker was SIGKILLed mid-training."""

from datetime import timedelta

import pytest
from django.utils import timezone
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from domain.specs import StudentOptions, TrainingOptions
from tests.e2e.conftest import SMALL
from tests.e2e.helpers import wait_for
from webapp.distillation.services import distil_students
from webapp.jobs.models import Job
from webapp.jobs.services import jobs_reap_lost
from webapp.registry.models import Student, TeacherOutputs

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
Status = Job.Status


def test_a_sweep_distils_students_from_the_teachers_cached_logits(live_stack, task, tuned_teacher, demo_data, member):
    train, validation = demo_data
    sweep = distil_students(
        confirm_below_bar=True,
        task=task,
        teacher=tuned_teacher,
        train=train,
        validation=validation,
        user=member,
        layer_counts=[1, 2],
        student=StudentOptions(),
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
    options = TrainingOptions(
        epochs=4, batch_size=8, learning_rate=1e-4, patience=10, max_length=32, checkpoint_every_steps=10
    )
    spec = StudentOptions(layers=1)

    def start() -> Job:
        return distil_students(
            confirm_below_bar=True,
            task=task,
            teacher=tuned_teacher,
            train=train,
            validation=validation,
            user=member,
            student=spec,
            options=options,
        )

    # An uninterrupted run, for reference.
    reference = wait_for(start(), Status.SUCCEEDED)

    # The same job again; kill its worker once it is well into training and has checkpointed.
    job = start()
    # (and its heartbeat has counted some device time: the killed attempt was paid for too).
    wait_for(
        job,
        until=lambda j: j.status == Status.RUNNING and j.total and j.step >= j.total // 3 and j.device_seconds > 0,
    )
    live_stack.kill_worker()
    killed = Job.objects.get(pk=job.pk)
    killed_at, paid_before_kill = killed.step, killed.device_seconds
    # The reaper notices the silence (made immediate here) and re-queues; a new worker resumes.
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert jobs_reap_lost() == 1
    live_stack.start_worker()
    job = wait_for(job, Status.SUCCEEDED)

    assert job.attempts == 2 and "worker lost" in job.log_tail
    assert 0 < job.result["resumed_from_step"] <= killed_at
    assert job.device_seconds > paid_before_kill  # both attempts count, the lost one included
    # Same seed, same data order, resumed state: as good as the uninterrupted run.
    assert job.result["val_accuracy"] == pytest.approx(reference.result["val_accuracy"], abs=0.02)
