"""Reads of the evidence, always scoped to the user's teams."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404

from webapp.accounts.selectors import scope_to_user
from webapp.evaluation.models import Evaluation, ExternalResult
from webapp.registry.models import Task
from webapp.registry.selectors import AnyUser


def evaluations_visible_to(*, user: AnyUser) -> QuerySet[Evaluation]:
    queryset = Evaluation.objects.select_related("task", "task__team", "teacher", "student", "student__parent")
    return scope_to_user(queryset, user=user, team_path="task__team")


def evaluation_get_for_user(*, user: AnyUser, evaluation_id: int) -> Evaluation:
    evaluation = evaluations_visible_to(user=user).filter(pk=evaluation_id).first()
    if evaluation is None:
        raise Http404("No such evaluation.")
    return evaluation


def latest_evaluations(task: Task) -> list[Evaluation]:
    """The newest evaluation of each model on each dataset content: re-running replaces, history stays."""
    seen: set[tuple[int | None, int | None, str]] = set()
    latest = []
    queryset = Evaluation.objects.filter(task=task).select_related("teacher", "student", "student__parent")
    for evaluation in queryset.order_by("-created_at", "-pk"):
        key = (evaluation.teacher_id, evaluation.student_id, evaluation.dataset_sha256)
        if key not in seen:
            seen.add(key)
            latest.append(evaluation)
    return latest


def external_results_of(task: Task) -> QuerySet[ExternalResult]:
    return ExternalResult.objects.filter(task=task)


def prediction_rows(evaluation: Evaluation) -> Iterator[dict[str, Any]]:
    """The stored per-example predictions (text, label, prediction, confidence, ...), if still on disk."""
    path = Path(settings.DATA_DIR) / evaluation.predictions_path
    if not evaluation.predictions_path or not path.is_file():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


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
