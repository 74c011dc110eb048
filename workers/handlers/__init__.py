"""One handler per job kind: `handler(spec, ctx) -> result`. Each loads rows, calls workers/ml and returns a
typed result (domain.results); it never writes a row (webapp services record the result)."""

from collections.abc import Callable
from typing import Any

from domain.results import JobResult
from workers.handlers.base import JobContext
from workers.handlers.distill import distill_student
from workers.handlers.evaluate import evaluate_model
from workers.handlers.finetune import finetune_teacher
from workers.handlers.profile import profile_dataset
from workers.handlers.quantize import quantize_student

# Keyed by Job.Kind value (a sweep has no handler: its children run, it follows them).
HANDLERS: dict[str, Callable[[Any, JobContext], JobResult]] = {
    "profile_dataset": profile_dataset,
    "finetune_teacher": finetune_teacher,
    "distill_student": distill_student,
    "quantize_student": quantize_student,
    "evaluate": evaluate_model,
}
