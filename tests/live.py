"""A real Daphne server and a real Celery worker, started once per test session against the test
database, for tests that cross process boundaries (websockets, jobs on a worker, the browser).

Tests using them need `transactional_db`: the processes only see committed rows."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class LiveStack:
    url: str
    host_port: str
    log_dir: Path

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.log_dir.glob("*.log")))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(check: Callable[[], bool], *, timeout: float, what: str, stack_logs: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {timeout}s\n{stack_logs()}")


@pytest.fixture(scope="session")
def live_stack(
    django_db_setup: None, storage_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    redis.Redis.from_url(settings.REDIS_URL).flushdb()  # no stale messages from an earlier run
    port = _free_port()
    log_dir = tmp_path_factory.mktemp("live-logs")
    env = os.environ | {
        "DISTILLERY_DB_NAME": settings.DATABASES["default"]["NAME"],  # the test database
        "DISTILLERY_DATA_DIR": str(storage_dirs["data"]),
        "DISTILLERY_MODEL_ROOT": str(storage_dirs["models"]),
        "DISTILLERY_JOB_HEARTBEAT_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    bin_dir = Path(sys.executable).parent
    commands = {
        "web": [str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(port), "webapp.config.asgi:application"],
        "worker": [
            str(bin_dir / "celery"), "-A", "workers.celery_app", "worker", "-Q", "gpu,default", "--pool=solo",
            "-n", f"test-{port}@%h", "--without-gossip", "--without-mingle", "--loglevel=INFO",
        ],
    }  # fmt: skip
    processes = {
        name: subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=(log_dir / f"{name}.log").open("w"), stderr=subprocess.STDOUT
        )
        for name, cmd in commands.items()
    }
    stack = LiveStack(url=f"http://127.0.0.1:{port}", host_port=f"127.0.0.1:{port}", log_dir=log_dir)

    def web_up() -> bool:
        try:
            return urllib.request.urlopen(f"{stack.url}/healthz", timeout=1).status == 200
        except OSError:
            return False

    def worker_up() -> bool:
        return "ready." in (log_dir / "worker.log").read_text()

    try:
        _wait_for(web_up, timeout=60, what="Daphne", stack_logs=stack.logs)
        _wait_for(worker_up, timeout=90, what="The Celery worker", stack_logs=stack.logs)
        yield stack
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
