"""Which device ML code runs on, how to describe it, and the two settings that differ between CPU and CUDA.

Everything device-specific lives here so that training and inference code reads the same on both.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch


def pick_device(prefer: str = "auto") -> torch.device:
    """The device for `prefer`: "auto" (CUDA when available, else CPU), "cpu", or "cuda"/"cuda:N" (must exist)."""
    if prefer == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if prefer == "cpu":
        return torch.device("cpu")
    if prefer.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"Device '{prefer}' was asked for, but no CUDA GPU is available on this worker.")
        return torch.device(prefer)
    raise ValueError(f"Unknown device '{prefer}'; use 'auto', 'cpu' or 'cuda'.")


def describe_device(device: torch.device) -> str:
    """A short human description, recorded with a job's compute usage: "cpu (2 threads)" or "cuda: <GPU name>"."""
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"{device.type} ({torch.get_num_threads()} threads)"


def autocast(device: torch.device) -> contextlib.AbstractContextManager[None]:
    """bf16 autocast on GPUs that support it; full precision elsewhere.

    bf16 keeps fp32's exponent range, so unlike fp16 it needs no gradient scaler. On CPU, bf16 autocast is
    usually slower than fp32 and changes results, so CPU runs stay in fp32.
    """
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def loader_kwargs(device: torch.device) -> dict[str, Any]:
    """DataLoader settings for `device`: pinned host memory makes host-to-GPU copies faster and asynchronous."""
    return {"pin_memory": device.type == "cuda"}
