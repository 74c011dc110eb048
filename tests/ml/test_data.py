"""encode() and make_loader(): truncation, dynamic padding, deterministic and resumable data order."""

from __future__ import annotations

import pytest
import torch

from tests.ml.tiny import (
    one_torch_thread,  # noqa: F401 (a fixture, used by name below)
    tiny_tokenizer,
    toy_data,
)
from workers.ml.data import UNLABELED, EncodedDataset, encode, make_loader

CPU = torch.device("cpu")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_encode_truncates_at_max_length_and_keeps_labels_and_source_index() -> None:
    data = encode(
        tiny_tokenizer(), ["good movie", "the plot was very very very bad"], [1, 0], max_length=5, index=[7, 3]
    )
    assert data.input_ids[0] == [2, token_id("good"), token_id("movie"), 3]  # [CLS] good movie [SEP]
    assert len(data.input_ids[1]) == 5 and data.input_ids[1][-1] == 3  # truncated, still ends with [SEP]
    assert (data.labels, data.index) == ([1, 0], [7, 3])


def test_encode_without_labels_marks_every_row_unlabeled() -> None:
    data = encode(tiny_tokenizer(), ["good", "bad"], None, max_length=8)
    assert data.labels == [UNLABELED, UNLABELED]
    assert data.labeled_rows == 0
    assert data.index == [0, 1]


def test_the_loader_pads_each_batch_to_its_own_longest_row() -> None:
    data = EncodedDataset(input_ids=[[2, 5, 3], [2, 5, 6, 7, 3], [2, 3]], labels=[0, 1, -1], index=[0, 1, 2])
    batches = list(make_loader(data, batch_size=2, shuffle=False, seed=0, pad_token_id=0, device=CPU))
    first, second = batches
    assert first["input_ids"].tolist() == [[2, 5, 3, 0, 0], [2, 5, 6, 7, 3]]
    assert first["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert first["labels"].tolist() == [0, 1]
    assert second["input_ids"].shape == (1, 2)  # not padded to the first batch's width
    assert second["index"].tolist() == [2]


def order(data: EncodedDataset, *, seed: int, epoch: int, skip: int = 0) -> list[int]:
    loader = make_loader(
        data, batch_size=4, shuffle=True, seed=seed, pad_token_id=0, device=CPU, epoch=epoch, skip_batches=skip
    )
    return [i for batch in loader for i in batch["index"].tolist()]


def test_shuffling_is_deterministic_given_the_seed_and_changes_between_epochs() -> None:
    data = toy_data(20, seed=0)
    assert order(data, seed=1, epoch=0) == order(data, seed=1, epoch=0)
    assert sorted(order(data, seed=1, epoch=0)) == list(range(20))
    assert order(data, seed=1, epoch=0) != order(data, seed=1, epoch=1)
    assert order(data, seed=1, epoch=0) != order(data, seed=2, epoch=0)


def test_skipping_batches_continues_the_same_order() -> None:
    data = toy_data(20, seed=0)
    assert order(data, seed=3, epoch=2, skip=2) == order(data, seed=3, epoch=2)[8:]


def test_loading_does_not_consume_the_global_rng() -> None:
    data = toy_data(20, seed=0)
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    order(data, seed=3, epoch=0)
    assert torch.equal(torch.rand(1), expected)  # dropout draws from it, so resuming must not disturb it


def test_a_dataset_with_mismatched_columns_is_rejected() -> None:
    with pytest.raises(ValueError, match="one entry per row"):
        EncodedDataset(input_ids=[[2, 3]], labels=[0, 1], index=[0])


def token_id(word: str) -> int:
    return int(tiny_tokenizer().convert_tokens_to_ids(word))


def test_epoch_order_groups_rows_of_similar_length_into_batches() -> None:
    from workers.ml.data import epoch_order

    lengths = [(i * 37) % 100 + 1 for i in range(1000)]
    order = epoch_order(1000, shuffle=True, seed=3, epoch=0, lengths=lengths, batch_size=10)
    assert sorted(order) == list(range(1000))  # a permutation: every row once
    spreads = [
        max(lengths[i] for i in order[b : b + 10]) - min(lengths[i] for i in order[b : b + 10])
        for b in range(0, 1000, 10)
    ]
    assert sum(spreads) / len(spreads) < 10  # random batches would spread ~80 tokens
    assert order == epoch_order(1000, shuffle=True, seed=3, epoch=0, lengths=lengths, batch_size=10)
    assert order != epoch_order(1000, shuffle=True, seed=3, epoch=1, lengths=lengths, batch_size=10)
