"""Shapes of the API's input and output. Input serializers only check types and ranges: the rules
(roles, label sets, duplicates, loadable models) stay in the services, which the views call."""

from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from domain import specs
from webapp.accounts.models import Role, Team
from webapp.accounts.selectors import role_for, team_get_for_user
from webapp.jobs.models import Job
from webapp.jobs.payloads import job_payload
from webapp.registry.models import Dataset, Task, Teacher
from webapp.registry.services import TASK_FIELDS

ROLE_NAMES = {role.value: role.name.lower() for role in Role}

# --- teams ------------------------------------------------------------------------------------


class TeamSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role in the team: viewer, member, approver or admin.")

    class Meta:
        model = Team
        fields = ["id", "name", "role", "created_at"]

    # A plain string rather than an enum in the schema: an enum named "role" would collide with the
    # dataset roles, and renaming enums needs a settings change (ENUM_NAME_OVERRIDES).
    @extend_schema_field(serializers.CharField())
    def get_role(self, team: Team) -> str | None:
        role = role_for(user=self.context["request"].user, team=team)
        return ROLE_NAMES.get(role) if role is not None else None


# --- tasks ------------------------------------------------------------------------------------


class TaskSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)
    # Not an enum in the schema, so that the job kinds alone own the name "kind" there.
    kind = serializers.CharField(read_only=True, help_text="Only 'classification' for now.")

    class Meta:
        model = Task
        fields = [
            "id", "team", "team_name", "kind", *TASK_FIELDS, "labels", "labels_reviewed", "label_map", "archived_at",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "label_map": {"help_text": "Renamed or merged labels, old name → current name: rows read through it."}
        }


class TaskCreateSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(help_text="Id of one of your teams, where you are at least a member.")

    class Meta:
        model = Task
        # `team` first: it is checked (404 for a team you are not in, 403 for a viewer) before the rest.
        fields = ["team", *TASK_FIELDS]
        # No unique-together validator: it would look up task names in teams the caller is not in.
        # task_create checks names within the caller's team.
        validators: list[Any] = []

    def validate_team(self, team_id: int) -> Team:
        return team_get_for_user(user=self.context["request"].user, team_id=team_id, role=Role.MEMBER)


class ArchivedFilterSerializer(serializers.Serializer):
    archived = serializers.BooleanField(
        required=False, default=False, help_text="true: only what is archived (to restore it); default: the rest."
    )


class TaskFilterSerializer(ArchivedFilterSerializer):
    team = serializers.IntegerField(required=False, help_text="Only the tasks of this team.")


# --- datasets ---------------------------------------------------------------------------------


class DatasetSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField(help_text="The file as uploaded (token auth).")
    rows_url = serializers.SerializerMethodField(help_text="Its stored rows, a page at a time (token auth).")

    class Meta:
        model = Dataset
        fields = [
            "id",
            "task",
            "name",
            "version",
            "role",
            "original_filename",
            "file_format",
            "row_count",
            "sha256",
            "size_bytes",
            "text_column",
            "label_column",
            "stats",
            "synthetic",
            "archived_at",
            "file_url",
            "rows_url",
            "created_at",
        ]
        read_only_fields = fields

    def get_file_url(self, dataset: Dataset) -> str:
        return reverse("api-dataset-file", args=[dataset.pk])

    def get_rows_url(self, dataset: Dataset) -> str:
        return reverse("api-dataset-rows", args=[dataset.pk])


class DatasetRowsQuerySerializer(serializers.Serializer):
    offset = serializers.IntegerField(min_value=0, required=False, default=0, help_text="Rows to skip.")
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False, default=50)
    label = serializers.CharField(required=False, help_text="Only rows with this label.")


class DatasetRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="0-based position in the file: the id predictions files use.")
    text = serializers.CharField()
    label = serializers.CharField(allow_null=True, help_text="Null in an unlabeled dataset.")


class DatasetRowsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Rows matching the filter.")
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    label = serializers.CharField(allow_null=True)
    rows = DatasetRowSerializer(many=True)


class DatasetUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        # Empty files reach dataset_upload, whose message says what is wrong with them.
        allow_empty_file=True,
        help_text="CSV with a header row, or JSONL (one JSON object a line). UTF-8.",
    )
    role = serializers.ChoiceField(choices=Dataset.Role.choices)
    name = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default="", help_text="Defaults to the file name."
    )
    text_column = serializers.CharField(max_length=120, required=False, default="text")
    label_column = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default="label", help_text="Ignored for unlabeled data."
    )
    confirm_new_labels = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A training file with labels the task does not have is refused (400 naming them, under "
        "'confirm_new_labels' and 'new_labels') unless this is true: then they are added to the label set.",
    )


# --- teachers ---------------------------------------------------------------------------------


