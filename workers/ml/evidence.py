"""One model's evidence on one dataset, from its logits: quality on in-scope rows, calibration before and
after temperature scaling, risk-coverage, how it treats out-of-scope rows at the threshold τ, and how often
it agrees with the teacher. The evaluate job and the benchmark both call this, so they report alike.

Temperature and τ come from the validation set (`fit_calibration`), never from the set being scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from workers.ml.calibration import (
    calibration_summary,
    fit_temperature,
    probabilities,
    risk_coverage,
    threshold_for_coverage,
)
from workers.ml.quality import agreement, in_scope_at_threshold, out_of_scope_report, quality_report

# τ keeps this share of in-distribution validation traffic on the model (the usual "95% TPR" operating point).
DEFAULT_COVERAGE = 0.95
UNSCOPED = -1  # target of a row whose label is outside the model's label set (e.g. "oos"), or has none


@dataclass(frozen=True)
class Calibration:
    temperature: float
    threshold: float
    coverage: float
    fitted_on: int  # validation rows used; 0 = nothing to fit on, defaults used

    def as_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "threshold": self.threshold,
            "coverage": self.coverage,
            "fitted_on": self.fitted_on,
        }


def fit_calibration(logits: torch.Tensor, targets: torch.Tensor, *, coverage: float = DEFAULT_COVERAGE) -> Calibration:
    """Temperature (minimum validation NLL) and τ (keeps `coverage` of validation rows) from in-scope rows."""
    keep = targets >= 0
    if int(keep.sum()) == 0:
        return Calibration(temperature=1.0, threshold=0.5, coverage=coverage, fitted_on=0)
    temperature = fit_temperature(logits[keep], targets[keep])
    confidences = probabilities(logits[keep], temperature).max(dim=1).values
    return Calibration(
        temperature=temperature,
        threshold=threshold_for_coverage(confidences, coverage),
        coverage=coverage,
        fitted_on=int(keep.sum()),
    )


def dataset_evidence(
    logits: torch.Tensor,
    targets: torch.Tensor,
    labels: list[str],
    calibration: Calibration,
    *,
    teacher_logits: torch.Tensor | None = None,
) -> dict[str, Any]:
    """Everything the pages show for one model on one dataset, as plain JSON-able values."""
    if logits.shape[0] != targets.shape[0]:
        raise ValueError(f"{logits.shape[0]} rows of logits but {targets.shape[0]} targets.")
    in_scope = targets >= 0
    scaled = probabilities(logits, calibration.temperature)
    confidences, predictions = scaled.max(dim=1)
    evidence: dict[str, Any] = {
        "examples": int(targets.shape[0]),
        "in_scope_examples": int(in_scope.sum()),
        "out_of_scope_examples": int((~in_scope).sum()),
        "calibration": calibration.as_dict(),
        "accuracy": None,
        "macro_f1": None,
    }
    if int(in_scope.sum()):
        quality = quality_report(predictions[in_scope], targets[in_scope], labels).as_dict()
        evidence |= {
            "accuracy": quality["accuracy"],
            "macro_f1": quality["macro_f1"],
            "quality": quality,
            "before_scaling": calibration_summary(logits[in_scope], targets[in_scope], 1.0).as_dict(),
            "after_scaling": calibration_summary(
                logits[in_scope], targets[in_scope], calibration.temperature
            ).as_dict(),
            "risk_coverage": [
                {"coverage": c, "accuracy": a, "threshold": t}
                for c, a, t in risk_coverage(scaled[in_scope], targets[in_scope])
            ],
            "at_threshold": in_scope_at_threshold(
                confidences[in_scope], predictions[in_scope], targets[in_scope], calibration.threshold
            ),
        }
    if int((~in_scope).sum()):
        evidence["out_of_scope"] = out_of_scope_report(confidences[~in_scope], calibration.threshold)
    if teacher_logits is not None:
        evidence["agreement_with_teacher"] = agreement(predictions, teacher_logits.argmax(dim=1))
    return evidence


def prediction_rows(
    logits: torch.Tensor, temperature: float, teacher_logits: torch.Tensor | None
) -> list[dict[str, Any]]:
    """Per example: prediction, confidence and, when known, the probability given to the teacher's label
    (routing and ROI read these). Probabilities are after temperature scaling."""
    scaled = probabilities(logits, temperature)
    confidences, predictions = scaled.max(dim=1)
    rows: list[dict[str, Any]] = []
    teacher_top = teacher_logits.argmax(dim=1) if teacher_logits is not None else None
    for i in range(int(logits.shape[0])):
        row: dict[str, Any] = {"prediction": int(predictions[i]), "confidence": round(float(confidences[i]), 6)}
        if teacher_top is not None:
            row["teacher_prediction"] = int(teacher_top[i])
            row["p_teacher_label"] = round(float(scaled[i, teacher_top[i]]), 6)
        rows.append(row)
    return rows
