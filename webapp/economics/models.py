"""Saved decisions: a scenario (assumptions + the evidence they were applied to + every figure it gave),
immutable once saved (a change is a new version), and share links to its stakeholder report."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from webapp.registry.models import Student, Task


class Scenario(models.Model):
    """One version of a named ROI scenario. Rows are never updated: saving a change adds version + 1."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(max_length=120)
    version = models.PositiveIntegerField(default=1)
    # The candidate it is about; the figures and evidence ids below stay if the student is deleted.
    student = models.ForeignKey(Student, null=True, on_delete=models.SET_NULL, related_name="scenarios")
    student_name = models.CharField(max_length=200)
    # What the user entered, the evidence it was applied to (evaluation/job ids, dataset and artifact
    # hashes), and every figure the analysis gave: a report re-reads these, it never recomputes.
    assumptions = models.JSONField()
    evidence = models.JSONField()
    figures = models.JSONField()
    verdict = models.CharField(max_length=32)
    breakeven_months = models.FloatField(null=True)
    monthly_savings_usd = models.FloatField()
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["task", "name", "version"], name="scenario_version_once")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class ShareLink(models.Model):
    """A read-only link to a scenario's report for people without an account. Only the token's sha256 is
    stored: the link is shown once, when it is made."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="share_links")
    token_sha256 = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(revoked_at__isnull=True) | Q(revoked_at__gte=models.F("created_at")),
                                   name="share_link_revoked_after_made"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"link to {self.scenario} ({self.state})"

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "active"
