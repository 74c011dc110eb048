"""Device choice and the CPU/CUDA differences, as seen on a CPU-only machine."""

from __future__ import annotations

import contextlib

import pytest
import torch

from workers.ml.device import autocast, describe_device, loader_kwargs, pick_device


def test_cpu_is_picked_when_asked_or_when_there_is_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="Unknown device"):
        pick_device("tpu")


def test_the_cpu_is_described_with_its_thread_count() -> None:
    assert describe_device(torch.device("cpu")) == f"cpu ({torch.get_num_threads()} threads)"


def test_the_cpu_runs_in_full_precision_without_pinned_memory() -> None:
    assert isinstance(autocast(torch.device("cpu")), contextlib.nullcontext)
    assert loader_kwargs(torch.device("cpu")) == {"pin_memory": False}
    assert loader_kwargs(torch.device("cuda")) == {"pin_memory": True}
