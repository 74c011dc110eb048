"""A real Daphne server and a real Celery worker, started once per test session against the test
database, for tests that cross process boundaries (websockets, jobs on a worker, the browser).

Tests using them need `transactional_db`: the processes only see committed rows."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import kombu.exceptions
import pytest
import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


class LiveStack:
    """Daphne and one Celery worker (queues gpu + default) as real processes, with their logs."""

    def __init__(self, *, env: dict[str, str], log_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.host_port = f"127.0.0.1:{self.port}"
        self.env = env
        self.log_dir = log_dir
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_starts = 0
        self.worker_name = ""

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.log_dir.glob("*.log")))

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("w")
        return subprocess.Popen(
            [str(BIN / args[0]), *args[1:]], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def start_web(self) -> None:
        self.web = self._spawn(
            "web", ["daphne", "-b", "127.0.0.1", "-p", str(self.port), "webapp.config.asgi:application"]
        )

        def up() -> bool:
            try:
                return urllib.request.urlopen(f"{self.url}/healthz", timeout=1).status == 200
            except OSError:
                return False

        _wait_for(up, timeout=60, what="Daphne", stack_logs=self.logs)

    def start_worker(self) -> None:
        self.worker_starts += 1
        name = f"worker-{self.worker_starts}"
        self.worker_name = f"{name}-{self.port}@{socket.gethostname()}"  # what Celery's %h expands to
        self.worker = self._spawn(name, [
            "celery", "-A", "workers.celery_app", "worker", "-Q", "gpu,default", "--pool=solo",
            "-n", self.worker_name, "--without-gossip", "--without-mingle", "--loglevel=INFO",
        ])  # fmt: skip
        _wait_for(lambda: "ready." in (self.log_dir / f"{name}.log").read_text(), timeout=90, what="The worker",
                  stack_logs=self.logs)  # fmt: skip

    def wait_until_idle(self, timeout: float = 120) -> None:
        """Returns once the worker is between tasks (or gone). A test that ends while the worker still
        runs a job it started would have that job's writes race the flush that empties the database
        after the test: TRUNCATE and the job's UPDATE/INSERT lock tables in different orders, and
        PostgreSQL breaks the deadlock by failing the flush (seen on CI). A solo worker answers control
        messages only between tasks, so no answer means busy."""
        from workers.celery_app import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.worker is None or self.worker.poll() is not None:
                return
            # A fresh connection each time: pooled ones die when a test restarts Redis.
            with app.connection_for_write() as connection:
                inspect = app.control.inspect(destination=[self.worker_name], timeout=1, limit=1, connection=connection)
                if _idle(inspect.active) and _idle(inspect.reserved):
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the worker was still busy after {timeout}s\n{self.logs()}")

    def kill_worker(self) -> None:
        """SIGKILL: the worker dies mid-job without any chance to clean up, like an OOM kill."""
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait(timeout=10)

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process is not None and process.poll() is None:
                process.terminate()
        for process in (self.web, self.worker):
            if process is None:
                continue
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _idle(ask: Callable[[], dict[str, list[object]] | None]) -> bool:
    try:
        replies = ask()
    except (OSError, redis.exceptions.ConnectionError, kombu.exceptions.OperationalError):
        return False  # Redis is still coming back
    return bool(replies) and not any(replies.values())


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
    env = os.environ | {
        "DISTILLERY_DB_NAME": settings.DATABASES["default"]["NAME"],  # the test database
        "DISTILLERY_DATA_DIR": str(storage_dirs["data"]),
        "DISTILLERY_MODEL_ROOT": str(storage_dirs["models"]),
        "DISTILLERY_JOB_HEARTBEAT_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    stack = LiveStack(env=env, log_dir=tmp_path_factory.mktemp("live-logs"))
    try:
        stack.start_web()
        stack.start_worker()
        yield stack
    finally:
        stack.stop()
