"""Cached teacher logits: computed once per (teacher, dataset content, max_length), reused by every student.

A job that computes them writes the file and notes it in its ledger; the webapp records the cache row
when the job ends (whatever its outcome), so later jobs reuse it."""

import time
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from domain.results import CachedOutputs, TeacherUsage
from webapp.registry.models import Dataset, Teacher, TeacherOutputs
from workers.errors import JobFailed
from workers.handlers.base import JobContext

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

# Uploaded outputs come from a model that ran elsewhere: its tokens are estimated from text length.
CHARS_PER_TOKEN = 4


def teacher_logits_for(
    ctx: JobContext,
    teacher: Teacher,
    teacher_path: Path | None,
    dataset: Dataset,
    *,
    tokenizer: "PreTrainedTokenizerBase | None",
    max_length: int,
    device: "torch.device",
) -> "torch.Tensor":
    """The teacher's logits over `dataset` in row order: uploaded, cached, or computed (and cached) now.
    Teacher calls (or, for uploaded outputs, the rows covered) are counted in the job's ledger."""
    from workers.ml.data import encode
    from workers.ml.students import load_classifier
    from workers.ml.teacher_outputs import compute_logits, load_logits, save_logits

    reporter = ctx.reporter
    if teacher.is_precomputed:
        logits = uploaded_logits_for(teacher, dataset, ctx=ctx)
        ctx.ledger.add_usage(uploaded_usage(dataset, output_tokens_per_row=ctx.job.task.mean_output_tokens))
        return logits
    if teacher_path is None or tokenizer is None:
        raise JobFailed(f"Teacher '{teacher}' has no model to run.")
    for cached in [*_recorded(teacher, dataset, max_length), *_noted(ctx, teacher, dataset, max_length)]:
        if (Path(settings.DATA_DIR) / cached).exists():
            reporter.log(f"teacher outputs for '{dataset}' reused from cache (no teacher calls)")
            logits, _ = load_logits(Path(settings.DATA_DIR) / cached)
            return logits
    reporter.log(f"running teacher '{teacher}' over '{dataset}' ({dataset.row_count} rows) to cache its logits")
    started = time.monotonic()
    texts = [row["text"] for row in dataset.rows()]  # labels don't matter: OOD sets may hold others
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
    ctx.ledger.cached_outputs.append(
        CachedOutputs(
            teacher_id=teacher.pk,
            dataset_id=dataset.pk,
            dataset_sha256=dataset.sha256,
            max_length=max_length,
            path=str(relative),
            examples=outputs.examples,
            tokens=outputs.tokens,
            device_seconds=time.monotonic() - started,
        )
    )
    # What the teacher did is what the ROI's one-off cost counts (an encoder classifier emits no tokens).
    ctx.ledger.add_usage(TeacherUsage(examples=outputs.examples, input_tokens=outputs.tokens))
    return outputs.logits


def _recorded(teacher: Teacher, dataset: Dataset, max_length: int) -> list[str]:
    rows = TeacherOutputs.objects.filter(teacher=teacher, dataset_sha256=dataset.sha256, max_length=max_length)
    return [row.path for row in rows]


def _noted(ctx: JobContext, teacher: Teacher, dataset: Dataset, max_length: int) -> list[str]:
    """Outputs this job computed already (not yet recorded: that happens when the job ends)."""
    return [
        c.path
        for c in ctx.ledger.cached_outputs
        if (c.teacher_id, c.dataset_sha256, c.max_length) == (teacher.pk, dataset.sha256, max_length)
    ]


def uploaded_usage(dataset: Dataset, *, output_tokens_per_row: int) -> TeacherUsage:
    """Rows covered by uploaded outputs; tokens estimated (about 4 characters a token) and flagged so."""
    chars = sum(len(row["text"]) for row in dataset.rows())
    rows = dataset.row_count
    return TeacherUsage(
        examples=rows,
        input_tokens=-(-chars // CHARS_PER_TOKEN),
        output_tokens=rows * output_tokens_per_row,
        estimated=True,
    )


def uploaded_logits_for(teacher: Teacher, dataset: Dataset, *, ctx: JobContext) -> "torch.Tensor":
    """A precomputed teacher's logits for each row of `dataset`, matched by text."""
    import torch

    from webapp.registry.precomputed import logits_for_texts

    texts = [row["text"] for row in dataset.rows()]
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
    ctx.reporter.log(f"teacher outputs for '{dataset}' taken from the upload ({len(texts)} rows matched by text)")
    return torch.from_numpy(logits)
