"""Cached teacher logits: computed once per (teacher, dataset content, max_length), reused by every student."""

from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from webapp.jobs.models import Job
from webapp.registry.models import Dataset, Teacher, TeacherOutputs
from webapp.registry.selectors import dataset_rows
from workers.errors import JobFailed
from workers.handlers.base import Outcome, load_dataset, load_teacher
from workers.reporter import JobReporter

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase


def teacher_logits_for(
    job: Job,
    teacher: Teacher,
    teacher_path: Path | None,
    dataset: Dataset,
    *,
    tokenizer: "PreTrainedTokenizerBase | None",
    max_length: int,
    device: "torch.device",
    reporter: JobReporter,
) -> "torch.Tensor":
    """The teacher's logits over `dataset` in row order: uploaded, cached, or computed (and cached) now."""
    from workers.ml.data import encode
    from workers.ml.students import load_classifier
    from workers.ml.teacher_outputs import compute_logits, load_logits, save_logits

    if teacher.is_precomputed:
        return uploaded_logits_for(teacher, dataset, reporter=reporter)
    if teacher_path is None or tokenizer is None:
        raise JobFailed(f"Teacher '{teacher}' has no model to run.")
    cached = TeacherOutputs.objects.filter(
        teacher=teacher, dataset_sha256=dataset.sha256, max_length=max_length
    ).first()
    if cached is not None and (Path(settings.DATA_DIR) / cached.path).exists():
        reporter.log(f"teacher outputs for '{dataset}' reused from cache (no teacher calls)")
        logits, _ = load_logits(Path(settings.DATA_DIR) / cached.path)
        return logits

    reporter.log(f"running teacher '{teacher}' over '{dataset}' ({dataset.row_count} rows) to cache its logits")
    texts = [row["text"] for row in dataset_rows(dataset)]  # labels don't matter: OOD sets may hold others
    model = load_classifier(teacher_path)
    data = encode(tokenizer, texts, [-1] * len(texts), max_length=max_length)
    outputs = compute_logits(
        model, data, device=device, pad_token_id=int(tokenizer.pad_token_id or 0), batch_size=64, reporter=reporter
    )
    relative = Path("teacher_outputs") / f"teacher-{teacher.pk}" / f"{dataset.sha256}-L{max_length}.safetensors"
    target = Path(settings.DATA_DIR) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    save_logits(
        target,
        outputs.logits,
        {"teacher": str(teacher.pk), "dataset_sha256": dataset.sha256, "labels": "\t".join(teacher.labels)},
    )
    # What the teacher did is what the ROI's one-off cost counts: record it on the job too.
    Job.objects.filter(pk=job.pk).update(
        teacher_examples=F("teacher_examples") + outputs.examples, teacher_tokens=F("teacher_tokens") + outputs.tokens
    )
    try:
        with transaction.atomic():
            TeacherOutputs.objects.update_or_create(
                teacher=teacher,
                dataset_sha256=dataset.sha256,
                max_length=max_length,
                defaults={
                    "dataset": dataset,
                    "path": str(relative),
                    "examples": outputs.examples,
                    "tokens": outputs.tokens,
                    "source_job": job,
                },
            )
    except IntegrityError:
        pass  # another job cached the same outputs at the same moment: theirs is as good
    return outputs.logits


def uploaded_logits_for(teacher: Teacher, dataset: Dataset, *, reporter: JobReporter) -> "torch.Tensor":
    """A precomputed teacher's logits for each row of `dataset`, matched by text."""
    import torch

    from webapp.registry.precomputed import logits_for_texts

    texts = [row["text"] for row in dataset_rows(dataset)]
    folder = Path(settings.DATA_DIR) / teacher.outputs_dir
    if not folder.is_dir():
        raise JobFailed(f"The uploaded outputs of teacher '{teacher}' are missing from {folder}.")
    logits, missing = logits_for_texts(folder, texts)
    if missing:
        first = texts[missing[0]]
        raise JobFailed(
            f"Teacher '{teacher}' has no uploaded outputs for {len(missing)} of the {len(texts)} rows of "
            f"'{dataset}' (the first: {first[:80]!r}). Upload outputs that cover every text of the set."
        )
    reporter.log(f"teacher outputs for '{dataset}' taken from the upload ({len(texts)} rows matched by text)")
    return torch.from_numpy(logits)


def cache_teacher_outputs(job: Job, reporter: JobReporter) -> Outcome:
    """Run the teacher once over the chosen datasets and keep its logits for every later student."""
    from workers.ml.device import describe_device, pick_device
    from workers.ml.tokenizer_profile import load_tokenizer

    teacher, model = load_teacher(job.params["teacher_id"], task_id=job.task_id)
    device = pick_device()
    tokenizer = load_tokenizer(model.path)
    max_length = int(job.params.get("max_length") or teacher.max_length)
    cached = []
    for dataset_id in job.params["dataset_ids"]:
        dataset = load_dataset(dataset_id, task_id=job.task_id)
        logits = teacher_logits_for(
            job,
            teacher,
            model.path,
            dataset,
            tokenizer=tokenizer,
            max_length=max_length,
            device=device,
            reporter=reporter,
        )
        cached.append({"dataset": str(dataset), "rows": int(logits.shape[0])})
    return Outcome(
        result={"cached": cached},
        message=f"Teacher outputs cached for {len(cached)} dataset(s).",
        device_kind=describe_device(device),
    )
