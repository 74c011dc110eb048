"""The overview's "next steps": the path from data to a decided deployment, each step done or not, with a link
to where it is done and a count of what exists. Reads only."""

from dataclasses import dataclass

from django.urls import reverse

from webapp.approvals.models import ApprovalRequest
from webapp.jobs.models import Job
from webapp.registry.models import Dataset, Task

DATA_ROLES = (Dataset.Role.TRAIN, Dataset.Role.VALIDATION, Dataset.Role.TEST, Dataset.Role.OOD)
SHORT_ROLE = {Dataset.Role.OOD: "OOD"}


@dataclass(frozen=True)
class Step:
    done: bool
    action: str  # the link text
    url: str
    rest: str  # the sentence after the link
    detail: str = ""  # what exists so far, e.g. "3 students"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def task_checklist(task: Task) -> list[Step]:
    roles = set(task.datasets.values_list("role", flat=True))
    teachers = list(task.teachers.all())
    tuned = [t for t in teachers if t.has_task_head]
    students = task.students.count()
    evaluated = task.evaluations.filter(student__isnull=False, dataset_role=Dataset.Role.TEST).count()
    scenarios = task.scenarios.count()
    requests = list(task.approval_requests.values_list("state", flat=True))
    decided = sum(state in (ApprovalRequest.State.APPROVED, ApprovalRequest.State.REJECTED) for state in requests)
    profiled = task.jobs.filter(kind=Job.Kind.PROFILE_DATASET, status=Job.Status.SUCCEEDED).exists()
    sets_present = [SHORT_ROLE.get(role, role) for role in DATA_ROLES if role in roles]
    waiting = sum(state == ApprovalRequest.State.PENDING for state in requests)
    return [
        Step(
            Dataset.Role.TRAIN in roles,
            "Upload training data",
            reverse("dataset-list", args=[task.pk]),
            ", then validation, test and out-of-distribution sets.",
            f"have: {', '.join(sets_present)}" if sets_present else "",
        ),
        Step(
            task.labels_reviewed,
            "Review the label set",
            reverse("task-labels", args=[task.pk]),
            f" ({_count(len(task.labels), 'label')} from your uploads).",
        ),
        Step(
            bool(teachers),
            "Register a teacher",
            reverse("teacher-list", args=[task.pk]) + "#register",
            " and its cost.",
        ),
        Step(profiled, "Profile a dataset", reverse("job-list", args=[task.pk]), " with the teacher's tokenizer."),
        Step(
            bool(tuned),
            "Fine-tune the teacher",
            reverse("teacher-list", args=[task.pk]) + "#finetune",
            " on your labels (or upload its outputs).",
            _count(len(tuned), "teacher") + " with a head over the labels" if tuned else "",
        ),
        Step(
            students > 0,
            "Distil students",
            reverse("student-list", args=[task.pk]) + "#distil",
            " of one or several sizes.",
            _count(students, "student") if students else "",
        ),
        Step(
            evaluated > 0,
            "Evaluate them",
            reverse("evaluation-overview", args=[task.pk]),
            " on test and out-of-distribution sets: quality, calibration, speed.",
            _count(evaluated, "student evaluation") + " on test sets" if evaluated else "",
        ),
        Step(
            scenarios > 0,
            "Decide",
            reverse("roi", args=[task.pk]),
            ": how much traffic a student takes and when it pays off; save the scenario.",
            _count(scenarios, "saved scenario") if scenarios else "",
        ),
        Step(
            decided > 0,
            "Approve",
            reverse("approvals", args=[task.pk]),
            ": request approval of a scenario; another approver decides.",
            ", ".join(
                part
                for part in (f"{decided:,} decided" if decided else "", f"{waiting:,} waiting" if waiting else "")
                if part
            ),
        ),
    ]
