from django.conf import settings
from django.db import models
from django.utils import timezone

from webapp.registry.models import Task

LOG_TAIL_CHARS = 8000
# The time left is withheld until the rate it extrapolates is measured on this much work: the first steps'
# rate said 3 h 19 m for a 13-minute job (model loading and caching counted as if they were steps).
ETA_MIN_STEPS = 3
ETA_MIN_SHARE = 0.02  # of the whole job
ETA_MIN_SECONDS = 15.0


class Job(models.Model):
    """One unit of work on a worker. The row is the truth: the browser and the API only read it."""

    class Kind(models.TextChoices):
        PROFILE_DATASET = "profile_dataset", "Profile dataset with the teacher's tokenizer"
        FINETUNE_TEACHER = "finetune_teacher", "Fine-tune teacher"
        DISTILL_STUDENT = "distill_student", "Distil student"
        SWEEP = "sweep", "Distil a sweep of student sizes"
        QUANTIZE_STUDENT = "quantize_student", "Quantize student (int8)"
        EVALUATE = "evaluate", "Evaluate a model"

    # Kinds that train, and so report loss and accuracy curves (an evaluation reports none).
    TRAINING_KINDS = (Kind.FINETUNE_TEACHER, Kind.DISTILL_STUDENT)

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"  # expected and user-fixable: the message says what to do
        ERRORED = "errored", "Errored"  # a bug or a lost worker: the traceback is kept
        CANCELLED = "cancelled", "Cancelled"

    TERMINAL = (Status.SUCCEEDED, Status.FAILED, Status.ERRORED, Status.CANCELLED)

    class Queue(models.TextChoices):
        GPU = "gpu", "GPU"
        DEFAULT = "default", "Default"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="jobs")
    # A sweep's children point at it; the parent's status follows theirs.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # What it does, in words ("Evaluate 2-layer truncated student (job 4) on test v1, ood v1"), set when it is
    # started; blank for jobs started before titles were kept (pages fall back to the kind).
    title = models.CharField(max_length=300, blank=True)
    params = models.JSONField(default=dict)
    queue = models.CharField(max_length=16, choices=Queue.choices, default=Queue.DEFAULT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    step = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    log_tail = models.TextField(blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True)
    # Compute used, over all attempts (the ROI's measured training cost): a readable description of the
    # device and its structured form ({kind, name, threads, dtype}), so CPU time never prices a GPU.
    device_kind = models.CharField(max_length=120, blank=True)
    device = models.JSONField(default=dict, blank=True)
    device_seconds = models.FloatField(default=0.0)
    # Teacher calls (the ROI's data-generation cost); estimated for uploaded outputs (nothing ran here).
    teacher_examples = models.PositiveBigIntegerField(default=0)
    teacher_input_tokens = models.PositiveBigIntegerField(default=0)
    teacher_output_tokens = models.PositiveBigIntegerField(default=0)
    teacher_usage_estimated = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When this attempt reported its first step, and which: the time left is extrapolated from the rate since
    # then, not since start-up (loading a model, caching teacher outputs take a while before step one).
    rate_since = models.DateTimeField(null=True, blank=True)
    rate_since_step = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(step__lte=models.F("total")) | models.Q(total=0), name="step_within_total"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def display_title(self) -> str:
        return self.title or self.get_kind_display()

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def progress(self) -> float:
        if self.status == self.Status.SUCCEEDED:
            return 1.0
        return min(1.0, self.step / self.total) if self.total else 0.0

    @property
    def elapsed_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the rate measured since this attempt's first step; None ("estimating…") until that
        rate is measured on enough work (ETA_MIN_*) to say something stable."""
        if self.status != self.Status.RUNNING or not self.total or self.rate_since is None:
            return None
        steps = self.step - self.rate_since_step
        seconds = (timezone.now() - self.rate_since).total_seconds()
        if steps < max(ETA_MIN_STEPS, ETA_MIN_SHARE * self.total) or seconds < ETA_MIN_SECONDS:
            return None
        return seconds * (self.total - self.step) / steps

    def append_log(self, line: str) -> None:
        self.log_tail = (self.log_tail + line.rstrip("\n") + "\n")[-LOG_TAIL_CHARS:]


class JobMetric(models.Model):
    """A point of a live curve (loss, accuracy...) reported by a running job."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="metrics")
    step = models.PositiveBigIntegerField()
    name = models.CharField(max_length=64)
    value = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "name", "step"]
        indexes = [models.Index(fields=["job", "name", "step"])]

    def __str__(self) -> str:
        return f"{self.name}={self.value:g} at step {self.step}"
