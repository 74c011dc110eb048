"""The approvals pages through the web client: what each role sees and can do, and the audit page."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from webapp.approvals.models import ApprovalRequest, AuditEntry, Decision, Deployment
from webapp.approvals.services import serving_key_digest


def test_the_report_page_requests_approval_of_its_scenario(web, member, deployable_scenario):
    response = web(member).post(f"/scenarios/{deployable_scenario.pk}/request-approval/", follow=True)
    created = ApprovalRequest.objects.get(scenario=deployable_scenario)
    assert response.redirect_chain[-1][0] == f"/approval-requests/{created.pk}/"
    page = response.content.decode()
    assert "Waiting for another approver" in page and 'data-gate="certificate"' in page


def test_the_requester_sees_no_decision_form_and_an_approver_does(web, member, approver, approval_request):
    assert 'id="decision-form"' not in web(member).get(f"/approval-requests/{approval_request.pk}/").content.decode()
    page = web(approver).get(f"/approval-requests/{approval_request.pk}/").content.decode()
    assert 'id="decision-form"' in page
    for gate in approval_request.failed_gates:
        assert f'name="override_{gate["key"]}"' in page


def test_approving_failed_gates_without_reasons_is_refused_on_the_page(web, approver, approval_request):
    response = web(approver).post(
        f"/approval-requests/{approval_request.pk}/decide/", {"outcome": "approved", "comment": "fine"}
    )
    assert response.status_code == 400
    assert "needs a written reason" in response.content.decode()
    assert not Decision.objects.exists()


def test_approve_deploy_shows_the_key_once_then_revoke(web, approver, member, approval_request):
    data = {"outcome": "approved", "comment": "pilot"}
    data |= {f"override_{gate['key']}": "pilot on a small share" for gate in approval_request.failed_gates}
    assert web(approver).post(f"/approval-requests/{approval_request.pk}/decide/", data).status_code == 302
    as_member = web(member)
    response = as_member.post(f"/approval-requests/{approval_request.pk}/deploy/", {"shadow_rate": "0.1"})
    deployment = Deployment.objects.get(request=approval_request)
    assert response.status_code == 302 and response["Location"] == f"/deployments/{deployment.pk}/"  # F5-safe
    response = as_member.get(response["Location"])
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    key = _shown_key(response.content.decode())
    assert deployment.key_sha256 == serving_key_digest(key) and deployment.shadow_rate == 0.1
    assert key not in as_member.get(f"/deployments/{deployment.pk}/").content.decode()  # shown once
    manifest = json.loads(web(member).get(f"/deployments/{deployment.pk}/manifest.json").content)
    assert manifest["deployment_id"] == deployment.pk
    card = web(member).get(f"/deployments/{deployment.pk}/README.md").content.decode()
    assert "model-index" in card
    # A member can't revoke; an approver can, with a reason.
    assert web(member).post(f"/deployments/{deployment.pk}/revoke/", {"reason": "x"}).status_code == 403
    assert web(approver).post(f"/deployments/{deployment.pk}/revoke/", {"reason": "drift"}).status_code == 302
    deployment.refresh_from_db()
    assert deployment.state == "revoked" and deployment.end_reason == "drift"


def test_rotating_the_key_redirects_and_shows_the_new_key_once(web, member, approver, approved_request):
    from webapp.approvals.services import deployment_create

    deployment, first_key = deployment_create(request=approved_request, user=member, shadow_rate=0.0)
    as_approver = web(approver)
    response = as_approver.post(f"/deployments/{deployment.pk}/rotate-key/")
    assert response.status_code == 302 and response["Location"] == f"/deployments/{deployment.pk}/"
    key = _shown_key(as_approver.get(response["Location"]).content.decode())
    deployment.refresh_from_db()
    assert key != first_key and deployment.key_sha256 == serving_key_digest(key)
    reloaded = as_approver.get(f"/deployments/{deployment.pk}/")  # a reload is a GET: nothing rotates again
    deployment.refresh_from_db()
    assert key not in reloaded.content.decode() and deployment.key_sha256 == serving_key_digest(key)


def _shown_key(page: str) -> str:
    return page.split('aria-label="Serving key"')[0].rsplit('value="', 1)[1].split('"')[0]


def test_a_viewer_can_read_but_not_request_decide_or_change_gates(web, viewer, approval_request, task):
    client = web(viewer)
    assert client.get(f"/tasks/{task.pk}/approvals/").status_code == 200
    request_data = {"scenario": approval_request.scenario_id}
    assert client.post(f"/tasks/{task.pk}/approvals/request/", request_data).status_code == 403
    assert client.post(f"/tasks/{task.pk}/approvals/gates/", {"teacher_quality_min": 0.1}).status_code == 403
    assert client.post(f"/approval-requests/{approval_request.pk}/decide/",
                       {"outcome": "rejected", "comment": "x"}).status_code == 403  # fmt: skip
    assert ApprovalRequest.objects.count() == 1 and not Decision.objects.exists()


def test_an_approver_changes_a_gate_and_it_is_audited(web, approver, task):
    values = {
        "teacher_quality_min": "0.9", "student_retention_min": "0.95", "ood_gap_max_points": "8",
        "ece_after_max": "0.04", "worst_class_recall_min": "0.4", "require_certificate": "on",
        "breakeven_max_months": "9",
    }  # fmt: skip
    assert web(approver).post(f"/tasks/{task.pk}/approvals/gates/", values).status_code == 302
    entry = AuditEntry.objects.get(action="gates.updated")
    assert "teacher_quality_min: 0.85 → 0.9" in entry.summary and entry.actor_name == "april-approver"
    bad = values | {"teacher_quality_min": "85"}
    response = web(approver).post(f"/tasks/{task.pk}/approvals/gates/", bad)
    assert response.status_code == 400 and "between 0 and 1" in response.content.decode()


def test_the_audit_page_shows_the_chain_and_its_export_reverifies(web, member, approved_request, task, tmp_path):
    page = web(member).get(f"/tasks/{task.pk}/audit/").content.decode()
    assert "Chain intact" in page and 'data-action="request.approved"' in page
    export = b"".join(web(member).get(f"/tasks/{task.pk}/audit/export.jsonl").streaming_content)
    path = tmp_path / "audit.jsonl"
    path.write_bytes(export)
    call_command("audit_verify", str(path))  # intact: no error
    lines = export.decode().splitlines()
    edited = json.loads(lines[0]) | {"summary": "nothing happened"}
    path.write_text("\n".join([json.dumps(edited), *lines[1:]]) + "\n")
    with pytest.raises(CommandError, match="broken"):
        call_command("audit_verify", str(path))


def test_the_audit_page_says_where_the_chain_breaks(web, member, approved_request, task):
    entry = AuditEntry.objects.order_by("seq").last()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE approvals_auditentry DISABLE TRIGGER approvals_audit_append_only")
        cursor.execute("DELETE FROM approvals_auditentry WHERE id = %s", [entry.pk - 1])
        cursor.execute("ALTER TABLE approvals_auditentry ENABLE TRIGGER approvals_audit_append_only")
    page = web(member).get(f"/tasks/{task.pk}/audit/").content.decode()
    assert "Chain broken at entry" in page and "missing" in page
