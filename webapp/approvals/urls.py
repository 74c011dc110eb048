"""Approvals, deployments and the audit log; included at the site root."""

from django.urls import path

from webapp.approvals import views

urlpatterns = [
    path("tasks/<int:task_id>/approvals/", views.approvals_overview, name="approvals"),
    path("tasks/<int:task_id>/approvals/gates/", views.gate_policy_update_view, name="gate-policy-update"),
    path("tasks/<int:task_id>/approvals/request/", views.request_create_view, name="approval-request-create"),
    path("tasks/<int:task_id>/audit/", views.audit_log, name="audit-log"),
    path("tasks/<int:task_id>/audit/export.jsonl", views.audit_export, name="audit-export"),
    path("scenarios/<int:scenario_id>/request-approval/", views.request_from_scenario, name="scenario-request"),
    path("approval-requests/<int:request_id>/", views.request_detail, name="approval-request"),
    path("approval-requests/<int:request_id>/decide/", views.request_decide_view, name="approval-decide"),
    path("approval-requests/<int:request_id>/withdraw/", views.request_withdraw_view, name="approval-withdraw"),
    path("approval-requests/<int:request_id>/deploy/", views.deploy_view, name="approval-deploy"),
    path("deployments/<int:deployment_id>/", views.deployment_detail, name="deployment-detail"),
    path("deployments/<int:deployment_id>/revoke/", views.deployment_revoke_view, name="deployment-revoke"),
    path("deployments/<int:deployment_id>/shadow/", views.deployment_shadow_view, name="deployment-shadow"),
    path("deployments/<int:deployment_id>/rotate-key/", views.deployment_key_rotate_view, name="deployment-rotate"),
    path("deployments/<int:deployment_id>/manifest.json", views.deployment_manifest, name="deployment-manifest"),
    path("deployments/<int:deployment_id>/README.md", views.deployment_model_card, name="deployment-model-card"),
]
