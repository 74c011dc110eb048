"""Profile a dataset's texts with a model's tokenizer: lengths, truncation at max_length, unknown tokens.

This tells a user, before any training, how much of their data a max_length would cut and whether the
vocabulary covers their text.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.model_refs import validate_model_folder
from domain.stats import percentile
from workers.ml.reporting import Reporter, StopRequested

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

HISTOGRAM_BINS = 30


@dataclass(frozen=True)
class TokenizerProfileConfig:
    model_path: Path
    max_length: int = 128
    batch_size: int = 256

    def __post_init__(self) -> None:
        if self.max_length < 1 or self.batch_size < 1:
            raise ValueError("max_length and batch_size must be positive.")


@dataclass(frozen=True)
class TokenizerProfile:
    rows: int
    max_length: int
    mean_tokens: float
    median_tokens: float
    p95_tokens: int
    max_tokens: int
    truncated_rows: int
    truncated_share: float
    unknown_tokens: int
    total_tokens: int
    unknown_token_rate: float
    histogram: dict[str, list[int]]  # {"edges": [...], "counts": [...]}; bin i is [edges[i], edges[i+1])
    vocab_size: int
    tokenizer_class: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_tokenizer(model_path: Path) -> PreTrainedTokenizerBase:
    # Imported here so that importing this module (e.g. from the web process) stays cheap.
    from transformers import AutoTokenizer

    validate_model_folder(model_path)
    # trust_remote_code stays False: a model folder must never run its own Python in the worker.
    tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True, trust_remote_code=False)
    if tokenizer is None:  # transformers 5 types the return as Optional
        raise ValueError(f"No tokenizer could be loaded from {model_path}.")
    return tokenizer


def profile_texts(texts: Sequence[str], config: TokenizerProfileConfig, reporter: Reporter) -> TokenizerProfile:
    tokenizer = load_tokenizer(config.model_path)
    tokenizer_class = type(tokenizer).__name__
    vocab_size = len(tokenizer)  # includes added tokens, unlike tokenizer.vocab_size
    unk_id = tokenizer.unk_token_id  # None for byte-level tokenizers, which cannot produce unknowns
    total = len(texts)
    reporter.log(f"Tokenizer {tokenizer_class}, vocab size {vocab_size}; profiling {total} rows.")
    reporter.report(0, total, message=f"0/{total} rows")

    lengths: list[int] = []
    unknown = 0
    for start in range(0, total, config.batch_size):
        batch = list(texts[start : start + config.batch_size])
        # No truncation, so lengths are real and the truncated share is measured, not assumed.
        # verbose=False silences the "longer than model_max_length" warning, which is expected here.
        encoded = tokenizer(
            batch,
            add_special_tokens=True,
            truncation=False,
            verbose=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        ids: list[list[int]] = encoded["input_ids"]
        lengths.extend(len(row) for row in ids)
        if unk_id is not None:
            unknown += sum(row.count(unk_id) for row in ids)
        done = len(lengths)
        reporter.report(done, total, message=f"{done}/{total} rows")
        if reporter.should_stop():
            raise StopRequested(f"Stopped after {done}/{total} rows.")

    profile = _summarise(lengths, unknown, config.max_length, vocab_size, tokenizer_class)
    reporter.log(
        f"Done: {profile.rows} rows, mean {profile.mean_tokens:.1f} tokens, p95 {profile.p95_tokens}, "
        f"max {profile.max_tokens}; {profile.truncated_rows} rows ({profile.truncated_share:.1%}) exceed "
        f"max_length {profile.max_length}; unknown-token rate {profile.unknown_token_rate:.3%}."
    )
    return profile


def _summarise(
    lengths: list[int], unknown: int, max_length: int, vocab_size: int, tokenizer_class: str
) -> TokenizerProfile:
    rows = len(lengths)
    total_tokens = sum(lengths)
    truncated = sum(1 for n in lengths if n > max_length)
    ordered = sorted(lengths)
    return TokenizerProfile(
        rows=rows,
        max_length=max_length,
        mean_tokens=total_tokens / rows if rows else 0.0,
        median_tokens=float(statistics.median(ordered)) if rows else 0.0,
        p95_tokens=percentile(ordered, 0.95) if rows else 0,
        max_tokens=ordered[-1] if rows else 0,
        truncated_rows=truncated,
        truncated_share=truncated / rows if rows else 0.0,
        unknown_tokens=unknown,
        total_tokens=total_tokens,
        unknown_token_rate=unknown / total_tokens if total_tokens else 0.0,
        histogram=_histogram(lengths),
        vocab_size=vocab_size,
        tokenizer_class=tokenizer_class,
    )


def _histogram(lengths: list[int]) -> dict[str, list[int]]:
    """About HISTOGRAM_BINS integer-width bins from 0 up to the longest row."""
    if not lengths:
        return {"edges": [0], "counts": []}
    top = max(lengths)
    width = max(1, math.ceil((top + 1) / HISTOGRAM_BINS))
    bins = top // width + 1  # the last bin holds the longest row
    counts = [0] * bins
    for n in lengths:
        counts[n // width] += 1
    return {"edges": [i * width for i in range(bins + 1)], "counts": counts}
