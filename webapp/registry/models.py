import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from webapp.accounts.models import Team

UNIT_INTERVAL = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class ArchivableQuerySet(models.QuerySet):
    def active(self) -> "ArchivableQuerySet":
        """What lists and pickers show: everything not archived."""
        return self.filter(archived_at__isnull=True)

    def archived(self) -> "ArchivableQuerySet":
        return self.filter(archived_at__isnull=False)


class Archivable(models.Model):
    """Soft deletion: an archived row leaves the lists, the pickers and the API lists, and no job starts on it,
    but it stays stored (and so does every piece of evidence pointing at it) until someone restores it."""

    archived_at = models.DateTimeField(null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ArchivableQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Task(Archivable):
    """What is being distilled: a label set, a quality bar and the traffic it must serve."""

    class Kind(models.TextChoices):
        CLASSIFICATION = "classification", "Classification"

    class Metric(models.TextChoices):
        ACCURACY = "accuracy", "Accuracy"
        MACRO_F1 = "macro_f1", "Macro-F1"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tasks")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.CLASSIFICATION)
    # The label set comes from the first labelled upload; later labelled uploads must fit it.
    labels = models.JSONField(default=list, blank=True)
    labels_reviewed = models.BooleanField(default=False)
    # Renamed and merged labels, old name -> current name. Stored files keep what was uploaded (their sha256
    # stays true); every read of a dataset's rows and label counts applies this map.
    label_map = models.JSONField(default=dict, blank=True)
    quality_metric = models.CharField(max_length=16, choices=Metric.choices, default=Metric.ACCURACY)
    quality_min = models.FloatField(default=0.85, validators=UNIT_INTERVAL)
    min_retention = models.FloatField(default=0.97, validators=UNIT_INTERVAL)
    requests_per_month = models.PositiveBigIntegerField(default=1_000_000)
    mean_input_tokens = models.PositiveIntegerField(default=60)
    mean_output_tokens = models.PositiveIntegerField(default=5)
    latency_slo_ms = models.PositiveIntegerField(default=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="task_name_unique_in_team")]

    def __str__(self) -> str:
        return self.name

    def current_label(self, label: str) -> str:
        """The name a stored label goes by now (itself unless it was renamed or merged)."""
        return self.label_map.get(label, label)


class LabelChange(models.Model):
    """The audit trail of a task's label set: who renamed or merged which labels into what, and when."""

    class Action(models.TextChoices):
        RENAMED = "renamed", "Renamed"
        MERGED = "merged", "Merged"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="label_changes")
    action = models.CharField(max_length=16, choices=Action.choices)
    sources = models.JSONField(help_text="The labels renamed or merged.")
    target = models.CharField(max_length=200)
    rows = models.PositiveIntegerField(default=0, help_text="Stored rows that now read as the target.")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {', '.join(self.sources)} → {self.target}"


class Dataset(Archivable):
    """An uploaded file, immutable once stored. A new upload under the same name is a new version."""

    class Role(models.TextChoices):
        TRAIN = "train", "Train"
        UNLABELED = "unlabeled", "Unlabeled"
        VALIDATION = "validation", "Validation"
        TEST = "test", "Test (in-distribution)"
        OOD = "ood", "Out-of-distribution"

    LABELLED_ROLES = (Role.TRAIN, Role.VALIDATION, Role.TEST, Role.OOD)

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=120)
    version = models.PositiveIntegerField(default=1)
    role = models.CharField(max_length=16, choices=Role.choices)
    original_filename = models.CharField(max_length=255)
    file_format = models.CharField(max_length=8)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    row_count = models.PositiveIntegerField()
    text_column = models.CharField(max_length=120, default="text")
    label_column = models.CharField(max_length=120, blank=True, default="label")
    stats = models.JSONField(default=dict)
    synthetic = models.BooleanField(default=False, help_text="Generated by Distillery, not real data.")
    # Relative to settings.DATA_DIR; rows.jsonl in that folder is the normalised copy workers read.
    storage_dir = models.CharField(max_length=255)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["role", "name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["task", "name", "version"], name="dataset_version_unique"),
            models.UniqueConstraint(fields=["task", "sha256"], name="dataset_file_stored_once_per_task"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def is_labelled(self) -> bool:
        return self.role != self.Role.UNLABELED

    @property
    def folder(self) -> Path:
        return Path(settings.DATA_DIR) / self.storage_dir

    @property
    def rows_path(self) -> Path:
        return self.folder / "rows.jsonl"

    @property
    def original_path(self) -> Path:
        """The uploaded file, byte for byte (its sha256 is `sha256`)."""
        return self.folder / f"original.{self.file_format}"

    def label_counts(self) -> list[tuple[str, int]]:
        """(label, rows) most frequent first, counted when the file was stored, under the labels' current names."""
        counts: dict[str, int] = {}
        for label, count in self.stats.get("label_counts", []):
            name = self.task.current_label(str(label))
            counts[name] = counts.get(name, 0) + int(count)
        return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))

    def rows(self) -> Iterator[dict[str, Any]]:
        """The stored, normalised rows ({"text", "label"}) in file order, whatever the upload's format, each
        label under its current name (the task's label_map: the file itself is never rewritten)."""
        label_map = self.task.label_map
        with self.rows_path.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                if label_map and row.get("label") in label_map:
                    row["label"] = label_map[row["label"]]
                yield row


