"""Distil a student from a teacher's cached logits: soft-label KD plus the hard labels."""

from pathlib import Path
from typing import Any

from django.conf import settings

from domain.model_refs import ModelSourceError, resolve_model_ref
from domain.naming import student_name
from domain.results import StudentTrained
from domain.specs import DistillSpec, StudentOptions
from webapp.registry.models import Student
from workers.errors import JobFailed
from workers.handlers.base import JobContext, load_teacher_row, teacher_model
from workers.handlers.teacher_outputs import teacher_logits_for
from workers.handlers.training import save_artifact, task_labels, train_and_validation, training_failures
from workers.paths import checkpoint_path

Construction = Student.Construction


def distill_student(spec: DistillSpec, ctx: JobContext) -> StudentTrained:
    import torch

    from workers.ml.data import encode
    from workers.ml.device import device_info, pick_device
    from workers.ml.students import count_parameters
    from workers.ml.tokenizer_profile import load_tokenizer
    from workers.ml.train import TrainConfig, train_classifier

    job, reporter, options = ctx.job, ctx.reporter, spec.training
    # Inputs: a teacher whose head predicts the task's labels, and the rows to distil on.
    teacher = load_teacher_row(spec.teacher_id, task_id=job.task_id)
    # An uploaded (precomputed) teacher has no weights: only a pretrained student can learn from it.
    teacher_path = None if teacher.is_precomputed else teacher_model(teacher).path
    labels = task_labels(job.task)
    if list(teacher.labels) != labels:
        raise JobFailed(
            f"Teacher '{teacher}' predicts {len(teacher.labels)} labels but the task has {len(labels)} "
            f"(or in another order): fine-tune it on this task first, then distil from the fine-tuned teacher."
        )
    if spec.gate is not None and not spec.gate.passes:
        score = "never measured" if spec.gate.score is None else f"{spec.gate.score:.1%}"
        reporter.log(f"distilling from a teacher below the task's bar ({score} < {spec.gate.bar:.0%}): confirmed")
    data = train_and_validation(
        job.task_id,
        labels,
        train_id=spec.train_dataset_id,
        validation_id=spec.validation_dataset_id,
        seed=options.seed,
    )
    train_rows, val_rows, val_note = data.train, data.val, data.note
    max_length = options.max_length or teacher.max_length
    device = pick_device()
    ctx.ledger.device = device_info(device)
    teacher_tokenizer = load_tokenizer(teacher_path) if teacher_path else None

    # Soft labels: the teacher's logits over the training set (cached once, reused by every student).
    logits = teacher_logits_for(
        ctx, teacher, teacher_path, data.train_set, tokenizer=teacher_tokenizer, max_length=max_length, device=device
    )
    logits = logits[torch.tensor(train_rows.positions)]  # the rows training uses, in its order

    # The student, and the tokenizer it reads with (KD over the label space needs no shared vocabulary).
    student, tokenizer, description, base_name = _build_student(spec.student, teacher_path, teacher_tokenizer, labels)
    student_params, teacher_params = count_parameters(student), int(teacher.metrics.get("parameters") or 0)
    if teacher_params and student_params > teacher_params:
        reporter.log(
            f"warning: the student ({student_params:,} parameters) is bigger than its teacher ({teacher_params:,})"
        )
    reporter.log(f"student: {description}, {student_params:,} parameters; {val_note}; {ctx.ledger.device.describe()}")

    # Train with KD.
    train = encode(tokenizer, train_rows.texts, train_rows.label_ids, max_length=max_length)
    val = encode(tokenizer, val_rows.texts, val_rows.label_ids, max_length=max_length)
    config = TrainConfig(
        **options.train_config_kwargs(), temperature=spec.student.temperature, alpha=spec.student.alpha
    )
    with training_failures(checkpoint_path(job.pk)):
        result = train_classifier(
            student,
            train,
            val,
            config,
            reporter,
            device=device,
            pad_token_id=int(tokenizer.pad_token_id or 0),
            teacher_logits=logits.to(torch.float32),
            checkpoint_path=checkpoint_path(job.pk),
        )

    # Keep it (the webapp records the student row).
    metrics = {
        "val_accuracy": result.best_val_accuracy,
        "val_loss": result.best_val_loss,
        "epochs": result.epochs_completed,
        "seconds_per_epoch": result.seconds_per_epoch,
    }
    student_config = {
        "construction": spec.student.construction,
        "layers": spec.student.layers,
        "temperature": config.temperature,
        "alpha": config.alpha,
        "max_length": max_length,
        "student_ref": spec.student.student_ref,
    }
    metadata = {
        "kind": "student",
        "teacher": teacher.model_ref,
        "teacher_sha256": teacher.artifact_sha256,
        "labels": labels,
        "metrics": metrics,
        "config": student_config,
        "job": job.pk,
    }
    artifact = save_artifact(student, tokenizer, job.task_id, f"student-job{job.pk}", metadata)
    return StudentTrained(
        message=f"Student ready: validation accuracy {result.best_val_accuracy:.1%}.",
        summary={"history": result.history, "resumed_from_step": result.resumed_from_step, "sha256": artifact.sha256}
        | metrics,
        teacher_id=teacher.pk,
        name=spec.name
        or student_name(
            spec.student.construction, int(student.config.num_hidden_layers), job.pk, pretrained_name=base_name
        ),
        artifact=artifact,
        construction=spec.student.construction,
        layers=int(student.config.num_hidden_layers),
        parameters=student_params,
        labels=labels,
        config=student_config,
        metrics=metrics,
    )


def _build_student(
    options: StudentOptions, teacher_path: Path | None, teacher_tokenizer: Any, labels: list[str]
) -> tuple[Any, Any, str, str]:
    """The student model, its tokenizer, a description for the log and (pretrained students) its model's name."""
    from workers.ml.students import layer_plan, load_classifier, scratch_student, truncated_student
    from workers.ml.tokenizer_profile import load_tokenizer

    construction = options.construction
    if teacher_path is None and construction != Construction.PRETRAINED:
        raise JobFailed("A teacher given as uploaded outputs has no weights to copy: distil a pretrained student.")
    if construction == Construction.TRUNCATED:
        teacher_model = load_classifier(teacher_path)
        total = int(teacher_model.config.num_hidden_layers)
        keep = layer_plan(total, options.layers, options.layer_strategy)
        return (
            truncated_student(teacher_model, keep),
            teacher_tokenizer,
            f"{len(keep)}-layer truncated teacher (layers {keep})",
            "",
        )
    if construction == Construction.SCRATCH:
        config = load_classifier(teacher_path).config
        model = scratch_student(config, num_layers=options.layers, hidden_size=options.hidden_size, labels=labels)
        return model, teacher_tokenizer, f"{options.layers}-layer student from scratch", ""
    if construction == Construction.PRETRAINED:
        try:
            resolved = resolve_model_ref(options.student_ref, model_root=Path(settings.MODEL_ROOT))
        except ModelSourceError as exc:
            raise JobFailed(str(exc)) from exc
        model = load_classifier(resolved.path, labels=labels)
        return model, load_tokenizer(resolved.path), resolved.label, resolved.name
    raise JobFailed(f"Unknown student construction '{construction}'.")
