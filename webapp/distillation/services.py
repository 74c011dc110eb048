"""Starting the distillation jobs: fine-tune a teacher, distil one student or a sweep, quantize a student.

Each checks its inputs here, where the user can still fix them, so workers only fail on what can't be
known in advance."""

import json
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from domain.model_refs import ModelSourceError, resolve_model_ref
from domain.naming import shorten
from domain.specs import (
    DistillSpec,
    FinetuneSpec,
    QuantizeSpec,
    StudentOptions,
    SweepSpec,
    TeacherGate,
    TrainingOptions,
)
from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.evaluation.selectors import teacher_measured_quality
from webapp.jobs.models import Job
from webapp.jobs.services import job_enqueue, spec_or_validation_error
from webapp.registry.archiving import require_not_archived
from webapp.registry.models import Dataset, Student, Task, Teacher


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
    task: Task, user: AbstractBaseUser, teacher: Teacher, train: Dataset, validation: Dataset | None
) -> None:
    """What every training job needs: a member, this task's teacher and data."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    if teacher.task_id != task.pk:
        raise ValidationError("The teacher must belong to this task.")
    _check_datasets(task, train, validation)
    require_not_archived(teacher, train, validation)


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
    _check_request(task, user, teacher, train, validation)
    if teacher.is_precomputed:
        raise ValidationError(f"Teacher '{teacher}' is uploaded outputs: there are no weights to fine-tune.")
    spec = FinetuneSpec(
        teacher_id=teacher.pk,
        train_dataset_id=train.pk,
        validation_dataset_id=validation.pk if validation else None,
        training=options,
    )
    return job_enqueue(task=task, spec=spec, user=user, title=f"Fine-tune {shorten(teacher.name)} on {train}")


def teacher_gate(teacher: Teacher, *, confirmed: bool = False) -> TeacherGate:
    """The teacher's measured quality against the task's bar, as the distil form and API show it."""
    score, source = teacher_measured_quality(teacher)
    return TeacherGate(score=score, source=source, bar=teacher.task.quality_min, confirmed_below_bar=confirmed)


def gate_message(gate: TeacherGate) -> str:
    if gate.score is None:
        return (
            f"The teacher's quality has not been measured: evaluate it (bar {gate.bar:.0%}) before distilling, "
            "or confirm that you want to distil from it anyway."
        )
    verdict = "meets" if gate.passes else "is below"
    return f"The teacher's {gate.source} is {gate.score:.1%}, which {verdict} the task's bar of {gate.bar:.0%}."


def _distill_spec(
    task: Task,
    teacher: Teacher,
    train: Dataset,
    validation: Dataset | None,
    student: StudentOptions,
    options: TrainingOptions,
    gate: TeacherGate,
) -> DistillSpec:
    if not teacher.has_task_head:
        raise ValidationError(
            f"Teacher '{teacher}' has no head over this task's {len(task.labels)} labels: fine-tune it first, "
            "then distil from the fine-tuned teacher."
        )
    if not gate.passes and not gate.confirmed_below_bar:
        # Practitioners' rule: only distil from a teacher that is demonstrably good.
        raise ValidationError(
            {"confirm_below_bar": gate_message(gate) + " Tick 'distil anyway' (API: confirm_below_bar) to go on."}
        )
    if teacher.is_precomputed and student.construction != Student.Construction.PRETRAINED:
        raise ValidationError(
            f"Teacher '{teacher}' is uploaded outputs with no weights to truncate or shrink: "
            "distil into another pretrained model (construction 'pretrained')."
        )
    if student.construction == Student.Construction.PRETRAINED:
        try:
            resolve_model_ref(student.student_ref, model_root=Path(settings.MODEL_ROOT))
        except ModelSourceError as exc:
            raise ValidationError({"student_ref": str(exc)}) from exc
    return DistillSpec(
        teacher_id=teacher.pk,
        train_dataset_id=train.pk,
        validation_dataset_id=validation.pk if validation else None,
        student=student,
        training=options,
        gate=gate,
    )


def distil_students(
    *,
    task: Task,
    teacher: Teacher,
    train: Dataset,
    validation: Dataset | None,
    user: AbstractBaseUser,
    student: StudentOptions,
    layer_counts: list[int] | tuple[int, ...] = (),
    options: TrainingOptions,
    confirm_below_bar: bool = False,
) -> Job:
    """One student per layer count: a single distil job for one size, a sweep (a parent job with one
    child per size) for several. A pretrained student has the size it has, so its layer count is ignored.
    Distilling from a teacher below the task's bar needs `confirm_below_bar`, recorded on the job."""
    _check_request(task, user, teacher, train, validation)
    sizes = sorted(set(layer_counts)) or [student.layers]
    if student.construction == Student.Construction.PRETRAINED:
        sizes = sizes[:1]
    gate = teacher_gate(teacher, confirmed=confirm_below_bar)
    specs = [
        _distill_spec(
            task,
            teacher,
            train,
            validation,
            spec_or_validation_error(lambda n=n: replace(student, layers=n)),
            options,
            gate,
        )
        for n in sizes
    ]
    teacher_name = shorten(teacher.name)
    if len(specs) == 1:
        return job_enqueue(task=task, spec=specs[0], user=user, title=_distil_title(specs[0], teacher_name))
    sweep = spec_or_validation_error(lambda: SweepSpec(teacher_id=teacher.pk, sizes=tuple(sizes)))
    with transaction.atomic():
        layers = ", ".join(str(n) for n in sizes)
        title = f"Distil a sweep of {layers}-layer students from {teacher_name}"
        parent = job_enqueue(task=task, spec=sweep, user=user, title=title)
        for spec in specs:
            job_enqueue(task=task, spec=spec, user=user, parent=parent, title=_distil_title(spec, teacher_name))
    return parent


def _distil_title(spec: DistillSpec, teacher_name: str) -> str:
    student = spec.student
    if student.construction == Student.Construction.PRETRAINED:
        return f"Distil {teacher_name} into {shorten(student.student_ref, 32)}"
    how = "from-scratch" if student.construction == Student.Construction.SCRATCH else "truncated"
    return f"Distil a {student.layers}-layer {how} student from {teacher_name}"


def quantize_start(*, student: Student, user: AbstractBaseUser, method: str = "int8_weight_only") -> Job:
    """Post-training int8 quantization of a student, as a new variant of it."""
    require_role(user=user, team=student.task.team, role=Role.MEMBER)
    require_not_archived(student)
    if student.construction == Student.Construction.QUANTIZED:
        raise ValidationError(f"'{student}' is already quantized.")
    spec = spec_or_validation_error(lambda: QuantizeSpec(student_id=student.pk, method=method))
    return job_enqueue(task=student.task, spec=spec, user=user, title=f"Quantize {shorten(student.name)} to int8")
