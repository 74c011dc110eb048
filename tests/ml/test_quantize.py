"""quantize_classifier / save_quantized / load_quantized: drift, size, safetensors-only round trips."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from transformers import BertConfig, BertForSequenceClassification

from domain.model_refs import PRESETS
from workers.ml.quantize import (
    METHODS,
    QuantizationError,
    QuantizeConfig,
    check_safe_folder,
    is_quantized,
    load_quantized,
    model_bytes,
    quantize_classifier,
    save_quantized,
    tensor_bytes,
)

os.environ["HF_HUB_OFFLINE"] = "1"
pytest.importorskip("torchao")

VOCAB = 200


def tiny_classifier(seed: int = 0) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=256,
        max_position_embeddings=64,
        num_labels=5,
    )
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        # A fresh head gives logits of ~0.01 whose argmax is noise; a trained head's are a few units apart.
        model.classifier.weight.normal_(0.0, 0.5)
    return model.eval()


def random_inputs(rows: int = 64, length: int = 16, seed: int = 1) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, VOCAB, (rows, length), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[rows // 2 :, length // 2 :] = 0  # half the rows padded
    return {"input_ids": input_ids, "attention_mask": attention_mask}


@torch.inference_mode()
def logits(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    out = model(**inputs).logits
    assert isinstance(out, torch.Tensor)
    return out


def linear_weight_bytes(model: torch.nn.Module, *, skip: str = "classifier") -> int:
    return sum(
        tensor_bytes(module.weight)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and not name.startswith(skip)
    )


@pytest.mark.parametrize("method", METHODS)
def test_quantizing_keeps_predictions_and_leaves_the_fp32_model_alone(method: str) -> None:
    model = tiny_classifier()
    inputs = random_inputs()
    before = logits(model, inputs)

    quantized, result = quantize_classifier(model, QuantizeConfig(method), example_inputs=inputs)

    assert torch.equal(logits(model, inputs), before)  # the input model is not modified
    assert not is_quantized(model) and is_quantized(quantized)
    after = logits(quantized, inputs)
    agreement = (after.argmax(-1) == before.argmax(-1)).float().mean().item()
    assert result.agreement == pytest.approx(agreement)
    assert result.agreement >= 0.9
    assert result.max_abs_logit_diff == pytest.approx((after - before).abs().max().item())
    assert result.max_abs_logit_diff < 0.1 * (before.max() - before.min()).item()
    assert result.method == method
    assert result.backend.startswith("torchao ")
    assert result.fp32_bytes == model_bytes(model)
    assert result.quantized_bytes == model_bytes(quantized)
    assert result.size_ratio == pytest.approx(result.quantized_bytes / result.fp32_bytes)
    assert result.size_ratio < 0.8


@pytest.mark.parametrize("method", METHODS)
def test_linear_weights_take_about_a_quarter_of_the_memory_and_the_head_stays_fp32(method: str) -> None:
    model = tiny_classifier()
    quantized, _ = quantize_classifier(model, QuantizeConfig(method), example_inputs=random_inputs(4))

    ratio = linear_weight_bytes(model) / linear_weight_bytes(quantized)
    assert 3.5 < ratio <= 4.0  # int8 data plus one float scale (and int8 zero point) per output row
    assert type(quantized.classifier.weight) is torch.nn.Parameter
    assert quantized.classifier.weight.dtype == torch.float32
    query = quantized.bert.encoder.layer[0].attention.self.query.weight
    assert tensor_bytes(query) < query.numel() * 4 / 3.5


def test_model_bytes_counts_plain_tensors_like_numel_times_size() -> None:
    model = tiny_classifier()
    expected = sum(p.numel() * p.element_size() for p in model.parameters())
    expected += sum(b.numel() * b.element_size() for b in model.buffers())
    assert model_bytes(model) == expected


@pytest.mark.parametrize("method", METHODS)
def test_save_and_load_give_the_same_outputs_from_safetensors_only(
    method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tiny_classifier()
    inputs = random_inputs()
    quantized, _ = quantize_classifier(model, QuantizeConfig(method), example_inputs=inputs)
    expected = logits(quantized, inputs)

    folder = tmp_path / "quantized"
    save_quantized(quantized, folder)
    model.save_pretrained(tmp_path / "fp32")

    assert {p.suffix for p in folder.iterdir()} <= {".safetensors", ".json"}
    config = json.loads((folder / "config.json").read_text())
    assert config["quantization_config"]["quant_method"] == "torchao"
    with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
        dtypes = {f.get_slice(key).get_dtype() for key in f.keys()}
    assert "I8" in dtypes
    assert (folder / "model.safetensors").stat().st_size < 0.75 * (
        tmp_path / "fp32" / "model.safetensors"
    ).stat().st_size

    def no_pickle(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load must not be called when loading a quantized model")

    monkeypatch.setattr(torch, "load", no_pickle)
    loaded = load_quantized(folder, device="cpu")

    assert not loaded.training
    assert is_quantized(loaded)
    assert torch.equal(logits(loaded, inputs), expected)
    assert model_bytes(loaded) == model_bytes(quantized)

    # transformers cannot re-save a model it loaded pre-quantized; that is refused with a clear message.
    with pytest.raises(ValueError, match="loaded already quantized"):
        save_quantized(loaded, tmp_path / "again")
    assert not (tmp_path / "again").exists()


def test_save_refuses_an_fp32_model_and_an_existing_folder(tmp_path: Path) -> None:
    model = tiny_classifier()
    with pytest.raises(ValueError, match="quantize_classifier"):
        save_quantized(model, tmp_path / "x")
    quantized, _ = quantize_classifier(model, QuantizeConfig(), example_inputs=random_inputs(4))
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError):
        save_quantized(quantized, tmp_path / "taken")
    assert list(tmp_path.iterdir()) == [tmp_path / "taken"]  # no temporary folder is left behind


def test_quantizing_a_quantized_model_is_refused() -> None:
    quantized, _ = quantize_classifier(tiny_classifier(), QuantizeConfig(), example_inputs=random_inputs(4))
    with pytest.raises(ValueError, match="already quantized"):
        quantize_classifier(quantized, QuantizeConfig(), example_inputs=random_inputs(4))


def test_load_refuses_pickles_and_fp32_folders(tmp_path: Path) -> None:
    fp32 = tmp_path / "fp32"
    tiny_classifier().save_pretrained(fp32)
    with pytest.raises(QuantizationError, match="not a torchao-quantized model"):
        load_quantized(fp32)

    quantized, _ = quantize_classifier(tiny_classifier(), QuantizeConfig(), example_inputs=random_inputs(4))
    folder = tmp_path / "q"
    save_quantized(quantized, folder)
    check_safe_folder(folder)
    (folder / "training_args.bin").write_bytes(b"\x80\x04N.")  # a pickle
    with pytest.raises(QuantizationError, match=r"training_args\.bin"):
        load_quantized(folder)


def test_unknown_methods_are_rejected() -> None:
    with pytest.raises(ValueError, match="int8_dynamic"):
        QuantizeConfig("int4")


def test_the_offline_minilm_quantizes_with_little_drift() -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = PRESETS["minilm-l6-offline"].folder()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=5).eval()
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, 0.5)
    texts = ["the food was great but the service was slow", "a terrible film", "fine", "not bad at all"] * 4
    inputs = dict(tokenizer(texts, padding=True, return_tensors="pt"))

    _, result = quantize_classifier(model, QuantizeConfig("int8_dynamic"), example_inputs=inputs)

    assert result.agreement >= 0.75
    assert 0.55 < result.size_ratio < 0.7  # embeddings (half of MiniLM) stay fp32
