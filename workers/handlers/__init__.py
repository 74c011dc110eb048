"""One handler per job kind: load rows, build an ML config, call workers/ml, shape the result."""

from collections.abc import Callable

from webapp.jobs.models import Job
from workers.handlers.base import Outcome
from workers.handlers.distill import distill_student
from workers.handlers.evaluate import evaluate_model
from workers.handlers.finetune import finetune_teacher
from workers.handlers.profile import profile_dataset
from workers.handlers.quantize import quantize_student
from workers.handlers.teacher_outputs import cache_teacher_outputs
from workers.reporter import JobReporter

HANDLERS: dict[str, Callable[[Job, JobReporter], Outcome]] = {
    Job.Kind.PROFILE_DATASET: profile_dataset,
    Job.Kind.FINETUNE_TEACHER: finetune_teacher,
    Job.Kind.CACHE_TEACHER_OUTPUTS: cache_teacher_outputs,
    Job.Kind.DISTILL_STUDENT: distill_student,
    Job.Kind.QUANTIZE_STUDENT: quantize_student,
    Job.Kind.EVALUATE: evaluate_model,
}
