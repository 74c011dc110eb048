"""Classification quality from integer predictions and targets: accuracy, macro-F1, per-class scores, the
weakest classes and the most common confusions, plus the out-of-scope and selective-prediction figures.

Rows whose target is -1 have a true label outside the task's label set (e.g. "oos"): no prediction can be
right for them, so they are left out of accuracy and F1 here and measured by `out_of_scope_report`.

Macro-F1 is the mean F1 over the classes that occur in the targets or the predictions; a class absent from
both has no F1 to speak of and is skipped rather than counted as 0. It is computed by hand from the same
confusion matrix as the per-class rows, so the two can never disagree. torchmetrics 1.9's
`multiclass_f1_score(average="macro")` gives the same number (it drops classes with tp + fp + fn = 0; a test
pins this), but how absent classes are averaged is a library detail that could move between releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

import torch

OUT_OF_SCOPE = -1


class ClassQuality(TypedDict):
    label: str
    precision: float  # 0 when the class is never predicted
    recall: float  # 0 when the class never occurs
    f1: float  # 0 when precision and recall are both 0
    support: int  # rows whose target is this class


class Confusion(TypedDict):
    true: str
    predicted: str
    count: int


@dataclass(frozen=True)
class QualityReport:
    count: int  # rows measured (targets of -1 dropped)
    accuracy: float
    macro_f1: float
    per_class: list[ClassQuality]
    worst_classes: list[ClassQuality]  # lowest F1 first, among classes with support
    confused_pairs: list[Confusion]  # off-diagonal confusion counts, most frequent first

    def as_dict(self) -> dict[str, Any]:
        """Plain floats, ints, strings, lists and dicts, ready for a JSONField."""
        return {
            "count": self.count,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class": [dict(row) for row in self.per_class],
            "worst_classes": [dict(row) for row in self.worst_classes],
            "confused_pairs": [dict(pair) for pair in self.confused_pairs],
        }


def quality_report(
    predictions: torch.Tensor, targets: torch.Tensor, labels: list[str], *, worst: int = 5, confusions: int = 10
) -> QualityReport:
    """Accuracy, macro-F1 and per-class precision / recall / F1 over the rows with an in-scope target."""
    predictions, targets = _paired(predictions, targets)
    num_classes = len(labels)
    keep = targets != OUT_OF_SCOPE
    predictions, targets = predictions[keep], targets[keep]
    if targets.numel() == 0:
        raise ValueError("No rows with a target in the label set to measure.")
    for name, ids in (("Targets", targets), ("Predictions", predictions)):
        if bool(((ids < 0) | (ids >= num_classes)).any()):
            raise ValueError(f"{name} must be class ids in [0, {num_classes}) (targets may also be -1).")
    # confusion[t, p] = rows of true class t predicted as p
    confusion = torch.bincount(targets * num_classes + predictions, minlength=num_classes * num_classes)
    matrix = confusion.reshape(num_classes, num_classes).tolist()
    per_class: list[ClassQuality] = []
    present_f1: list[float] = []
    for c, label in enumerate(labels):
        tp = matrix[c][c]
        support = sum(matrix[c])
        predicted = sum(row[c] for row in matrix)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append(ClassQuality(label=label, precision=precision, recall=recall, f1=f1, support=support))
        if support or predicted:
            present_f1.append(f1)
    worst_classes = sorted((row for row in per_class if row["support"] > 0), key=lambda r: (r["f1"], r["label"]))
    pairs = [
        Confusion(true=labels[t], predicted=labels[p], count=matrix[t][p])
        for t in range(num_classes)
        for p in range(num_classes)
        if t != p and matrix[t][p] > 0
    ]
    pairs.sort(key=lambda pair: (-pair["count"], pair["true"], pair["predicted"]))
    return QualityReport(
        count=int(targets.numel()),
        accuracy=sum(matrix[c][c] for c in range(num_classes)) / int(targets.numel()),
        macro_f1=sum(present_f1) / len(present_f1),
        per_class=per_class,
        worst_classes=worst_classes[:worst],
        confused_pairs=pairs[:confusions],
    )


def agreement(a: torch.Tensor, b: torch.Tensor) -> float:
    """Share of rows where two models predict the same class (e.g. a student and its teacher)."""
    a, b = _paired(a, b)
    if a.numel() == 0:
        raise ValueError("No predictions to compare.")
    return float((a == b).to(torch.float64).mean())


def out_of_scope_report(confidences: torch.Tensor, threshold: float) -> dict[str, float | int | None]:
    """For rows whose true label is outside the label set: how many a confidence threshold rejects.

    Every prediction on such a row is wrong, so any row kept (confidence >= threshold) is confidently wrong.
    The shares are None when there are no such rows.
    """
    confidences = confidences.detach().flatten()
    count = int(confidences.numel())
    kept = int((confidences >= threshold).sum())
    return {
        "count": count,
        "rejection_recall": (count - kept) / count if count else None,
        "confidently_wrong": kept / count if count else None,
        "threshold": float(threshold),
    }


def in_scope_at_threshold(
    confidences: torch.Tensor, predictions: torch.Tensor, targets: torch.Tensor, threshold: float
) -> dict[str, float | None]:
    """Coverage (share kept, confidence >= threshold) and accuracy of the kept rows and of all rows.

    Rows whose target is -1 are dropped first; accuracy_kept is None when the threshold keeps nothing.
    """
    predictions, targets = _paired(predictions, targets)
    confidences = confidences.detach().flatten().cpu()
    if confidences.numel() != targets.numel():
        raise ValueError(f"Got {confidences.numel()} confidences for {targets.numel()} targets.")
    keep_scope = targets != OUT_OF_SCOPE
    confidences = confidences[keep_scope]
    predictions, targets = predictions[keep_scope], targets[keep_scope]
    n = int(targets.numel())
    if n == 0:
        raise ValueError("No rows with a target in the label set to measure.")
    correct = predictions == targets
    kept = confidences >= threshold
    n_kept = int(kept.sum())
    return {
        "coverage": n_kept / n,
        "accuracy_kept": int(correct[kept].sum()) / n_kept if n_kept else None,
        "accuracy_all": int(correct.sum()) / n,
    }


def _paired(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two flat int64 tensors of the same length on the CPU."""
    a, b = a.detach().flatten().to("cpu", torch.int64), b.detach().flatten().to("cpu", torch.int64)
    if a.numel() != b.numel():
        raise ValueError(f"Got {a.numel()} and {b.numel()} rows; they must be paired.")
    return a, b
