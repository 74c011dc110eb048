"""Post-training int8 quantization of sequence classifiers with torchao, and safe saving/loading of the result.

How it works: the fp32 model goes through transformers' own torchao integration (`from_pretrained` with a
`TorchAoConfig`), so the quantized model carries its quantizer and `save_pretrained` writes a normal Hugging Face
folder: config.json (with a "quantization_config" naming the torchao config) and model.safetensors holding the
int8 weights and float scales as plain tensors plus JSON metadata. Loading goes back through `from_pretrained`
with `use_safetensors=True`; the JSON is turned back into objects only from torchao's allow-lists, so nothing is
unpickled. The same folder therefore works with `workers.ml.artifacts.save_model_artifact`, and on CPU or CUDA.

Only nn.Linear weights are quantized (per output row, symmetric int8). Embeddings stay fp32: torchao's int8
embedding dequantizes the whole table on every forward. The classification head stays fp32 by default: it is
tiny and sits right before the logits.

On CPU, torchao's int8 kernels pay off mainly under torch.compile; in eager mode "int8_dynamic" is faster only
at larger batches, and "int8_weight_only" saves memory but is slower (see the notes that came with this module).
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import is_traceable_wrapper_subclass

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

METHODS = ("int8_dynamic", "int8_weight_only")
_TORCHAO_CONFIG_NAMES = {
    "int8_dynamic": "Int8DynamicActivationInt8WeightConfig",
    "int8_weight_only": "Int8WeightOnlyConfig",
}
# What a quantized folder may contain: weights as safetensors, everything else JSON (or tokenizer text files).
SAFE_SUFFIXES = frozenset({".safetensors", ".json", ".txt", ".model"})


class QuantizationError(RuntimeError):
    """Quantization is unavailable or a folder is not a loadable quantized model; the message says why."""


@dataclass(frozen=True)
class QuantizeConfig:
    method: str = "int8_dynamic"  # or "int8_weight_only"
    # Modules left in fp32, matched like transformers' modules_to_not_convert: a prefix up to a module boundary,
    # a regex, or a name suffix. "classifier" also covers DistilBERT's pre_classifier and RoBERTa's head.
    keep_fp32: tuple[str, ...] = ("classifier",)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"Unknown quantization method '{self.method}'; use one of: {', '.join(METHODS)}.")


@dataclass(frozen=True)
class QuantizeResult:
    method: str
    backend: str  # e.g. "torchao 0.18.0 Int8DynamicActivationInt8WeightConfig"
    fp32_bytes: int  # parameters + buffers of the model before quantization
    quantized_bytes: int  # the same after, int8 tensors counted at their real size (data + scales)
    size_ratio: float  # quantized_bytes / fp32_bytes (smaller is better)
    max_abs_logit_diff: float  # on the example inputs
    agreement: float  # share of example rows whose argmax matches the fp32 model's


@contextlib.contextmanager
def _quiet_torchao_import() -> Iterator[None]:
    # On the CPU torch wheel, torchao logs a warning for each CUDA-only extension (mxfp8, cutlass) it cannot
    # load, and torch one about how torchao registers an enum with pytree; neither matters for int8.
    loggers = [logging.getLogger(name) for name in ("torchao", "torch.utils._pytree")]
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, previous, strict=True):
            logger.setLevel(level)


def torchao_version() -> str:
    """The installed torchao version; raises QuantizationError if torchao cannot be imported."""
    try:
        with _quiet_torchao_import():
            import torchao  # type: ignore[import-untyped]
    except ImportError as exc:
        raise QuantizationError(
            "int8 quantization needs the torchao package, which is not installed on this worker."
        ) from exc
    return str(torchao.__version__)


def _torchao_config(config: QuantizeConfig) -> Any:
    torchao_version()
    from torchao.quantization import (  # type: ignore[import-untyped]
        Int8DynamicActivationInt8WeightConfig,
        Int8WeightOnlyConfig,
    )

    # set_inductor_config=False: the default changes torch._inductor's global config, which would leak
    # into every other torch.compile call in the worker process.
    if config.method == "int8_dynamic":
        return Int8DynamicActivationInt8WeightConfig(set_inductor_config=False)
    return Int8WeightOnlyConfig(set_inductor_config=False)


def backend_name(config: QuantizeConfig) -> str:
    return f"torchao {torchao_version()} {_TORCHAO_CONFIG_NAMES[config.method]}"


def tensor_bytes(tensor: Tensor) -> int:
    """Bytes a tensor holds; a quantized tensor subclass is counted as the sum of its inner tensors."""
    if is_traceable_wrapper_subclass(tensor):
        inner_names, _ = tensor.__tensor_flatten__()
        return sum(tensor_bytes(getattr(tensor, name)) for name in inner_names)
    return tensor.numel() * tensor.element_size()


def model_bytes(model: nn.Module) -> int:
    """Parameters + buffers in memory (each shared tensor once), quantized tensors at their real size."""
    seen: set[int] = set()
    total = 0
    for tensor in [*model.parameters(), *model.buffers()]:
        if id(tensor) not in seen:
            seen.add(id(tensor))
            total += tensor_bytes(tensor)
    return total


def is_quantized(model: nn.Module) -> bool:
    config = getattr(model, "config", None)
    quantization_config = getattr(config, "quantization_config", None)
    if quantization_config is None:
        return False
    method = (
        quantization_config.get("quant_method")
        if isinstance(quantization_config, dict)
        else getattr(quantization_config, "quant_method", None)
    )
    return str(getattr(method, "value", method)) == "torchao"


def _device_of(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


@torch.inference_mode()
def _logits(model: nn.Module, inputs: Mapping[str, Tensor]) -> Tensor:
    was_training = model.training
    model.train(False)
    try:
        logits = model(**inputs).logits
    finally:
        model.train(was_training)
    if not isinstance(logits, Tensor):
        raise TypeError(f"{type(model).__name__} returned no logits; is it a sequence classifier?")
    return logits.float()


def compare_logits(reference: Tensor, other: Tensor) -> tuple[float, float]:
    """(max |difference|, argmax agreement) between two logits tensors of the same shape."""
    if reference.shape != other.shape:
        raise ValueError(f"Logits shapes differ: {tuple(reference.shape)} vs {tuple(other.shape)}.")
    if reference.numel() == 0:
        return 0.0, 1.0
    max_diff = float((reference.float() - other.float()).abs().max().item())
    flat_ref = reference.reshape(-1, reference.shape[-1])
    flat_other = other.reshape(-1, other.shape[-1])
    agreement = float((flat_ref.argmax(-1) == flat_other.argmax(-1)).float().mean().item())
    return max_diff, agreement


def quantize_classifier(
    model: PreTrainedModel, config: QuantizeConfig, *, example_inputs: dict[str, Tensor]
) -> tuple[PreTrainedModel, QuantizeResult]:
    """A quantized copy of `model` (left unchanged), on the same device, and how far it drifts from it.

    example_inputs (e.g. input_ids and attention_mask of a few hundred real texts) are only used to measure
    drift: the methods here quantize activations on the fly and need no calibration.
    """
    if is_quantized(model):
        raise ValueError("The model is already quantized; quantize its fp32 version instead.")
    from transformers import TorchAoConfig

    quant_type = _torchao_config(config)
    device = _device_of(model)
    inputs = {name: tensor.to(device) for name, tensor in example_inputs.items()}
    reference = _logits(model, inputs)

    # Through transformers' torchao integration rather than torchao.quantize_ on the live model: the result
    # carries its quantizer, so save_pretrained writes safetensors that from_pretrained reads back (a model
    # quantized in place by quantize_ cannot be saved by save_pretrained).
    with tempfile.TemporaryDirectory(prefix="distillery-quantize-") as tmp:
        model.save_pretrained(tmp)
        quantized = type(model).from_pretrained(
            tmp,
            quantization_config=TorchAoConfig(quant_type=quant_type, modules_to_not_convert=list(config.keep_fp32)),
            use_safetensors=True,
            local_files_only=True,
        )
    nn.Module.to(quantized, device)  # (PreTrainedModel.to's decorated signature confuses mypy)
    quantized.train(False)

    max_diff, agreement = compare_logits(reference, _logits(quantized, inputs))
    fp32_bytes = model_bytes(model)
    quantized_bytes = model_bytes(quantized)
    result = QuantizeResult(
        method=config.method,
        backend=backend_name(config),
        fp32_bytes=fp32_bytes,
        quantized_bytes=quantized_bytes,
        size_ratio=quantized_bytes / fp32_bytes if fp32_bytes else 1.0,
        max_abs_logit_diff=max_diff,
        agreement=agreement,
    )
    return quantized, result


def check_safe_folder(folder: Path) -> None:
    """Raise QuantizationError unless `folder` holds only safetensors and JSON/text files (nothing pickled)."""
    unsafe = sorted(p.name for p in folder.iterdir() if not p.is_file() or p.suffix not in SAFE_SUFFIXES)
    if unsafe:
        raise QuantizationError(
            f"{folder} holds files other than safetensors weights and JSON/text ({', '.join(unsafe)}); "
            "refusing to load it."
        )
    if not (folder / "model.safetensors").is_file() and not (folder / "model.safetensors.index.json").is_file():
        raise QuantizationError(f"{folder} has no safetensors weights (model.safetensors).")


def save_quantized(
    model: PreTrainedModel,
    folder: Path,
    *,
    tokenizer: PreTrainedTokenizerBase | None = None,
    metadata: dict[str, Any] | None = None,
) -> str:
    """Write a model returned by quantize_classifier (and its tokenizer) to a new folder, atomically, with
    distillery.json holding `metadata` and the folder's digest. Returns the content sha256."""
    from workers.ml.artifacts import write_artifact

    quantizer = getattr(model, "hf_quantizer", None)
    if not is_quantized(model) or quantizer is None:
        raise ValueError("save_quantized needs a model returned by quantize_classifier.")
    if getattr(quantizer, "pre_quantized", False):
        # transformers 5.23 cannot reverse its torchao load-time conversion when saving; copy the folder instead.
        raise ValueError(
            "This model was loaded already quantized, and transformers cannot save it again; "
            "copy the folder it was loaded from, or quantize the fp32 model again."
        )

    def write(tmp: Path) -> None:
        model.save_pretrained(str(tmp))
        if tokenizer is not None:
            tokenizer.save_pretrained(str(tmp))
        check_safe_folder(tmp)

    return write_artifact(folder, write, metadata or {})


def load_quantized(folder: Path, *, device: torch.device | str | None = None) -> PreTrainedModel:
    """Load a folder written by save_quantized (safetensors only, no pickle), in eval mode, on `device`."""
    check_safe_folder(folder)
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QuantizationError(f"{folder} has no readable config.json ({exc}).") from exc
    quantization_config = config.get("quantization_config") if isinstance(config, dict) else None
    if not isinstance(quantization_config, dict) or quantization_config.get("quant_method") != "torchao":
        raise QuantizationError(f"{folder} is not a torchao-quantized model (its config.json says so).")
    torchao_version()  # a clear error if torchao is missing
    from transformers import AutoModelForSequenceClassification, PreTrainedModel

    model = AutoModelForSequenceClassification.from_pretrained(str(folder), use_safetensors=True, local_files_only=True)
    if not isinstance(model, PreTrainedModel):
        raise QuantizationError(f"{folder} did not load as a transformers model.")
    if device is not None:
        nn.Module.to(model, device)
    model.train(False)
    return model
