"""compute_logits runs a teacher once, in data order, counting tokens; logits files round-trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.ml.tiny import (
    StopAtStep,
    one_torch_thread,  # noqa: F401 (a fixture, used by name below)
    tiny_model,
    toy_data,
)
from workers.ml.data import EncodedDataset
from workers.ml.reporting import ListReporter, StopRequested
from workers.ml.teacher_outputs import compute_logits, load_logits, save_logits

CPU = torch.device("cpu")
DATA = toy_data(37, seed=5)  # rows of varied lengths, not a multiple of the batch size

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_logits_come_back_in_data_order_and_equal_row_by_row_evaluation() -> None:
    model = tiny_model(dropout=0.1)  # dropout must be off during inference
    reporter = ListReporter()
    outputs = compute_logits(model, DATA, device=CPU, pad_token_id=0, batch_size=8, reporter=reporter)

    model.eval()
    with torch.no_grad():
        one_by_one = torch.cat([model(input_ids=torch.tensor([ids])).logits for ids in DATA.input_ids])
    assert outputs.logits.shape == (37, 2) and outputs.logits.dtype == torch.float32
    assert torch.allclose(outputs.logits, one_by_one, atol=1e-5)
    assert outputs.examples == 37
    assert outputs.tokens == sum(len(ids) for ids in DATA.input_ids)
    assert model.training is False  # left as it was found
    assert reporter.reports[-1].step == reporter.reports[-1].total == 37


def test_compute_logits_leaves_a_training_model_in_training_mode() -> None:
    model = tiny_model().train()
    compute_logits(model, DATA, device=CPU, pad_token_id=0, batch_size=8, reporter=ListReporter())
    assert model.training


def test_compute_logits_honours_a_stop_request() -> None:
    with pytest.raises(StopRequested, match="16/37 rows"):
        compute_logits(tiny_model(), DATA, device=CPU, pad_token_id=0, batch_size=8, reporter=StopAtStep(step=2))


def test_an_empty_dataset_gives_empty_logits() -> None:
    empty = EncodedDataset(input_ids=[], labels=[], index=[])
    outputs = compute_logits(tiny_model(), empty, device=CPU, pad_token_id=0, batch_size=8, reporter=ListReporter())
    assert outputs.logits.shape == (0, 2) and outputs.tokens == 0


def test_logits_and_metadata_round_trip_through_safetensors(tmp_path: Path) -> None:
    logits = torch.randn(5, 3)
    path = tmp_path / "teacher.safetensors"
    save_logits(path, logits, {"teacher": "minilm", "dataset_sha256": "abc"})
    loaded, metadata = load_logits(path)
    assert torch.equal(loaded, logits)
    assert metadata == {"teacher": "minilm", "dataset_sha256": "abc"}
    assert [p.name for p in tmp_path.iterdir()] == ["teacher.safetensors"]


def test_metadata_values_must_be_strings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rows"):
        save_logits(tmp_path / "t.safetensors", torch.zeros(1, 2), {"rows": 1})  # type: ignore[dict-item]
    assert not list(tmp_path.iterdir())
