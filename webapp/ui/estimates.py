"""The duration estimate and the "quick first try" preset shown on the long-job forms (fine-tune on the
Teachers tab, distil on the Students tab), from the form's current values and webapp.jobs.durations."""

import json
from typing import Any

from django import forms
from django.http import HttpRequest

from webapp.jobs.durations import TrainingRate, rough_duration, training_rate
from webapp.jobs.models import Job

# A first run to see the pipeline work end to end: one epoch (and one student size rather than a sweep).
QUICK = {
    Job.Kind.FINETUNE_TEACHER: {"epochs": 1},
    Job.Kind.DISTILL_STUDENT: {"epochs": 1, "layers": "2"},
}
PRETRAINED_LAYERS = 6  # a pretrained student's size is its model's: assume a small encoder's


def preset_initial(request: HttpRequest, kind: str) -> dict[str, Any]:
    """The form's starting values when the page was opened with ?preset=quick."""
    return dict(QUICK[kind]) if request.GET.get("preset") == "quick" else {}


def _sizes(form: forms.Form) -> list[int]:
    if "layers" not in form.fields:
        return [1]
    if form["construction"].value() == "pretrained":
        return [PRETRAINED_LAYERS]
    try:
        return sorted({int(part) for part in str(form["layers"].value() or "").split(",") if part.strip()}) or [1]
    except ValueError:
        return [1]


def _pk(value: Any) -> int | None:
    value = getattr(value, "pk", value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def training_estimate(form: forms.Form, kind: str) -> dict[str, Any]:
    """{text, source, config (JSON for the page's script)} for a fine-tune or distil form as it stands."""
    rate: TrainingRate = training_rate(kind)
    rows = {d.pk: d.row_count for d in form.fields["train"].queryset}  # type: ignore[attr-defined]
    train = _pk(form["train"].value())
    try:
        epochs = int(form["epochs"].value() or 0)
    except (TypeError, ValueError):
        epochs = 0
    sizes = _sizes(form)
    text = ""
    if train in rows and epochs > 0:
        validation_chosen = _pk(form["validation"].value()) is not None
        seconds = sum(
            rate.seconds(rows=rows[train], epochs=epochs, layers=n, validation_chosen=validation_chosen) for n in sizes
        )
        students = f" for {len(sizes)} students" if len(sizes) > 1 else ""
        where = f" on {rate.device}" if rate.device else ""
        work = f"{rows[train]:,} rows × {epochs} epoch{'s' * (epochs != 1)}"
        text = f"Up to {rough_duration(seconds)}{where}{students}: {work}"
    config = rate.as_json() | {"rows": rows, "device": rate.device, "pretrainedLayers": PRETRAINED_LAYERS}
    return {"text": text, "source": rate.source, "config": json.dumps(config), "preset": json.dumps(QUICK[kind])}
