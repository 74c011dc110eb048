"""Writes for the evidence: start evaluate jobs, derive a robustness probe from a test set, import results
of models evaluated elsewhere. Each checks the caller's role on the server and names what is wrong."""

import io
import json
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.evaluation.importers import parse_external_results
from webapp.evaluation.models import ExternalResult
from webapp.jobs.models import Job
from webapp.jobs.services import job_enqueue
from webapp.registry.models import Dataset, Student, Task, Teacher
from webapp.registry.parsing import DatasetFormatError
from webapp.registry.selectors import dataset_rows
from webapp.registry.services import dataset_upload
from workers.ml.perturb import perturb_rows

Model = Teacher | Student


def evaluate_start(
    *,
    task: Task,
    user: AbstractBaseUser,
    model: Model,
    datasets: list[Dataset],
    validation: Dataset | None = None,
    coverage: float = 0.95,
) -> Job:
    """One evaluate job: `model` scored on each of `datasets`, temperature and τ fitted on `validation`
    (by default the task's newest validation set)."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    if model.task_id != task.pk or any(d.task_id != task.pk for d in datasets):
        raise ValidationError("The model and the datasets must belong to this task.")
    if not datasets:
        raise ValidationError("Choose at least one dataset to evaluate on.")
    if validation is not None and (validation.task_id != task.pk or validation.role != Dataset.Role.VALIDATION):
        raise ValidationError(f"'{validation}' is not a validation set of this task.")
    task.refresh_from_db(fields=["labels"])
    if list(model.labels) != list(task.labels):
        raise ValidationError(
            f"'{model}' does not predict this task's {len(task.labels)} labels"
            + (": fine-tune it first." if isinstance(model, Teacher) else ".")
        )
    if not 0.5 <= coverage < 1:
        raise ValidationError("The coverage that picks τ must be between 0.5 and 1 (e.g. 0.95).")
    params = {
        "teacher_id" if isinstance(model, Teacher) else "student_id": model.pk,
        "dataset_ids": [d.pk for d in datasets],
        "validation_dataset_id": validation.pk if validation else None,
        "coverage": coverage,
    }
    return job_enqueue(task=task, kind=Job.Kind.EVALUATE, params=params, user=user, queue=Job.Queue.GPU)


@transaction.atomic
def evaluate_many(
    *, task: Task, user: AbstractBaseUser, models: list[Model], datasets: list[Dataset], coverage: float = 0.95
) -> list[Job]:
    """An evaluate job per model, all or none."""
    if not models:
        raise ValidationError("Choose at least one model to evaluate.")
    return [evaluate_start(task=task, user=user, model=m, datasets=datasets, coverage=coverage) for m in models]


def robustness_probe_create(*, dataset: Dataset, user: AbstractBaseUser, seed: int = 0) -> Dataset:
    """A derived out-of-distribution split: the set's texts with deterministic typos, casing, truncation
    and whitespace, stored as a new OOD dataset (the same seed always gives the same file)."""
    require_role(user=user, team=dataset.task.team, role=Role.MEMBER)
    if dataset.role not in (Dataset.Role.TEST, Dataset.Role.VALIDATION):
        raise ValidationError("A robustness probe is made from a test (or validation) set.")
    rows = perturb_rows(((row["text"], row.get("label")) for row in dataset_rows(dataset)), seed=seed)
    content = "".join(
        json.dumps({"text": text, "label": label, "perturbation": kinds}, ensure_ascii=False) + "\n"
        for text, label, kinds in rows
    ).encode("utf-8")
    name = f"{dataset.name}-robustness-probe"
    with transaction.atomic():
        probe = dataset_upload(
            task=dataset.task,
            user=user,
            file=io.BytesIO(content),
            filename=f"{name}.jsonl",
            role=Dataset.Role.OOD,
            name=name,
        )
        probe.stats["derived_from"] = {"dataset_id": dataset.pk, "name": str(dataset), "seed": seed}
        probe.save(update_fields=["stats"])
    return probe


def external_results_import(
    *, task: Task, user: AbstractBaseUser, file: IO[bytes], filename: str, model_name: str = ""
) -> list[ExternalResult]:
    """Scores of models evaluated elsewhere (lm-evaluation-harness JSON or a model,benchmark,score CSV).
    A score for a (model, benchmark) already imported is replaced; a bad file changes nothing."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    data = file.read(settings.MAX_UPLOAD_BYTES + 1)
    if len(data) > settings.MAX_UPLOAD_BYTES:
        raise ValidationError(f"{filename} is over the {settings.MAX_UPLOAD_BYTES // 2**20} MB upload limit.")
    try:
        scores = parse_external_results(data, filename=filename, model_name=model_name.strip())
    except DatasetFormatError as exc:
        raise ValidationError(str(exc)) from exc
    stored = []
    with transaction.atomic():
        for score in scores:
            result, _ = ExternalResult.objects.update_or_create(
                task=task,
                model_name=score.model[:200],
                benchmark=score.benchmark[:200],
                defaults={
                    "score": score.score,
                    "metric": score.metric[:64],
                    "parameters": score.params,
                    "source_filename": filename[:255],
                    "created_by": user,
                },
            )
            stored.append(result)
    return stored
