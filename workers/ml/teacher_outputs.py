"""Run a teacher once over a dataset and keep its logits, so distillation never re-runs the teacher.

Logits are stored with safetensors (no pickle) together with string metadata describing what produced them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from workers.ml.data import EncodedDataset
from workers.ml.inference import predict_logits
from workers.ml.reporting import Reporter, StopRequested

if TYPE_CHECKING:
    from transformers import PreTrainedModel

_LOGITS_KEY = "logits"
_REPORT_EVERY_BATCHES = 10


@dataclass(frozen=True)
class TeacherOutputs:
    logits: torch.Tensor  # [rows, classes], float32, CPU, in data order
    examples: int
    tokens: int  # non-pad tokens the teacher processed: teacher usage, for the cost model


def compute_logits(
    model: PreTrainedModel,
    data: EncodedDataset,
    *,
    device: torch.device,
    pad_token_id: int,
    batch_size: int,
    reporter: Reporter,
) -> TeacherOutputs:
    total = len(data)
    reporter.log(f"Computing teacher logits for {total} rows.")
    reporter.report(0, total, message=f"0/{total} rows")
    batches_done = 0

    def progress(rows_done: int, tokens_done: int) -> None:
        nonlocal batches_done
        batches_done += 1
        if batches_done % _REPORT_EVERY_BATCHES == 0 or rows_done == total:
            reporter.report(rows_done, total, {"tokens": float(tokens_done)}, f"{rows_done}/{total} rows")
        if reporter.should_stop():
            raise StopRequested(f"Stopped after {rows_done}/{total} rows.")

    logits, tokens = predict_logits(
        model, data, device=device, pad_token_id=pad_token_id, batch_size=batch_size, on_batch=progress
    )
    reporter.log(f"Teacher logits done: {total} rows, {tokens} tokens.")
    return TeacherOutputs(logits=logits, examples=total, tokens=tokens)


def save_logits(path: Path, logits: torch.Tensor, metadata: dict[str, str]) -> None:
    """Write logits and string metadata to a safetensors file, atomically (temp file, then rename)."""
    bad = sorted(key for key, value in metadata.items() if not isinstance(value, str))
    if bad:
        raise ValueError(f"Logits metadata values must be strings; not so for: {', '.join(bad)}.")
    tmp = path.with_name(path.name + ".tmp")
    try:
        save_file({_LOGITS_KEY: logits.detach().to("cpu", torch.float32).contiguous()}, str(tmp), metadata=metadata)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_logits(path: Path) -> tuple[torch.Tensor, dict[str, str]]:
    tensors = load_file(str(path))
    if _LOGITS_KEY not in tensors:
        raise ValueError(f"{path} holds no '{_LOGITS_KEY}' tensor; it is not a teacher logits file.")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    return tensors[_LOGITS_KEY], dict(metadata)
