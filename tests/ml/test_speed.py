"""Timing in interleaved rounds: models with different tokenizers are timed on the same texts, each encoded its
own way, and ratios are taken round by round with their spread. Structure only: no timed assertions."""

import pytest
import torch
from transformers import BertForSequenceClassification

from tests.ml.tiny import WORDS, one_torch_thread, tiny_config, tiny_model, tiny_tokenizer, toy_texts  # noqa: F401
from workers.ml.data import EncodedDataset, encode
from workers.ml.speed import SpeedConfig, measure_interleaved, ratio_spread

CONFIG = SpeedConfig(rounds=3, batch1_calls=4, batch_size=8, throughput_batches=1, warmup_calls=1)


def test_ratios_are_taken_per_round_with_their_median_and_range() -> None:
    spread = ratio_spread([10.0, 30.0, 12.0], [2.0, 3.0, 2.0])

    assert spread.per_round == [5.0, 10.0, 6.0]
    assert (spread.median, spread.low, spread.high) == (6.0, 5.0, 10.0)
    assert spread.as_dict() == {"median": 6.0, "min": 5.0, "max": 10.0, "rounds": 3, "per_round": [5.0, 10.0, 6.0]}
    with pytest.raises(ValueError, match="No rounds"):
        ratio_spread([], [])


@pytest.mark.usefixtures("one_torch_thread")
def test_each_model_is_timed_on_its_own_encoding_of_the_same_texts() -> None:
    texts, _ = toy_texts(8, seed=0)
    short = encode(tiny_tokenizer(), texts, None, max_length=4)  # the student's tokenizer, and truncation
    # The teacher's own tokenizer: ids past the student's vocabulary, so the student fails if given them.
    config = tiny_config(layers=3)
    config.vocab_size = len(WORDS) + 10
    wide = EncodedDataset(
        input_ids=[[2, len(WORDS) + 3, len(WORDS) + 7, 3] for _ in texts], labels=[-1] * 8, index=list(range(8))
    )
    models = {"student": tiny_model(layers=1), "teacher": BertForSequenceClassification(config)}

    results = measure_interleaved(
        models,
        {"student": short, "teacher": wide},
        device=torch.device("cpu"),
        pad_token_id={"student": 0, "teacher": 0},
        config=CONFIG,
    )

    for result in results.values():
        assert len(result.round_latency_ms) == len(result.round_throughput) == CONFIG.rounds
        assert result.latency_p50_ms > 0 and result.throughput_rows_per_s > 0
    with pytest.raises(ValueError, match="Need at least 8 rows"):
        measure_interleaved(
            models, {"student": short, "teacher": EncodedDataset(wide.input_ids[:5], [-1] * 5, list(range(5)))},
            device=torch.device("cpu"), pad_token_id=0, config=CONFIG,
        )  # fmt: skip
