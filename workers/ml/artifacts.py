"""Model artifacts: a folder any transformers user can load (safetensors weights, tokenizer, config) plus
distillery.json, the metadata saying what produced it.

A folder appears whole or not at all: it is written under a temporary sibling name and renamed into place.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.digests import METADATA_FILE, folder_sha256

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def save_model_artifact(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, folder: Path, metadata: dict[str, Any]
) -> str:
    """Save a model folder (weights, tokenizer, metadata) atomically; returns its content sha256."""

    def write(tmp: Path) -> None:
        model.save_pretrained(str(tmp))  # transformers 5 always writes model.safetensors
        if not (tmp / "model.safetensors").is_file() and not (tmp / "model.safetensors.index.json").is_file():
            raise OSError(f"save_pretrained wrote no safetensors weights into {tmp}.")
        tokenizer.save_pretrained(str(tmp))

    return write_artifact(folder, write, metadata)


def write_artifact(folder: Path, write: Callable[[Path], None], metadata: dict[str, Any]) -> str:
    """Let `write` fill a temporary sibling folder, fingerprint it, add the metadata (with the digest), and
    rename it into place: `folder` is whole or absent. Returns the folder's content sha256."""
    if folder.exists():
        raise FileExistsError(f"Artifact folder {folder} already exists; artifacts are never overwritten.")
    # Serialise first: metadata that is not JSON should fail before any file is written.
    json.dumps(metadata)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # A sibling, so the final rename stays on one filesystem (and is atomic there).
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private (0700); the finished artifact is read by other processes
        write(tmp)
        digest = folder_sha256(tmp)
        text = json.dumps(metadata | {"sha256": digest}, indent=2, sort_keys=True)
        (tmp / METADATA_FILE).write_text(text, encoding="utf-8")
        if folder.exists():  # created by someone else while we were writing
            raise FileExistsError(f"Artifact folder {folder} already exists; artifacts are never overwritten.")
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return digest


def load_artifact_metadata(folder: Path) -> dict[str, Any]:
    path = folder / METADATA_FILE
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"{folder} has no {METADATA_FILE}; it is not a Distillery model artifact.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not readable JSON ({exc}).") from exc
    if not isinstance(metadata, dict):
        raise ValueError(f"{path} must hold a JSON object.")
    return metadata
