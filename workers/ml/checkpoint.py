"""Self-describing, resumable training checkpoints.

A checkpoint holds only tensors, numbers, strings, lists and dicts, so it loads with
torch.load(weights_only=True), which cannot execute code. It carries everything a re-delivered job needs to
continue exactly where the last one stopped: weights, optimizer and schedule state, RNG states, the position
in the data order, the early-stopping bookkeeping, and the config it was written for.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import torch

FORMAT = "distillery.train_checkpoint"
VERSION = 1


def save_checkpoint(
    path: Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: dict[str, Any],
) -> None:
    """Write atomically: a crash mid-write leaves the previous checkpoint intact, never a truncated file."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "state": state,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The saved payload: {"format", "version", "model", "optimizer", "scheduler", "state"}, tensors on the CPU."""
    payload = torch.load(path, weights_only=True, map_location="cpu")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a Distillery training checkpoint.")
    if payload.get("version") != VERSION:
        raise ValueError(f"{path} has checkpoint version {payload.get('version')}; this code reads {VERSION}.")
    return payload


def capture_rng() -> dict[str, Any]:
    """RNG states as plain data (tensors and lists), for a checkpoint."""
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": [version, list(internal), gauss],
    }


def restore_rng(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
