"""Reads of tasks, datasets and teachers, always scoped to the user's teams."""

from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, QuerySet
from django.http import Http404

from webapp.accounts.models import Team
from webapp.accounts.selectors import scope_to_user
from webapp.registry.dataset_stats import overlap_count, text_fingerprints
from webapp.registry.models import Dataset, Student, Task, Teacher

AnyUser = AbstractBaseUser | AnonymousUser


def tasks_visible_to(*, user: AnyUser) -> QuerySet[Task]:
    return scope_to_user(Task.objects.select_related("team"), user=user, team_path="team")


def tasks_of_team(*, team: Team) -> QuerySet[Task]:
    return Task.objects.active().filter(team=team).annotate(dataset_count=Count("datasets", distinct=True))


def archived_tasks_of_team(*, team: Team) -> QuerySet[Task]:
    return Task.objects.archived().filter(team=team).select_related("archived_by").order_by("-archived_at")


def archived_of_task(*, task: Task) -> dict[str, list[Any]]:
    """The task's archived datasets, teachers and students, most recently archived first: what can be restored."""
    return {
        "datasets": list(task.datasets.archived().select_related("archived_by").order_by("-archived_at")),
        "teachers": list(task.teachers.archived().select_related("archived_by").order_by("-archived_at")),
        "students": list(task.students.archived().select_related("archived_by").order_by("-archived_at")),
    }


def task_get_for_user(*, user: AnyUser, task_id: int) -> Task:
    task = tasks_visible_to(user=user).filter(pk=task_id).first()
    if task is None:
        raise Http404("No such task.")
    return task


def datasets_visible_to(*, user: AnyUser) -> QuerySet[Dataset]:
    return scope_to_user(Dataset.objects.select_related("task", "task__team"), user=user, team_path="task__team")


def dataset_get_for_user(*, user: AnyUser, dataset_id: int) -> Dataset:
    dataset = datasets_visible_to(user=user).filter(pk=dataset_id).first()
    if dataset is None:
        raise Http404("No such dataset.")
    return dataset


def teachers_visible_to(*, user: AnyUser) -> QuerySet[Teacher]:
    return scope_to_user(Teacher.objects.select_related("task", "task__team"), user=user, team_path="task__team")


def teacher_get_for_user(*, user: AnyUser, teacher_id: int) -> Teacher:
    teacher = teachers_visible_to(user=user).filter(pk=teacher_id).first()
    if teacher is None:
        raise Http404("No such teacher.")
    return teacher


def dataset_overlaps(dataset: Dataset) -> list[dict[str, Any]]:
    """How many of this dataset's texts also appear in each other dataset of the task (after
    case and whitespace normalisation): train/test overlap inflates test scores."""
    mine = text_fingerprints(row["text"] for row in dataset.rows())
    overlaps = []
    for other in Dataset.objects.active().filter(task=dataset.task).exclude(pk=dataset.pk).order_by("role", "name"):
        if not other.rows_path.exists():
            continue
        theirs = text_fingerprints(row["text"] for row in other.rows())
        overlaps.append({"dataset": other, "count": overlap_count(mine, theirs)})
    return overlaps


def label_usage(*, task: Task) -> list[dict[str, Any]]:
    """Each label of the task with its row count in every labelled dataset, for the review page."""
    datasets = list(Dataset.objects.filter(task=task).exclude(role=Dataset.Role.UNLABELED).select_related("task"))
    counts = {d.pk: dict(d.label_counts()) for d in datasets}
    known = list(task.labels)
    extra = sorted({label for c in counts.values() for label in c} - set(known))
    return [
        {"label": label, "known": label in task.labels, "counts": [counts[d.pk].get(label, 0) for d in datasets]}
        for label in known + extra
    ]


def label_change_blocker(*, task: Task) -> str | None:
    """Why the task's labels can't be renamed or merged any more, or None if they can.

    Renaming is honest only while nothing was learnt or measured under the current names: a model's head and
    an evaluation's per-class figures and predictions file are stored with them, and rewriting those would
    change evidence after the fact. Archived models count too: archiving keeps their evidence."""
    teachers = task.teachers.exclude(labels=[]).count()
    students = task.students.count()
    evaluations = task.evaluations.count()
    if not (teachers or students or evaluations):
        return None
    used = [
        f"{n} {what}"
        for n, what in (
            (teachers, "teacher(s) with a head over them"),
            (students, "student(s)"),
            (evaluations, "evaluation(s)"),
        )
        if n
    ]
    return (
        f"Labels can't be renamed or merged once models were trained or evaluated on them: {', '.join(used)} "
        "store the current names (archived ones included). Start a new task for a relabelled set."
    )


def students_visible_to(*, user: AnyUser) -> QuerySet[Student]:
    return scope_to_user(
        Student.objects.select_related("task", "task__team", "teacher"), user=user, team_path="task__team"
    )


def student_get_for_user(*, user: AnyUser, student_id: int) -> Student:
    student = students_visible_to(user=user).filter(pk=student_id).first()
    if student is None:
        raise Http404("No such student.")
    return student


# --- a dataset's rows, for people to look at ----------------------------------------------------

ROWS_PER_PAGE = 50
EXAMPLES_PER_LABEL = 3


@dataclass(frozen=True)
class RowsPage:
    """One page of a dataset's stored rows ({"row", "text", "label"}; "row" is the 0-based position in
    the file, the id evaluations' predictions use), optionally only those with one label."""

    rows: list[dict[str, Any]]
    offset: int
    limit: int
    total: int  # rows matching the filter
    label: str | None

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None

    @property
    def last_row(self) -> int:
        return self.offset + len(self.rows)


def dataset_rows_page(
    dataset: Dataset, *, offset: int = 0, limit: int = ROWS_PER_PAGE, label: str | None = None
) -> RowsPage:
    """Rows `offset`..`offset+limit` of the stored file (among those labelled `label`, if given). Reads the
    file from the start (rows are variable-length JSON lines), so a late page costs a scan, never memory."""
    offset, limit = max(0, offset), max(1, min(limit, 500))
    numbered = ({"row": i, "text": row["text"], "label": row.get("label")} for i, row in enumerate(dataset.rows()))
    if label is None:
        total = dataset.row_count
    else:
        total = dict(dataset.label_counts()).get(label, 0)
        numbered = (row for row in numbered if row["label"] == label)
    rows = list(islice(numbered, offset, offset + limit)) if dataset.rows_path.exists() else []
    return RowsPage(rows=rows, offset=offset, limit=limit, total=total, label=label)


def dataset_examples_by_label(dataset: Dataset, *, per_label: int = EXAMPLES_PER_LABEL) -> list[dict[str, Any]]:
    """Each label with its row count and its first few texts, most frequent label first: what a reviewer
    reads to see what each label means (and spot two that mean the same)."""
    counts = dataset.label_counts()
    examples: dict[str, list[str]] = {label: [] for label, _ in counts}
    missing = len(examples)
    if dataset.rows_path.exists():
        for row in dataset.rows():
            found = examples.get(row.get("label") or "")
            if found is not None and len(found) < per_label:
                found.append(row["text"])
                missing -= len(found) == per_label
                if missing == 0:
                    break
    return [{"label": label, "count": count, "examples": examples[label]} for label, count in counts]
