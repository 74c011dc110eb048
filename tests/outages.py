"""Outages on demand: stop this checkout's test PostgreSQL or Redis for a while, and always start it
again afterwards (scripts/services.sh, the same script `make test` uses)."""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connections

SERVICES = Path(__file__).resolve().parents[1] / "scripts" / "services.sh"


def _services(*args: str) -> None:
    subprocess.run([str(SERVICES), *args], check=True, capture_output=True, timeout=120)


@contextmanager
def outage(service: str) -> Iterator[None]:
    """`service` is "postgres" or "redis"."""
    _services("stop", "test", service)
    try:
        yield
    finally:
        _services("start", "test")
        if service == "postgres":
            connections.close_all()  # the test's own connections died with the server
