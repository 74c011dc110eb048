"""Build classifiers: a teacher from a model folder, and students from a teacher.

Students come in two kinds: a layer-truncated copy of the teacher (starts from the teacher's knowledge, the
DistilBERT recipe) or a smaller randomly initialised model of the same family (a "scratch" student).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel

LAYER_STRATEGIES = ("bottom", "spread")
# Where encoder families keep their list of transformer blocks, relative to model.base_model.
_LAYER_LIST_PATHS = ("encoder.layer", "transformer.layer")


def label_maps(labels: list[str]) -> tuple[dict[int, str], dict[str, int]]:
    """The id2label / label2id pair a transformers config stores, in the order of `labels`."""
    if not labels:
        raise ValueError("A classifier needs at least one label.")
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ValueError(f"Labels must be unique; repeated: {', '.join(duplicates)}.")
    return dict(enumerate(labels)), {label: i for i, label in enumerate(labels)}


def load_classifier(path: Path, *, labels: list[str] | None = None) -> PreTrainedModel:
    """A sequence classifier from a local folder; a base encoder without a head gets a fresh, random head.

    When `labels` is given it sets the head's size and label names (how a teacher is set up to be fine-tuned).
    Seed the RNG first if the fresh head must be reproducible.
    """
    from transformers import AutoModelForSequenceClassification

    label_kwargs = {}
    if labels is not None:
        # num_labels follows from id2label in transformers 5; passing both only adds a warning.
        id2label, label2id = label_maps(labels)
        label_kwargs = {"id2label": id2label, "label2id": label2id}
    try:
        model: PreTrainedModel = AutoModelForSequenceClassification.from_pretrained(
            str(path),
            use_safetensors=True,  # never unpickle weights
            trust_remote_code=False,  # never run a model folder's own Python
            local_files_only=True,  # never download at run time
            # transformers 5 defaults to the checkpoint's dtype; training needs fp32 master weights
            # (mixed precision comes from autocast, not from half-precision parameters).
            dtype=torch.float32,
            **label_kwargs,
        )
    except RuntimeError as exc:
        if "ignore_mismatched_sizes" not in str(exc):
            raise
        raise ValueError(
            f"The model in {path} already has a classification head for a different number of classes than the "
            f"{len(labels or [])} labels of this task; use a base encoder or a classifier trained on these labels."
        ) from exc
    return model


def layer_plan(total_layers: int, keep: int, strategy: str = "bottom") -> list[int]:
    """Which teacher layers a truncated student keeps.

    "bottom": the first `keep` layers. "spread": evenly spaced, always including the first and the last
    (for keep=1, just the first).
    """
    if not 1 <= keep <= total_layers:
        raise ValueError(f"Can keep between 1 and {total_layers} layers, not {keep}.")
    if strategy == "bottom":
        return list(range(keep))
    if strategy == "spread":
        if keep == 1:
            return [0]
        stride = (total_layers - 1) / (keep - 1)  # >= 1, so the rounded positions are distinct
        # floor(x + 0.5) rather than round(): banker's rounding could map two positions to one layer.
        return [math.floor(i * stride + 0.5) for i in range(keep)]
    raise ValueError(f"Unknown layer strategy '{strategy}'; use one of: {', '.join(LAYER_STRATEGIES)}.")


def truncated_student(teacher: PreTrainedModel, keep_layers: list[int]) -> PreTrainedModel:
    """A copy of `teacher` with only `keep_layers` (in that order) of its transformer blocks.

    Embeddings, the kept blocks, the pooler and the classifier are copied from the teacher; the copy is
    independent (training it leaves the teacher untouched).
    """
    prefix, total = _layer_list(teacher)
    if not keep_layers:
        raise ValueError("A truncated student must keep at least one layer.")
    if len(set(keep_layers)) != len(keep_layers) or not all(0 <= i < total for i in keep_layers):
        raise ValueError(f"keep_layers must be distinct layer numbers between 0 and {total - 1}, got {keep_layers}.")

    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = len(keep_layers)
    student = type(teacher)(config)

    # Student block i takes the weights of teacher block keep_layers[i]; every other weight keeps its name.
    source = teacher.state_dict()
    weights = {key: source[_teacher_key(key, prefix, keep_layers)].detach().clone() for key in student.state_dict()}
    student.load_state_dict(weights, strict=True)
    student.train(teacher.training)
    return student


def scratch_student(
    config_source: PretrainedConfig, *, num_layers: int, hidden_size: int | None = None, labels: list[str]
) -> PreTrainedModel:
    """A randomly initialised classifier of the teacher's family with `num_layers` layers.

    With `hidden_size`, the feed-forward width scales with it and the attention heads keep the source's head
    size (as far as `hidden_size` divides), the way model families are usually scaled down.
    """
    from transformers import AutoModelForSequenceClassification

    if num_layers < 1:
        raise ValueError("A student needs at least one layer.")
    config = copy.deepcopy(config_source)
    config.num_hidden_layers = num_layers
    if hidden_size is not None:
        _resize_width(config, hidden_size)
    config.id2label, config.label2id = label_maps(labels)
    # from_config is unannotated in transformers 5; the mapping returns the family's classifier class.
    model: PreTrainedModel = AutoModelForSequenceClassification.from_config(config)  # type: ignore[no-untyped-call]
    return model


def count_parameters(model: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def _layer_list(model: PreTrainedModel) -> tuple[str, int]:
    """The state-dict prefix of the model's transformer blocks (e.g. "bert.encoder.layer") and their number."""
    for path in _LAYER_LIST_PATHS:
        module: object = model.base_model
        for part in path.split("."):
            module = getattr(module, part, None)
        if isinstance(module, torch.nn.ModuleList):
            for name, candidate in model.named_modules():
                if candidate is module:
                    return name, len(module)
    raise ValueError(
        f"Cannot truncate a {type(model).__name__}: its transformer blocks are not at base_model.encoder.layer "
        "(BERT-family encoders such as BERT, RoBERTa, MiniLM are supported). Use a scratch student instead."
    )


def _teacher_key(student_key: str, prefix: str, keep_layers: list[int]) -> str:
    head = prefix + "."
    if not student_key.startswith(head):
        return student_key
    number, rest = student_key[len(head) :].split(".", 1)
    return f"{head}{keep_layers[int(number)]}.{rest}"


def _resize_width(config: PretrainedConfig, hidden_size: int) -> None:
    if hidden_size < 1:
        raise ValueError("hidden_size must be positive.")
    old_hidden = int(config.hidden_size)
    head_size = max(1, old_hidden // int(config.num_attention_heads))
    heads = max(1, hidden_size // head_size)
    while hidden_size % heads:  # attention needs hidden_size to split evenly into heads
        heads -= 1
    config.num_attention_heads = heads
    config.intermediate_size = max(1, round(int(config.intermediate_size) * hidden_size / old_hidden))
    config.hidden_size = hidden_size
