"""The sign-off API: a pipeline can request, an approver decide, a member deploy, and anyone read the audit."""

from webapp.approvals.models import Deployment
from webapp.approvals.services import serving_key_digest


def test_request_decide_deploy_and_audit_over_the_api(api, member, approver, deployable_scenario, task):
    response = api(member).post(f"/api/tasks/{task.pk}/approval-requests/", {"scenario": deployable_scenario.pk})
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["state"] == "pending" and created["snapshot"]["student"]["sha256"]
    url = f"/api/approval-requests/{created['id']}/decision/"
    self_approval = api(member).post(url, {"outcome": "approved", "comment": "mine"}, format="json")
    assert self_approval.status_code == 403
    no_reasons = api(approver).post(url, {"outcome": "approved", "comment": "ok"}, format="json")
    assert no_reasons.status_code == 400 and "overrides" in no_reasons.json()
    overrides = {gate["key"]: "pilot" for gate in created["gates"] if not gate["passed"]}
    decided = api(approver).post(url, {"outcome": "approved", "comment": "ok", "overrides": overrides}, format="json")
    assert decided.status_code == 201 and decided.json()["decision"]["decided_by"] == "april-approver"
    again = api(approver).post(url, {"outcome": "rejected", "comment": "no"}, format="json")
    assert again.status_code == 400 and "already approved" in str(again.json())
    deployed = api(member).post(f"/api/approval-requests/{created['id']}/deploy/", {"shadow_rate": 0.2}, format="json")
    assert deployed.status_code == 201
    body = deployed.json()
    deployment = Deployment.objects.get(pk=body["id"])
    assert deployment.key_sha256 == serving_key_digest(body["serving_key"])
    assert "serving_key" not in api(member).get(f"/api/deployments/{deployment.pk}/").json()
    assert api(member).get(f"/api/deployments/{deployment.pk}/model-card/").content.startswith(b"---")
    audit = api(member).get(f"/api/tasks/{task.pk}/audit/").json()
    assert audit["chain"]["intact"] and audit["chain"]["entries"] >= 3
    revoked = api(approver).post(f"/api/deployments/{deployment.pk}/revoke/", {"reason": "drift"}, format="json")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"


def test_gates_read_by_anyone_changed_by_approvers_with_bounds(api, viewer, approver, task):
    assert api(viewer).get(f"/api/tasks/{task.pk}/gates/").json()["teacher_quality_min"] == 0.85
    assert api(viewer).patch(f"/api/tasks/{task.pk}/gates/", {"teacher_quality_min": 0.9}).status_code == 403
    assert api(approver).patch(f"/api/tasks/{task.pk}/gates/", {"teacher_quality_min": 1.5}).status_code == 400
    assert api(approver).patch(f"/api/tasks/{task.pk}/gates/", {"typo_min": 1}).status_code == 400
    changed = api(approver).patch(f"/api/tasks/{task.pk}/gates/", {"ood_gap_max_points": 5}, format="json")
    assert changed.status_code == 200 and changed.json()["ood_gap_max_points"] == 5


def test_another_teams_request_and_deployment_are_404(api, outsider, deployment_and_key):
    deployment, _ = deployment_and_key
    assert api(outsider).get(f"/api/deployments/{deployment.pk}/").status_code == 404
    assert api(outsider).get(f"/api/approval-requests/{deployment.request_id}/").status_code == 404
    revoke = api(outsider).post(f"/api/deployments/{deployment.pk}/revoke/", {"reason": "x"}, format="json")
    assert revoke.status_code == 404
