"""profile_texts on the real offline MiniLM tokenizer.

Expected counts come from the raw `tokenizers` library, independently of transformers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from domain.model_refs import PRESETS
from workers.ml.reporting import ListReporter, StopRequested
from workers.ml.tokenizer_profile import (
    TokenizerProfileConfig,
    load_tokenizer,
    profile_texts,
)

os.environ["HF_HUB_OFFLINE"] = "1"

MODEL = PRESETS["minilm-l6-offline"].folder()
SHORT_TEXTS = ["hello world", "Distillation compresses a teacher into a student.", ""]
LONG_TEXT = "the quick brown fox jumps over the lazy dog " * 3


@pytest.fixture(scope="module")
def raw() -> Tokenizer:
    """An independent reference: the Rust tokenizer straight from tokenizer.json, truncation off.

    (tokenizer.json for this model enables truncation at 128, so it must be switched off here too.)
    """
    tokenizer = Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def lengths(raw: Tokenizer, texts: list[str]) -> list[int]:
    return [len(raw.encode(t).ids) for t in texts]


def test_the_p95_is_the_nearest_rank_length(raw: Tokenizer) -> None:
    # "word " * n tokenizes to n + 2 tokens ([CLS] ... [SEP]): lengths 3..32 over 30 rows. p95 by nearest
    # rank is the ceil(0.95 * 30) = 29th smallest, 31 (the old speed rounding took the 28th, 30).
    texts = ["word " * n for n in range(30, 0, -1)]
    assert sorted(lengths(raw, texts)) == list(range(3, 33))
    profile = profile_texts(texts, TokenizerProfileConfig(MODEL, max_length=128), ListReporter())
    assert profile.p95_tokens == 31


def test_short_texts_exact_counts(raw: Tokenizer) -> None:
    expected = lengths(raw, SHORT_TEXTS)
    assert expected == [4, 14, 2]  # [CLS] hello world [SEP]; ...; [CLS] [SEP]
    profile = profile_texts(SHORT_TEXTS, TokenizerProfileConfig(MODEL, max_length=128), ListReporter())
    assert profile.rows == 3
    assert profile.total_tokens == sum(expected)
    assert profile.max_tokens == 14
    assert profile.median_tokens == 4.0
    assert profile.mean_tokens == pytest.approx(sum(expected) / 3)
    assert profile.p95_tokens == 14
    assert profile.truncated_rows == 0
    assert profile.unknown_tokens == 0
    assert profile.unknown_token_rate == 0.0
    assert profile.vocab_size == 30522
    assert profile.tokenizer_class == "BertTokenizer"
    hist = profile.histogram
    assert len(hist["edges"]) == len(hist["counts"]) + 1
    assert sum(hist["counts"]) == 3
    assert hist["edges"][0] == 0 and hist["edges"][-1] > profile.max_tokens
    json.dumps(profile.to_dict())  # must be JSON-able as is


def test_long_text_counted_as_truncated(raw: Tokenizer) -> None:
    texts = ["hello world", LONG_TEXT]
    (long_count,) = lengths(raw, [LONG_TEXT])
    assert long_count > 8
    profile = profile_texts(texts, TokenizerProfileConfig(MODEL, max_length=8), ListReporter())
    # Counted without truncation: the real length shows up, not max_length.
    assert profile.max_tokens == long_count
    assert profile.truncated_rows == 1
    assert profile.truncated_share == 0.5


def test_row_exactly_at_max_length_is_not_truncated() -> None:
    profile = profile_texts(["hello world"], TokenizerProfileConfig(MODEL, max_length=4), ListReporter())
    assert profile.truncated_rows == 0


def test_unknown_token_rate(raw: Tokenizer) -> None:
    # Emoji are not in this uncased BERT vocabulary and become [UNK].
    text = "\N{GRINNING FACE} ok \N{GRINNING FACE}"
    unk_id = raw.token_to_id("[UNK]")
    assert unk_id is not None
    ids = raw.encode(text).ids
    assert ids.count(unk_id) == 2
    profile = profile_texts([text, "hello world"], TokenizerProfileConfig(MODEL), ListReporter())
    assert profile.unknown_tokens == 2
    assert profile.total_tokens == len(ids) + 4
    assert profile.unknown_token_rate == pytest.approx(2 / (len(ids) + 4))
    assert profile.unknown_token_rate > 0


def test_progress_reports_reach_total_in_batches() -> None:
    texts = [f"row number {i}" for i in range(10)]
    reporter = ListReporter()
    profile_texts(texts, TokenizerProfileConfig(MODEL, batch_size=4), reporter)
    assert [(r.step, r.total) for r in reporter.reports] == [(0, 10), (4, 10), (8, 10), (10, 10)]
    assert reporter.reports[-1].message == "10/10 rows"
    assert "BertTokenizer" in reporter.lines[0] and "30522" in reporter.lines[0]
    assert reporter.lines[-1].startswith("Done: 10 rows")


def test_stop_requested() -> None:
    reporter = ListReporter(stop_after=1)
    with pytest.raises(StopRequested):
        profile_texts(["a", "b", "c"], TokenizerProfileConfig(MODEL, batch_size=1), reporter)
    assert reporter.reports[-1].step < 3


def test_empty_dataset() -> None:
    reporter = ListReporter()
    profile = profile_texts([], TokenizerProfileConfig(MODEL), reporter)
    assert (profile.rows, profile.total_tokens, profile.unknown_token_rate) == (0, 0, 0.0)
    assert [(r.step, r.total) for r in reporter.reports] == [(0, 0)]


def test_invalid_config() -> None:
    with pytest.raises(ValueError):
        TokenizerProfileConfig(MODEL, max_length=0)


def test_load_tokenizer_refuses_pickle_only_folder(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"\0")
    (tmp_path / "vocab.txt").write_text("[UNK]\n")
    with pytest.raises(ValueError, match="pickle"):
        load_tokenizer(tmp_path)
