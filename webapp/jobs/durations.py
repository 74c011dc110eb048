"""How long a training job will take, said on its form before it starts: the examples it will see times a
measured cost per example, plus its start-up. The cost comes from past jobs of the same kind on the device the
workers have (each training job records its seconds per epoch); with none yet, from a documented default.

A distil job's cost is per student layer (a 1-layer student trains about twice as fast as a 2-layer one)."""

from dataclasses import dataclass
from statistics import median
from typing import Any

from webapp.jobs.models import Job

HISTORY = 10  # the newest jobs of a kind the rate is the median of

# Defaults with no history, from bench/distill_banking77.py (CPU, 2 threads, max_length 64, MiniLM-L6): a KD
# student trains at 3.1 ms (1 layer) and 6.8 ms (2 layers) a row per epoch, about 3.4 ms a layer; fine-tuning
# the 6-layer teacher costs about six layers' worth. Start-up (loading, caching teacher outputs, evaluating)
# is a guess of half a minute. A GPU is far faster: its estimate comes from its own jobs' history.
DEFAULT_SECONDS_PER_EXAMPLE = {Job.Kind.FINETUNE_TEACHER: 0.020, Job.Kind.DISTILL_STUDENT: 0.0034}
DEFAULT_OVERHEAD_SECONDS = 30.0
VALIDATION_SHARE = 0.1  # held out of the training set when no validation set is chosen


@dataclass(frozen=True)
class TrainingRate:
    kind: str
    seconds_per_example: float  # per training row per epoch (a distil job: per student layer too)
    overhead_seconds: float
    device: str  # where, in words: "cpu: AMD EPYC 7B13 (2 threads)", or "" when no job has run yet
    source: str  # where the rate comes from, in words

    def seconds(self, *, rows: int, epochs: int, layers: int = 1, validation_chosen: bool = True) -> float:
        """Up to this long (early stopping may end the job sooner)."""
        rows_trained = rows if validation_chosen else rows * (1 - VALIDATION_SHARE)
        per_example = self.seconds_per_example * (layers if self.kind == Job.Kind.DISTILL_STUDENT else 1)
        return self.overhead_seconds + rows_trained * epochs * per_example

    def as_json(self) -> dict[str, Any]:
        """What the form's script recomputes the estimate from as fields change."""
        return {
            "kind": self.kind,
            "secondsPerExample": self.seconds_per_example,
            "overheadSeconds": self.overhead_seconds,
            "perLayer": self.kind == Job.Kind.DISTILL_STUDENT,
            "validationShare": VALIDATION_SHARE,
        }


def training_rate(kind: str) -> TrainingRate:
    """The measured cost of a training job of `kind` on the device the newest job ran on (else the default)."""
    newest = Job.objects.exclude(device={}).order_by("-finished_at", "-pk").only("device", "device_kind").first()
    device_kind = (newest.device or {}).get("kind") if newest else None
    device = newest.device_kind if newest else ""
    costs, overheads = [], []
    if device_kind:
        past = Job.objects.filter(kind=kind, status=Job.Status.SUCCEEDED, device__kind=device_kind)
        for job in past.order_by("-finished_at", "-pk")[:HISTORY]:
            measured = _measured(job)
            if measured is not None:
                costs.append(measured[0])
                overheads.append(measured[1])
    if costs:
        jobs = f"{len(costs)} past {_what(kind)} job{'s' if len(costs) != 1 else ''}"
        return TrainingRate(kind, median(costs), median(overheads), device, f"measured by {jobs} on this device")
    return TrainingRate(
        kind,
        DEFAULT_SECONDS_PER_EXAMPLE[kind],  # type: ignore[index]
        DEFAULT_OVERHEAD_SECONDS,
        device,
        "a default measured on a 2-thread CPU (bench/distill_banking77.py): no such job has run here yet",
    )


def _what(kind: str) -> str:
    return "fine-tune" if kind == Job.Kind.FINETUNE_TEACHER else "distil"


def _measured(job: Job) -> tuple[float, float] | None:
    """(seconds per example, start-up seconds) of a finished training job, from its row."""
    training = job.params.get("training") or {}
    epochs, batch = training.get("epochs"), training.get("batch_size")
    done_epochs = job.result.get("epochs") or epochs
    if not (epochs and batch and job.total and done_epochs):
        return None
    rows_per_epoch = job.total / epochs * batch  # steps per epoch × batch: the rows one epoch saw
    per_epoch = job.result.get("seconds_per_epoch") or job.device_seconds / done_epochs
    if per_epoch <= 0:
        return None
    layers = 1
    if job.kind == Job.Kind.DISTILL_STUDENT:
        layers = (job.params.get("student") or {}).get("layers") or 1
    overhead = max(0.0, job.device_seconds - per_epoch * done_epochs)
    return per_epoch / rows_per_epoch / layers, overhead


def rough_duration(seconds: float) -> str:
    """An estimate as people say it: "under a minute", "about 12 min", "about 3 h 20 min"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min" if minutes else f"about {hours} h"
