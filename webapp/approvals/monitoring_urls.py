"""Monitoring of deployments; included at the site root (next to webapp.approvals.urls)."""

from django.urls import path

from webapp.approvals import monitoring_views as views

urlpatterns = [
    path("deployments/<int:deployment_id>/monitoring/", views.deployment_monitoring, name="deployment-monitoring"),
    path(
        "deployments/<int:deployment_id>/monitoring/upload/",
        views.deployment_monitoring_upload,
        name="deployment-monitoring-upload",
    ),
    path(
        "deployments/<int:deployment_id>/monitoring/recertify/",
        views.deployment_recertify,
        name="deployment-recertify",
    ),
]
