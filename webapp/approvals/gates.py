"""The evidence gates a student must pass to be approved: pure functions of measured figures and thresholds.

A gate whose evidence is missing fails (with what to measure): approval never rests on an absent number."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    teacher_quality_min: float = 0.85
    student_retention_min: float = 0.97
    ood_gap_max_points: float = 10.0
    ece_after_max: float = 0.05
    worst_class_recall_min: float = 0.5
    require_certificate: bool = True
    breakeven_max_months: float = 12.0


@dataclass(frozen=True)
class OodResult:
    dataset: str
    accuracy: float


@dataclass(frozen=True)
class CertificateCheck:
    """The requested τ's guarantee re-tested on the current validation data."""

    holds: bool
    detail: str


@dataclass(frozen=True)
class GateEvidence:
    """What the gates read; None where it was not measured."""

    teacher_test_accuracy: float | None
    student_test_accuracy: float | None
    ood: tuple[OodResult, ...]
    ece_after: float | None
    worst_class: tuple[str, float] | None  # (label, recall) of the lowest-recall class on test
    certificate: CertificateCheck | None
    breakeven_months: float | None  # None: never pays off


@dataclass(frozen=True)
class GateResult:
    key: str
    label: str
    threshold: str
    value: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_gates(evidence: GateEvidence, thresholds: Thresholds) -> list[GateResult]:
    gates = [
        _teacher_quality(evidence, thresholds),
        _retention(evidence, thresholds),
        _ood_gap(evidence, thresholds),
        _calibration(evidence, thresholds),
        _worst_class(evidence, thresholds),
        _breakeven(evidence, thresholds),
    ]
    if thresholds.require_certificate:
        gates.insert(5, _certificate(evidence))
    return gates


def _missing(key: str, label: str, threshold: str, what: str) -> GateResult:
    return GateResult(key, label, threshold, "not measured", False, f"Not measured: {what}.")


def _teacher_quality(e: GateEvidence, t: Thresholds) -> GateResult:
    label, threshold = "Teacher quality", f"≥ {t.teacher_quality_min:.1%}"
    if e.teacher_test_accuracy is None:
        return _missing("teacher_quality", label, threshold, "evaluate the teacher on the in-distribution test set")
    passed = e.teacher_test_accuracy >= t.teacher_quality_min
    detail = "The teacher's test accuracy." + (
        "" if passed else " Distilling a weak teacher copies its mistakes: improve the teacher first."
    )
    return GateResult("teacher_quality", label, threshold, f"{e.teacher_test_accuracy:.1%}", passed, detail)


def _retention(e: GateEvidence, t: Thresholds) -> GateResult:
    label, threshold = "Student retention on test", f"≥ {t.student_retention_min:.1%}"
    if e.teacher_test_accuracy is None or e.student_test_accuracy is None or e.teacher_test_accuracy <= 0:
        return _missing("retention", label, threshold, "evaluate the teacher and the student on the test set")
    retention = e.student_test_accuracy / e.teacher_test_accuracy
    detail = f"Student {e.student_test_accuracy:.1%} ÷ teacher {e.teacher_test_accuracy:.1%} on test."
    return GateResult("retention", label, threshold, f"{retention:.1%}", retention >= t.student_retention_min, detail)


def _ood_gap(e: GateEvidence, t: Thresholds) -> GateResult:
    label, threshold = "OOD gap", f"≤ {t.ood_gap_max_points:g} points"
    if e.student_test_accuracy is None or not e.ood:
        return _missing("ood_gap", label, threshold, "evaluate the student on the test set and an OOD set")
    worst = min(e.ood, key=lambda o: o.accuracy)
    gap = (e.student_test_accuracy - worst.accuracy) * 100
    detail = f"Test {e.student_test_accuracy:.1%} vs '{worst.dataset}' {worst.accuracy:.1%} (the worst OOD set)."
    return GateResult("ood_gap", label, threshold, f"{gap:.1f} points", gap <= t.ood_gap_max_points, detail)


def _calibration(e: GateEvidence, t: Thresholds) -> GateResult:
    label, threshold = "Calibration (ECE after scaling)", f"≤ {t.ece_after_max:.3f}"
    if e.ece_after is None:
        return _missing("calibration", label, threshold, "evaluate the student with a validation set to fit T")
    passed = e.ece_after <= t.ece_after_max
    detail = "On test, after the temperature fitted on validation: confidences the cascade's τ can trust."
    return GateResult("calibration", label, threshold, f"{e.ece_after:.3f}", passed, detail)


def _worst_class(e: GateEvidence, t: Thresholds) -> GateResult:
    label, threshold = "Worst-class recall", f"≥ {t.worst_class_recall_min:.0%}"
    if e.worst_class is None:
        return _missing("worst_class", label, threshold, "evaluate the student on a labelled test set")
    name, recall = e.worst_class
    detail = f"'{name}' is the class the student finds least often on test."
    return GateResult("worst_class", label, threshold, f"{recall:.1%}", recall >= t.worst_class_recall_min, detail)


def _certificate(e: GateEvidence) -> GateResult:
    label, threshold = "Certified τ holds on current validation", "holds"
    if e.certificate is None:
        return _missing("certificate", label, threshold, "evaluate the student on a validation set")
    return GateResult(
        "certificate", label, threshold, "holds" if e.certificate.holds else "fails", e.certificate.holds,
        e.certificate.detail,
    )  # fmt: skip


def _breakeven(e: GateEvidence, t: Thresholds) -> GateResult:
    label, threshold = "Breakeven", f"≤ {t.breakeven_max_months:g} months"
    if e.breakeven_months is None:
        return GateResult("breakeven", label, threshold, "never", False, "The scenario saves nothing per month.")
    passed = e.breakeven_months <= t.breakeven_max_months
    detail = "From the saved scenario: one-off cost ÷ monthly savings."
    return GateResult("breakeven", label, threshold, f"{e.breakeven_months:.1f} months", passed, detail)
