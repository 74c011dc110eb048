"""The demo's progress: one row per demo task, so pages can say what the demo is doing and a second
`make run` picks up where the first stopped."""

from django.conf import settings
from django.db import models

from webapp.registry.models import Task


class DemoRun(models.Model):
    task = models.OneToOneField(Task, on_delete=models.CASCADE, related_name="demo_run")
    # Who the demo acts as: the demo admin starts the jobs; a demo member asks for approval, so the person
    # logged in as admin can decide it (nobody decides their own request).
    admin = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    step = models.PositiveSmallIntegerField(default=0, help_text="Index into pipeline.STEPS of the current step.")
    message = models.TextField(blank=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    failed = models.BooleanField(default=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"demo of {self.task}"
