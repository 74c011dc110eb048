from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from webapp.config.health import unavailable_service
from webapp.config.outages import RETRY_AFTER_SECONDS, outage_payload


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Service-layer ValidationErrors become 400s with their messages, like form errors on the web.
    A service that is down (PostgreSQL, Redis: e.g. a job start while the queue is unreachable) is a
    503 naming it, checked first because a job start's QueueUnavailable is also a ValidationError."""
    service = unavailable_service(exc)
    if service is not None:
        set_rollback()
        return Response(outage_payload(exc, service), status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, ValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)
