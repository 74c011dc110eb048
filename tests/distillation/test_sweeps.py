"""Starting distillation jobs from the web, and a sweep following its children."""

import pytest
from django.core.exceptions import ValidationError

from domain.specs import StudentOptions, TrainingOptions
from webapp.distillation.services import distil_students
from webapp.jobs import lifecycle
from webapp.jobs.models import Job
from webapp.registry.models import Teacher

Status = Job.Status


@pytest.fixture
def tuned_teacher(task, dataset, teacher) -> Teacher:
    """A teacher whose head predicts the task's labels (as a fine-tune job would register it)."""
    task.refresh_from_db()  # the upload set its labels
    teacher.labels = list(task.labels)
    teacher.origin = Teacher.Origin.FINE_TUNED
    teacher.save()
    return teacher


def _sweep(task, teacher, dataset, member, sizes=(1, 2, 3)) -> Job:
    return distil_students(
        confirm_below_bar=True,
        task=task,
        teacher=teacher,
        train=dataset,
        validation=None,
        user=member,
        layer_counts=list(sizes),
        student=StudentOptions(),
        options=TrainingOptions(epochs=1),
    )


def test_a_sweep_is_a_parent_job_with_one_distil_job_per_size(task, tuned_teacher, dataset, member) -> None:
    parent = _sweep(task, tuned_teacher, dataset, member)
    children = list(parent.children.order_by("pk"))
    assert parent.kind == Job.Kind.SWEEP and parent.status == Status.RUNNING and parent.total == 3
    assert [c.params["student"]["layers"] for c in children] == [1, 2, 3]
    assert all(c.kind == Job.Kind.DISTILL_STUDENT and c.queue == Job.Queue.GPU for c in children)


def test_a_sweep_finishes_with_its_last_child_and_counts_failures(task, tuned_teacher, dataset, member) -> None:
    parent = _sweep(task, tuned_teacher, dataset, member, sizes=(1, 2))
    first, second = parent.children.order_by("pk")
    lifecycle.job_finish(lifecycle.job_claim(job_id=first.pk, worker="w"), Status.SUCCEEDED)
    parent.refresh_from_db()
    assert parent.status == Status.RUNNING and parent.step == 1
    lifecycle.job_finish(lifecycle.job_claim(job_id=second.pk, worker="w"), Status.FAILED, error="boom")
    parent.refresh_from_db()
    assert parent.status == Status.FAILED and "1 of 2 students" in parent.error


def test_cancelling_a_sweep_cancels_its_children(task, tuned_teacher, dataset, member) -> None:
    parent = _sweep(task, tuned_teacher, dataset, member)
    running = parent.children.order_by("pk").first()
    lifecycle.job_claim(job_id=running.pk, worker="w")
    lifecycle.job_cancel_request(parent)
    statuses = dict(parent.children.values_list("pk", "status"))
    assert statuses.pop(running.pk) == Status.RUNNING  # stops at its next step
    assert set(statuses.values()) == {Status.CANCELLED}
    assert Job.objects.get(pk=running.pk).cancel_requested
    lifecycle.job_finish(Job.objects.get(pk=running.pk), Status.CANCELLED)
    parent.refresh_from_db()
    assert parent.status == Status.CANCELLED


def test_a_sweep_cancelled_after_one_student_shows_the_share_it_distilled(task, tuned_teacher, dataset, member):
    parent = _sweep(task, tuned_teacher, dataset, member, sizes=(1, 2))
    first, second = parent.children.order_by("pk")
    lifecycle.job_finish(lifecycle.job_claim(job_id=first.pk, worker="w"), Status.SUCCEEDED)
    lifecycle.job_claim(job_id=second.pk, worker="w")
    lifecycle.job_cancel_request(parent)
    lifecycle.job_finish(Job.objects.get(pk=second.pk), Status.CANCELLED)

    parent.refresh_from_db()
    assert parent.status == Status.CANCELLED and parent.progress == 0.5  # its bar said 100% before


def test_distilling_needs_a_teacher_with_a_head_over_the_task_labels(task, teacher, dataset, member) -> None:
    task.refresh_from_db()
    with pytest.raises(ValidationError, match="fine-tune it first"):
        distil_students(
            confirm_below_bar=True,
            task=task,
            teacher=teacher,
            train=dataset,
            validation=None,
            user=member,
            student=StudentOptions(),
            options=TrainingOptions(),
        )


def test_a_viewer_cannot_start_a_sweep(task, tuned_teacher, dataset, viewer) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        _sweep(task, tuned_teacher, dataset, viewer)
    assert not Job.objects.exists()


def distil_form(teacher, dataset, *, layers: str) -> dict:
    """The Students tab's distil form as a member fills it in."""
    return {
        "teacher": teacher.pk,
        "train": dataset.pk,
        "construction": "truncated",
        "layers": layers,
        "layer_strategy": "bottom",
        "temperature": 2,
        "alpha": 0.5,
        "epochs": 1,
        "batch_size": 8,
        "learning_rate": 5e-5,
        "patience": 2,
    }


def test_the_students_page_starts_a_sweep_for_several_sizes(web, member, task, tuned_teacher, dataset) -> None:
    response = web(member).post(
        f"/tasks/{task.pk}/students/",
        distil_form(tuned_teacher, dataset, layers="1, 2") | {"confirm_below_bar": "on"},
    )
    parent = Job.objects.get(kind=Job.Kind.SWEEP)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{parent.pk}/"
    assert parent.children.count() == 2


def test_the_students_page_refuses_bad_layer_counts(web, member, task, tuned_teacher, dataset) -> None:
    response = web(member).post(
        f"/tasks/{task.pk}/students/",
        distil_form(tuned_teacher, dataset, layers="two"),
    )
    assert response.status_code == 400 and b"separated by commas" in response.content
    assert not Job.objects.exists()


def test_the_students_page_shows_the_teachers_quality_and_refuses_to_distil_below_the_bar_unconfirmed(
    web, member, task, tuned_teacher, dataset
) -> None:
    tuned_teacher.metrics = {"val_accuracy": 0.459}
    tuned_teacher.save()
    page = web(member).get(f"/tasks/{task.pk}/students/").content.decode()
    assert "45.9%, which is below the task&#x27;s bar of 85%" in page
    form = distil_form(tuned_teacher, dataset, layers="1")
    refused = web(member).post(f"/tasks/{task.pk}/students/", form)
    assert refused.status_code == 400 and "Tick" in refused.content.decode() and not Job.objects.exists()
    started = web(member).post(f"/tasks/{task.pk}/students/", form | {"confirm_below_bar": "on"})
    job = Job.objects.get()
    assert started.status_code == 302 and job.params["gate"]["confirmed_below_bar"] is True
    assert "confirmed" in job.log_tail or job.params["gate"]["score"] == 0.459
