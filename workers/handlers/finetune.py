"""Fine-tune a pretrained encoder into a task teacher: a classification head on the train set, early
stopping on validation. The result is registered as a new teacher of the task."""

from django.db import transaction

from webapp.jobs.models import Job
from webapp.registry.models import Teacher
from workers.handlers.base import Outcome, load_teacher
from workers.handlers.training import (
    checkpoint_path,
    model_folder,
    save_artifact,
    task_labels,
    train_and_validation,
    train_config_kwargs,
    training_failures,
)
from workers.reporter import JobReporter


def finetune_teacher(job: Job, reporter: JobReporter) -> Outcome:
    from workers.ml.data import encode
    from workers.ml.device import describe_device, pick_device
    from workers.ml.students import count_parameters, load_classifier
    from workers.ml.tokenizer_profile import load_tokenizer
    from workers.ml.train import TrainConfig, train_classifier

    # Inputs: the base teacher, the task's label order, training and validation rows.
    base, source = load_teacher(job.params["teacher_id"], task_id=job.task_id)
    labels = task_labels(job.task)
    data = train_and_validation(job, labels)
    train_rows, val_rows, val_note = data.train, data.val, data.note
    max_length = int(job.params.get("max_length") or base.max_length)
    device = pick_device()
    reporter.log(
        f"fine-tuning '{base}' on {len(train_rows.texts)} rows, {len(labels)} labels; {val_note}; "
        f"{describe_device(device)}"
    )

    # Model and data: a fresh head over the task's labels on top of the base encoder.
    tokenizer = load_tokenizer(source.path)
    model = load_classifier(source.path, labels=labels)
    train = encode(tokenizer, train_rows.texts, train_rows.label_ids, max_length=max_length)
    val = encode(tokenizer, val_rows.texts, val_rows.label_ids, max_length=max_length)
    config = TrainConfig(**train_config_kwargs(job.params))

    # Train (resuming from this job's checkpoint if an earlier attempt was interrupted).
    with training_failures(checkpoint_path(job)):
        result = train_classifier(
            model,
            train,
            val,
            config,
            reporter,
            device=device,
            pad_token_id=int(tokenizer.pad_token_id or 0),
            checkpoint_path=checkpoint_path(job),
        )

    # Keep it: an artifact loadable by plain transformers, and a teacher row pointing at it.
    name = f"{base.name} fine-tuned (job {job.pk})"[:120]
    folder, ref = model_folder(job.task, f"teacher-job{job.pk}")
    metrics = {
        "val_accuracy": result.best_val_accuracy,
        "val_loss": result.best_val_loss,
        "epochs": result.epochs_completed,
    }
    metadata = {
        "kind": "teacher",
        "base": base.model_ref,
        "labels": labels,
        "metrics": metrics,
        "job": job.pk,
        "train_config": config.__dict__,
        "max_length": max_length,
    }
    save_artifact(model, tokenizer, folder, metadata)
    with transaction.atomic():
        teacher = Teacher.objects.create(
            task=job.task,
            name=name,
            model_ref=ref,
            max_length=max_length,
            origin=Teacher.Origin.FINE_TUNED,
            labels=labels,
            base=base,
            source_job=job,
            metrics=metrics | {"parameters": count_parameters(model)},
            cost_mode=base.cost_mode,
            price_input_per_m=base.price_input_per_m,
            price_output_per_m=base.price_output_per_m,
            gpu_hour_price=base.gpu_hour_price,
            gpu_count=base.gpu_count,
            created_by=job.created_by,
        )
    if result.best_val_accuracy < job.task.quality_min:
        reporter.log(
            f"note: validation accuracy {result.best_val_accuracy:.1%} is below the task's bar "
            f"{job.task.quality_min:.0%}; a weak teacher makes students look better than they are"
        )
    return Outcome(
        result={"teacher_id": teacher.pk, "history": result.history, "resumed_from_step": result.resumed_from_step}
        | metrics,
        message=f"Teacher '{teacher}' registered: validation accuracy {result.best_val_accuracy:.1%}.",
        device_kind=describe_device(device),
    )
