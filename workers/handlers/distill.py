"""Distil a student from a teacher's cached logits: soft-label KD plus the hard labels."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from webapp.jobs.models import Job
from webapp.registry.models import Student
from workers.errors import JobFailed
from workers.handlers.base import Outcome, load_teacher_row, teacher_model
from workers.handlers.teacher_outputs import teacher_logits_for
from workers.handlers.training import (
    checkpoint_path,
    model_folder,
    save_artifact,
    task_labels,
    train_and_validation,
    train_config_kwargs,
    training_failures,
)
from workers.ml.model_source import ModelSourceError, resolve_model_ref
from workers.reporter import JobReporter

Construction = Student.Construction


def distill_student(job: Job, reporter: JobReporter) -> Outcome:
    import torch

    from workers.ml.data import encode
    from workers.ml.device import describe_device, pick_device
    from workers.ml.students import count_parameters
    from workers.ml.tokenizer_profile import load_tokenizer
    from workers.ml.train import TrainConfig, train_classifier

    params = job.params
    # Inputs: a teacher whose head predicts the task's labels, and the rows to distil on.
    teacher = load_teacher_row(params["teacher_id"], task_id=job.task_id)
    # An uploaded (precomputed) teacher has no weights: only a pretrained student can learn from it.
    teacher_path = None if teacher.is_precomputed else teacher_model(teacher).path
    labels = task_labels(job.task)
    if list(teacher.labels) != labels:
        raise JobFailed(
            f"Teacher '{teacher}' predicts {len(teacher.labels)} labels but the task has {len(labels)} "
            f"(or in another order): fine-tune it on this task first, then distil from the fine-tuned teacher."
        )
    data = train_and_validation(job, labels)
    train_rows, val_rows, val_note = data.train, data.val, data.note
    max_length = int(params.get("max_length") or teacher.max_length)
    device = pick_device()
    teacher_tokenizer = load_tokenizer(teacher_path) if teacher_path else None

    # Soft labels: the teacher's logits over the training set (cached once, reused by every student).
    logits = teacher_logits_for(
        job,
        teacher,
        teacher_path,
        data.train_set,
        tokenizer=teacher_tokenizer,
        max_length=max_length,
        device=device,
        reporter=reporter,
    )
    logits = logits[torch.tensor(train_rows.positions)]  # the rows training uses, in its order

    # The student, and the tokenizer it reads with (KD over the label space needs no shared vocabulary).
    student, tokenizer, description = _build_student(params, teacher_path, teacher_tokenizer, labels)
    student_params, teacher_params = count_parameters(student), int(teacher.metrics.get("parameters") or 0)
    if teacher_params and student_params > teacher_params:
        reporter.log(
            f"warning: the student ({student_params:,} parameters) is bigger than its teacher ({teacher_params:,})"
        )
    reporter.log(f"student: {description}, {student_params:,} parameters; {val_note}; {describe_device(device)}")

    # Train with KD.
    train = encode(tokenizer, train_rows.texts, train_rows.label_ids, max_length=max_length)
    val = encode(tokenizer, val_rows.texts, val_rows.label_ids, max_length=max_length)
    config = TrainConfig(**train_config_kwargs(params))
    with training_failures(checkpoint_path(job)):
        result = train_classifier(
            student,
            train,
            val,
            config,
            reporter,
            device=device,
            pad_token_id=int(tokenizer.pad_token_id or 0),
            teacher_logits=logits.to(torch.float32),
            checkpoint_path=checkpoint_path(job),
        )

    # Keep it.
    name = params.get("name") or f"{description} (job {job.pk})"
    folder, ref = model_folder(job.task, f"student-job{job.pk}")
    metrics = {
        "val_accuracy": result.best_val_accuracy,
        "val_loss": result.best_val_loss,
        "epochs": result.epochs_completed,
        "seconds_per_epoch": result.seconds_per_epoch,
    }
    student_config = {
        "construction": params["construction"],
        "layers": params.get("layers"),
        "temperature": config.temperature,
        "alpha": config.alpha,
        "max_length": max_length,
        "student_ref": params.get("student_ref", ""),
    }
    save_artifact(
        student,
        tokenizer,
        folder,
        {
            "kind": "student",
            "teacher": teacher.model_ref,
            "labels": labels,
            "metrics": metrics,
            "config": student_config,
            "job": job.pk,
        },
    )
    with transaction.atomic():
        row = Student.objects.create(
            task=job.task,
            teacher=teacher,
            name=name[:160],
            construction=params["construction"],
            layers=int(student.config.num_hidden_layers),
            parameters=student_params,
            size_bytes=_folder_bytes(folder),
            labels=labels,
            artifact=ref,
            config=student_config,
            metrics=metrics,
            source_job=job,
        )
    return Outcome(
        result={"student_id": row.pk, "history": result.history, "resumed_from_step": result.resumed_from_step}
        | metrics,
        message=f"Student '{row}' ready: validation accuracy {result.best_val_accuracy:.1%}.",
        device_kind=describe_device(device),
    )


def _build_student(
    params: dict[str, Any], teacher_path: Path | None, teacher_tokenizer: Any, labels: list[str]
) -> tuple[Any, Any, str]:
    from workers.ml.students import layer_plan, load_classifier, scratch_student, truncated_student
    from workers.ml.tokenizer_profile import load_tokenizer

    construction = params["construction"]
    if teacher_path is None and construction != Construction.PRETRAINED:
        raise JobFailed("A teacher given as uploaded outputs has no weights to copy: distil a pretrained student.")
    if construction == Construction.TRUNCATED:
        teacher_model = load_classifier(teacher_path)
        total = int(teacher_model.config.num_hidden_layers)
        keep = layer_plan(total, int(params["layers"]), params.get("layer_strategy", "bottom"))
        return (
            truncated_student(teacher_model, keep),
            teacher_tokenizer,
            f"{len(keep)}-layer truncated teacher (layers {keep})",
        )
    if construction == Construction.SCRATCH:
        config = load_classifier(teacher_path).config
        hidden = params.get("hidden_size")
        model = scratch_student(
            config, num_layers=int(params["layers"]), hidden_size=int(hidden) if hidden else None, labels=labels
        )
        return model, teacher_tokenizer, f"{params['layers']}-layer student from scratch"
    if construction == Construction.PRETRAINED:
        try:
            resolved = resolve_model_ref(params["student_ref"], model_root=Path(settings.MODEL_ROOT))
        except ModelSourceError as exc:
            raise JobFailed(str(exc)) from exc
        return load_classifier(resolved.path, labels=labels), load_tokenizer(resolved.path), f"{resolved.label}"
    raise JobFailed(f"Unknown student construction '{construction}'.")


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
