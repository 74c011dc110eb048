"""One handler per job kind: load rows, build an ML config, call workers/ml, shape the result."""

from collections.abc import Callable

from webapp.jobs.models import Job
from workers.handlers.base import Outcome
from workers.handlers.profile import profile_dataset
from workers.reporter import JobReporter

HANDLERS: dict[str, Callable[[Job, JobReporter], Outcome]] = {
    Job.Kind.PROFILE_DATASET: profile_dataset,
}
