"""The evidence snapshot a request freezes, and the gate inputs read from it.

Everything an approver judges is copied here when the request is made (ids, metrics, dataset hashes, the
artifact's sha256, the scenario version), so a decision is always about exactly what was requested."""

import hashlib
import json
from pathlib import Path
from typing import Any

from django.conf import settings

from domain.digests import folder_sha256
from domain.model_refs import ModelSourceError, resolve_model_ref
from webapp.approvals.gates import CertificateCheck, GateEvidence, OodResult
from webapp.economics.analysis import AnalysisError
from webapp.economics.certify import guarantee_at
from webapp.economics.evidence import routing_evidence
from webapp.economics.models import Scenario
from webapp.economics.routing import RoutingInputError
from webapp.evaluation.models import Evaluation
from webapp.registry.models import Dataset, Student, Teacher


class EvidenceError(ValueError):
    """Evidence a request needs is missing or no longer matches; the message says what to do."""


def canonical_sha256(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def student_folder(student: Student) -> Path:
    try:
        return resolve_model_ref(student.artifact, model_root=Path(settings.MODEL_ROOT)).path
    except ModelSourceError as exc:
        raise EvidenceError(f"The files of '{student}' can't be found: {exc}") from exc


def verify_artifact(student: Student, expected_sha256: str) -> None:
    """Refuse a student whose files changed since the evidence was measured on them."""
    folder = student_folder(student)
    if not folder.is_dir():
        raise EvidenceError(f"The files of '{student}' are missing from {folder}.")
    digest = folder_sha256(folder)
    if digest != expected_sha256:
        raise EvidenceError(
            f"The files of '{student}' changed on disk since the evidence was measured (sha256 {digest[:12]}… "
            f"now, {expected_sha256[:12]}… approved): the approval would not be about this model."
        )


def teacher_of(student: Student) -> Teacher | None:
    return student.teacher or (student.parent.teacher if student.parent else None)


def evidence_snapshot(scenario: Scenario) -> dict[str, Any]:
    """Freeze what a request about `scenario` stands on. Raises EvidenceError naming what is missing."""
    student = scenario.student
    if student is None:
        raise EvidenceError(f"The student of scenario '{scenario}' was deleted: there is nothing to approve.")
    teacher = teacher_of(student)
    if teacher is None:
        raise EvidenceError(f"'{student}' has no teacher any more: a cascade needs one to escalate to.")
    if not student.artifact_sha256:
        raise EvidenceError(f"'{student}' has no recorded sha256: it can't be pinned for deployment.")
    verify_artifact(student, student.artifact_sha256)
    figures = scenario.figures
    assumptions = figures["assumptions"]
    tau = float(figures["tau"])
    try:
        validation = routing_evidence(scenario.task, student).validation
        check = guarantee_at(
            validation.predictions,
            tau,
            target=assumptions["certified_target"],
            delta=assumptions["certified_delta"],
            risk=assumptions["certify_on"],
        )
    except (AnalysisError, RoutingInputError) as exc:
        raise EvidenceError(str(exc)) from exc
    validation_eval = Evaluation.objects.get(pk=validation.evaluation_id)
    return {
        "scenario": {
            "id": scenario.pk,
            "name": scenario.name,
            "version": scenario.version,
            "verdict": scenario.verdict,
            "breakeven_months": scenario.breakeven_months,
            "monthly_savings_usd": scenario.monthly_savings_usd,
            "evidence": scenario.evidence,
        },
        "student": {
            "id": student.pk,
            "name": str(student),
            "artifact": student.artifact,
            "sha256": student.artifact_sha256,
            "construction": student.construction,
            "parameters": student.parameters,
            "labels": list(student.labels),
        },
        "teacher": {
            "id": teacher.pk,
            "name": str(teacher),
            "model_ref": teacher.model_ref,
            "sha256": teacher.artifact_sha256,
            "precomputed": teacher.is_precomputed,
        },
        "tau": tau,
        "tau_rule": figures["tau_rule"],
        "temperature": validation_eval.temperature,
        "validation": _evaluation_facts(validation_eval),
        "certificate": {
            "risk": assumptions["certify_on"],
            "target": assumptions["certified_target"],
            "delta": assumptions["certified_delta"],
            "at_request": {
                "holds": check.holds,
                "kept_scored": check.kept_scored,
                "kept_failures": check.kept_failures,
                "p_value": check.p_value,
                "reason": check.reason,
            },
            "when_saved": figures.get("certificate"),
        },
        "expected": {
            "mode": figures["mode"],
            "validation": figures["validation"],
            "applied": figures.get("applied", []),
            "monthly": figures["modes"][figures["mode"]],
            "breakeven": figures["breakeven"],
        },
        "teacher_test": _facts_or_none(_newest(Evaluation.objects.filter(teacher=teacher), Dataset.Role.TEST)),
        "student_test": _facts_or_none(_newest(Evaluation.objects.filter(student=student), Dataset.Role.TEST)),
        "student_ood": [_evaluation_facts(e) for e in _newest_per_set(student, Dataset.Role.OOD)],
    }


def gate_evidence(snapshot: dict[str, Any]) -> GateEvidence:
    """The gates' inputs, read from a frozen snapshot (so a request's gates can be recomputed and checked)."""
    teacher_test, student_test = snapshot["teacher_test"], snapshot["student_test"]
    at_request = snapshot["certificate"]["at_request"]
    return GateEvidence(
        teacher_test_accuracy=teacher_test["accuracy"] if teacher_test else None,
        student_test_accuracy=student_test["accuracy"] if student_test else None,
        ood=tuple(
            OodResult(dataset=e["dataset"], accuracy=e["accuracy"])
            for e in snapshot["student_ood"]
            if e["accuracy"] is not None
        ),
        ece_after=student_test["ece_after"] if student_test else None,
        worst_class=tuple(student_test["worst_class"]) if student_test and student_test["worst_class"] else None,
        certificate=CertificateCheck(holds=at_request["holds"], detail=at_request["reason"]),
        breakeven_months=snapshot["scenario"]["breakeven_months"],
    )


def _newest(evaluations: Any, role: str) -> Evaluation | None:
    result: Evaluation | None = evaluations.filter(dataset_role=role).order_by("-created_at").first()
    return result


def _newest_per_set(student: Student, role: str) -> list[Evaluation]:
    newest: dict[str, Evaluation] = {}
    for evaluation in Evaluation.objects.filter(student=student, dataset_role=role).order_by("-created_at"):
        newest.setdefault(evaluation.dataset_sha256, evaluation)
    return sorted(newest.values(), key=lambda e: e.dataset_name)


def _facts_or_none(evaluation: Evaluation | None) -> dict[str, Any] | None:
    return _evaluation_facts(evaluation) if evaluation is not None else None


def _evaluation_facts(evaluation: Evaluation) -> dict[str, Any]:
    per_class = (evaluation.metrics.get("quality") or {}).get("per_class") or []
    present = [row for row in per_class if row.get("support")]
    worst = min(present, key=lambda row: (row["recall"], row["label"])) if present else None
    return {
        "evaluation_id": evaluation.pk,
        "job_id": evaluation.job_id,
        "dataset": evaluation.dataset_name,
        "role": evaluation.dataset_role,
        "dataset_sha256": evaluation.dataset_sha256,
        "artifact_sha256": evaluation.artifact_sha256,
        "accuracy": evaluation.accuracy,
        "macro_f1": evaluation.macro_f1,
        "ece_before": evaluation.ece_before,
        "ece_after": evaluation.ece_after,
        "temperature": evaluation.temperature,
        "worst_class": [worst["label"], worst["recall"]] if worst else None,
        "examples": evaluation.examples,
        "measured_at": evaluation.created_at.isoformat(),
        "predictions_sha256": evaluation.predictions_sha256,
    }
