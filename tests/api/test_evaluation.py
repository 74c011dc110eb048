"""The evaluation API: start evaluate jobs, read the latest evaluations, import external results."""

import pytest
from django.urls import reverse

from tests.factories import upload
from webapp.evaluation.models import ExternalResult
from webapp.jobs.models import Job

pytestmark = pytest.mark.django_db


def test_a_member_starts_evaluations_and_reads_them(api, member, task, evaluation, student, dataset):
    url = reverse("api-task-evaluations", args=[task.pk])

    started = api(member).post(url, {"students": [student.pk], "datasets": [dataset.pk]}, format="json")
    listed = api(member).get(url)

    assert started.status_code == 201, started.json()
    assert [j["kind"] for j in started.json()] == ["evaluate"]
    assert Job.objects.get(pk=started.json()[0]["id"]).params["student_id"] == student.pk
    [row] = listed.json()["results"] if "results" in listed.json() else listed.json()
    assert (row["id"], row["accuracy"]) == (evaluation.pk, pytest.approx(2 / 3))
    detail = api(member).get(reverse("api-evaluation-detail", args=[evaluation.pk])).json()
    assert detail["metrics"]["quality"]["confused_pairs"][0] == {"true": "travel", "predicted": "banking", "count": 1}


def test_another_teams_dataset_is_a_404_and_a_viewer_gets_a_403(api, member, viewer, task, student, foreign_dataset):
    url = reverse("api-task-evaluations", args=[task.pk])

    foreign = api(member).post(url, {"students": [student.pk], "datasets": [foreign_dataset.pk]}, format="json")
    viewer_attempt = api(viewer).post(url, {"students": [student.pk], "datasets": [1]}, format="json")

    assert (foreign.status_code, viewer_attempt.status_code) == (404, 403)
    assert not Job.objects.exists()


def test_external_results_import_and_a_bad_file_is_a_400_naming_the_problem(api, member, task):
    url = reverse("api-task-external-results", args=[task.pk])

    good = api(member).post(url, {"file": upload("r.csv", b"model,benchmark,score\nm,b,0.5\n")}, format="multipart")
    bad = api(member).post(url, {"file": upload("r.json", b"{not json")}, format="multipart")

    assert good.status_code == 201 and good.json()[0]["score"] == 0.5
    assert bad.status_code == 400 and "r.json" in bad.json()["file"][0]
    assert ExternalResult.objects.count() == 1
