"""A page for a 405 instead of a blank one: `require_POST` answers a browser that opens a form's address (a link
shared, a reload after a redirect) with an empty body. The page says which method the address takes and links
to the page with the form. API clients keep the plain 405 with its Allow header."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve


def form_page(path: str) -> str | None:
    """The page one level up, where a form posting to `path` lives (tasks/1/evaluation/start/ is on
    tasks/1/evaluation/), if that address is a page."""
    parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
    if parent == path or parent == "/":
        return None
    try:
        resolve(parent)
    except Resolver404:
        return None
    return parent


class MethodNotAllowedPage:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or response.content or request.path.startswith("/api/"):
            return response
        allowed = [method.strip() for method in response.get("Allow", "").split(",") if method.strip()]
        context = {"allowed": allowed or ["POST"], "form_page": form_page(request.path)}
        page = HttpResponse(render_to_string("405.html", context, request=request), status=405)
        page["Allow"] = response.get("Allow", "")
        return page
