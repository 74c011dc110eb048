"""PostgreSQL or Redis down: the API answers a JSON 503 naming the service, pages a plain 503, job starts
store nothing, and /healthz reports each service. The services are really stopped (see conftest.py)."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from webapp.evaluation.services import evaluate_many
from webapp.jobs.models import Job
from webapp.jobs.services import QueueUnavailable

pytestmark = pytest.mark.django_db(transaction=True)
QUEUE_DOWN = "The job queue (Redis) is unavailable; nothing was started. Try again in a moment."
DATABASE_DOWN = "The database (PostgreSQL) is unavailable; nothing was changed. Try again in a moment."


@pytest.fixture
def member_api(member) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + Token.objects.create(user=member).key)
    return client


@pytest.fixture
def member_browser(member) -> Client:
    # Outages end in handler500: let it answer instead of re-raising the exception into the test.
    browser = Client(raise_request_exception=False)
    browser.force_login(member)
    return browser


def test_an_api_job_start_while_redis_is_down_is_a_json_503_and_stores_no_job(
    member_api, task, dataset, teacher, redis_down
):
    body = {"kind": "profile_dataset", "dataset": dataset.pk, "teacher": teacher.pk}
    response = member_api.post(f"/api/tasks/{task.pk}/jobs/", body, format="json")
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json" and response["Retry-After"]
    assert response.json() == {"detail": QUEUE_DOWN, "unavailable": "redis"}
    assert not Job.objects.exists()


def test_a_web_job_start_while_redis_is_down_says_so_on_the_form(member_browser, task, dataset, teacher, redis_down):
    response = member_browser.post(f"/tasks/{task.pk}/jobs/", {"dataset": dataset.pk, "teacher": teacher.pk})
    assert response.status_code == 400
    assert QUEUE_DOWN in response.content.decode()
    assert not Job.objects.exists()


def test_evaluating_several_models_while_redis_is_down_starts_none(member, task, teacher, dataset, redis_down):
    task.labels = teacher.labels = ["banking", "travel"]
    task.save(update_fields=["labels"])
    teacher.save(update_fields=["labels"])
    with pytest.raises(QueueUnavailable):
        evaluate_many(task=task, user=member, models=[teacher, teacher], datasets=[dataset])
    assert not Job.objects.exists()


def test_the_api_answers_a_json_503_while_the_database_is_down(member_api, task, postgres_down):
    for path in (f"/api/tasks/{task.pk}/", "/api/tasks/"):
        response = member_api.get(path)
        assert response.status_code == 503, response.content
        assert response.json() == {"detail": DATABASE_DOWN, "unavailable": "database"}


def test_a_page_answers_a_plain_503_while_the_database_is_down(member_browser, task, postgres_down):
    response = member_browser.get(f"/tasks/{task.pk}/")
    assert response.status_code == 503
    page = response.content.decode()
    assert "<h1>Temporarily unavailable</h1>" in page and DATABASE_DOWN in page and "Traceback" not in page


def test_healthz_is_ok_when_both_services_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok", "ok": True}


def test_healthz_reports_redis_down(client, redis_down):
    response = client.get("/healthz")
    report = response.json()
    assert response.status_code == 503 and report["ok"] is False
    assert report["database"] == "ok" and "Connection refused" in report["redis"]


def test_healthz_reports_the_database_down(client, postgres_down):
    response = client.get("/healthz")
    report = response.json()
    assert response.status_code == 503 and report["ok"] is False
    assert report["redis"] == "ok" and report["database"] != "ok"
