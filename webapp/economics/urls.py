"""Scenario pages, the stakeholder report, its exports and share links; included at the site root."""

from django.urls import path

from webapp.economics import report_views as views

urlpatterns = [
    path("tasks/<int:task_id>/scenarios/", views.scenario_list, name="scenario-list"),
    path("tasks/<int:task_id>/scenarios/compare/", views.scenario_compare, name="scenario-compare"),
    path("scenarios/<int:scenario_id>/", views.scenario_detail, name="scenario-detail"),
    path("scenarios/<int:scenario_id>/report.html", views.scenario_export_html, name="scenario-export-html"),
    path("scenarios/<int:scenario_id>/report.pdf", views.scenario_export_pdf, name="scenario-export-pdf"),
    path("scenarios/<int:scenario_id>/share/", views.share_link_create_view, name="share-link-create"),
    path("share-links/<int:link_id>/revoke/", views.share_link_revoke_view, name="share-link-revoke"),
    # Public: the token is the only credential (read-only; unknown, expired or revoked is a 404).
    path("r/<str:token>/", views.shared_report, name="shared-report"),
    path("r/<str:token>/report.html", views.shared_report_html, name="shared-report-html"),
    path("r/<str:token>/report.pdf", views.shared_report_pdf, name="shared-report-pdf"),
]
