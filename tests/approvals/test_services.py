"""Requests, decisions and deployments through the services, against the real database (its triggers too)."""

import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from webapp.approvals.audit import chain_verify, team_chain
from webapp.approvals.models import ApprovalRequest, AuditEntry, Decision, Deployment
from webapp.approvals.services import (
    deployment_create,
    deployment_revoke,
    request_create,
    request_decide,
    serving_key_digest,
)


def test_a_request_freezes_the_evidence_and_judges_every_gate(approval_request, deployable_student):
    snapshot = approval_request.snapshot
    assert snapshot["student"]["sha256"] == deployable_student.artifact_sha256
    assert snapshot["scenario"]["version"] == 1
    assert snapshot["validation"]["evaluation_id"]
    assert snapshot["student_test"]["accuracy"] is not None
    keys = [gate["key"] for gate in approval_request.gates]
    assert keys == ["teacher_quality", "retention", "ood_gap", "calibration", "worst_class", "certificate", "breakeven"]
    ood = next(g for g in approval_request.gates if g["key"] == "ood_gap")
    assert not ood["passed"] and ood["value"] == "not measured"  # no OOD evaluation: a missing number fails
    assert approval_request.state == ApprovalRequest.State.PENDING


def test_nobody_decides_their_own_request(approval_request, member, team):
    from webapp.accounts.models import Membership, Role

    Membership.objects.filter(user=member, team=team).update(role=Role.APPROVER)
    with pytest.raises(PermissionDenied, match="own request"):
        request_decide(request=approval_request, user=member, outcome="approved", comment="mine")


def test_the_database_refuses_a_self_approval_even_past_the_service(approval_request, member):
    with pytest.raises(IntegrityError, match="four eyes"), transaction.atomic():
        Decision.objects.create(request=approval_request, outcome="approved", comment="x", decided_by=member)


def test_a_member_cannot_approve(approval_request, admin, member, viewer):
    with pytest.raises(PermissionDenied):
        request_decide(request=approval_request, user=viewer, outcome="approved", comment="x")


def test_failed_gates_need_a_written_reason_each(approval_request, approver):
    failed = approval_request.failed_gates
    assert failed
    with pytest.raises(ValidationError, match="reason"):
        request_decide(request=approval_request, user=approver, outcome="approved", comment="ok")
    overrides = {gate["key"]: "pilot on 5% of traffic" for gate in failed}
    decision = request_decide(
        request=approval_request, user=approver, outcome="approved", comment="ok", overrides=overrides
    )
    assert decision.overrides == overrides
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions.count("gate.overridden") == len(failed)


def test_rejecting_needs_no_override_but_a_comment(approval_request, approver):
    with pytest.raises(ValidationError, match="comment"):
        request_decide(request=approval_request, user=approver, outcome="rejected", comment="  ")
    request_decide(request=approval_request, user=approver, outcome="rejected", comment="OOD gap too wide")
    approval_request.refresh_from_db()
    assert approval_request.state == "rejected"


def test_a_second_decision_is_refused(approved_request, admin):
    with pytest.raises(ValidationError, match="already approved by april-approver"):
        request_decide(request=approved_request, user=admin, outcome="rejected", comment="no")


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_exactly_one_wins(approval_request, approver, admin):
    overrides = {gate["key"]: "pilot" for gate in approval_request.failed_gates}
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(user, outcome):
        barrier.wait()
        try:
            request_decide(
                request=ApprovalRequest.objects.get(pk=approval_request.pk), user=user, outcome=outcome,
                comment="at once", overrides=overrides,
            )  # fmt: skip
            outcomes.append("won")
        except ValidationError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=a) for a in ((approver, "approved"), (admin, "rejected"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("won") == 1
    assert Decision.objects.filter(request=approval_request).count() == 1
    assert any("already" in o for o in outcomes)


def test_deploying_writes_manifest_and_model_card_and_stores_the_key_hashed(deployment_and_key, approved_request):
    deployment, key = deployment_and_key
    assert deployment.key_sha256 == serving_key_digest(key) and key not in str(deployment.manifest)
    manifest = deployment.manifest
    assert manifest["student"]["sha256"] == approved_request.snapshot["student"]["sha256"]
    assert manifest["tau"] == approved_request.tau and manifest["temperature"] == approved_request.temperature
    assert manifest["approval"]["approved_by"] == "april-approver"
    assert deployment.model_card.startswith("---\n") and "model-index:" in deployment.model_card
    assert "Limitations" in deployment.model_card


def test_a_new_deployment_supersedes_the_active_one(deployment_and_key, deployable_scenario, member, approver):
    first, _ = deployment_and_key
    again = request_create(scenario=deployable_scenario, user=member)
    overrides = {gate["key"]: "pilot" for gate in again.failed_gates}
    request_decide(request=again, user=approver, outcome="approved", comment="v2", overrides=overrides)
    again.refresh_from_db()
    second, _ = deployment_create(request=again, user=member)
    first.refresh_from_db()
    assert first.state == Deployment.State.SUPERSEDED and second.state == Deployment.State.ACTIVE


def test_an_artifact_changed_on_disk_is_refused_at_approval_and_deployment(approval_request, approver, member):
    folder = Path(settings.MODEL_ROOT) / approval_request.student.artifact
    (folder / "config.json").write_text((folder / "config.json").read_text().replace("2", "3", 1))
    overrides = {gate["key"]: "pilot" for gate in approval_request.failed_gates}
    with pytest.raises(ValidationError, match="changed on disk"):
        request_decide(request=approval_request, user=approver, outcome="approved", comment="ok", overrides=overrides)


def test_revoking_is_audited_and_the_chain_verifies(deployment_and_key, approver, team):
    deployment, _ = deployment_and_key
    deployment_revoke(deployment=deployment, user=approver, reason="drift")
    actions = list(AuditEntry.objects.filter(team=team).order_by("seq").values_list("action", flat=True))
    assert actions == ["request.created", "request.approved", *(["gate.overridden"] * (len(actions) - 4)),
                       "deployment.created", "deployment.revoked"]  # fmt: skip
    report = chain_verify(team_chain(team))
    assert report.intact and report.entries == len(actions)


def test_the_audit_log_refuses_updates_and_deletes(approval_request):
    entry = AuditEntry.objects.first()
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(summary="nothing happened")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        entry.delete()


def test_the_chain_names_an_edited_line(approved_request, team):
    """Someone with the database's owner rights switches the trigger off and edits a line: verify finds it."""
    entry = AuditEntry.objects.filter(team=team).order_by("seq").first()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks, or ALTER TABLE is refused
        cursor.execute("ALTER TABLE approvals_auditentry DISABLE TRIGGER approvals_audit_append_only")
        cursor.execute("UPDATE approvals_auditentry SET summary = 'nothing to see' WHERE id = %s", [entry.pk])
        cursor.execute("ALTER TABLE approvals_auditentry ENABLE TRIGGER approvals_audit_append_only")
    report = chain_verify(team_chain(team))
    assert not report.intact and report.broken_at == entry.seq and "edited" in report.problem
