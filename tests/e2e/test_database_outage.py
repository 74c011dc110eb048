"""A PostgreSQL restart under a training job loses no work: the worker waits for the database, puts the
job back on the queue with the real reason, keeps its checkpoint, and the next attempt resumes from it."""

import time
from pathlib import Path

import pytest
from django.conf import settings

from domain.specs import StudentOptions, TrainingOptions
from tests.e2e.helpers import wait_for
from tests.outages import outage
from webapp.distillation.services import distil_students
from webapp.jobs.models import Job

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
Status = Job.Status


def test_a_database_restart_mid_training_resumes_from_the_checkpoint_and_says_why(
    live_stack, task, tuned_teacher, demo_data, member
):
    train, validation = demo_data
    options = TrainingOptions(
        epochs=4, batch_size=8, learning_rate=1e-4, patience=10, max_length=32, checkpoint_every_steps=10
    )
    job = distil_students(
        confirm_below_bar=True,
        task=task,
        teacher=tuned_teacher,
        train=train,
        validation=validation,
        user=member,
        student=StudentOptions(layers=1),
        options=options,
    )
    checkpoint = Path(settings.DATA_DIR) / "checkpoints" / f"job-{job.pk}.pt"
    wait_for(job, until=lambda j: j.status == Status.RUNNING and j.step >= 12 and checkpoint.exists())

    with outage("postgres"):
        time.sleep(3)  # the worker's next progress write meets a dead connection
        assert checkpoint.exists()  # an outage is not the end of the job: its checkpoint stays

    job = wait_for(job, Status.SUCCEEDED, timeout=300)
    assert job.attempts == 2
    assert "lost its database connection" in job.log_tail
    assert "worker lost" not in job.log_tail  # the worker was alive all along: no false reason
    assert job.result["resumed_from_step"] >= 10
    assert not checkpoint.exists()  # dropped once the job's end was stored
