"""Comparing two training runs of a task: hyper-parameters side by side with the differences marked, what
each ended with, and both runs' curves on one chart; reached from the jobs list."""

import json
import re

import pytest
from django.urls import reverse

from webapp.jobs.compare import side_by_side
from webapp.jobs.models import Job, JobMetric

pytestmark = pytest.mark.django_db


def run(task, *, learning_rate: float, losses: list[float], kind=Job.Kind.DISTILL_STUDENT) -> Job:
    job = Job.objects.create(
        task=task,
        kind=kind,
        status=Job.Status.SUCCEEDED,
        params={"teacher_id": 1, "training": {"epochs": 3, "learning_rate": learning_rate}},
        result={"student_id": 9},
    )
    for step, loss in enumerate(losses, start=1):
        JobMetric.objects.create(job=job, step=step * 10, name="train_loss", value=loss)
        JobMetric.objects.create(job=job, step=step * 10, name="val_accuracy", value=1 - loss / 2)
    return job


def chart(page: str) -> dict:
    return json.loads(re.search(r'<script id="compare-curves" type="application/json">(.*?)</script>', page, re.S)[1])


def test_side_by_side_flattens_nested_params_and_marks_differences():
    rows = side_by_side({"a": 1, "training": {"lr": 0.1, "epochs": 3}}, {"a": 1, "training": {"lr": 0.2}})

    assert rows == [
        {"key": "a", "a": 1, "b": 1, "differs": False},
        {"key": "training.lr", "a": 0.1, "b": 0.2, "differs": True},
        {"key": "training.epochs", "a": 3, "b": "—", "differs": True},
    ]


def test_two_runs_compare_side_by_side(web, viewer, task):
    slow, fast = run(task, learning_rate=5e-5, losses=[1.0, 0.8]), run(task, learning_rate=3e-4, losses=[0.9, 0.4])

    response = web(viewer).get(reverse("job-compare", args=[task.pk]), {"a": slow.pk, "b": fast.pk})

    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>training.learning_rate</strong>" in page and "<strong>training.epochs</strong>" not in page
    assert "best val_accuracy" in page and "0.8000" in page  # fast run: 1 - 0.4 / 2
    traces = {trace["name"]: trace for trace in chart(page)["data"]}
    assert traces[f"#{fast.pk}: train_loss"]["y"] == [0.9, 0.4]
    assert traces[f"#{slow.pk}: val_accuracy"]["x"] == [10, 20]
    assert traces[f"#{slow.pk}: train_loss"]["line"]["color"] != traces[f"#{fast.pk}: train_loss"]["line"]["color"]


def test_runs_of_different_kinds_are_refused_with_a_message(web, member, task):
    distil = run(task, learning_rate=1e-4, losses=[1.0])
    tune = run(task, learning_rate=1e-4, losses=[1.0], kind=Job.Kind.FINETUNE_TEACHER)

    response = web(member).get(reverse("job-compare", args=[task.pk]), {"a": distil.pk, "b": tune.pk})

    assert response.status_code == 400
    assert "Compare two jobs of the same kind" in response.content.decode()


@pytest.mark.parametrize("b", ["x", "-1", ""])
def test_a_bad_choice_shows_the_picker_not_an_error(web, member, task, b):
    a = run(task, learning_rate=1e-4, losses=[1.0])

    response = web(member).get(reverse("job-compare", args=[task.pk]), {"a": a.pk, "b": b})

    assert response.status_code in (200, 400)
    assert 'data-testid="compare-params"' not in response.content.decode()


def test_another_teams_job_is_a_404(web, member, task, foreign_job):
    mine = run(task, learning_rate=1e-4, losses=[1.0])

    response = web(member).get(reverse("job-compare", args=[task.pk]), {"a": mine.pk, "b": foreign_job.pk})

    assert response.status_code == 404


def test_the_jobs_list_offers_the_comparison_once_there_are_two_runs(web, viewer, task):
    url = reverse("job-list", args=[task.pk])
    run(task, learning_rate=1e-4, losses=[1.0])
    assert 'data-testid="compare-form"' not in web(viewer).get(url).content.decode()

    run(task, learning_rate=2e-4, losses=[1.0])

    assert 'data-testid="compare-form"' in web(viewer).get(url).content.decode()
