from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "webapp.approvals"
    label = "approvals"
