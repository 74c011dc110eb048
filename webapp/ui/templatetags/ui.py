"""Small template helpers shared by every page."""

import math
from datetime import datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from domain.naming import shorten

register = template.Library()


@register.filter
def local_time(value: datetime | None, style: str = "") -> str:
    """A <time> the browser rewrites into the user's own time zone (UTC text until then)."""
    if not value:
        return "—"
    mode = "relative" if style == "relative" else ""
    return format_html(
        '<time datetime="{}" data-local="{}">{}</time>', value.isoformat(), mode, value.strftime("%Y-%m-%d %H:%M UTC")
    )


@register.filter
def percent(value: float | str | None, digits: int = 1) -> str:
    """0.934 -> "93.4%"; a missing value (None, or "" for an absent key in a template) -> "—"."""
    try:
        return f"{float(value) * 100:.{digits}f}%"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"


@register.filter
def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@register.filter
def get_item(mapping: dict[object, object], key: object) -> object:
    return mapping.get(key)


def _significant(amount: float, digits: int = 3) -> str:
    """At least `digits` significant digits, never in e-notation: 0.0955 -> "0.0955", 6.71e-06 -> "0.00000671"."""
    if amount == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(amount))))
    return f"{amount:,.{decimals}f}"


@register.filter
def usd(value: float | None, digits: int = 0) -> str:
    """Dollars with thousands separators ("$12,345"); an amount that would round to nothing ($0.0955 a month)
    keeps three significant digits ("$0.0955"), never in e-notation."""
    if value is None:
        return "—"
    amount = float(value)
    sign = "-" if amount < 0 else ""
    if 0 < abs(amount) < (1 if digits == 0 else 10**-digits):
        return f"{sign}${_significant(abs(amount))}"
    return f"{sign}${abs(amount):,.{digits}f}"


@register.filter
def per_request(value: float | None) -> str:
    """A per-request cost at a scale that reads: "$1.20 per 1,000 requests", "$6.71 per million requests"."""
    if value is None:
        return "—"
    amount = float(value)
    if amount == 0 or abs(amount) >= 0.01:
        return f"{usd(amount, 4 if abs(amount) < 1 else 2)} per request"
    if abs(amount) * 1000 >= 0.01:
        return f"{usd(amount * 1000, 2)} per 1,000 requests"
    return f"{usd(amount * 1_000_000, 2)} per million requests"


@register.filter
def points(value: float | None) -> str:
    """A difference of two shares in percentage points ("+1.2 points"), never as a percentage of a percentage."""
    if value is None:
        return "—"
    return f"{value * 100:+.1f} points"


@register.filter
def thousands(value: float | int | None) -> str:
    """Whole numbers with thousands separators: 3000000 -> "3,000,000"; a missing value -> "—"."""
    try:
        return f"{round(float(value)):,}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"


@register.filter
def compact(value: float | int | None) -> str:
    """A count for a narrow column: 22713216 -> "22.7 M", 61000 -> "61.0 k", 412 -> "412"."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= size:
            return f"{number / size:.1f} {unit}"
    return f"{number:,.0f}"


@register.filter
def model_name(name: str | None, limit: int = 0) -> SafeString | str:
    """A model's name short enough for a cell or a legend; when shortened, the full name is its tooltip."""
    if not name:
        return "—"
    short = shorten(str(name), limit) if limit else shorten(str(name))
    if short == " ".join(str(name).split()):
        return short
    return format_html('<span title="{}">{}</span>', name, short)


@register.filter
def plural(count: int | float | None, word: str) -> str:
    """ "1 epoch", "3 epochs", "1,200 rows": a count with its noun (nouns that add an s)."""
    number = count if count is not None else 0
    return f"{thousands(number)} {word}{'' if number == 1 else 's'}"
