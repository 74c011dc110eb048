"""Fine-tune a pretrained encoder into a task teacher: a classification head on the train set, early
stopping on validation. The result becomes a new teacher of the task (recorded by the webapp)."""

from domain.naming import finetuned_teacher_name
from domain.results import TeacherTrained
from domain.specs import FinetuneSpec
from workers.handlers.base import JobContext, load_teacher
from workers.handlers.training import save_artifact, task_labels, train_and_validation, training_failures
from workers.paths import checkpoint_path


def finetune_teacher(spec: FinetuneSpec, ctx: JobContext) -> TeacherTrained:
    from workers.ml.data import encode
    from workers.ml.device import device_info, pick_device
    from workers.ml.students import count_parameters, load_classifier
    from workers.ml.tokenizer_profile import load_tokenizer
    from workers.ml.train import TrainConfig, train_classifier

    job, reporter = ctx.job, ctx.reporter
    # Inputs: the base teacher, the task's label order, training and validation rows.
    base, source = load_teacher(spec.teacher_id, task_id=job.task_id)
    labels = task_labels(job.task)
    options = spec.training
    data = train_and_validation(
        job.task_id,
        labels,
        train_id=spec.train_dataset_id,
        validation_id=spec.validation_dataset_id,
        seed=options.seed,
    )
    train_rows, val_rows, val_note = data.train, data.val, data.note
    max_length = options.max_length or base.max_length
    device = pick_device()
    ctx.ledger.device = device_info(device)
    reporter.log(
        f"fine-tuning '{base}' on {len(train_rows.texts)} rows, {len(labels)} labels; {val_note}; "
        f"{ctx.ledger.device.describe()}"
    )

    # Model and data: a fresh head over the task's labels on top of the base encoder.
    tokenizer = load_tokenizer(source.path)
    model = load_classifier(source.path, labels=labels)
    train = encode(tokenizer, train_rows.texts, train_rows.label_ids, max_length=max_length)
    val = encode(tokenizer, val_rows.texts, val_rows.label_ids, max_length=max_length)
    config = TrainConfig(**options.train_config_kwargs())

    # Train (resuming from this job's checkpoint if an earlier attempt was interrupted).
    with training_failures(checkpoint_path(job.pk)):
        result = train_classifier(
            model,
            train,
            val,
            config,
            reporter,
            device=device,
            pad_token_id=int(tokenizer.pad_token_id or 0),
            checkpoint_path=checkpoint_path(job.pk),
        )

    # Keep it: an artifact loadable by plain transformers (the webapp registers the teacher row).
    metrics = {
        "val_accuracy": result.best_val_accuracy,
        "val_loss": result.best_val_loss,
        "epochs": result.epochs_completed,
        "seconds_per_epoch": result.seconds_per_epoch,  # what the next job's duration estimate is made from
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
    artifact = save_artifact(model, tokenizer, job.task_id, f"teacher-job{job.pk}", metadata)
    if result.best_val_accuracy < job.task.quality_min:
        reporter.log(
            f"note: validation accuracy {result.best_val_accuracy:.1%} is below the task's bar "
            f"{job.task.quality_min:.0%}; a weak teacher makes students look better than they are"
        )
    return TeacherTrained(
        message=f"Teacher fine-tuned: validation accuracy {result.best_val_accuracy:.1%}.",
        summary={"history": result.history, "resumed_from_step": result.resumed_from_step, "sha256": artifact.sha256}
        | metrics,
        base_teacher_id=base.pk,
        name=finetuned_teacher_name(base.name, job.pk),
        artifact=artifact,
        labels=labels,
        max_length=max_length,
        parameters=count_parameters(model),
        metrics=metrics,
    )
