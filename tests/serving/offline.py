"""What the cascade should answer, computed offline with workers.ml alone (the routing simulation: load the
model, scale its logits by T, keep a row when the top probability is at least τ), one text at a time so that no
padding is involved. The serving process must agree with this for every row, whatever it batched together."""

import itertools
import random
from dataclasses import dataclass
from pathlib import Path

import torch
from django.conf import settings

from domain.model_refs import resolve_model_ref
from webapp.approvals.models import Deployment
from workers.ml.calibration import probabilities
from workers.ml.data import encode
from workers.ml.inference import predict_logits
from workers.ml.students import load_classifier
from workers.ml.tokenizer_profile import load_tokenizer

# Rows whose confidence is this close to τ may land either side in a padded batch: not compared on tier.
TIE = 1e-4
WORDS = ["message", "bank", "card", "trip", "hotel", "flight"]


def sample_texts(n: int, *, seed: int = 0) -> list[str]:
    """n distinct texts of 1-4 words the tiny models know, in a shuffled order."""
    every = [" ".join(words) for size in (1, 2, 3, 4) for words in itertools.product(WORDS, repeat=size)]
    return random.Random(seed).sample(every, n)


@dataclass(frozen=True)
class Expected:
    student_label: str
    confidence: float
    kept: bool
    teacher_label: str


def expected_cascade(deployment: Deployment, texts: list[str]) -> list[Expected]:
    root = Path(settings.MODEL_ROOT)
    student = _answers(root / deployment.student.artifact, texts, deployment.temperature)
    teacher_folder = resolve_model_ref(deployment.manifest["fallback_teacher"]["model_ref"], model_root=root).path
    teacher = _answers(teacher_folder, texts, 1.0)
    return [
        Expected(label, confidence, confidence >= deployment.tau, teacher_label)
        for (label, confidence), (teacher_label, _) in zip(student, teacher, strict=True)
    ]


def _answers(folder: Path, texts: list[str], temperature: float) -> list[tuple[str, float]]:
    model, tokenizer = load_classifier(folder), load_tokenizer(folder)
    labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]
    answers = []
    for text in texts:
        logits, _ = predict_logits(
            model, encode(tokenizer, [text], None, max_length=128), device=torch.device("cpu"), pad_token_id=0,
            batch_size=1,
        )  # fmt: skip
        confidence, index = probabilities(logits, temperature)[0].max(dim=-1)
        answers.append((labels[int(index)], float(confidence)))
    return answers
