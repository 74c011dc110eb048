"""Speed measured fairly on a shared machine: warm-up excluded, models interleaved (A B A B ...)
so a noisy neighbour slows every model alike, and ratios taken per round before the median."""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel

from domain.stats import percentile
from workers.ml.data import EncodedDataset, collate
from workers.ml.inference import forward_logits, to_device


@dataclass(frozen=True)
class SpeedConfig:
    rounds: int = 7  # interleaved rounds; the reported figures are medians over rounds
    batch1_calls: int = 40  # batch-1 forwards per model per round
    batch_size: int = 32
    throughput_batches: int = 4  # batch_size forwards per model per round
    warmup_calls: int = 10


@dataclass(frozen=True)
class SpeedResult:
    latency_p50_ms: float  # median over all batch-1 calls
    latency_p95_ms: float
    throughput_rows_per_s: float  # median over rounds, at batch_size
    round_latency_ms: list[float]  # per-round median batch-1 latency (for ratios taken round by round)
    round_throughput: list[float]


def _timed(model: PreTrainedModel, batch: dict[str, torch.Tensor], device: torch.device) -> float:
    start = time.perf_counter()
    forward_logits(model, batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def measure_interleaved(
    models: Mapping[str, PreTrainedModel],
    data: EncodedDataset | Mapping[str, EncodedDataset],
    *,
    device: torch.device,
    pad_token_id: int | Mapping[str, int],
    config: SpeedConfig = SpeedConfig(),
) -> dict[str, SpeedResult]:
    """Latency at batch 1 and throughput at `batch_size` for each model, measured in interleaved rounds.

    `data` and `pad_token_id` are one for all models, or one per model name: models with different tokenizers
    are timed on the same texts, each encoded its own way (row i of every model's data is the same text)."""
    names = list(models)
    singles: dict[str, list[dict[str, torch.Tensor]]] = {}
    batches: dict[str, dict[str, torch.Tensor]] = {}
    for name in names:
        rows = data if isinstance(data, EncodedDataset) else data[name]
        pad = pad_token_id if isinstance(pad_token_id, int) else pad_token_id[name]
        if len(rows) < max(config.batch_size, config.batch1_calls):
            needed = max(config.batch_size, config.batch1_calls)
            raise ValueError(f"Need at least {needed} rows to measure latency and throughput, got {len(rows)}.")
        singles[name] = [to_device(collate([rows[i]], pad_token_id=pad), device) for i in range(config.batch1_calls)]
        batches[name] = to_device(collate([rows[i] for i in range(config.batch_size)], pad_token_id=pad), device)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    round_latency: dict[str, list[float]] = {name: [] for name in names}
    round_throughput: dict[str, list[float]] = {name: [] for name in names}
    with torch.inference_mode():
        for name, model in models.items():
            model.train(False)  # eval mode (no dropout)
            for single in singles[name][: config.warmup_calls]:
                _timed(model, single, device)
            _timed(model, batches[name], device)
        for r in range(config.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]  # rotate who goes first
            for name in order:
                model = models[name]
                times = [_timed(model, single, device) for single in singles[name]]
                latencies[name].extend(times)
                round_latency[name].append(statistics.median(times) * 1000)
                seconds = sum(_timed(model, batches[name], device) for _ in range(config.throughput_batches))
                round_throughput[name].append(config.throughput_batches * config.batch_size / seconds)
    return {
        name: SpeedResult(
            latency_p50_ms=statistics.median(latencies[name]) * 1000,
            latency_p95_ms=percentile(latencies[name], 0.95) * 1000,
            throughput_rows_per_s=statistics.median(round_throughput[name]),
            round_latency_ms=round_latency[name],
            round_throughput=round_throughput[name],
        )
        for name in names
    }


def median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """Median of per-round ratios: robust to a round where the whole machine was slow."""
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


@dataclass(frozen=True)
class RatioSpread:
    """Ratios of two models timed in the same rounds, one per round: the median is the figure to quote, the
    range how far single rounds strayed from it (a wide one says the machine was noisy while timing)."""

    median: float
    low: float  # the smallest per-round ratio
    high: float  # the largest
    per_round: list[float]

    def as_dict(self) -> dict[str, float | int | list[float]]:
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "rounds": len(self.per_round),
            "per_round": self.per_round,
        }


def ratio_spread(numerators: Sequence[float], denominators: Sequence[float]) -> RatioSpread:
    """Per-round ratios numerator/denominator with their median (as `median_ratio`) and min–max."""
    ratios = [n / d for n, d in zip(numerators, denominators, strict=True)]
    if not ratios:
        raise ValueError("No rounds to take ratios of.")
    return RatioSpread(median=statistics.median(ratios), low=min(ratios), high=max(ratios), per_round=ratios)
