"""Reading a request and answering it over raw ASGI: the bearer key, the body within a size limit, JSON out.

Every error is JSON `{"detail": "<a sentence>"}` with its status, like the dashboard's API."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = Sequence[tuple[bytes, bytes]]


class HttpError(Exception):
    def __init__(self, status: int, detail: str, *, headers: Headers = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:  # ASGI servers give header names in lower case
            return bytes(value).decode("latin-1")
    return None


def bearer_token(scope: Scope) -> str:
    """The token of `Authorization: Bearer <token>`; 401 when there is none."""
    value = header(scope, b"authorization")
    scheme, _, token = (value or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HttpError(
            401,
            "Send the deployment's serving key as 'Authorization: Bearer <key>'.",
            headers=[(b"www-authenticate", b'Bearer realm="distillery-serving"')],
        )
    return token.strip()


async def read_body(scope: Scope, receive: Receive, *, limit: int) -> bytes:
    """The whole body; 413 as soon as it is known to exceed `limit` bytes (from its Content-Length, or while
    reading a chunked one), without reading the rest."""
    too_large = HttpError(413, f"The body is larger than {limit} bytes; send fewer or shorter texts per request.")
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HttpError(400, "The client went away before sending the whole body.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_json(send: Send, status: int, payload: object, *, headers: Headers = ()) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
