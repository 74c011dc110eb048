"""Which device ML code runs on, how to describe it, and the two settings that differ between CPU and CUDA.

Everything device-specific lives here so that training and inference code reads the same on both.
"""

from __future__ import annotations

import contextlib
import platform
from typing import Any

import torch

from domain.results import DeviceInfo


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


def device_info(device: torch.device) -> DeviceInfo:
    """The structured description stored with timings and compute: kind, name, threads, compute dtype."""
    if device.type == "cuda":
        dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
        return DeviceInfo(kind="cuda", name=torch.cuda.get_device_name(device), threads=1, dtype=dtype)
    return DeviceInfo(kind=device.type, name=_cpu_name(), threads=torch.get_num_threads(), dtype="float32")


def _cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"
