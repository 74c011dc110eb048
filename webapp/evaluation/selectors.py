"""Reads of the evidence, always scoped to the user's teams."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404

from webapp.accounts.selectors import scope_to_user
from webapp.evaluation.confusion import DEFAULT_SHOWN, ConfusionView, confusion_view, worst_first
from webapp.evaluation.models import Evaluation, ExternalResult
from webapp.registry.models import Dataset, Task, Teacher
from webapp.registry.selectors import AnyUser

# What the pages read of each evaluation's model, fetched with it (a student's teacher, a variant's parent
# and its teacher): the tier table compares each student with its own teacher without a query per row.
MODEL_RELATIONS = ("teacher", "student", "student__teacher", "student__parent", "student__parent__teacher")


def evaluations_visible_to(*, user: AnyUser) -> QuerySet[Evaluation]:
    queryset = Evaluation.objects.select_related("task", "task__team", *MODEL_RELATIONS)
    return scope_to_user(queryset, user=user, team_path="task__team")


def evaluation_get_for_user(*, user: AnyUser, evaluation_id: int) -> Evaluation:
    evaluation = evaluations_visible_to(user=user).filter(pk=evaluation_id).first()
    if evaluation is None:
        raise Http404("No such evaluation.")
    return evaluation


def latest_evaluations(task: Task) -> list[Evaluation]:
    """The newest evaluation of each model on each dataset content: re-running replaces, history stays.
    Evidence of a deleted or archived model stays readable on its own page and in the API, not in the
    comparisons (the tier table, routing and approval candidates)."""
    seen: set[tuple[int | None, int | None, str]] = set()
    latest = []
    queryset = (
        Evaluation.objects.filter(task=task)
        .exclude(teacher__isnull=True, student__isnull=True)
        .exclude(teacher__archived_at__isnull=False)
        .exclude(student__archived_at__isnull=False)
        .select_related(*MODEL_RELATIONS)
    )
    for evaluation in queryset.order_by("-created_at", "-pk"):
        key = (evaluation.teacher_id, evaluation.student_id, evaluation.dataset_sha256)
        if key not in seen:
            seen.add(key)
            latest.append(evaluation)
    return latest


def evaluations_of_job(job_id: int) -> QuerySet[Evaluation]:
    """What an evaluate job recorded, one row per dataset, in the order the datasets were asked for."""
    return Evaluation.objects.filter(job_id=job_id).select_related("teacher", "student").order_by("pk")


def teacher_measured_quality(teacher: Teacher) -> tuple[float | None, str]:
    """The teacher's best evidence on the task's metric, and where it comes from: its newest evaluation on
    a validation or test set, else the validation accuracy its fine-tune job reached; (None, "") if never
    measured. Used to gate distillation: only distil from a teacher that is demonstrably good."""
    metric = teacher.task.quality_metric
    evaluation = (
        Evaluation.objects.filter(teacher=teacher, dataset_role__in=[Dataset.Role.VALIDATION, Dataset.Role.TEST])
        .exclude(**{f"{metric}__isnull": True})
        .order_by("-created_at", "-pk")
        .first()
    )
    if evaluation is not None:
        score = getattr(evaluation, metric)
        return score, f"{metric.replace('_', '-')} on '{evaluation.dataset_name}' (evaluate job {evaluation.job_id})"
    if teacher.metrics.get("val_accuracy") is not None:
        job = f"fine-tune job {teacher.source_job_id}" if teacher.source_job_id else "its fine-tune"
        return float(teacher.metrics["val_accuracy"]), f"validation accuracy reached by {job}"
    return None, ""


def external_results_of(task: Task) -> QuerySet[ExternalResult]:
    return ExternalResult.objects.filter(task=task)


def prediction_file(evaluation: Evaluation) -> Path | None:
    """Where the per-example predictions are stored, or None if they are not (any more)."""
    path = Path(settings.DATA_DIR) / evaluation.predictions_path
    return path if evaluation.predictions_path and path.is_file() else None


def prediction_rows(evaluation: Evaluation) -> Iterator[dict[str, Any]]:
    """The stored per-example predictions (row, text, label, prediction, confidence, ...), if still on disk."""
    path = prediction_file(evaluation)
    if path is None:
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def evaluation_confusion(evaluation: Evaluation, *, show: int | None = DEFAULT_SHOWN) -> ConfusionView | None:
    """The evaluation's confusion matrix, worst classes first, from its predictions file (None without one)."""
    per_class = (evaluation.metrics.get("quality") or {}).get("per_class") or []
    if not per_class or prediction_file(evaluation) is None:
        return None
    pairs = ((row.get("label"), row["prediction"]) for row in prediction_rows(evaluation))
    labels = [row["label"] for row in per_class]
    return confusion_view(pairs, labels=labels, order=worst_first(per_class), show=show)


def evaluations_by_model(task: Task) -> dict[str, dict[int, list[Evaluation]]]:
    """Each model's newest evaluation per dataset (test sets first): {"teacher": {id: [...]}, "student":
    {id: [...]}}, so the model lists link to their evidence."""
    found: dict[str, dict[int, list[Evaluation]]] = {"teacher": {}, "student": {}}
    for evaluation in latest_evaluations(task):
        kind, pk = ("teacher", evaluation.teacher_id) if evaluation.teacher_id else ("student", evaluation.student_id)
        if pk is not None:
            found[kind].setdefault(pk, []).append(evaluation)
    for by_model in found.values():
        for evaluations in by_model.values():
            evaluations.sort(key=lambda e: (e.dataset_role != Dataset.Role.TEST, e.dataset_name))
    return found


def confusion_examples(
    evaluation: Evaluation, pairs: list[dict[str, Any]], *, per_pair: int = 3
) -> dict[str, list[str]]:
    """A few texts for each (true, predicted) pair, keyed "true → predicted"."""
    wanted = {(p["true"], p["predicted"]) for p in pairs}
    examples: dict[str, list[str]] = {f"{t} → {p}": [] for t, p in wanted}
    for row in prediction_rows(evaluation):
        key = (row.get("label"), row.get("prediction"))
        if key in wanted and len(examples[f"{key[0]} → {key[1]}"]) < per_pair:
            examples[f"{key[0]} → {key[1]}"].append(row["text"])
    return examples
