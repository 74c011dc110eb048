"""Factories for tiny models, tokenizers and a separable toy task, so ML tests run in seconds on a CPU."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

from workers.ml.data import EncodedDataset, encode
from workers.ml.reporting import ListReporter

os.environ["HF_HUB_OFFLINE"] = "1"

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = ["good", "great", "fine", "lovely", "superb", "nice"]
NEGATIVE = ["bad", "awful", "poor", "horrid", "dreadful", "nasty"]
FILLER = ["the", "a", "movie", "was", "plot", "it", "very", "and", "film", "acting"]
WORDS = SPECIAL + POSITIVE + NEGATIVE + FILLER
LABELS = ["negative", "positive"]


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Run torch single-threaded: on models this small, a second thread mostly waits on the first, and when
    another process holds a core the two threads' spin-waits can make a test 50x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_tokenizer() -> BertTokenizer:
    # transformers 5: BertTokenizer is the tokenizers-backed (fast) class and takes the vocabulary directly.
    return BertTokenizer(vocab={word: i for i, word in enumerate(WORDS)})


def tiny_config(*, layers: int = 4, num_labels: int = 2, dropout: float = 0.0) -> BertConfig:
    return BertConfig(
        vocab_size=len(WORDS),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        num_labels=num_labels,
        id2label=dict(enumerate(LABELS[:num_labels])) if num_labels == 2 else None,
        label2id={label: i for i, label in enumerate(LABELS)} if num_labels == 2 else None,
    )


def tiny_model(*, seed: int = 0, layers: int = 4, dropout: float = 0.0) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    return BertForSequenceClassification(tiny_config(layers=layers, dropout=dropout))


def toy_texts(rows: int, *, seed: int) -> tuple[list[str], list[int]]:
    """Label 1 rows hold a positive word, label 0 rows a negative one, among filler words."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(rows):
        label = i % 2
        words = rng.choices(FILLER, k=rng.randint(2, 7))
        words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label else NEGATIVE))
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def toy_data(rows: int, *, seed: int) -> EncodedDataset:
    texts, labels = toy_texts(rows, seed=seed)
    return encode(tiny_tokenizer(), texts, labels, max_length=16)


@dataclass
class StopAtStep(ListReporter):
    """should_stop() turns true at the `step`-th call; training asks once per step."""

    step: int = 0
    calls: int = field(default=0)

    def should_stop(self) -> bool:
        self.calls += 1
        return self.calls >= self.step
