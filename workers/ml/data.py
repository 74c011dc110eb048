"""Tokenized classification rows and the loaders that batch them.

Rows keep their position in the source dataset (`index`), so teacher logits computed once for the whole
dataset can be looked up per batch, whatever the shuffling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch.utils.data import DataLoader, Dataset

from workers.ml.device import loader_kwargs

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

UNLABELED = -1
_TOKENIZE_CHUNK = 1024  # rows per tokenizer call: batched for speed, bounded for memory

Batch = dict[str, torch.Tensor]


class Row(NamedTuple):
    input_ids: list[int]
    label: int
    source_index: int  # "index" would shadow tuple.index


@dataclass(frozen=True)
class EncodedDataset(Dataset[Row]):
    """Token ids, labels (UNLABELED = -1) and source positions, one entry per row."""

    input_ids: list[list[int]]
    labels: list[int]
    index: list[int]

    def __post_init__(self) -> None:
        if not len(self.input_ids) == len(self.labels) == len(self.index):
            raise ValueError(
                f"input_ids, labels and index must have one entry per row "
                f"(got {len(self.input_ids)}, {len(self.labels)} and {len(self.index)})."
            )
        if any(not ids for ids in self.input_ids):
            raise ValueError("Every row needs at least one token.")

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> Row:
        return Row(self.input_ids[i], self.labels[i], self.index[i])

    @property
    def labeled_rows(self) -> int:
        return sum(1 for label in self.labels if label != UNLABELED)


def encode(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    labels: Sequence[int] | None,
    *,
    max_length: int,
    index: Sequence[int] | None = None,
) -> EncodedDataset:
    """Tokenize `texts`, truncating at `max_length` tokens (special tokens included).

    labels: class ids, UNLABELED for rows without one, or None when no row has one.
    index: each row's position in the source dataset; defaults to 0..n-1.
    """
    if max_length < 2:
        raise ValueError("max_length must be at least 2 (room for the special tokens).")
    if labels is not None and len(labels) != len(texts):
        raise ValueError(f"Got {len(texts)} texts but {len(labels)} labels.")
    input_ids: list[list[int]] = []
    for start in range(0, len(texts), _TOKENIZE_CHUNK):
        encoded = tokenizer(
            list(texts[start : start + _TOKENIZE_CHUNK]),
            truncation=True,
            max_length=max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        input_ids.extend(list(row) for row in encoded["input_ids"])
    return EncodedDataset(
        input_ids=input_ids,
        labels=list(labels) if labels is not None else [UNLABELED] * len(texts),
        index=list(index) if index is not None else list(range(len(texts))),
    )


def collate(rows: Sequence[Row], *, pad_token_id: int) -> Batch:
    """Pad to the longest row of this batch (not to max_length), which is what makes short texts cheap."""
    width = max(len(row.input_ids) for row in rows)
    input_ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        input_ids[i, : len(row.input_ids)] = torch.tensor(row.input_ids, dtype=torch.long)
        attention_mask[i, : len(row.input_ids)] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "labels": torch.tensor([row.label for row in rows], dtype=torch.long),
        "index": torch.tensor([row.source_index for row in rows], dtype=torch.long),
    }


# Rows are grouped by length within windows of this many batches: batches pad little (short texts
# train several times faster) while the window keeps the order random enough (as HF's group_by_length).
LENGTH_GROUP_BATCHES = 50


def epoch_order(
    size: int, *, shuffle: bool, seed: int, epoch: int, lengths: Sequence[int] | None = None, batch_size: int = 1
) -> list[int]:
    """The row order of one epoch: a pure function of (seed, epoch), so a resumed run can replay it.

    With `lengths`, each window of LENGTH_GROUP_BATCHES batches is sorted by length, cut into batches,
    and the batches are shuffled, so consecutive `batch_size` rows have similar lengths."""
    if not shuffle:
        return list(range(size))
    # Mixing seed and epoch this way keeps (seed=0, epoch=1) and (seed=1, epoch=0) apart.
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order: list[int] = torch.randperm(size, generator=generator).tolist()
    if lengths is None or batch_size <= 1:
        return order
    window = batch_size * LENGTH_GROUP_BATCHES
    batches: list[list[int]] = []
    for start in range(0, size, window):
        grouped = sorted(order[start : start + window], key=lambda i: lengths[i], reverse=True)
        batches.extend(grouped[b : b + batch_size] for b in range(0, len(grouped), batch_size))
    # The last, partial batch stays last: every other batch keeps exactly batch_size rows.
    full, tail = (batches[:-1], batches[-1:]) if len(batches[-1]) < batch_size else (batches, [])
    shuffled = [full[i] for i in torch.randperm(len(full), generator=generator).tolist()] + tail
    return [row for batch in shuffled for row in batch]


def make_loader(
    data: EncodedDataset,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    pad_token_id: int,
    device: torch.device,
    epoch: int = 0,
    skip_batches: int = 0,
) -> DataLoader[Row]:
    """Batches of `data` in epoch_order(...), starting after `skip_batches` batches (to resume mid-epoch)."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive.")
    lengths = [len(ids) for ids in data.input_ids]
    order = epoch_order(len(data), shuffle=shuffle, seed=seed, epoch=epoch, lengths=lengths, batch_size=batch_size)
    order = order[skip_batches * batch_size :]
    return DataLoader(
        data,
        batch_size=batch_size,
        sampler=order,
        collate_fn=partial(collate, pad_token_id=pad_token_id),
        # Without its own generator, DataLoader draws a base seed from the global RNG at every iter(),
        # which would make dropout depend on how many loaders were created (and break exact resume).
        generator=torch.Generator().manual_seed(seed),
        **loader_kwargs(device),
    )
