"""One model's evidence on one dataset, from its logits: quality on in-scope rows, calibration before and
after temperature scaling, risk-coverage, how it treats out-of-scope rows at the threshold τ, and how often
it agrees with the teacher. The evaluate job and the benchmark both call this, so they report alike.

Temperature and τ come from the validation set (`fit_calibration`), never from the set being scored, and the
evidence says how far T can be trusted: `calibration.temperature_status` / `temperature_note` (what the fit did
on validation: "ok", "no_improvement", "at_bound" or "not_fitted"), `temperature_effect` (whether T made this
set's NLL or ECE worse) and `temperature_warning` (the one line the pages show next to after-T figures, or
None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from workers.ml.calibration import (
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    CalibrationSummary,
    TemperatureStatus,
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
NOT_FITTED_NOTE = "No validation rows to fit on: T = 1 (not fitted), so the figures after T equal those before."
# A rise smaller than this after T is float noise, not "worse".
WORSE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Calibration:
    temperature: float
    threshold: float
    coverage: float
    fitted_on: int  # validation rows used; 0 = nothing to fit on, defaults used
    # What fit_temperature said about T (see calibration.TemperatureStatus). The defaults are for a
    # Calibration built by hand from a T found elsewhere; fit_calibration always sets them.
    temperature_status: TemperatureStatus = "ok"
    temperature_note: str = ""
    validation_nll_before: float | None = None  # at T = 1; None when not fitted
    validation_nll_after: float | None = None  # at `temperature`

    def as_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "threshold": self.threshold,
            "coverage": self.coverage,
            "fitted_on": self.fitted_on,
            "temperature_status": self.temperature_status,
            "temperature_note": self.temperature_note,
            "temperature_range": [MIN_TEMPERATURE, MAX_TEMPERATURE],
            "validation_nll_before": self.validation_nll_before,
            "validation_nll_after": self.validation_nll_after,
        }


def fit_calibration(logits: torch.Tensor, targets: torch.Tensor, *, coverage: float = DEFAULT_COVERAGE) -> Calibration:
    """Temperature (minimum validation NLL) and τ (keeps `coverage` of validation rows) from in-scope rows."""
    keep = targets >= 0
    if int(keep.sum()) == 0:
        return Calibration(
            temperature=1.0,
            threshold=0.5,
            coverage=coverage,
            fitted_on=0,
            temperature_status="not_fitted",
            temperature_note=NOT_FITTED_NOTE,
        )
    fit = fit_temperature(logits[keep], targets[keep])
    confidences = probabilities(logits[keep], fit.temperature).max(dim=1).values
    return Calibration(
        temperature=fit.temperature,
        threshold=threshold_for_coverage(confidences, coverage),
        coverage=coverage,
        fitted_on=int(keep.sum()),
        temperature_status=fit.status,
        temperature_note=fit.note,
        validation_nll_before=fit.nll_before,
        validation_nll_after=fit.nll_after,
    )


def temperature_effect(before: CalibrationSummary, after: CalibrationSummary) -> dict[str, Any]:
    """What the validation-fitted T did to the NLL and ECE of the set being scored: T is fitted on validation,
    so on another set it can make either worse, and the pages must say so next to the after-T figures."""
    nll_worse = after.nll > before.nll + WORSE_TOLERANCE
    ece_worse = after.ece > before.ece + WORSE_TOLERANCE
    figures = (("NLL", before.nll, after.nll, nll_worse), ("ECE", before.ece, after.ece, ece_worse))
    worse = [f"{name} {b:.3f} → {a:.3f}" for name, b, a, is_worse in figures if is_worse]
    return {
        "nll_worse": nll_worse,
        "ece_worse": ece_worse,
        "note": f"T = {after.temperature:.3g} makes this set worse: {', '.join(worse)}." if worse else None,
    }


def temperature_warning(calibration: Calibration, effect: dict[str, Any] | None) -> str | None:
    """The one line the pages show next to after-T figures: why the fit is suspect, and/or that T made this
    set worse; None when the fit was fine and did no harm here."""
    parts = [calibration.temperature_note] if calibration.temperature_status != "ok" else []
    if effect is not None and effect["note"]:
        parts.append(effect["note"])
    return " ".join(parts) or None


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
    effect = None
    if int(in_scope.sum()):
        quality = quality_report(predictions[in_scope], targets[in_scope], labels).as_dict()
        before = calibration_summary(logits[in_scope], targets[in_scope], 1.0)
        after = calibration_summary(logits[in_scope], targets[in_scope], calibration.temperature)
        effect = temperature_effect(before, after)
        evidence |= {
            "accuracy": quality["accuracy"],
            "macro_f1": quality["macro_f1"],
            "quality": quality,
            "before_scaling": before.as_dict(),
            "after_scaling": after.as_dict(),
            "temperature_effect": effect,
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
    evidence["temperature_warning"] = temperature_warning(calibration, effect)
    if teacher_logits is not None:
        evidence["agreement_with_teacher"] = agreement(predictions, teacher_logits.argmax(dim=1))
    return evidence


# The full probability vectors are kept to this many decimals: 1e-4 is finer than any threshold a user tunes,
# and a probability that rounds to 0 is written as "0", so a 77-label row stays a few hundred bytes.
PROBABILITY_DECIMALS = 4


def prediction_rows(
    logits: torch.Tensor,
    temperature: float,
    teacher_logits: torch.Tensor | None,
    *,
    with_probabilities: bool = False,
) -> list[dict[str, Any]]:
    """Per example: prediction, confidence and, when known, the probability given to the teacher's label
    (routing and ROI read these); with `with_probabilities`, also every label's probability ("probs", in the
    model's label order, rounded to PROBABILITY_DECIMALS). Probabilities are after temperature scaling."""
    scaled = probabilities(logits, temperature)
    confidences, predictions = scaled.max(dim=1)
    rows: list[dict[str, Any]] = []
    teacher_top = teacher_logits.argmax(dim=1) if teacher_logits is not None else None
    # Rounded in float64: float32's nearest value to 0.1234 would print as 0.12340000271797180.
    vectors = scaled.double().round(decimals=PROBABILITY_DECIMALS).tolist() if with_probabilities else None
    for i in range(int(logits.shape[0])):
        row: dict[str, Any] = {"prediction": int(predictions[i]), "confidence": round(float(confidences[i]), 6)}
        if teacher_top is not None:
            row["teacher_prediction"] = int(teacher_top[i])
            row["p_teacher_label"] = round(float(scaled[i, teacher_top[i]]), 6)
        if vectors is not None:
            row["probs"] = [p if p else 0 for p in vectors[i]]
        rows.append(row)
    return rows
