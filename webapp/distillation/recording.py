"""Services that record what distillation jobs produced: fine-tuned teachers, students, int8 variants and
cached teacher outputs. Called by webapp.jobs.recording.job_conclude (registered in apps.py), inside the
transaction that finishes the job; nothing else writes these rows for a job."""

from django.db import IntegrityError, transaction

from domain.results import CachedOutputs, StudentQuantized, StudentTrained, TeacherTrained
from webapp.jobs.models import Job
from webapp.registry.models import Dataset, Student, Teacher, TeacherOutputs


def teacher_record(job: Job, result: TeacherTrained) -> dict[str, int]:
    """A fine-tuned teacher, with the base's cost profile (it is served the same way)."""
    base = Teacher.objects.get(pk=result.base_teacher_id)
    teacher = Teacher.objects.create(
        task_id=job.task_id,
        name=result.name[:120],
        model_ref=result.artifact.ref,
        artifact_sha256=result.artifact.sha256,
        max_length=result.max_length,
        origin=Teacher.Origin.FINE_TUNED,
        labels=result.labels,
        base=base,
        source_job=job,
        metrics=result.metrics | {"parameters": result.parameters},
        cost_mode=base.cost_mode,
        price_input_per_m=base.price_input_per_m,
        price_output_per_m=base.price_output_per_m,
        gpu_hour_price=base.gpu_hour_price,
        gpu_count=base.gpu_count,
        created_by=job.created_by,
    )
    return {"teacher_id": teacher.pk}


def student_record(job: Job, result: StudentTrained) -> dict[str, int]:
    student = Student.objects.create(
        task_id=job.task_id,
        teacher_id=result.teacher_id,
        name=result.name[:160],
        construction=result.construction,
        layers=result.layers,
        parameters=result.parameters,
        size_bytes=result.artifact.size_bytes,
        labels=result.labels,
        artifact=result.artifact.ref,
        artifact_sha256=result.artifact.sha256,
        config=result.config,
        metrics=result.metrics,
        source_job=job,
    )
    return {"student_id": student.pk}


def student_variant_record(job: Job, result: StudentQuantized) -> dict[str, int]:
    """An int8 variant of a student: it keeps its parent's teacher, size and labels."""
    parent = Student.objects.get(pk=result.parent_student_id)
    variant = Student.objects.create(
        task_id=job.task_id,
        teacher=parent.teacher,
        parent=parent,
        name=result.name[:160],
        construction=Student.Construction.QUANTIZED,
        layers=parent.layers,
        parameters=parent.parameters,
        size_bytes=result.artifact.size_bytes,
        labels=parent.labels,
        artifact=result.artifact.ref,
        artifact_sha256=result.artifact.sha256,
        config=parent.config | {"quantization": result.method},
        metrics=parent.metrics | result.metrics,
        source_job=job,
    )
    return {"student_id": variant.pk}


def teacher_outputs_record(job: Job, cached: CachedOutputs) -> None:
    """Teacher logits a job computed, for every later student to reuse (keyed by the dataset's content)."""
    try:
        with transaction.atomic():
            TeacherOutputs.objects.update_or_create(
                teacher_id=cached.teacher_id,
                dataset_sha256=cached.dataset_sha256,
                max_length=cached.max_length,
                defaults={
                    "dataset": Dataset.objects.filter(pk=cached.dataset_id).first(),
                    "path": cached.path,
                    "examples": cached.examples,
                    "tokens": cached.tokens,
                    "device_seconds": cached.device_seconds,
                    "source_job": job,
                },
            )
    except IntegrityError:
        return  # another job recorded the same outputs at the same moment: theirs is as good
