"""Helpers for the end-to-end tests: talking to the live stack as a browser does (a session cookie, an Origin,
a websocket), waiting for a job, and registering a teacher from uploaded outputs."""

import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.test import Client
from websockets.sync.client import ClientConnection, connect

from tests.live import LiveStack
from webapp.jobs.models import Job
from webapp.registry.models import Teacher
from webapp.registry.services import teacher_upload_outputs


def session_cookie(client: Client, user: Any) -> str:
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


@contextmanager
def websocket(stack: LiveStack, path: str, cookie: str = "") -> Iterator[ClientConnection]:
    headers = {"Cookie": cookie} if cookie else {}
    with connect(f"ws://{stack.host_port}{path}", origin=stack.url, additional_headers=headers, open_timeout=10) as ws:
        yield ws


def receive_jobs_until(ws: ClientConnection, done: Any, *, timeout: float = 120) -> list[dict[str, Any]]:
    """Collect job payloads from the socket until `done(payload)` is true."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        assert message["type"] == "job"
        seen.append(message["job"])
        if done(message["job"]):
            return seen
    raise AssertionError(f"gave up waiting; saw {[(p['status'], p['step']) for p in seen]}")


def wait_for(job: Job, *statuses: str, timeout: float = 300, until=None) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if (until and until(job)) or job.status in statuses:
            return job
        if job.is_terminal:
            raise AssertionError(f"job {job.pk} ended {job.status}: {job.error}\n{job.log_tail}")
        time.sleep(0.2)
    raise AssertionError(f"job {job.pk} is still {job.status} (step {job.step}/{job.total})")


def outputs_for(rows: list[dict], labels: list[str]) -> bytes:
    """What a teacher API might have said: 0.8 on the labelled intent, the rest spread evenly."""
    spread = 0.2 / (len(labels) - 1)
    lines = [
        {
            "text": row["text"],
            "label": row["label"],
            "probs": {lb: 0.8 if lb == row["label"] else spread for lb in labels},
        }
        for row in rows
    ]
    return "\n".join(json.dumps(line) for line in lines).encode()


def upload_teacher(task, member, rows, name: str) -> Teacher:
    content = outputs_for(rows, task.labels)
    return teacher_upload_outputs(task=task, user=member, name=name, file=io.BytesIO(content), filename=f"{name}.jsonl")
