"""Teachers from folders, layer plans, truncated and scratch students."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertModel, GPT2Config, GPT2ForSequenceClassification

from domain.model_refs import PRESETS
from tests.ml.tiny import (
    one_torch_thread,  # noqa: F401 (a fixture, used by name below)
    tiny_config,
    tiny_model,
)
from workers.ml.students import (
    count_parameters,
    label_maps,
    layer_plan,
    load_classifier,
    scratch_student,
    truncated_student,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    ("total", "keep", "strategy", "expected"),
    [
        (6, 3, "bottom", [0, 1, 2]),
        (6, 3, "spread", [0, 3, 5]),
        (12, 6, "spread", [0, 2, 4, 7, 9, 11]),
        (4, 2, "spread", [0, 3]),
        (4, 4, "spread", [0, 1, 2, 3]),
        (4, 1, "spread", [0]),
    ],
)
def test_layer_plan(total: int, keep: int, strategy: str, expected: list[int]) -> None:
    assert layer_plan(total, keep, strategy) == expected


@pytest.mark.parametrize(("keep", "strategy"), [(0, "bottom"), (5, "bottom"), (2, "middle")])
def test_layer_plan_rejects_impossible_plans(keep: int, strategy: str) -> None:
    with pytest.raises(ValueError):
        layer_plan(4, keep, strategy)


def layer_tensors(model: torch.nn.Module, i: int) -> dict[str, torch.Tensor]:
    prefix = f"bert.encoder.layer.{i}."
    return {k[len(prefix) :]: v for k, v in model.state_dict().items() if k.startswith(prefix)}


@pytest.mark.parametrize("strategy", ["bottom", "spread"])
def test_a_truncated_student_copies_exactly_the_planned_teacher_layers(strategy: str) -> None:
    teacher = tiny_model(layers=4)
    keep = layer_plan(4, 2, strategy)
    student = truncated_student(teacher, keep)

    assert student.config.num_hidden_layers == 2
    assert len(student.bert.encoder.layer) == 2
    for student_layer, teacher_layer in enumerate(keep):
        theirs = layer_tensors(teacher, teacher_layer)
        mine = layer_tensors(student, student_layer)
        assert mine.keys() == theirs.keys() and mine
        assert all(torch.equal(mine[name], theirs[name]) for name in mine)
    teacher_weights = teacher.state_dict()
    shared = [k for k in student.state_dict() if not k.startswith("bert.encoder.")]
    assert any(k.startswith("bert.embeddings.") for k in shared)
    assert {"bert.pooler.dense.weight", "classifier.weight", "classifier.bias"} <= set(shared)
    assert all(torch.equal(student.state_dict()[k], teacher_weights[k]) for k in shared)
    assert teacher.config.num_hidden_layers == 4  # the teacher is untouched


def test_a_truncated_student_runs_and_is_independent_of_its_teacher() -> None:
    teacher = tiny_model(layers=4)
    student = truncated_student(teacher, [0, 3])
    logits = student(input_ids=torch.tensor([[2, 7, 3]]), attention_mask=torch.ones(1, 3, dtype=torch.long)).logits
    assert logits.shape == (1, 2)
    before = teacher.classifier.weight.clone()
    with torch.no_grad():
        student.classifier.weight.add_(1.0)
    assert torch.equal(teacher.classifier.weight, before)


def test_a_student_keeping_every_layer_gives_the_teachers_logits() -> None:
    teacher = tiny_model(layers=4).eval()
    student = truncated_student(teacher, [0, 1, 2, 3]).eval()
    inputs = {"input_ids": torch.tensor([[2, 7, 9, 3]]), "attention_mask": torch.ones(1, 4, dtype=torch.long)}
    assert torch.allclose(student(**inputs).logits, teacher(**inputs).logits)


def test_truncation_rejects_bad_layer_numbers() -> None:
    with pytest.raises(ValueError, match="distinct layer numbers"):
        truncated_student(tiny_model(layers=4), [0, 4])
    with pytest.raises(ValueError, match="distinct"):
        truncated_student(tiny_model(layers=4), [1, 1])


def test_truncation_explains_that_an_architecture_without_encoder_layers_is_unsupported() -> None:
    gpt = GPT2ForSequenceClassification(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2, n_positions=32))
    with pytest.raises(ValueError, match="Cannot truncate a GPT2ForSequenceClassification"):
        truncated_student(gpt, [0])


def test_a_scratch_student_is_narrower_and_keeps_the_teachers_head_size() -> None:
    source = tiny_config(layers=4)  # hidden 32, 2 heads of 16, feed-forward 64
    student = scratch_student(source, num_layers=2, hidden_size=16, labels=["a", "b", "c"])
    config = student.config
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (2, 16, 1)
    assert config.intermediate_size == 32
    assert config.id2label == {0: "a", 1: "b", 2: "c"} and config.num_labels == 3
    assert source.num_hidden_layers == 4 and source.hidden_size == 32  # source config untouched
    assert count_parameters(student) < count_parameters(tiny_model(layers=4))
    out = student(input_ids=torch.tensor([[2, 7, 3]]), attention_mask=torch.ones(1, 3, dtype=torch.long))
    assert out.logits.shape == (1, 3)


def test_load_classifier_gives_a_base_encoder_a_fresh_head_with_the_labels(tmp_path: Path) -> None:
    BertModel(tiny_config()).save_pretrained(tmp_path / "base")
    model = load_classifier(tmp_path / "base", labels=["x", "y", "z"])
    assert model.config.id2label == {0: "x", 1: "y", 2: "z"}
    assert model.config.label2id == {"x": 0, "y": 1, "z": 2}
    assert model.classifier.out_features == 3
    assert model.dtype == torch.float32


def test_load_classifier_explains_a_head_for_another_number_of_classes(tmp_path: Path) -> None:
    tiny_model().save_pretrained(tmp_path / "two-classes")
    assert load_classifier(tmp_path / "two-classes").config.id2label == {0: "negative", 1: "positive"}
    with pytest.raises(ValueError, match="different number of classes than the 3 labels"):
        load_classifier(tmp_path / "two-classes", labels=["a", "b", "c"])


def test_the_offline_minilm_loads_as_a_classifier_and_truncates() -> None:
    teacher = load_classifier(PRESETS["minilm-l6-offline"].folder(), labels=["a", "b"])
    student = truncated_student(teacher, layer_plan(6, 3, "spread"))
    assert (teacher.config.num_hidden_layers, student.config.num_hidden_layers) == (6, 3)
    assert torch.equal(
        student.bert.encoder.layer[2].output.dense.weight, teacher.bert.encoder.layer[5].output.dense.weight
    )
    assert count_parameters(student) < count_parameters(teacher)


def test_label_maps_pair_ids_and_names_and_reject_duplicates() -> None:
    assert label_maps(["a", "b"]) == ({0: "a", 1: "b"}, {"a": 0, "b": 1})
    with pytest.raises(ValueError, match="repeated: a"):
        label_maps(["a", "b", "a"])
