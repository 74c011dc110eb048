from django.apps import AppConfig


class EconomicsConfig(AppConfig):
    name = "webapp.economics"
    label = "economics"
