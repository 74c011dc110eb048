"""Evidence decisions stand on: it outlives what it measured, names what it measured, and is readable
with an API token."""

import json

import pytest
from django.urls import reverse

from tests.factories import evaluation_of
from webapp.evaluation.models import Evaluation
from webapp.evaluation.selectors import latest_evaluations

pytestmark = pytest.mark.django_db


@pytest.fixture
def student_evaluation(task, student, dataset):
    return evaluation_of(student, dataset, logits=[[0.0, 2.0], [1.5, 0.0], [0.0, 1.0]], targets=[1, 0, 1])


def test_deleting_a_model_keeps_its_evaluations_marked_as_of_a_deleted_model(
    web, api, member, student, student_evaluation
) -> None:
    student.delete()

    evaluation = Evaluation.objects.get(pk=student_evaluation.pk)
    assert evaluation.model is None and evaluation.model_deleted
    assert evaluation.model_name == "2-layer student" and evaluation.accuracy == student_evaluation.accuracy
    page = web(member).get(reverse("evaluation-detail", args=[evaluation.pk]))
    assert page.status_code == 200 and "2-layer student (deleted)" in page.content.decode()
    body = api(member).get(f"/api/evaluations/{evaluation.pk}/").json()
    assert body["model_deleted"] is True and body["model_name"] == "2-layer student" and body["student"] is None
    # Comparisons (tier table, calibration) only hold models that still exist.
    assert evaluation not in latest_evaluations(evaluation.task)


def test_deleting_a_dataset_keeps_the_evidence_measured_on_it(student_evaluation, dataset) -> None:
    sha256 = dataset.sha256
    dataset.delete()
    evaluation = Evaluation.objects.get(pk=student_evaluation.pk)
    assert evaluation.dataset is None and evaluation.dataset_sha256 == sha256 and evaluation.dataset_name


def test_predictions_are_fetched_with_an_api_token_from_the_link_on_the_evaluation(
    api, member, outsider, student_evaluation
) -> None:
    body = api(member).get(f"/api/evaluations/{student_evaluation.pk}/").json()
    assert body["predictions_url"] == f"http://testserver/api/evaluations/{student_evaluation.pk}/predictions/"
    assert body["predictions_sha256"] == student_evaluation.predictions_sha256 != ""

    response = api(member).get(body["predictions_url"])
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert response.status_code == 200 and response["Content-Type"] == "application/jsonl"
    assert [(row["row"], row["label"], row["prediction"]) for row in rows] == [
        (0, "travel", "travel"),
        (1, "banking", "banking"),
        (2, "travel", "travel"),
    ]
    assert api(outsider).get(body["predictions_url"]).status_code == 404
    assert api(None).get(body["predictions_url"]).status_code in (401, 403)


def test_the_tier_table_costs_the_same_queries_however_many_students(
    web, member, task, teacher, dataset, django_assert_max_num_queries
) -> None:
    from webapp.registry.models import Student

    teacher.labels = ["banking", "travel"]
    teacher.save(update_fields=["labels"])

    def add_student(n: int) -> None:
        student = Student.objects.create(
            task=task, teacher=teacher, name=f"{n}-layer", construction="truncated", layers=n,
            labels=["banking", "travel"], artifact=f"./distillery/s{n}",
        )  # fmt: skip
        evaluation_of(student, dataset, logits=[[0.0, 2.0], [1.5, 0.0], [0.0, 1.0]], targets=[1, 0, 1])

    add_student(1)
    url = reverse("evaluation-overview", args=[task.pk])
    client = web(member)
    client.get(url)  # warm caches (session, content types)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for n in (2, 3, 4):
        add_student(n)
    with CaptureQueriesContext(connection) as four:
        assert client.get(url).status_code == 200
    assert len(four) == len(one), [q["sql"] for q in four.captured_queries]
