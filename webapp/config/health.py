"""Are the services the dashboard needs reachable? One place that knows how to ask, and which errors
mean "a service is down" rather than "a bug": /healthz, job starts and the outage error pages use it."""

import redis
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from kombu.exceptions import OperationalError as BrokerError
from redis.backoff import NoBackoff
from redis.retry import Retry

DATABASE = "database"
REDIS = "redis"
# What a user or an API client is told, by the service that is down.
UNAVAILABLE_MESSAGES = {
    DATABASE: "The database (PostgreSQL) is unavailable; nothing was changed. Try again in a moment.",
    REDIS: "Redis (the job queue and live updates) is unavailable; nothing was started. Try again in a moment.",
}
# Connection failures of PostgreSQL: client-side errors (no SQLSTATE), class 08 (connection exception),
# and the server shutting down or starting up (57P01-57P03). Other OperationalErrors (a deadlock, a
# cancelled query) are not outages.
_PG_OUTAGE_STATES = ("57P01", "57P02", "57P03")
PROBE_TIMEOUT_SECONDS = 2


class ServiceUnavailable(Exception):
    """Raised by a service that needs a component which is down; the request answers 503."""

    def __init__(self, service: str, message: str = "") -> None:
        self.service = service
        self.detail = message or UNAVAILABLE_MESSAGES[service]
        super().__init__(self.detail)


def outage_detail(exc: BaseException, service: str) -> str:
    """What to tell the user about an outage that raised `exc`."""
    return exc.detail if isinstance(exc, ServiceUnavailable) else UNAVAILABLE_MESSAGES[service]


def unavailable_service(exc: BaseException) -> str | None:
    """The service whose outage caused `exc` (DATABASE or REDIS), or None for any other error."""
    if isinstance(exc, ServiceUnavailable):
        return exc.service
    if isinstance(exc, InterfaceError) or (isinstance(exc, OperationalError) and _lost_connection(exc)):
        return DATABASE
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, BrokerError)):
        return REDIS
    return None


def _lost_connection(exc: OperationalError) -> bool:
    state = getattr(exc.__cause__, "sqlstate", None)
    return state is None or state.startswith("08") or state in _PG_OUTAGE_STATES


def database_problem() -> str | None:
    """None when the database answers a query, else what went wrong."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        connection.close_if_unusable_or_obsolete()
        return _first_line(exc)
    return None


def redis_problem(url: str) -> str | None:
    """None when Redis at `url` answers a PING, else what went wrong. A fresh connection each time, with
    no retries: a pooled one could look alive after Redis went away, and a probe must answer quickly."""
    client = redis.Redis.from_url(
        url,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return _first_line(exc)
    finally:
        client.close()
    return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
