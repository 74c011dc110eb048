"""Acceptance (issue 10): a student/teacher cascade trained on BANKING77's 50 in-scope intents, deployed through
the real services, then fed production traffic the way a cascade serves it. Replaying the in-distribution test
set raises no alert; replaying the 27 held-out intents (`oos_test`) raises a drift alert with its monthly cost.

The models come from `tests.banking_tiny` (trained once per session); this module records their evidence, has
the deployment requested, approved and deployed, and logs one decision per text: the student's confidence
softmax(logits / T) against τ, the teacher's answer when it escalates. No labels reach production: the alerts
stand on coverage and the confidence distribution alone."""

import hashlib
from datetime import timedelta

import pytest
import torch
from django.utils import timezone

from tests.banking_tiny import SetOutputs, TinyBanking, banking_scenario, tiny_banking  # noqa: F401
from webapp.approvals.models import AuditEntry, Deployment, ServedDecision
from webapp.approvals.monitoring_services import monitoring_check
from webapp.approvals.services import deployment_create, request_create, request_decide

# Measured speeds, as an evaluate job would record them (the ROI analysis prices serving from them).
STUDENT_SPEED = {"latency_p50_ms": 1.5, "latency_p95_ms": 2.5, "throughput_b32": 900.0, "parameters": 100_000}
TEACHER_SPEED = {"latency_p50_ms": 3.0, "latency_p95_ms": 5.0, "throughput_b32": 450.0, "parameters": 150_000}
# τ by hand at validation's 30th percentile of calibrated confidence: the student keeps 70% of validation.


def calibrated(outputs: SetOutputs, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The student's top-class probability after temperature scaling, and its label index."""
    return torch.softmax(outputs.student / temperature, dim=1).max(dim=1)


@pytest.fixture
def banking_deployment(tiny_banking: TinyBanking, team, member, approver) -> Deployment:  # noqa: F811
    scenario = banking_scenario(tiny_banking, team=team, member=member)
    request = request_create(scenario=scenario, user=member, note="BANKING77 pilot")
    overrides = {gate["key"]: "acceptance test: a pilot" for gate in request.failed_gates}
    request_decide(request=request, user=approver, outcome="approved", comment="pilot", overrides=overrides)
    request.refresh_from_db()
    deployment, _ = deployment_create(request=request, user=member)
    return deployment


def replay(deployment: Deployment, outputs: SetOutputs, labels: list[str]) -> int:
    """One decision per text, as the cascade makes it: the student keeps a text when its calibrated confidence
    reaches τ, else the teacher answers. Returns how many the student kept."""
    confidence, predicted = calibrated(outputs, deployment.temperature)
    teacher = outputs.teacher.argmax(dim=1)
    start = timezone.now() - timedelta(hours=2)
    decisions = []
    for i, row in enumerate(outputs.rows):
        kept = float(confidence[i]) >= deployment.tau
        decisions.append(
            ServedDecision(
                deployment=deployment,
                created_at=start + timedelta(seconds=2 * i),
                tier=ServedDecision.Tier.STUDENT if kept else ServedDecision.Tier.TEACHER,
                confidence=float(confidence[i]),
                student_label=labels[int(predicted[i])],
                teacher_label="" if kept else labels[int(teacher[i])],
                text_sha256=hashlib.sha256(row["text"].encode()).hexdigest(),
            )
        )
    ServedDecision.objects.bulk_create(decisions)
    return sum(d.tier == ServedDecision.Tier.STUDENT for d in decisions)


def test_the_tiny_models_learnt_the_intents(tiny_banking: TinyBanking) -> None:  # noqa: F811
    banking = tiny_banking
    for name in ("student", "teacher"):
        logits = getattr(banking.sets["test"], name)
        truth = torch.tensor([banking.labels.index(row["label"]) for row in banking.sets["test"].rows])
        assert (logits.argmax(dim=1) == truth).float().mean() > 0.6, name  # chance is 2%
    print(f"\ntiny BANKING77 models built in {banking.seconds:.1f} s ({banking.cpu_seconds:.1f} s of CPU)")


def test_in_distribution_traffic_raises_no_alert(banking_deployment, tiny_banking):  # noqa: F811
    replay(banking_deployment, tiny_banking.sets["test"], tiny_banking.labels)
    report = monitoring_check(deployment=banking_deployment)
    assert report.alerts == (), [a.explanation for a in report.alerts]
    statuses = {s.key: s.status for s in report.signals}
    assert statuses["coverage"] == statuses["psi"] == statuses["ks"] == statuses["estimated_accuracy"] == "ok"
    assert not AuditEntry.objects.filter(action="monitoring.alert").exists()


def test_held_out_intents_raise_a_drift_alert_with_its_monthly_cost(banking_deployment, tiny_banking):  # noqa: F811
    kept = replay(banking_deployment, tiny_banking.sets["oos_test"], tiny_banking.labels)
    report = monitoring_check(deployment=banking_deployment)
    alerts = {alert.signal: alert for alert in report.alerts}
    assert "coverage" in alerts, [s.explanation for s in report.signals]
    coverage = report.signal("coverage")
    assert coverage.value == pytest.approx(kept / len(tiny_banking.sets["oos_test"].rows))
    assert coverage.value < report.approved.coverage - 0.05 and coverage.p_value < 0.001
    assert alerts["coverage"].monthly_usd > 0
    assert "more a month than approved" in alerts["coverage"].impact
    assert "scenario 'Banking cascade' v1" in alerts["coverage"].impact
    audited = AuditEntry.objects.filter(action="monitoring.alert", object_id=banking_deployment.pk)
    assert {entry.evidence["signal"] for entry in audited} == set(alerts)
