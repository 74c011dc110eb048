"""A job page's websocket survives minutes of silence: the channel layer's blocking read on Redis must not
time out the socket (redis-py 8 defaults to a 5 s socket timeout; channels-redis blocks for 5 s)."""

import json
import time

import pytest

from tests.e2e.helpers import receive_jobs_until, session_cookie, websocket
from webapp.jobs.events import publish_job_update
from webapp.jobs.models import Job

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Longer than channels-redis' 5 s blocking read plus redis-py 8's default 5 s socket timeout.
IDLE_SECONDS = 12


def test_a_subscribed_job_socket_stays_open_while_idle_and_gets_the_next_event(live_stack, client, member, task):
    # A row nobody sends to a worker: nothing happens on its group until the test says so.
    job = Job.objects.create(task=task, kind=Job.Kind.PROFILE_DATASET, queue=Job.Queue.DEFAULT, created_by=member)
    with websocket(live_stack, f"/ws/jobs/{job.pk}/", session_cookie(client, member)) as ws:
        assert receive_jobs_until(ws, lambda p: True, timeout=10)[0]["id"] == job.pk  # the snapshot
        time.sleep(IDLE_SECONDS)
        assert ws.close_code is None, f"the server closed the idle socket ({ws.close_code})\n{live_stack.logs()}"

        job.message = "still listening"
        job.save(update_fields=["message"])
        publish_job_update(job)
        message = json.loads(ws.recv(timeout=10))
    assert message["type"] == "job" and message["job"]["message"] == "still listening"
    assert "Timeout reading from" not in (live_stack.log_dir / "web.log").read_text()
