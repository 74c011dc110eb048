"""Small template helpers shared by every page."""

from datetime import datetime

from django import template
from django.utils.html import format_html

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


@register.filter
def usd(value: float | None, digits: int = 0) -> str:
    """Dollars with thousands separators ("$12,345"); small per-request costs keep their significant digits."""
    if value is None:
        return "—"
    amount = float(value)
    if 0 < abs(amount) < 1 and digits == 0:
        return f"${amount:.3g}"
    return f"{'-' if amount < 0 else ''}${abs(amount):,.{digits}f}"


@register.filter
def points(value: float | None) -> str:
    """A difference of two shares in percentage points ("+1.2 pts")."""
    if value is None:
        return "—"
    return f"{value * 100:+.1f} pts"
