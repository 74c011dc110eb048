"""Model artifacts load with plain transformers, and appear whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from domain.digests import folder_sha256
from tests.ml.tiny import (
    one_torch_thread,  # noqa: F401 (a fixture, used by name below)
    tiny_model,
    tiny_tokenizer,
)
from workers.ml.artifacts import load_artifact_metadata, save_model_artifact

METADATA = {"kind": "student", "layers": [0, 3], "val_accuracy": 0.91}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_saved_artifact_loads_with_plain_transformers_and_gives_the_same_logits(tmp_path: Path) -> None:
    model, tokenizer = tiny_model().eval(), tiny_tokenizer()
    folder = tmp_path / "artifacts" / "student-1"
    save_model_artifact(model, tokenizer, folder, METADATA)

    loaded = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True).eval()
    loaded_tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    text = ["the movie was good", "awful plot"]
    theirs = loaded(**loaded_tokenizer(text, padding=True, return_tensors="pt")).logits
    mine = model(**tokenizer(text, padding=True, return_tensors="pt")).logits
    assert torch.allclose(theirs, mine)
    assert (folder / "model.safetensors").is_file()
    # The metadata records the folder's content digest (taken over every file but the metadata itself).
    assert load_artifact_metadata(folder) == METADATA | {"sha256": folder_sha256(folder)}
    assert loaded.config.id2label == {0: "negative", 1: "positive"}
    assert [p.name for p in folder.parent.iterdir()] == ["student-1"]  # no temp folder left


def test_a_failure_mid_save_leaves_no_folder_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tiny_model()

    def disk_full(directory: str, **kwargs: object) -> None:
        (Path(directory) / "model.safetensors").write_bytes(b"half")
        raise OSError("No space left on device")

    monkeypatch.setattr(model, "save_pretrained", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_model_artifact(model, tiny_tokenizer(), tmp_path / "student-1", METADATA)
    assert list(tmp_path.iterdir()) == []


def test_it_refuses_to_overwrite_an_existing_artifact(tmp_path: Path) -> None:
    (tmp_path / "student-1").mkdir()
    with pytest.raises(FileExistsError, match="never overwritten"):
        save_model_artifact(tiny_model(), tiny_tokenizer(), tmp_path / "student-1", METADATA)
    assert [p.name for p in tmp_path.iterdir()] == ["student-1"]


def test_metadata_that_is_not_json_fails_before_writing_anything(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        save_model_artifact(tiny_model(), tiny_tokenizer(), tmp_path / "s", {"when": object()})
    assert list(tmp_path.iterdir()) == []


def test_a_folder_without_metadata_is_not_an_artifact(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no distillery.json"):
        load_artifact_metadata(tmp_path)
