"""Sign-off and what follows it: per-task evidence gates, approval requests with their frozen evidence, the one
decision each gets, the deployments an approval produces, the decisions their endpoint logs, and the
hash-chained audit log of all of it.

Two rules live in the database, not only in the services (migration 0002): nobody decides their own request (a
trigger), and audit entries are never updated or deleted (a trigger)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from webapp.accounts.models import Team
from webapp.registry.models import Student, Task, Teacher


class GatePolicy(models.Model):
    """The thresholds a student must meet to be approved for a task; defaults are what practitioners advise."""

    task = models.OneToOneField(Task, on_delete=models.CASCADE, related_name="gate_policy")
    teacher_quality_min = models.FloatField(default=0.85, help_text="The teacher's test accuracy at least this.")
    student_retention_min = models.FloatField(
        default=0.97, help_text="Student test accuracy ÷ teacher test accuracy at least this."
    )
    ood_gap_max_points = models.FloatField(
        default=10.0, help_text="Student accuracy drop from test to each OOD set, in points, at most this."
    )
    ece_after_max = models.FloatField(default=0.05, help_text="The student's test ECE after temperature scaling.")
    worst_class_recall_min = models.FloatField(default=0.5, help_text="The student's lowest per-class test recall.")
    require_certificate = models.BooleanField(
        default=True, help_text="The certified τ's guarantee must still hold on the current validation data."
    )
    breakeven_max_months = models.FloatField(default=12.0, help_text="The scenario's breakeven at most this.")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"gates of {self.task}"


class ApprovalRequest(models.Model):
    """A member asks to deploy student + τ + scenario. The evidence and the gate results are frozen here when
    the request is made: an approver judges exactly what was requested, even if newer evidence arrives."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for a decision"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="approval_requests")
    scenario = models.ForeignKey("economics.Scenario", on_delete=models.PROTECT, related_name="approval_requests")
    student = models.ForeignKey(Student, null=True, on_delete=models.SET_NULL, related_name="approval_requests")
    student_name = models.CharField(max_length=200)
    tau = models.FloatField()
    temperature = models.FloatField()
    snapshot = models.JSONField(help_text="The evidence as it was when requested (ids, metrics, hashes).")
    snapshot_sha256 = models.CharField(max_length=64)
    gates = models.JSONField(help_text="Each gate: key, label, threshold, value, passed, detail.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    note = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"request #{self.pk}: {self.student_name} at τ {self.tau:.3f}"

    @property
    def failed_gates(self) -> list[dict[str, object]]:
        return [gate for gate in self.gates if not gate["passed"]]


class Decision(models.Model):
    """The one decision on a request (the one-to-one key makes two approvers acting at once end with exactly
    one row). Approving with failed gates needs a written reason per failed gate in `overrides`."""

    class Outcome(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    request = models.OneToOneField(ApprovalRequest, on_delete=models.PROTECT, related_name="decision")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    comment = models.TextField()
    overrides = models.JSONField(default=dict, blank=True, help_text="Failed gate key → the written reason.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(comment=""), name="decision_has_comment")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} request #{self.request_id}"


class Deployment(models.Model):
    """What an approved request put into service: the manifest (artifact + sha256, T, τ and its certificate,
    fallback teacher, expected figures, approval ids) and the model card. At most one active per task: a new
    deployment supersedes the active one."""

    class State(models.TextChoices):
        ACTIVE = "active", "Serving"
        REVOKED = "revoked", "Revoked"
        SUPERSEDED = "superseded", "Superseded"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="deployments")
    request = models.OneToOneField(ApprovalRequest, on_delete=models.PROTECT, related_name="deployment")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="deployments")
    teacher = models.ForeignKey(Teacher, null=True, on_delete=models.SET_NULL, related_name="deployments")
    tau = models.FloatField()
    temperature = models.FloatField()
    manifest = models.JSONField()
    manifest_sha256 = models.CharField(max_length=64)
    model_card = models.TextField()
    key_sha256 = models.CharField(max_length=64, unique=True, help_text="The serving key, stored only hashed.")
    shadow_rate = models.FloatField(default=0.0, help_text="Share of kept traffic also sent to the teacher.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["task"], condition=Q(state="active"), name="one_active_deployment_per_task"
            ),
            models.CheckConstraint(condition=Q(shadow_rate__gte=0) & Q(shadow_rate__lte=1), name="shadow_rate_share"),
        ]

    def __str__(self) -> str:
        return f"deployment #{self.pk} ({self.get_state_display()})"


class ServedDecision(models.Model):
    """One routing decision: logged by the serving endpoint, or uploaded from a deployment elsewhere. The text
    itself is not kept (production traffic may be personal data); its sha256 is, to spot replays."""

    class Tier(models.TextChoices):
        STUDENT = "student", "Student"
        TEACHER = "teacher", "Teacher"

    class Source(models.TextChoices):
        ENDPOINT = "endpoint", "Serving endpoint"
        UPLOAD = "upload", "Uploaded"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="decisions")
    created_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.ENDPOINT)
    tier = models.CharField(max_length=16, choices=Tier.choices)
    confidence = models.FloatField(help_text="The student's temperature-scaled top-class probability.")
    student_label = models.CharField(max_length=200)
    teacher_label = models.CharField(max_length=200, blank=True, help_text="When escalated or shadowed.")
    shadow = models.BooleanField(default=False, help_text="Kept by the student and also sent to the teacher.")
    label = models.CharField(max_length=200, blank=True, help_text="The true label, where one is known.")
    latency_ms = models.FloatField(null=True)
    text_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["deployment", "created_at"], name="served_by_deployment_time")]

    def __str__(self) -> str:
        return f"{self.tier} answered {self.student_label!r} ({self.confidence:.3f})"


class AuditEntry(models.Model):
    """One line of a team's append-only audit log. Each carries the sha256 of the previous one (`prev_hash`)
    and of itself, so an edited, deleted or reordered line breaks the chain (`webapp.approvals.audit`).

    Actor and task are kept as ids and names, not foreign keys, so no later deletion ever rewrites a line."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="audit_entries")
    seq = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()
    action = models.CharField(max_length=48)
    actor_id = models.BigIntegerField(null=True)
    actor_name = models.CharField(max_length=150)
    task_id = models.BigIntegerField(null=True)
    task_name = models.CharField(max_length=120, blank=True)
    object_type = models.CharField(max_length=48)
    object_id = models.BigIntegerField(null=True)
    summary = models.TextField()
    evidence = models.JSONField(default=dict, help_text="The evidence ids the action stood on.")
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["team", "seq"]
        constraints = [models.UniqueConstraint(fields=["team", "seq"], name="audit_seq_once_per_team")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_name}"


class MonitoringAlert(models.Model):
    """One alert episode of a deployment's monitoring: opened the first time a signal is seen in alert (that is
    when the audit log gets its one "monitoring.alert" line), closed the next time the signal is seen ok. A page
    view, an API call or the periodic check may be the one that sees it: the constraint keeps one open episode
    per deployment and signal, so two of them at once still raise it once."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="monitoring_alerts")
    signal = models.CharField(max_length=48)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    value = models.FloatField(null=True, help_text="The signal's value when the episode opened.")
    monthly_usd_impact = models.FloatField(null=True, help_text="Extra serving cost a month (negative: saved).")
    summary = models.TextField()
    audit_seq = models.PositiveBigIntegerField(null=True, help_text="The audit line that recorded it.")

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "signal"], condition=Q(closed_at__isnull=True), name="one_open_alert_per_signal"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.signal} alert on deployment #{self.deployment_id}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
