"""Starting the distillation jobs: fine-tune a teacher, cache its outputs, distil one student or a sweep.

Each checks its inputs here, where the user can still fix them, so workers only fail on what can't be
known in advance."""

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.jobs.models import Job
from webapp.jobs.services import job_enqueue, send_to_worker
from webapp.registry.models import Dataset, Student, Task, Teacher
from workers.ml.model_source import ModelSourceError, resolve_model_ref

MAX_SWEEP_SIZES = 8


@dataclass
class TrainingOptions:
    """What a user may set for a training job; defaults suit a small encoder on a CPU or one GPU."""

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 5e-5
    patience: int = 3
    max_length: int | None = None
    seed: int = 0

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class StudentSpec:
    construction: str = Student.Construction.TRUNCATED
    layers: int = 2
    layer_strategy: str = "bottom"
    hidden_size: int | None = None
    student_ref: str = ""
    temperature: float = 2.0
    alpha: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)


def _check_datasets(task: Task, train: Dataset, validation: Dataset | None) -> None:
    if train.task_id != task.pk or (validation is not None and validation.task_id != task.pk):
        raise ValidationError("The datasets must belong to this task.")
    if train.role != Dataset.Role.TRAIN:
        raise ValidationError(f"'{train}' is a {train.get_role_display()} set; training needs a train set.")
    if validation is not None and validation.role != Dataset.Role.VALIDATION:
        raise ValidationError(f"'{validation}' is a {validation.get_role_display()} set, not a validation set.")
    if not task.labels:
        raise ValidationError("The task has no label set yet: upload a labelled training set first.")


def _check_request(
    task: Task,
    user: AbstractBaseUser,
    teacher: Teacher,
    train: Dataset,
    validation: Dataset | None,
    options: TrainingOptions,
) -> None:
    """What every training job needs: a member, this task's teacher and data, sane options."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    if teacher.task_id != task.pk:
        raise ValidationError("The teacher must belong to this task.")
    _check_datasets(task, train, validation)
    _check_options(options)


def _check_options(options: TrainingOptions) -> None:
    if not 1 <= options.epochs <= 200:
        raise ValidationError("Epochs must be between 1 and 200.")
    if not 1 <= options.batch_size <= 4096:
        raise ValidationError("The batch size must be between 1 and 4096.")
    if not 0 < options.learning_rate < 1:
        raise ValidationError("The learning rate must be between 0 and 1 (e.g. 5e-5).")


def teacher_layer_count(teacher: Teacher) -> int | None:
    """Read from the model's config.json (cheap, no torch): to check student sizes before queueing."""
    try:
        folder = resolve_model_ref(teacher.model_ref, model_root=Path(settings.MODEL_ROOT)).path
        return int(json.loads((folder / "config.json").read_text()).get("num_hidden_layers") or 0) or None
    except (ModelSourceError, OSError, ValueError):
        return None


def finetune_start(
    *,
    task: Task,
    teacher: Teacher,
    train: Dataset,
    validation: Dataset | None,
    user: AbstractBaseUser,
    options: TrainingOptions,
) -> Job:
    _check_request(task, user, teacher, train, validation, options)
    if teacher.is_precomputed:
        raise ValidationError(f"Teacher '{teacher}' is uploaded outputs: there are no weights to fine-tune.")
    params = {
        "teacher_id": teacher.pk,
        "train_dataset_id": train.pk,
        "validation_dataset_id": validation.pk if validation else None,
    } | options.params()
    return job_enqueue(task=task, kind=Job.Kind.FINETUNE_TEACHER, params=params, user=user, queue=Job.Queue.GPU)


def cache_outputs_start(*, task: Task, teacher: Teacher, datasets: list[Dataset], user: AbstractBaseUser) -> Job:
    require_role(user=user, team=task.team, role=Role.MEMBER)
    if teacher.task_id != task.pk or any(d.task_id != task.pk for d in datasets):
        raise ValidationError("The teacher and the datasets must belong to this task.")
    if not datasets:
        raise ValidationError("Choose at least one dataset.")
    if teacher.is_precomputed:
        raise ValidationError(f"Teacher '{teacher}' is uploaded outputs: they are stored already.")
    params = {"teacher_id": teacher.pk, "dataset_ids": [d.pk for d in datasets]}
    return job_enqueue(task=task, kind=Job.Kind.CACHE_TEACHER_OUTPUTS, params=params, user=user, queue=Job.Queue.GPU)


