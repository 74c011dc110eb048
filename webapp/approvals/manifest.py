"""What a deployment hands to production: the manifest (JSON a serving process loads and checks) and the model
card (README.md in the Hugging Face format, with `model-index` results), both built from the frozen snapshot."""

from typing import Any

import yaml

from webapp.approvals.models import ApprovalRequest, Decision

MANIFEST_FORMAT = "distillery.deployment/1"


def build_manifest(request: ApprovalRequest, decision: Decision, *, deployment_id: int) -> dict[str, Any]:
    snapshot = request.snapshot
    expected = snapshot["expected"]
    validation = expected["validation"]
    return {
        "format": MANIFEST_FORMAT,
        "deployment_id": deployment_id,
        "task": {"id": request.task_id, "name": request.task.name, "labels": snapshot["student"]["labels"]},
        "student": {
            "id": snapshot["student"]["id"],
            "name": snapshot["student"]["name"],
            # The tokenizer is saved in the same save_pretrained folder as the weights.
            "artifact": snapshot["student"]["artifact"],
            "tokenizer": snapshot["student"]["artifact"],
            "sha256": snapshot["student"]["sha256"],
            "construction": snapshot["student"]["construction"],
        },
        "temperature": request.temperature,
        "tau": request.tau,
        "certificate": {
            "risk": snapshot["certificate"]["risk"],
            "target": snapshot["certificate"]["target"],
            "delta": snapshot["certificate"]["delta"],
            "at_request": snapshot["certificate"]["at_request"],
        },
        "fallback_teacher": snapshot["teacher"],
        "expected": {
            "mode": expected["mode"],
            "coverage": validation["coverage"],
            "kept_accuracy": validation["kept_accuracy"],
            "kept_agreement": validation["kept_agreement"],
            "cascade_quality": validation["cascade_quality"],
            "monthly_usd": expected["monthly"]["monthly_usd"],
            "monthly_savings_usd": expected["monthly"]["monthly_savings_usd"],
            "breakeven_months": expected["breakeven"]["months"],
            "verdict": expected["breakeven"]["verdict"],
        },
        "approval": {
            "request_id": request.pk,
            "requested_by": request.requested_by.get_username(),
            "decision_id": decision.pk,
            "approved_by": decision.decided_by.get_username(),
            "approved_at": decision.created_at.isoformat(),
            "overrides": decision.overrides,
            "snapshot_sha256": request.snapshot_sha256,
        },
        "scenario": {k: snapshot["scenario"][k] for k in ("id", "name", "version")},
    }


def build_model_card(request: ApprovalRequest, manifest: dict[str, Any]) -> str:
    """README.md for the student's folder: YAML front matter with `model-index`, then the card for readers."""
    snapshot = request.snapshot
    student_test, ood = snapshot["student_test"], snapshot["student_ood"]
    expected = manifest["expected"]
    results: list[dict[str, Any]] = []
    task_entry = {"type": "text-classification", "name": request.task.name}
    if student_test:
        metrics = [
            {"type": "accuracy", "value": _round(student_test["accuracy"]), "name": "Test accuracy"},
            {"type": "ece", "value": _round(student_test["ece_before"]), "name": "ECE before temperature scaling"},
            {"type": "ece", "value": _round(student_test["ece_after"]), "name": "ECE after temperature scaling"},
        ]
        results.append(_result(task_entry, student_test, "test", metrics))
    validation = snapshot["validation"]
    routing_metrics = [
        {"type": "coverage", "value": _round(expected["coverage"]), "name": f"Coverage at τ = {request.tau:.4f}"},
        {"type": "accuracy", "value": _round(expected["kept_accuracy"]), "name": "Kept-traffic accuracy at τ"},
        {"type": "agreement", "value": _round(expected["kept_agreement"]), "name": "Kept-traffic teacher agreement"},
    ]
    results.append(_result(task_entry, validation, "validation", routing_metrics))
    for evaluation in ood:
        gap = (
            (student_test["accuracy"] - evaluation["accuracy"]) * 100
            if student_test and student_test["accuracy"] is not None and evaluation["accuracy"] is not None
            else None
        )
        metrics = [
            {"type": "accuracy", "value": _round(evaluation["accuracy"]), "name": "OOD accuracy"},
            {"type": "ood_gap_points", "value": _round(gap), "name": "OOD gap (points below test)"},
        ]
        results.append(_result(task_entry, evaluation, "ood", metrics))
    front = {
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "tags": ["distillery", "knowledge-distillation", "cascade"],
        "model-index": [{"name": snapshot["student"]["name"], "results": results}],
    }
    certificate = manifest["certificate"]
    worst = student_test["worst_class"] if student_test else None
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False, allow_unicode=True).strip(),
        "---",
        "",
        f"# {snapshot['student']['name']}",
        "",
        f"A student distilled from **{snapshot['teacher']['name']}** for the task **{request.task.name}**, "
        "approved to serve as the first tier of a student-first cascade.",
        "",
        "## How to use it",
        "",
        f"Run the student, divide its logits by the temperature **T = {request.temperature:.4f}**, and keep its "
        f"answer when the top-class probability is at least **τ = {request.tau:.4f}**; otherwise escalate to the "
        f"teacher. Artifact sha256: `{manifest['student']['sha256']}`.",
        "",
        "## What it was approved on",
        "",
        f"- Keeps {_pct(expected['coverage'])} of validation traffic at τ, answering it with "
        f"{_pct(expected['kept_accuracy'])} accuracy; the cascade's quality is {_pct(expected['cascade_quality'])}.",
        f"- Guarantee: with probability ≥ {1 - certificate['delta']:.0%}, the {certificate['risk']} on kept traffic "
        f"is ≥ {certificate['target']:.1%} (re-tested at request: "
        f"{'holds' if certificate['at_request']['holds'] else 'does not hold'}).",
        f"- Scenario '{snapshot['scenario']['name']}' v{snapshot['scenario']['version']}: "
        f"{_money(expected['monthly_savings_usd'])} saved a month, breakeven {_months(expected['breakeven_months'])}.",
        f"- Approved by {manifest['approval']['approved_by']} on {manifest['approval']['approved_at'][:10]} "
        f"(request #{request.pk}).",
        "",
        "## Limitations",
        "",
        "- The guarantee assumes production traffic looks like the validation set; under drift it can fail. "
        "Watch the deployment's monitoring page (coverage, confidence shift, estimated accuracy).",
    ]
    for evaluation in ood:
        if student_test and student_test["accuracy"] is not None and evaluation["accuracy"] is not None:
            gap = (student_test["accuracy"] - evaluation["accuracy"]) * 100
            lines.append(
                f"- Out of distribution ('{evaluation['dataset']}') accuracy is {_pct(evaluation['accuracy'])}, "
                f"{gap:.1f} points below test."
            )
    if worst:
        lines.append(f"- The weakest class on test is '{worst[0]}' (recall {_pct(worst[1])}).")
    if manifest["approval"]["overrides"]:
        for gate, reason in manifest["approval"]["overrides"].items():
            lines.append(f"- The '{gate}' gate failed and was overridden: {reason}")
    return "\n".join(lines) + "\n"


def _result(
    task: dict[str, str], evaluation: dict[str, Any], split: str, metrics: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "task": task,
        "dataset": {
            "name": evaluation["dataset"],
            "type": evaluation["dataset"],
            "split": split,
            "revision": evaluation["dataset_sha256"],
        },
        "metrics": [m for m in metrics if m["value"] is not None],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.0f}"


def _months(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} months"
