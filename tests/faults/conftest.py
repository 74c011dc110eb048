"""Fixtures that take PostgreSQL or Redis away for the length of a test (see tests/outages.py)."""

from collections.abc import Iterator

import pytest

from tests.outages import outage


@pytest.fixture
def redis_down() -> Iterator[None]:
    with outage("redis"):
        yield


@pytest.fixture
def postgres_down(transactional_db: None) -> Iterator[None]:
    """Needs committed rows (transactional_db): a test's transaction would die with the server."""
    with outage("postgres"):
        yield
