"""One loaded sequence classifier: texts in, top label and temperature-scaled confidence out.

The same workers.ml code as the evaluate job (tokenize with `encode`, forward with `predict_logits`, scale with
`calibration.probabilities`), so what the endpoint answers is what the evidence measured. No Django here: the
runtime hands it a folder that was already checked against the manifest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from serving.cascade import Prediction
from workers.ml.calibration import probabilities
from workers.ml.data import encode
from workers.ml.inference import predict_logits
from workers.ml.quantize import load_quantized
from workers.ml.students import load_classifier
from workers.ml.tokenizer_profile import load_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class Classifier:
    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        labels: Sequence[str],
        max_length: int,
        temperature: float,
        device: torch.device,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.max_length = max_length
        self.temperature = temperature
        self.device = device
        self.pad_token_id = int(tokenizer.pad_token_id or 0)

    def predict(self, texts: list[str]) -> list[Prediction]:
        """One forward pass over all `texts` (padded to the longest); call from one thread at a time."""
        data = encode(self.tokenizer, texts, None, max_length=self.max_length)
        logits, _ = predict_logits(
            self.model, data, device=self.device, pad_token_id=self.pad_token_id, batch_size=max(1, len(texts))
        )
        confidence, index = probabilities(logits, self.temperature).max(dim=-1)
        return [
            Prediction(label=self.labels[i], confidence=float(c))
            for i, c in zip(index.tolist(), confidence.tolist(), strict=True)
        ]


def load(
    folder: Path,
    *,
    quantized: bool,
    labels: Sequence[str],
    max_length: int,
    temperature: float,
    device: torch.device,
) -> Classifier:
    """The classifier saved in `folder` (safetensors only, never its own code), warmed up by one forward pass.

    labels: the deployment's label set, in the order of the approved student's head. The model's own labels
    (its config's id2label) must be the same: a teacher whose head predicts other classes, or a base encoder
    with a random head, would answer nonsense.
    """
    if quantized:
        model = load_quantized(folder, device=device)
    else:
        model = load_classifier(folder)
        torch.nn.Module.to(model, device)  # (PreTrainedModel.to's decorated signature confuses mypy)
    model.train(False)
    own = _own_labels(model)
    if own != list(labels):
        raise ValueError(
            f"The model in {folder} predicts the labels {_preview(own)}, not the deployment's {_preview(labels)}."
        )
    # A text longer than the model's position table would fail the forward pass: never ask for more.
    positions = getattr(model.config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        max_length = min(max_length, positions)
    classifier = Classifier(
        model, load_tokenizer(folder), labels=labels, max_length=max_length, temperature=temperature, device=device
    )
    classifier.predict(["warm up"])  # the first forward pass is slow (allocations); not a caller's
    return classifier


def _own_labels(model: PreTrainedModel) -> list[str]:
    id2label: dict[int, str] = {int(i): str(label) for i, label in (model.config.id2label or {}).items()}
    return [id2label[i] for i in sorted(id2label)]


def _preview(labels: Sequence[str]) -> str:
    shown = ", ".join(labels[:5])
    return f"[{shown}{', …' if len(labels) > 5 else ''}] ({len(labels)})"
