"""A real Celery worker runs jobs; a websocket client sees their progress through Daphne and Redis."""

import io
import time

import pytest
from websockets.exceptions import ConnectionClosed

from tests.e2e.helpers import receive_jobs_until, session_cookie, websocket
from webapp.jobs.models import Job
from webapp.jobs.services import jobs_reap_lost, profile_job_start
from webapp.registry.services import dataset_upload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
Status = Job.Status


@pytest.fixture
def big_dataset(task, member):
    """Enough rows for several progress reports."""
    rows = "".join(f'{{"text": "message number {i} about topic {i % 7}", "label": "travel"}}\n' for i in range(6000))
    return dataset_upload(task=task, user=member, file=io.BytesIO(rows.encode()), filename="big.jsonl", role="train")


def test_a_worker_runs_a_profile_job_and_a_websocket_client_sees_it_progress(
    live_stack, client, member, task, big_dataset, teacher
) -> None:
    with websocket(live_stack, f"/ws/tasks/{task.pk}/jobs/", session_cookie(client, member)) as ws:
        response = client.post(f"/tasks/{task.pk}/jobs/", {"dataset": big_dataset.pk, "teacher": teacher.pk})
        assert response.status_code == 302
        seen = receive_jobs_until(ws, lambda p: p["is_terminal"])
    final = seen[-1]
    assert final["status"] == Status.SUCCEEDED, final["error"] or live_stack.logs()
    assert final["progress"] == 1.0 and final["step"] == final["total"] == 6000
    assert any(p["status"] == Status.RUNNING and 0 < p["step"] < 6000 for p in seen), "no intermediate progress"
    job = Job.objects.get(pk=final["id"])
    assert job.result["rows"] == 6000 and job.device["kind"] == "cpu" and job.device_seconds > 0


def test_the_job_page_socket_sends_a_snapshot_first(live_stack, client, member, job) -> None:
    with websocket(live_stack, f"/ws/jobs/{job.pk}/", session_cookie(client, member)) as ws:
        first = receive_jobs_until(ws, lambda p: True)[0]
    assert first["id"] == job.pk and first["kind"] == "profile_dataset"


@pytest.mark.parametrize("path", ["/ws/jobs/{job}/", "/ws/tasks/{task}/jobs/"])
def test_an_outsider_socket_is_closed_as_not_found(live_stack, client, outsider, job, task, path) -> None:
    cookie = session_cookie(client, outsider)
    for target in (path.format(job=job.pk, task=task.pk), path.format(job=987654, task=987654)):
        with websocket(live_stack, target, cookie) as ws, pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd.code == 4404, target


def test_an_anonymous_socket_is_closed_as_not_found(live_stack, job) -> None:
    with websocket(live_stack, f"/ws/jobs/{job.pk}/") as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd.code == 4404


def test_a_job_whose_worker_died_is_requeued_and_finished_by_a_worker(
    live_stack, member, task, dataset, teacher
) -> None:
    job = profile_job_start(task=task, dataset=dataset, teacher=teacher, user=member)
    _wait_for_status(job, Status.SUCCEEDED)
    # Simulate the worker dying mid-run: the row says running, but nobody has heartbeated for long.
    from datetime import timedelta

    from django.utils import timezone

    Job.objects.filter(pk=job.pk).update(
        status=Status.RUNNING, finished_at=None, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert jobs_reap_lost() == 1
    job = _wait_for_status(job, Status.SUCCEEDED)
    assert job.attempts == 2 and "worker lost" in job.log_tail


def _wait_for_status(job: Job, status: str, timeout: float = 120) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status == status:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job stayed {job.status}: {job.error}")


def test_the_job_page_socket_delivers_new_curve_points_as_they_are_reported(live_stack, client, member, task) -> None:
    """The live-curve event, end to end: the worker's reporter -> Redis -> Daphne's consumer -> the page."""
    import json

    from workers.reporter import JobReporter

    job = Job.objects.create(task=task, kind=Job.Kind.DISTILL_STUDENT, status=Status.RUNNING)  # not sent anywhere
    with websocket(live_stack, f"/ws/jobs/{job.pk}/", session_cookie(client, member)) as ws:
        receive_jobs_until(ws, lambda p: True)  # the snapshot
        JobReporter(job).report(3, 10, {"train_loss": 0.75, "val_accuracy": 0.5})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = json.loads(ws.recv(timeout=30))
            if message["type"] == "metrics":
                break
    assert message == {
        "type": "metrics",
        "job_id": job.pk,
        "points": [
            {"name": "train_loss", "step": 3, "value": 0.75},
            {"name": "val_accuracy", "step": 3, "value": 0.5},
        ],
    }


def test_a_page_opened_right_after_a_redis_restart_still_gets_its_live_socket(live_stack, client, member, job) -> None:
    from tests.outages import outage

    cookie = session_cookie(client, member)
    with websocket(live_stack, f"/ws/jobs/{job.pk}/", cookie) as ws:
        receive_jobs_until(ws, lambda p: True)  # Daphne now holds pooled Redis connections
    with outage("redis"):
        pass  # a restart: every pooled connection is now closed by the server
    with websocket(live_stack, f"/ws/jobs/{job.pk}/", cookie) as ws:
        first = receive_jobs_until(ws, lambda p: True)[0]
    assert first["id"] == job.pk
