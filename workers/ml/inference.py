"""Batched forward passes shared by evaluation and teacher-output generation."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from workers.ml.data import Batch, EncodedDataset, collate
from workers.ml.device import autocast

if TYPE_CHECKING:
    from transformers import PreTrainedModel

_MODEL_INPUTS = ("input_ids", "attention_mask")


def to_device(batch: Batch, device: torch.device) -> Batch:
    # non_blocking only has an effect from pinned memory (CUDA loaders); it is harmless elsewhere.
    return {name: tensor.to(device, non_blocking=True) for name, tensor in batch.items()}


def forward_logits(model: PreTrainedModel, batch: Batch) -> torch.Tensor:
    """The classification logits for a batch already on the model's device (not upcast)."""
    output = model(**{name: batch[name] for name in _MODEL_INPUTS})
    logits = output.logits
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{type(model).__name__} returned no logits; is it a sequence classifier?")
    return logits


def predict_logits(
    model: PreTrainedModel,
    data: EncodedDataset,
    *,
    device: torch.device,
    pad_token_id: int,
    batch_size: int,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, int]:
    """Logits for every row, float32 on the CPU and in data order, plus the number of non-pad tokens.

    Rows are batched by length, so each batch pads little, and scattered back into data order.
    on_batch(rows_done, tokens_done) runs after each batch; it may raise to stop early.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive.")
    by_length = sorted(range(len(data)), key=lambda i: len(data.input_ids[i]))
    outputs: torch.Tensor | None = None
    tokens = 0
    was_training = model.training
    model.train(False)  # eval mode: no dropout
    try:
        with torch.inference_mode():
            for start in range(0, len(by_length), batch_size):
                positions = by_length[start : start + batch_size]
                batch = to_device(collate([data[i] for i in positions], pad_token_id=pad_token_id), device)
                with autocast(device):
                    logits = forward_logits(model, batch).float().cpu()
                if outputs is None:
                    outputs = torch.empty((len(data), logits.shape[1]), dtype=torch.float32)
                outputs[torch.tensor(positions)] = logits
                tokens += int(batch["attention_mask"].sum().item())
                if on_batch is not None:
                    on_batch(start + len(positions), tokens)
    finally:
        model.train(was_training)
    if outputs is None:  # empty data: the width still comes from the model
        outputs = torch.empty((0, len(model.config.id2label or {})), dtype=torch.float32)
    return outputs, tokens
