"""Answers for requests that fail because PostgreSQL or Redis is down: a 503 that names the service,
as JSON for API clients and as a plain page for browsers, instead of a "Server Error (500)".

`server_error` is the project's handler500, so it also catches failures in middleware (a session or
the user's teams read from a database that went away), not only in views. API views get the same
answer from the DRF exception handler (webapp/api/errors.py), which runs before this."""

import logging
import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

from webapp.config.health import outage_detail, unavailable_service

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 10


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def outage_payload(exc: BaseException, service: str) -> dict[str, str]:
    return {"detail": outage_detail(exc, service), "unavailable": service}


def outage_response(request: HttpRequest, exc: BaseException, service: str) -> HttpResponse:
    payload = outage_payload(exc, service)
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse(payload, status=503)
    else:
        # No request context: the usual context processors read the database, which may be the one down.
        response = HttpResponse(render_to_string("503.html", payload), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it while handling the uncaught exception, so sys.exc_info() holds it."""
    exc = sys.exc_info()[1]
    service = unavailable_service(exc) if exc is not None else None
    if exc is not None and service is not None:
        logger.warning("%s unavailable while serving %s: %s", service, request.path, exc)
        return outage_response(request, exc, service)
    if wants_json(request):
        return JsonResponse({"detail": "Server error: the problem was logged."}, status=500)
    return defaults.server_error(request)
