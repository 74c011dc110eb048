from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from webapp.registry.models import Dataset, Teacher
from workers.errors import JobFailed
from workers.ml.model_source import ModelSourceError, ResolvedModel, resolve_model_ref


@dataclass
class Outcome:
    result: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    device_kind: str = "cpu"


def load_dataset(dataset_id: int, *, task_id: int) -> Dataset:
    dataset = Dataset.objects.filter(pk=dataset_id, task_id=task_id).first()
    if dataset is None:
        raise JobFailed(f"Dataset #{dataset_id} no longer exists (it was deleted after the job was queued).")
    if not dataset.rows_path.exists():
        raise JobFailed(f"The stored rows of dataset '{dataset}' are missing from {dataset.folder}.")
    return dataset


def load_teacher_row(teacher_id: int, *, task_id: int) -> Teacher:
    teacher = Teacher.objects.filter(pk=teacher_id, task_id=task_id).first()
    if teacher is None:
        raise JobFailed(f"Teacher #{teacher_id} no longer exists (it was deleted after the job was queued).")
    return teacher


def teacher_model(teacher: Teacher) -> ResolvedModel:
    """Where the teacher's weights are; a precomputed teacher has none."""
    if teacher.is_precomputed:
        raise JobFailed(f"Teacher '{teacher}' is uploaded outputs, not a model: this job needs a model to run.")
    try:
        return resolve_model_ref(teacher.model_ref, model_root=Path(settings.MODEL_ROOT))
    except ModelSourceError as exc:
        raise JobFailed(str(exc)) from exc


def load_teacher(teacher_id: int, *, task_id: int) -> tuple[Teacher, ResolvedModel]:
    teacher = load_teacher_row(teacher_id, task_id=task_id)
    return teacher, teacher_model(teacher)
