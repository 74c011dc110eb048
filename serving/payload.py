"""The body of a predict request: `{"texts": ["...", ...]}`, or `{"text": "..."}` for one text.

Every problem is a sentence naming what is wrong, so a caller can fix its request from the answer alone."""

from __future__ import annotations

import json
from typing import Any


class PayloadError(ValueError):
    """A malformed body (answered 400)."""


class TooManyTexts(PayloadError):
    """More texts than one request may carry (answered 413)."""


def texts_from_body(body: bytes, *, max_texts: int) -> list[str]:
    try:
        data: Any = json.loads(body)
    except UnicodeDecodeError as exc:
        raise PayloadError("The body is not UTF-8 text.") from exc
    except json.JSONDecodeError as exc:
        raise PayloadError(f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from exc
    if not isinstance(data, dict):
        raise PayloadError('The body must be a JSON object: {"texts": ["...", ...]} or {"text": "..."}.')
    given = [name for name in ("texts", "text") if name in data]
    unknown = sorted(set(data) - {"texts", "text"})
    if unknown:
        raise PayloadError(f'Unknown field(s): {", ".join(unknown)}; send "texts" (a list) or "text".')
    if len(given) != 1:
        raise PayloadError('Send exactly one of "texts" (a list of strings) or "text" (a string).')
    if given == ["text"]:
        texts = [_text(data["text"], where='"text"')]
    else:
        values = data["texts"]
        if not isinstance(values, list):
            raise PayloadError('"texts" must be a list of strings.')
        if not values:
            raise PayloadError('"texts" is empty: send at least one text.')
        if len(values) > max_texts:
            raise TooManyTexts(f"{len(values)} texts in one request; at most {max_texts} are allowed.")
        texts = [_text(value, where=f'"texts"[{i}]') for i, value in enumerate(values)]
    return texts


def _text(value: object, *, where: str) -> str:
    if not isinstance(value, str):
        raise PayloadError(f"{where} must be a string, not {_json_type(value)}.")
    if not value.strip():
        raise PayloadError(f"{where} is empty.")
    return value


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
