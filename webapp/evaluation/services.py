"""Writes for the evidence: start evaluate jobs, derive a robustness probe from a test set, import results
of models evaluated elsewhere. Each checks the caller's role on the server and names what is wrong."""

import io
import json
from dataclasses import asdict
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from domain.naming import shorten
from domain.perturb import perturb_rows
from domain.results import ModelEvaluated
from domain.specs import EvaluateSpec
from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.evaluation.importers import parse_external_results
from webapp.evaluation.models import Evaluation, ExternalResult
from webapp.jobs.models import Job
from webapp.jobs.services import job_enqueue, spec_or_validation_error
from webapp.registry.archiving import require_not_archived
from webapp.registry.models import Dataset, Student, Task, Teacher
from webapp.registry.parsing import DatasetFormatError
from webapp.registry.services import dataset_upload

Model = Teacher | Student


def evaluate_start(
    *,
    task: Task,
    user: AbstractBaseUser,
    model: Model,
    datasets: list[Dataset],
    validation: Dataset | None = None,
    coverage: float = 0.95,
    save_probabilities: bool = False,
) -> Job:
    """One evaluate job: `model` scored on each of `datasets`, temperature and τ fitted on `validation`
    (by default the task's newest validation set)."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    if model.task_id != task.pk or any(d.task_id != task.pk for d in datasets):
        raise ValidationError("The model and the datasets must belong to this task.")
    if not datasets:
        raise ValidationError("Choose at least one dataset to evaluate on.")
    require_not_archived(model, *datasets, validation)
    if validation is not None and (validation.task_id != task.pk or validation.role != Dataset.Role.VALIDATION):
        raise ValidationError(f"'{validation}' is not a validation set of this task.")
    task.refresh_from_db(fields=["labels"])
    if list(model.labels) != list(task.labels):
        raise ValidationError(
            f"'{model}' does not predict this task's {len(task.labels)} labels"
            + (": fine-tune it first." if isinstance(model, Teacher) else ".")
        )
    spec = spec_or_validation_error(
        lambda: EvaluateSpec(
            teacher_id=model.pk if isinstance(model, Teacher) else None,
            student_id=model.pk if isinstance(model, Student) else None,
            dataset_ids=tuple(d.pk for d in datasets),
            validation_dataset_id=validation.pk if validation else None,
            coverage=coverage,
            save_probabilities=save_probabilities,
        )
    )
    title = f"Evaluate {shorten(model.name)} on {', '.join(str(d) for d in datasets)}"
    return job_enqueue(task=task, spec=spec, user=user, title=title)


@transaction.atomic
def evaluate_many(
    *,
    task: Task,
    user: AbstractBaseUser,
    models: list[Model],
    datasets: list[Dataset],
    coverage: float = 0.95,
    save_probabilities: bool = False,
) -> list[Job]:
    """An evaluate job per model, all or none."""
    if not models:
        raise ValidationError("Choose at least one model to evaluate.")
    return [
        evaluate_start(
            task=task, user=user, model=m, datasets=datasets, coverage=coverage, save_probabilities=save_probabilities
        )
        for m in models
    ]


def robustness_probe_create(*, dataset: Dataset, user: AbstractBaseUser, seed: int = 0) -> Dataset:
    """A derived out-of-distribution split: the set's texts with deterministic typos, casing, truncation
    and whitespace, stored as a new OOD dataset (the same seed always gives the same file)."""
    require_role(user=user, team=dataset.task.team, role=Role.MEMBER)
    require_not_archived(dataset)
    if dataset.role not in (Dataset.Role.TEST, Dataset.Role.VALIDATION):
        raise ValidationError("A robustness probe is made from a test (or validation) set.")
    rows = perturb_rows(((row["text"], row.get("label")) for row in dataset.rows()), seed=seed)
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
            synthetic=dataset.synthetic,  # derived from synthetic rows, it is synthetic too
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


def evaluation_record(job: Job, result: ModelEvaluated) -> dict[str, list[int]]:
    """One Evaluation per dataset an evaluate job scored, each naming exactly what it measured: the model
    (and its artifact digest), the dataset (and its sha256), the validation set T and τ were fitted on, the
    device the speed was timed on, and the sha256 of the per-example predictions file."""
    model: Model | None = (
        Teacher.objects.filter(pk=result.teacher_id).first()
        if result.teacher_id
        else Student.objects.filter(pk=result.student_id).first()
    )
    if model is None:
        raise LookupError("the evaluated model was deleted while the job ran")
    if isinstance(model, Teacher):
        kind = Evaluation.ModelKind.TEACHER
    elif model.construction == Student.Construction.QUANTIZED:
        kind = Evaluation.ModelKind.QUANTIZED
    else:
        kind = Evaluation.ModelKind.STUDENT
    calibration = result.calibration
    rows = []
    for item in result.datasets:
        evidence = item.evidence
        before, after = evidence.get("before_scaling") or {}, evidence.get("after_scaling") or {}
        rows.append(
            Evaluation.objects.create(
                task_id=job.task_id,
                teacher=model if isinstance(model, Teacher) else None,
                student=model if isinstance(model, Student) else None,
                model_name=str(model)[:200],
                model_kind=kind,
                artifact_sha256=result.artifact_sha256,
                dataset=Dataset.objects.filter(pk=item.dataset_id).first(),
                dataset_name=item.dataset_name[:200],
                dataset_role=item.dataset_role,
                dataset_sha256=item.dataset_sha256,
                job=job,
                examples=evidence["examples"],
                in_scope_examples=evidence["in_scope_examples"],
                accuracy=evidence["accuracy"],
                macro_f1=evidence["macro_f1"],
                ece_before=before.get("ece"),
                ece_after=after.get("ece"),
                temperature=calibration.temperature,
                threshold=calibration.threshold,
                calibration_dataset=Dataset.objects.filter(pk=calibration.validation_dataset_id).first()
                if calibration.validation_dataset_id
                else None,
                calibration_dataset_sha256=calibration.validation_sha256,
                agreement_with_teacher=evidence.get("agreement_with_teacher"),
                metrics=evidence,
                speed=result.speed,
                device=asdict(result.device) if result.device else {},
                predictions_path=item.predictions_path,
                predictions_sha256=item.predictions_sha256,
            )
        )
    return {"evaluation_ids": [row.pk for row in rows]}
