"""A certified τ computed on production instead of validation: the same Learn-then-Test procedure
(`webapp.economics.certify.certified_tau`) over the deployment's own decisions that have an answer to score.

Which decisions count depends on what the approval certified:
- agreement with the teacher: decisions the teacher also answered, i.e. the shadow sample of kept traffic and
  every escalation. Kept traffic is under-represented (only its shadow share is there), so for a τ below the
  approved one the measured risk leans on the harder, escalated rows: pessimistic, never flattering;
- accuracy: decisions whose true label is known (e.g. an uploaded, labelled sample).
When the approval's kind of row is missing but the other kind is there, the other is used, and said.

The coverage shown at the new τ is measured on the whole recent traffic (every decision has a confidence),
not on the scored sample."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webapp.approvals.models import Deployment, ServedDecision
from webapp.approvals.monitoring import MAX_DECISIONS, DecisionLog, recent_decisions
from webapp.economics.certify import CertifiedRisk, CertifiedTau, certified_tau, min_kept_to_certify
from webapp.economics.routing import PredictionSet

ROW_KINDS = {
    "agreement": "decisions with the teacher's answer (shadow samples or escalations)",
    "accuracy": "decisions with a known true label",
}


@dataclass(frozen=True)
class Recertification:
    """The certified τ on production (or why there is none), next to the approved τ."""

    risk: CertifiedRisk
    target: float
    delta: float
    approved_tau: float
    approved_coverage: float  # what validation predicted at the approved τ
    realised_coverage: float | None  # what production shows at the approved τ
    scored_rows: int
    min_rows: int
    certified: CertifiedTau | None
    coverage: float | None  # production coverage at the new τ
    explanation: str

    @property
    def tau(self) -> float | None:
        return self.certified.tau if self.certified is not None else None

    @property
    def found(self) -> bool:
        return self.tau is not None


def production_certificate(deployment: Deployment, *, recent: DecisionLog | None = None) -> Recertification:
    """`recent`: the deployment's recent decisions when the caller has read them already."""
    certificate = deployment.request.snapshot["certificate"]
    approved_risk: CertifiedRisk = certificate["risk"]
    target, delta = float(certificate["target"]), float(certificate["delta"])
    n_min = min_kept_to_certify(target=target, delta=delta)
    labels = frozenset(deployment.task.labels or deployment.student.labels)
    sets = {risk: _scored_set(deployment, risk, labels) for risk in ("agreement", "accuracy")}
    risk: CertifiedRisk = approved_risk
    other: CertifiedRisk = "accuracy" if approved_risk == "agreement" else "agreement"
    note = ""
    if sets[approved_risk] is None and sets[other] is not None:
        risk = other
        note = f"No {ROW_KINDS[approved_risk]} yet, so this certifies {other} instead of {approved_risk}. "
    recent = recent if recent is not None else recent_decisions(deployment)
    confidence = recent.traffic.confidence
    realised = float(recent.traffic.kept.mean()) if len(confidence) else None
    approved_coverage = float(deployment.request.snapshot["expected"]["validation"]["coverage"])
    base = {
        "target": target,
        "delta": delta,
        "approved_tau": deployment.tau,
        "approved_coverage": approved_coverage,
        "realised_coverage": realised,
        "min_rows": n_min,
    }
    scored = sets[risk]
    if scored is None or len(scored) < n_min:
        count = 0 if scored is None else len(scored)
        return Recertification(
            risk=risk,
            scored_rows=count,
            certified=None,
            coverage=None,
            explanation=(
                f"{note}Too few production samples to re-certify: {risk} ≥ {target:.1%} at δ = {delta:g} needs at "
                f"least {n_min:,} {ROW_KINDS[risk]}, kept at the new τ, and this deployment has {count:,}. Raise "
                "the shadow rate, or upload labelled decisions."
            ),
            **base,
        )
    result = certified_tau(scored, target=target, delta=delta, risk=risk)
    coverage = float((confidence >= result.tau).mean()) if result.tau is not None and len(confidence) else None
    if result.tau is None:
        explanation = f"{note}{result.reason}"
    else:
        passed = result.kept_scored - result.kept_failures
        now = f"it keeps {coverage:.1%} of recent traffic" if coverage is not None else "there is no recent traffic"
        then = f"{realised:.1%}" if realised is not None else "—"
        explanation = (
            f"{note}Certified on {len(scored):,} {ROW_KINDS[risk]}: with probability ≥ {1 - delta:.0%}, the "
            f"student's {risk} on the traffic it keeps at τ = {result.tau:.4g} is ≥ {target:.1%} ({passed:,} of "
            f"{result.kept_scored:,} kept samples pass, p = {result.p_value:.3g}). At this τ {now}; the approved "
            f"τ = {deployment.tau:.4g} keeps {then} (validation predicted {approved_coverage:.1%})."
        )
    return Recertification(
        risk=risk, scored_rows=len(scored), certified=result, coverage=coverage, explanation=explanation, **base
    )


def _scored_set(deployment: Deployment, risk: CertifiedRisk, labels: frozenset[str]) -> PredictionSet | None:
    """The deployment's decisions that can be scored for `risk` (newest MAX_DECISIONS), as a prediction set:
    confidence, the student's label as the prediction, the teacher's as the teacher's, the true label."""
    decisions = ServedDecision.objects.filter(deployment=deployment)
    decisions = decisions.exclude(teacher_label="") if risk == "agreement" else decisions.exclude(label="")
    rows = list(
        decisions.order_by("-created_at", "-pk").values_list("confidence", "student_label", "teacher_label", "label")[
            :MAX_DECISIONS
        ]
    )
    if not rows:
        return None
    truth = [label or None for *_, label in rows]
    return PredictionSet(
        row_ids=tuple(range(len(rows))),
        confidence=tuple(float(np.clip(row[0], 0.0, 1.0)) for row in rows),
        prediction=tuple(row[1] for row in rows),
        teacher_prediction=tuple(row[2] for row in rows),
        label=tuple(truth),
        in_scope=tuple(label is not None and label in labels for label in truth),
    )


def recertification_payload(recertification: Recertification) -> dict[str, object]:
    certified = recertification.certified
    return {
        "risk": recertification.risk,
        "target": recertification.target,
        "delta": recertification.delta,
        "approved_tau": recertification.approved_tau,
        "approved_coverage": recertification.approved_coverage,
        "realised_coverage": recertification.realised_coverage,
        "scored_rows": recertification.scored_rows,
        "min_rows": recertification.min_rows,
        "tau": recertification.tau,
        "coverage": recertification.coverage,
        "p_value": certified.p_value if certified else None,
        "kept_scored": certified.kept_scored if certified else None,
        "kept_failures": certified.kept_failures if certified else None,
        "explanation": recertification.explanation,
    }
