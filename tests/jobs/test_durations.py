"""A long job's form says how long it will take: rows × epochs at the cost per example measured by past jobs
of its kind on the workers' device, plus their start-up; a documented default before any has run."""

import pytest
from django.urls import reverse

from webapp.jobs.durations import DEFAULT_OVERHEAD_SECONDS, rough_duration, training_rate
from webapp.jobs.models import Job

pytestmark = pytest.mark.django_db

CPU = {"kind": "cpu", "name": "EPYC", "threads": 2, "dtype": "float32"}
GPU = {"kind": "cuda", "name": "H200", "threads": 16, "dtype": "bfloat16"}


def past_finetune(task, *, device, seconds_per_epoch: float, device_seconds: float, epochs=2, batch=32, steps=100):
    """A finished fine-tune of 2 epochs of 50 steps of 32 rows (1,600 rows an epoch)."""
    return Job.objects.create(
        task=task, kind=Job.Kind.FINETUNE_TEACHER, status=Job.Status.SUCCEEDED, device=device,
        device_kind=f"{device['kind']}: {device['name']}", device_seconds=device_seconds, total=steps, step=steps,
        params={"training": {"epochs": epochs, "batch_size": batch}},
        result={"epochs": epochs, "seconds_per_epoch": seconds_per_epoch},
    )  # fmt: skip


def test_with_no_job_run_yet_the_estimate_is_the_documented_default(task):
    rate = training_rate(Job.Kind.FINETUNE_TEACHER)

    assert "default" in rate.source and rate.device == ""
    # 1,000 rows, a validation set chosen, 10 epochs at 20 ms a row: 200 s plus start-up.
    assert rate.seconds(rows=1000, epochs=10) == pytest.approx(200 + DEFAULT_OVERHEAD_SECONDS)
    # No validation set: a tenth of the rows is held out, not trained on.
    assert rate.seconds(rows=1000, epochs=10, validation_chosen=False) == pytest.approx(180 + DEFAULT_OVERHEAD_SECONDS)


def test_past_jobs_on_the_workers_device_set_the_rate(task):
    # 16 s an epoch of 1,600 rows = 10 ms a row; 40 s device time - 32 s training = 8 s start-up.
    past_finetune(task, device=CPU, seconds_per_epoch=16.0, device_seconds=40.0)
    past_finetune(task, device=CPU, seconds_per_epoch=16.0, device_seconds=40.0)

    rate = training_rate(Job.Kind.FINETUNE_TEACHER)

    assert rate.seconds_per_example == pytest.approx(0.01) and rate.overhead_seconds == pytest.approx(8.0)
    assert rate.source == "measured by 2 past fine-tune jobs on this device" and rate.device == "cpu: EPYC"
    assert rate.seconds(rows=3000, epochs=10) == pytest.approx(8 + 300)


def test_jobs_timed_on_another_device_are_not_used(task):
    past_finetune(task, device=CPU, seconds_per_epoch=16.0, device_seconds=40.0)
    past_finetune(task, device=GPU, seconds_per_epoch=0.8, device_seconds=5.0)  # the newest: the workers have a GPU

    rate = training_rate(Job.Kind.FINETUNE_TEACHER)

    assert rate.seconds_per_example == pytest.approx(0.0005) and rate.device == "cuda: H200"


def test_a_distil_jobs_cost_grows_with_the_students_layers(task):
    rate = training_rate(Job.Kind.DISTILL_STUDENT)
    one, three = (rate.seconds(rows=9000, epochs=8, layers=n) - rate.overhead_seconds for n in (1, 3))
    assert three == pytest.approx(3 * one)


def test_durations_read_as_people_say_them():
    assert [rough_duration(s) for s in (20, 740, 3 * 3600 + 1200, 7200)] == [
        "under a minute", "about 12 min", "about 3 h 20 min", "about 2 h",
    ]  # fmt: skip


def test_the_fine_tune_form_says_how_long_and_offers_a_quick_first_try(web, member, task, teacher, dataset):
    page = web(member).get(reverse("teacher-list", args=[task.pk])).content.decode()
    assert "Up to about 1 min: 3 rows × 10 epochs" in page and 'href="?preset=quick#finetune"' in page

    quick = web(member).get(reverse("teacher-list", args=[task.pk]) + "?preset=quick").content.decode()
    assert 'name="epochs" value="1"' in quick and "3 rows × 1 epoch<" in quick


def test_the_distil_forms_quick_try_is_one_student_for_one_epoch(web, member, task, evaluation):
    page = web(member).get(reverse("student-list", args=[task.pk]) + "?preset=quick").content.decode()
    assert 'name="layers" value="2"' in page and 'name="epochs" value="1"' in page

    sweep = web(member).get(reverse("student-list", args=[task.pk])).content.decode()
    assert "for 3 students: 3 rows × 10 epochs" in sweep  # the default sizes 1,2,3