def _distill_params(
    task: Task,
    teacher: Teacher,
    train: Dataset,
    validation: Dataset | None,
    spec: StudentSpec,
    options: TrainingOptions,
) -> dict[str, Any]:
    if not teacher.has_task_head:
        raise ValidationError(
            f"Teacher '{teacher}' has no head over this task's {len(task.labels)} labels: fine-tune it first, "
            "then distil from the fine-tuned teacher."
        )
    if spec.construction not in Student.Construction.values or spec.construction == Student.Construction.QUANTIZED:
        raise ValidationError(f"Unknown student construction '{spec.construction}'.")
    if teacher.is_precomputed and spec.construction != Student.Construction.PRETRAINED:
        raise ValidationError(
            f"Teacher '{teacher}' is uploaded outputs with no weights to truncate or shrink: "
            "distil into another pretrained model (construction 'pretrained')."
        )
    if not 0 <= spec.alpha <= 1 or not 0 < spec.temperature <= 50:
        raise ValidationError("α must be between 0 and 1 and the temperature between 0 and 50.")
    if spec.construction == Student.Construction.PRETRAINED:
        try:
            resolve_model_ref(spec.student_ref, model_root=Path(settings.MODEL_ROOT))
        except ModelSourceError as exc:
            raise ValidationError({"student_ref": str(exc)}) from exc
    elif not 1 <= spec.layers <= 48:
        raise ValidationError("A student needs between 1 and 48 layers.")
    return {
        "teacher_id": teacher.pk,
        "train_dataset_id": train.pk,
        "validation_dataset_id": validation.pk if validation else None,
        "construction": spec.construction,
        "layers": spec.layers,
        "layer_strategy": spec.layer_strategy,
        "hidden_size": spec.hidden_size,
        "student_ref": spec.student_ref,
        "temperature": spec.temperature,
        "alpha": spec.alpha,
    } | options.params()


def distill_start(
    *,
    task: Task,
    teacher: Teacher,
    train: Dataset,
    validation: Dataset | None,
    user: AbstractBaseUser,
    spec: StudentSpec,
    options: TrainingOptions,
) -> Job:
    _check_request(task, user, teacher, train, validation, options)
    params = _distill_params(task, teacher, train, validation, spec, options)
    return job_enqueue(task=task, kind=Job.Kind.DISTILL_STUDENT, params=params, user=user, queue=Job.Queue.GPU)


@transaction.atomic
def sweep_start(
    *,
    task: Task,
    teacher: Teacher,
    train: Dataset,
    validation: Dataset | None,
    user: AbstractBaseUser,
    layer_counts: list[int],
    spec: StudentSpec,
    options: TrainingOptions,
) -> Job:
    """One parent job and a distil job per student size; the parent follows its children."""
    _check_request(task, user, teacher, train, validation, options)
    sizes = sorted(set(layer_counts))
    if not sizes or len(sizes) > MAX_SWEEP_SIZES:
        raise ValidationError(f"Choose between 1 and {MAX_SWEEP_SIZES} student sizes.")
    children_params = [
        _distill_params(task, teacher, train, validation, StudentSpec(**{**asdict(spec), "layers": n}), options)
        for n in sizes
    ]
    parent = Job.objects.create(
        task=task,
        kind=Job.Kind.SWEEP,
        params={"layers": sizes, "teacher_id": teacher.pk},
        queue=Job.Queue.GPU,
        status=Job.Status.RUNNING,
        started_at=timezone.now(),
        total=len(sizes),
        created_by=user,
        message=f"0 of {len(sizes)} students finished",
    )
    for params in children_params:
        child = Job.objects.create(
            task=task, parent=parent, kind=Job.Kind.DISTILL_STUDENT, params=params, queue=Job.Queue.GPU, created_by=user
        )
        transaction.on_commit(lambda child=child: send_to_worker(child))
    return parent


def distil_students(
    *,
    task: Task,
    teacher: Teacher,
    train: Dataset,
    validation: Dataset | None,
    user: AbstractBaseUser,
    layer_counts: list[int],
    spec: StudentSpec,
    options: TrainingOptions,
) -> Job:
    """One student per layer count: a single distil job for one size, a sweep for several. (A pretrained
    student has the size it has, so its layer count is ignored.)"""
    sizes = sorted(set(layer_counts)) or [spec.layers]
    common = {
        "task": task,
        "teacher": teacher,
        "train": train,
        "validation": validation,
        "user": user,
        "options": options,
    }
    if len(sizes) > 1 and spec.construction != Student.Construction.PRETRAINED:
        return sweep_start(layer_counts=sizes, spec=spec, **common)
    return distill_start(spec=replace(spec, layers=sizes[0]), **common)


QUANTIZE_METHODS = ("int8_weight_only", "int8_dynamic")


def quantize_start(*, student: Student, user: AbstractBaseUser, method: str = "int8_weight_only") -> Job:
    """Post-training int8 quantization of a student, as a new variant of it."""
    require_role(user=user, team=student.task.team, role=Role.MEMBER)
    if student.construction == Student.Construction.QUANTIZED:
        raise ValidationError(f"'{student}' is already quantized.")
    if method not in QUANTIZE_METHODS:
        raise ValidationError(f"Unknown quantization '{method}'; choose one of {', '.join(QUANTIZE_METHODS)}.")
    params = {"student_id": student.pk, "method": method}
    return job_enqueue(
        task=student.task, kind=Job.Kind.QUANTIZE_STUDENT, params=params, user=user, queue=Job.Queue.DEFAULT
    )
