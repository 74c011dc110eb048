"""What each assumption, mode, rule and choice is called on the pages, in the report and in error messages: the
one place internal names (`keep_teacher`, `self_hosted`, `cuda`) become words a reader understands. No page code
here: services use it too, workers import services, and the pure analysis takes its verdict names from here."""

from typing import Any

ASSUMPTION_LABELS = {
    "mode": "Serving mode",
    "tau_rule": "How τ is chosen",
    "manual_tau": "τ set by hand",
    "certified_target": "Certified target",
    "certified_delta": "Certified δ (chance the guarantee fails)",
    "certify_on": "Certify on",
    "requests_per_month": "Requests per month",
    "input_tokens_per_request": "Input tokens per request",
    "output_tokens_per_request": "Output tokens per request",
    "teacher_pricing": "Teacher pricing",
    "teacher_usd_per_million_input_tokens": "Teacher $ per 1M input tokens",
    "teacher_usd_per_million_output_tokens": "Teacher $ per 1M output tokens",
    "teacher_usd_per_host_hour": "Teacher $ per host-hour",
    "teacher_hosts": "Teacher hosts",
    "teacher_host_kind": "Teacher host kind",
    "student_usd_per_host_hour": "Student $ per host-hour",
    "student_hosts": "Student hosts",
    "student_host_kind": "Student host kind",
    "utilisation": "Utilisation of hosts",
    "student_fixed_usd_per_month": "Student fixed $ per month",
    "router_usd_per_request": "Router $ per request",
    "router_latency_ms": "Router latency (ms)",
    "router_accuracy": "Router accuracy",
    "usd_per_device_hour": "Training $ per device-hour",
    "filtering_labelling_usd": "Filtering and labelling $",
    "engineering_hours": "Engineering hours",
    "engineering_usd_per_hour": "Engineering $ per hour",
    "valid_months": "Months the student stays valid",
    "retrain_every_months": "Retrain every (months)",
    "retraining_share_of_one_off": "A retraining costs (share of one-off)",
    "horizon_months": "Planning horizon (months)",
}

# Serving modes: a short name (tables, legends, the form) and a sentence-length one (the report).
MODE_LABELS = {
    "keep_teacher": "keep the teacher",
    "cascade": "student-first cascade",
    "upfront_routing": "upfront routing",
}
MODE_DESCRIPTIONS = {  # in the order a reader compares them
    "keep_teacher": "keep the teacher",
    "cascade": "student first, unsure requests escalate to the teacher",
    "upfront_routing": "a router sends each request to the student or the teacher",
}
RULE_LABELS = {
    "certified": "Certified τ",
    "quality_bar": "Meets the task's bar",
    "manual": "Set by hand",
}
RULE_DESCRIPTIONS = {
    "quality_bar": "the most traffic that still meets the task's quality bar",
    "certified": "certified, with a statistical guarantee on the kept traffic",
    "manual": "set by hand",
}
PRICING_LABELS = {
    "api": "per token (an API)",
    "self_hosted": "self-hosted at its measured throughput",
}
CERTIFY_ON_LABELS = {"agreement": "agreement with the teacher", "accuracy": "accuracy (against the labels)"}
# The kind of host a self-hosted model runs on: "timed" is the kind its speed was measured on.
HOST_KIND_LABELS = {"timed": "the kind it was timed on", "cpu": "CPU", "gpu": "GPU"}
# Device kinds as the workers record them (torch's names).
DEVICE_KIND_LABELS = {"cpu": "CPU", "cuda": "GPU (CUDA)", "mps": "Apple GPU (MPS)"}
ROLE_LABELS = {"validation": "validation", "test": "test", "ood": "out-of-distribution"}
VERDICT_LABELS = {
    "pays_off": "Pays off",
    "think_carefully": "Think carefully",
    "wrong_tool": "Wrong tool",
    "never": "Never pays off",
}

# Assumptions whose value is itself an internal name, and the words for it.
_VALUE_LABELS: dict[str, dict[str, str]] = {
    "mode": MODE_LABELS,
    "tau_rule": {key: label.lower() for key, label in RULE_LABELS.items()},
    "teacher_pricing": PRICING_LABELS,
    "certify_on": CERTIFY_ON_LABELS,
    "teacher_host_kind": HOST_KIND_LABELS,
    "student_host_kind": HOST_KIND_LABELS,
}

# Internal names a reader must never see verbatim (tests check rendered pages against them): every snake_case
# one, and the short ones that are not English words. ("cascade", "manual" or "mode" are words, so not listed.)
INTERNAL_NAMES = frozenset(
    {name for name in (*ASSUMPTION_LABELS, *MODE_LABELS, *RULE_LABELS, *PRICING_LABELS, *VERDICT_LABELS) if "_" in name}
    | {"api", "ood", "cuda", "mps"}
)


def device_label(kind: str) -> str:
    """ "cuda" -> "GPU (CUDA)"; a kind with a name after a colon keeps the name ("cuda:NVIDIA H200")."""
    base, _, name = (kind or "").partition(":")
    label = DEVICE_KIND_LABELS.get(base.strip(), base.strip() or "an unknown device")
    return f"{label}: {name.strip()}" if name.strip() else label


def assumption_label(key: str) -> str:
    return ASSUMPTION_LABELS.get(key) or key.replace("_", " ").capitalize()


def assumption_value(key: str, value: Any) -> str:
    """One assumption's value in words: names translated, numbers without float noise, None as "never"."""
    if key in _VALUE_LABELS and isinstance(value, str):
        return _VALUE_LABELS[key].get(value, value.replace("_", " "))
    if isinstance(value, dict):
        return ", ".join(f"{device_label(k)}: {assumption_value('', v)}" for k, v in value.items())
    if value is None:
        return "never"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and float(value).is_integer():
        return f"{int(value):,}"  # 5,000,000 rather than 5e+06
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)
