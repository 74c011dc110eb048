"""Internal names in words, for the ROI templates (the words themselves live in webapp.economics.labels)."""

from django import template

from webapp.economics import labels

register = template.Library()


@register.filter
def mode_label(key: str) -> str:
    return labels.MODE_LABELS.get(key, str(key).replace("_", " "))


@register.filter
def role_label(key: str) -> str:
    return labels.ROLE_LABELS.get(key, str(key).replace("_", " "))


@register.filter
def rule_label(key: str) -> str:
    return labels.RULE_LABELS.get(key, str(key).replace("_", " "))


@register.filter
def device_label(kind: str) -> str:
    return labels.device_label(kind)
