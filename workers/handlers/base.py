"""What every handler gets (its job, a reporter, the ledger of what it costs) and the loaders they share.
Handlers read rows; they never write them: they return a typed result (domain.results)."""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from domain.model_refs import ModelSourceError, ResolvedModel, resolve_model_ref
from domain.results import Ledger
from webapp.jobs.models import Job
from webapp.registry.models import Dataset, Student, Teacher
from workers.errors import JobFailed
from workers.reporter import JobReporter


@dataclass
class JobContext:
    job: Job
    reporter: JobReporter
    ledger: Ledger


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


def load_student(student_id: int, *, task_id: int) -> tuple[Student, Path]:
    student = Student.objects.filter(pk=student_id, task_id=task_id).select_related("teacher", "parent").first()
    if student is None:
        raise JobFailed(f"Student #{student_id} no longer exists (it was deleted after the job was queued).")
    try:
        return student, resolve_model_ref(student.artifact, model_root=Path(settings.MODEL_ROOT)).path
    except ModelSourceError as exc:
        raise JobFailed(str(exc)) from exc
