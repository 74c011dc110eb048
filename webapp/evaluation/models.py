"""The evidence: each model's measured quality, calibration and speed per dataset, and results of models
evaluated elsewhere, side by side in the tier table."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from webapp.registry.models import Dataset, Student, Task, Teacher


class Evaluation(models.Model):
    """One model (a teacher or a student) on one dataset, from one evaluate job. Evidence outlives what it
    measured: deleting the model or the dataset keeps the row, with their names and digests."""

    class ModelKind(models.TextChoices):
        TEACHER = "teacher", "Teacher"
        STUDENT = "student", "Student"
        QUANTIZED = "quantized", "Quantized student"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="evaluations")
    teacher = models.ForeignKey(Teacher, null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluations")
    student = models.ForeignKey(Student, null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluations")
    # What was measured, kept when the model row is deleted: its name, kind and artifact digest.
    model_name = models.CharField(max_length=200, default="")
    model_kind = models.CharField(max_length=16, choices=ModelKind.choices, default=ModelKind.STUDENT)
    artifact_sha256 = models.CharField(max_length=64, blank=True, default="")
    # The dataset may be deleted later; its name and role stay so the evidence still reads.
    dataset = models.ForeignKey(Dataset, null=True, on_delete=models.SET_NULL, related_name="evaluations")
    dataset_name = models.CharField(max_length=200)
    dataset_role = models.CharField(max_length=16, choices=Dataset.Role.choices)
    dataset_sha256 = models.CharField(max_length=64)
    job = models.ForeignKey("jobs.Job", null=True, on_delete=models.SET_NULL, related_name="+")
    # Headline figures as columns (the tier table sorts and colours them); the rest lives in `metrics`.
    examples = models.PositiveIntegerField(default=0)
    in_scope_examples = models.PositiveIntegerField(default=0)
    accuracy = models.FloatField(null=True)
    macro_f1 = models.FloatField(null=True)
    ece_before = models.FloatField(null=True)
    ece_after = models.FloatField(null=True)
    # Temperature T and threshold τ, fitted on `calibration_dataset` (its sha256 kept if it is deleted).
    temperature = models.FloatField(default=1.0)
    threshold = models.FloatField(null=True, help_text="Confidence threshold τ picked on the validation set.")
    calibration_dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.SET_NULL, related_name="calibrated_evaluations"
    )
    calibration_dataset_sha256 = models.CharField(max_length=64, blank=True, default="")
    agreement_with_teacher = models.FloatField(null=True)
    metrics = models.JSONField(default=dict)
    # Speed measured by the same job, on `device` ({kind, name, threads, dtype}); null when nothing ran.
    speed = models.JSONField(null=True, blank=True)
    device = models.JSONField(default=dict, blank=True)
    predictions_path = models.CharField(max_length=500, blank=True, help_text="Relative to DATA_DIR (JSONL).")
    predictions_sha256 = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one model; none once the model it measured was deleted.
            models.CheckConstraint(
                condition=Q(teacher__isnull=True) | Q(student__isnull=True), name="evaluation_of_at_most_one_model"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model_label} on {self.dataset_name}"

    @property
    def model(self) -> Teacher | Student | None:
        """The measured model, or None when it has been deleted since (the evidence stays)."""
        return self.teacher or self.student

    @property
    def model_deleted(self) -> bool:
        return self.teacher_id is None and self.student_id is None

    @property
    def model_label(self) -> str:
        return self.model_name + (" (deleted)" if self.model_deleted else "")


class ExternalResult(models.Model):
    """A score of a model evaluated elsewhere (lm-evaluation-harness JSON or a CSV), for the tier table."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="external_results")
    model_name = models.CharField(max_length=200)
    benchmark = models.CharField(max_length=200)
    metric = models.CharField(max_length=64, default="score")
    score = models.FloatField()
    parameters = models.PositiveBigIntegerField(null=True, blank=True)
    source_filename = models.CharField(max_length=255)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model_name", "benchmark"]
        constraints = [
            models.UniqueConstraint(fields=["task", "model_name", "benchmark"], name="external_result_once"),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} on {self.benchmark}: {self.score:.3f}"
