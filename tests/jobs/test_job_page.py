"""The job page shows what the job's kind produces: training curves only for jobs that train."""

import pytest
from django.urls import reverse

from webapp.jobs.models import Job

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "has_curves"), [("evaluate", False), ("profile_dataset", False), ("distill_student", True)]
)
def test_only_training_jobs_show_training_curves(web, member, task, kind, has_curves) -> None:
    job = Job.objects.create(task=task, kind=kind, params={})
    page = web(member).get(reverse("job-detail", args=[job.pk])).content.decode()
    assert ("data-live-metrics" in page) is has_curves


def test_a_profile_job_does_not_offer_to_distil_from_a_new_teacher(web, member, task, teacher) -> None:
    # A profile job's result names the teacher whose tokenizer it used: that is not a new teacher.
    job = Job.objects.create(
        task=task, kind=Job.Kind.PROFILE_DATASET, status=Job.Status.SUCCEEDED,
        result={"teacher_id": teacher.pk, "rows": 3, "histogram": {"edges": [0, 1], "counts": [3]}},
    )  # fmt: skip
    page = web(member).get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "Distil students from the new teacher" not in page


def test_an_evaluate_job_is_named_after_what_it_evaluates_and_links_its_results(web, member, evaluation) -> None:
    from webapp.evaluation.services import evaluate_start

    started = evaluate_start(task=evaluation.task, user=member, model=evaluation.teacher, datasets=[evaluation.dataset])
    assert started.title == "Evaluate MiniLM on train v1"

    page = web(member).get(reverse("job-detail", args=[evaluation.job_id])).content.decode()
    assert f'href="{reverse("evaluation-detail", args=[evaluation.pk])}"' in page
    assert "MiniLM on train v1" in page and "accuracy 66.7%" in page


def test_a_running_job_says_it_is_estimating_until_its_rate_is_measured(web, member, task) -> None:
    job = Job.objects.create(task=task, kind=Job.Kind.FINETUNE_TEACHER, status=Job.Status.RUNNING, step=1, total=340)
    page = web(member).get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "estimating time left…" in page and "left</span>" not in page