class Teacher(Archivable):
    """The large model a task distils from, and what it costs to run."""

    class Backend(models.TextChoices):
        HF = "hf", "Hugging Face transformers (local)"
        PRECOMPUTED = "precomputed", "Precomputed outputs (uploaded)"

    class Origin(models.TextChoices):
        REGISTERED = "registered", "Registered"
        FINE_TUNED = "fine_tuned", "Fine-tuned by Distillery"

    class CostMode(models.TextChoices):
        API = "api", "API price per 1M tokens"
        GPU = "gpu", "Self-hosted GPU $/hour"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="teachers")
    name = models.CharField(max_length=120)
    backend = models.CharField(max_length=16, choices=Backend.choices, default=Backend.HF)
    # A preset name, a path under MODEL_ROOT, or a hub id present in the local cache.
    model_ref = models.CharField(max_length=500)
    max_length = models.PositiveIntegerField(default=128, validators=[MinValueValidator(8), MaxValueValidator(8192)])
    cost_mode = models.CharField(max_length=8, choices=CostMode.choices, default=CostMode.API)
    price_input_per_m = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    price_output_per_m = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    gpu_hour_price = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    gpu_count = models.PositiveIntegerField(default=1)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.REGISTERED)
    # The label order of its classification head; empty for a base encoder without a task head.
    labels = models.JSONField(default=list, blank=True)
    base = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="fine_tunes")
    source_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    metrics = models.JSONField(default=dict, blank=True)
    # Content sha256 of the folder a fine-tuned teacher was saved to (empty for registered models).
    artifact_sha256 = models.CharField(max_length=64, blank=True, default="")
    # A precomputed teacher's uploaded outputs (relative to DATA_DIR); empty for a model Distillery runs.
    outputs_dir = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["task", "name"], name="teacher_name_unique_in_task")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_precomputed(self) -> bool:
        """Its outputs were uploaded: there are no weights to run, truncate or fine-tune."""
        return self.backend == self.Backend.PRECOMPUTED

    @property
    def has_task_head(self) -> bool:
        """A teacher can be distilled from once its head predicts exactly the task's labels."""
        return bool(self.labels) and list(self.labels) == list(self.task.labels)


class Student(Archivable):
    """A candidate produced by a distill (or quantize) job; its artifact loads in plain transformers."""

    class Construction(models.TextChoices):
        TRUNCATED = "truncated", "Layer-truncated copy of the teacher"
        PRETRAINED = "pretrained", "Another pretrained model"
        SCRATCH = "scratch", "Smaller config from scratch"
        QUANTIZED = "quantized", "Int8 quantized variant"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="students")
    teacher = models.ForeignKey(Teacher, null=True, on_delete=models.SET_NULL, related_name="students")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=160)
    construction = models.CharField(max_length=16, choices=Construction.choices)
    layers = models.PositiveIntegerField(default=0)
    parameters = models.PositiveBigIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    labels = models.JSONField(default=list)
    # Relative to MODEL_ROOT, so it resolves like any model ref ("./distillery/..."); its content sha256
    # is also written in the folder's distillery.json.
    artifact = models.CharField(max_length=500)
    artifact_sha256 = models.CharField(max_length=64, blank=True, default="")
    config = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    source_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "layers", "created_at"]

    def __str__(self) -> str:
        return self.name


class TeacherOutputs(models.Model):
    """A teacher's logits over one dataset, computed once and reused by every student (soft-label KD
    then costs about what plain fine-tuning costs). Keyed by the dataset's content, not its row."""

    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="outputs")
    dataset = models.ForeignKey(Dataset, null=True, on_delete=models.SET_NULL, related_name="+")
    dataset_sha256 = models.CharField(max_length=64)
    max_length = models.PositiveIntegerField()
    path = models.CharField(max_length=500, help_text="Relative to DATA_DIR: a safetensors file of logits.")
    examples = models.PositiveBigIntegerField(default=0)
    tokens = models.PositiveBigIntegerField(default=0)
    device_seconds = models.FloatField(default=0.0)
    source_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["teacher", "dataset_sha256", "max_length"], name="teacher_outputs_once"),
        ]

    def __str__(self) -> str:
        return f"{self.teacher} on {self.dataset_sha256[:12]}"
