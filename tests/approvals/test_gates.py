"""The gates on crafted evidence: each passes and fails where its threshold says, and missing evidence fails."""

from dataclasses import replace

import pytest

from webapp.approvals.gates import CertificateCheck, GateEvidence, OodResult, Thresholds, evaluate_gates

GOOD = GateEvidence(
    teacher_test_accuracy=0.92,
    student_test_accuracy=0.91,
    ood=(OodResult("real traffic", 0.85), OodResult("typos", 0.88)),
    ece_after=0.03,
    worst_class=("card_swallowed", 0.6),
    certificate=CertificateCheck(holds=True, detail="holds"),
    breakeven_months=4.0,
)


DEFAULTS = Thresholds()


def by_key(evidence: GateEvidence, thresholds: Thresholds = DEFAULTS) -> dict[str, object]:
    return {gate.key: gate for gate in evaluate_gates(evidence, thresholds)}


def test_good_evidence_passes_every_gate():
    gates = by_key(GOOD)
    assert all(gate.passed for gate in gates.values()), [g for g in gates.values() if not g.passed]
    assert gates["retention"].value == "98.9%"  # 0.91 / 0.92
    assert gates["ood_gap"].value == "6.0 points"  # against the worst OOD set
    assert "real traffic" in gates["ood_gap"].detail


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"teacher_test_accuracy": 0.80, "student_test_accuracy": 0.79}, "teacher_quality"),
        ({"student_test_accuracy": 0.88}, "retention"),  # 95.7% < 97%
        ({"ood": (OodResult("real traffic", 0.79),)}, "ood_gap"),  # 12 points
        ({"ece_after": 0.08}, "calibration"),
        ({"worst_class": ("card_swallowed", 0.3)}, "worst_class"),
        ({"certificate": CertificateCheck(holds=False, detail="3 of 400 kept rows disagree")}, "certificate"),
        ({"breakeven_months": 14.0}, "breakeven"),
        ({"breakeven_months": None}, "breakeven"),  # never pays off
    ],
)
def test_each_gate_fails_past_its_threshold(change, key):
    gates = by_key(replace(GOOD, **change))
    failed = {k for k, gate in gates.items() if not gate.passed}
    assert key in failed


def test_thresholds_are_inclusive_at_the_boundary():
    evidence = replace(GOOD, ece_after=0.05, breakeven_months=12.0, worst_class=("x", 0.5))
    gates = by_key(evidence)
    assert gates["calibration"].passed and gates["breakeven"].passed and gates["worst_class"].passed


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"teacher_test_accuracy": None}, "teacher_quality"),
        ({"student_test_accuracy": None}, "retention"),
        ({"ood": ()}, "ood_gap"),
        ({"ece_after": None}, "calibration"),
        ({"worst_class": None}, "worst_class"),
        ({"certificate": None}, "certificate"),
    ],
)
def test_missing_evidence_fails_and_says_what_to_measure(change, key):
    gate = by_key(replace(GOOD, **change))[key]
    assert not gate.passed and gate.value == "not measured" and gate.detail.startswith("Not measured:")


def test_the_certificate_gate_can_be_switched_off():
    evidence = replace(GOOD, certificate=None)
    assert "certificate" not in by_key(evidence, Thresholds(require_certificate=False))
