"""A real serving process (`python -m serving`) against the test database, once per test session.

Tests that talk to it need `transactional_db`: it only sees committed rows."""

import http.client
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.live import ROOT, _free_port, _wait_for


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


class ServingProcess:
    def __init__(self, *, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "serving", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )

        def up() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"The serving process exited:\n{self.logs()}")
            try:
                return urllib.request.urlopen(f"{self.url}/healthz", timeout=1).status == 200
            except OSError:
                return False

        _wait_for(up, timeout=90, what="The serving process", stack_logs=self.logs)

    def logs(self) -> str:
        return self.log.read_text()[-6000:]

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return Reply(response.status, json.loads(response.read() or b"{}"))
        finally:
            connection.close()

    def predict(self, deployment_id: int, payload: Any, *, key: str | None) -> Reply:
        return self.request(
            "POST", f"/v1/deployments/{deployment_id}/predict", body=json.dumps(payload).encode(), key=key
        )

    def health(self) -> dict[str, Any]:
        reply = self.request("GET", "/healthz")
        assert reply.status == 200, reply
        return reply.body

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="session")
def serving(
    django_db_setup: None, storage_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServingProcess]:
    env = os.environ | {
        "DISTILLERY_DB_NAME": settings.DATABASES["default"]["NAME"],  # the test database
        "DISTILLERY_MODEL_ROOT": str(storage_dirs["models"]),
        "DISTILLERY_DATA_DIR": str(storage_dirs["data"]),
        # Long enough that rows of requests sent together share a forward pass, whatever the machine's load.
        "DISTILLERY_SERVING_MAX_WAIT_MS": "25",
        "DISTILLERY_SERVING_DEVICE": "cpu",
        "PYTHONUNBUFFERED": "1",
    }
    process = ServingProcess(env=env, log=tmp_path_factory.mktemp("serving-logs") / "serving.log")
    try:
        yield process
    finally:
        process.stop()
