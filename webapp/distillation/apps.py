from django.apps import AppConfig


class DistillationConfig(AppConfig):
    name = "webapp.distillation"
    label = "distillation"