class TeacherSerializer(serializers.ModelSerializer):
    artifact_url = serializers.SerializerMethodField(
        help_text="A fine-tuned teacher's files as a zip (token auth); null for a registered or uploaded one."
    )

    class Meta:
        model = Teacher
        fields = [
            "id",
            "task",
            "name",
            "backend",
            "model_ref",
            "max_length",
            "cost_mode",
            "price_input_per_m",
            "price_output_per_m",
            "gpu_hour_price",
            "gpu_count",
            "labels",
            "metrics",
            "origin",
            "archived_at",
            "artifact_sha256",
            "artifact_url",
            "created_at",
        ]
        read_only_fields = fields

    def get_artifact_url(self, teacher: Teacher) -> str | None:
        if teacher.origin != Teacher.Origin.FINE_TUNED:
            return None
        return reverse("api-teacher-artifact", args=[teacher.pk])


def _price(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal(0), required=False, default=Decimal(0), help_text=help_text
    )


class TeacherRegisterSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default="", help_text="Defaults to the model's name."
    )
    model_ref = serializers.CharField(
        max_length=500, help_text="A preset name, a folder under MODEL_ROOT, or a Hugging Face id in the local cache."
    )
    max_length = serializers.IntegerField(min_value=8, max_value=8192, required=False, default=128)
    cost_mode = serializers.ChoiceField(choices=Teacher.CostMode.choices, required=False, default=Teacher.CostMode.API)
    price_input_per_m = _price("$ per 1M input tokens (cost_mode api).")
    price_output_per_m = _price("$ per 1M output tokens (cost_mode api).")
    gpu_hour_price = _price("$ per GPU hour (cost_mode gpu).")
    gpu_count = serializers.IntegerField(min_value=1, required=False, default=1)


class TeacherOutputsUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text='JSONL, one line per text: {"text", "label" (optional), "probs" or "logits"}; scores as a list '
        "in the task's label order or an object {label: score}.",
    )
    name = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default="", help_text="Defaults to the file name."
    )
    cost_mode = serializers.ChoiceField(choices=Teacher.CostMode.choices, required=False, default=Teacher.CostMode.API)
    price_input_per_m = _price("$ per 1M input tokens (cost_mode api).")
    price_output_per_m = _price("$ per 1M output tokens (cost_mode api).")
    gpu_hour_price = _price("$ per GPU hour (cost_mode gpu).")
    gpu_count = serializers.IntegerField(min_value=1, required=False, default=1)


# --- jobs -------------------------------------------------------------------------------------


class JobSerializer(serializers.Serializer):
    """Documents webapp.jobs.payloads.job_payload, and sends exactly that: the web status endpoint,
    the websocket and the API share one JSON shape. A test keeps these fields and the payload equal."""

    id = serializers.IntegerField()
    task_id = serializers.IntegerField()
    parent_id = serializers.IntegerField(allow_null=True, help_text="The sweep this job belongs to, if any.")
    kind = serializers.ChoiceField(choices=Job.Kind.choices)
    kind_label = serializers.CharField()
    title = serializers.CharField(help_text="What the job does, in words (its kind for jobs started before titles).")
    status = serializers.ChoiceField(choices=Job.Status.choices)
    status_label = serializers.CharField()
    is_terminal = serializers.BooleanField()
    progress = serializers.FloatField(help_text="0 to 1.")
    step = serializers.IntegerField()
    total = serializers.IntegerField()
    message = serializers.CharField()
    log_tail = serializers.CharField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    elapsed_seconds = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.FloatField(allow_null=True)
    attempts = serializers.IntegerField()
    params = serializers.DictField(
        help_text="The job's typed spec, as started (a distil job's includes its teacher gate)."
    )
    device_kind = serializers.CharField()
    device = serializers.DictField(help_text="Where it ran: kind (cpu/cuda), name, threads, dtype.")
    device_seconds = serializers.FloatField(help_text="Device time over all attempts, lost ones included.")
    teacher_usage = serializers.DictField(
        help_text="Teacher calls: examples, input_tokens, output_tokens; estimated for uploaded outputs."
    )
    cancel_requested = serializers.BooleanField()
    url = serializers.CharField(help_text="The job's web page.")

    def to_representation(self, instance: Job) -> dict[str, Any]:
        return job_payload(instance)


# The kinds the API can start; a new kind needs its own fields and its service call in the view.
STARTABLE_KINDS = [Job.Kind.PROFILE_DATASET]


class JobStartSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[(kind.value, kind.label) for kind in STARTABLE_KINDS],
        error_messages={"invalid_choice": f"Unknown kind '{{input}}'; valid kinds: {', '.join(STARTABLE_KINDS)}."},
    )
    dataset = serializers.IntegerField(help_text="Id of a dataset of this task.")
    teacher = serializers.IntegerField(help_text="Id of a teacher of this task.")
    max_length = serializers.IntegerField(
        min_value=specs.MAX_LENGTH[0],
        max_value=specs.MAX_LENGTH[1],
        required=False,
        allow_null=True,
        help_text="Defaults to the teacher's.",
    )
