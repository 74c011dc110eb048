"""Outages on demand: stop this checkout's test PostgreSQL or Redis for the length of a test, and
always start it again afterwards (scripts/services.sh, the same script `make test` uses)."""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connections

SERVICES = Path(__file__).resolve().parents[2] / "scripts" / "services.sh"


def _services(*args: str) -> None:
    subprocess.run([str(SERVICES), *args], check=True, capture_output=True, timeout=120)


@contextmanager
def outage(service: str) -> Iterator[None]:
    _services("stop", "test", service)
    try:
        yield
    finally:
        _services("start", "test")
        if service == "postgres":
            connections.close_all()  # the test's own connections died with the server


@pytest.fixture
def redis_down() -> Iterator[None]:
    with outage("redis"):
        yield


@pytest.fixture
def postgres_down(transactional_db: None) -> Iterator[None]:
    """Needs committed rows (transactional_db) : a test transaction would die with the server."""
    with outage("postgres"):
        yield
