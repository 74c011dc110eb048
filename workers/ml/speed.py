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
    data: EncodedDataset,
    *,
    device: torch.device,
    pad_token_id: int,
    config: SpeedConfig = SpeedConfig(),
) -> dict[str, SpeedResult]:
    """Latency at batch 1 and throughput at `batch_size` for each model, measured in interleaved rounds."""
    if len(data) < config.batch_size:
        raise ValueError(f"Need at least {config.batch_size} rows to measure throughput, got {len(data)}.")
    singles = [to_device(collate([data[i]], pad_token_id=pad_token_id), device) for i in range(config.batch1_calls)]
    batch = to_device(collate([data[i] for i in range(config.batch_size)], pad_token_id=pad_token_id), device)
    names = list(models)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    round_latency: dict[str, list[float]] = {name: [] for name in names}
    round_throughput: dict[str, list[float]] = {name: [] for name in names}
    with torch.inference_mode():
        for model in models.values():
            model.train(False)  # eval mode (no dropout)
            for single in singles[: config.warmup_calls]:
                _timed(model, single, device)
            _timed(model, batch, device)
        for r in range(config.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]  # rotate who goes first
            for name in order:
                model = models[name]
                times = [_timed(model, single, device) for single in singles]
                latencies[name].extend(times)
                round_latency[name].append(statistics.median(times) * 1000)
                seconds = sum(_timed(model, batch, device) for _ in range(config.throughput_batches))
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
