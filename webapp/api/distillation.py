"""API for the distillation engine: fine-tune a teacher, distil students (one or a sweep), list students."""

from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from domain import specs
from webapp.api.serializers import ArchivedFilterSerializer, JobSerializer
from webapp.api.views import TaskScopedMixin, _validated, only_archived_or_active
from webapp.distillation.services import distil_students, finetune_start, gate_message, teacher_gate
from webapp.jobs.services import spec_or_validation_error
from webapp.registry.downloads import model_artifact_download
from webapp.registry.models import Dataset, Student, Task, Teacher
from webapp.registry.selectors import dataset_get_for_user, student_get_for_user, teacher_get_for_user


class TrainingFieldsSerializer(serializers.Serializer):
    teacher = serializers.IntegerField(help_text="Id of a teacher of this task.")
    train = serializers.IntegerField(help_text="Id of a train dataset of this task.")
    validation = serializers.IntegerField(required=False, allow_null=True, help_text="Optional validation dataset id.")
    # Bounds and defaults come from the job specs: the form, the API and the service agree.
    epochs = serializers.IntegerField(min_value=specs.EPOCHS[0], max_value=specs.EPOCHS[1], default=10)
    batch_size = serializers.IntegerField(min_value=specs.BATCH_SIZE[0], max_value=specs.BATCH_SIZE[1], default=32)
    learning_rate = serializers.FloatField(
        min_value=specs.LEARNING_RATE[0], max_value=specs.LEARNING_RATE[1], default=specs.FINETUNE_LEARNING_RATE
    )
    patience = serializers.IntegerField(min_value=specs.PATIENCE[0], max_value=specs.PATIENCE[1], default=3)


class DistillStartSerializer(TrainingFieldsSerializer):
    learning_rate = serializers.FloatField(
        min_value=specs.LEARNING_RATE[0], max_value=specs.LEARNING_RATE[1], default=specs.STUDENT_LEARNING_RATE
    )
    construction = serializers.ChoiceField(
        choices=[c for c in Student.Construction.choices if c[0] != Student.Construction.QUANTIZED], default="truncated"
    )
    layers = serializers.ListField(
        child=serializers.IntegerField(min_value=specs.STUDENT_LAYERS[0], max_value=specs.STUDENT_LAYERS[1]),
        default=[2],
        help_text="One size distils one student; several start a sweep (a parent job with one child per size).",
    )
    layer_strategy = serializers.ChoiceField(choices=["bottom", "spread"], default="bottom")
    student_ref = serializers.CharField(required=False, allow_blank=True, default="")
    temperature = serializers.FloatField(
        min_value=specs.KD_TEMPERATURE[0], max_value=specs.KD_TEMPERATURE[1], default=2.0
    )
    alpha = serializers.FloatField(min_value=0, max_value=1, default=0.5)
    confirm_below_bar = serializers.BooleanField(
        default=False,
        help_text="Distil from a teacher whose measured quality is below the task's bar (or unmeasured).",
    )


class TeacherGateSerializer(serializers.Serializer):
    teacher = serializers.IntegerField()
    score = serializers.FloatField(allow_null=True, help_text="Measured quality on the task's metric.")
    source = serializers.CharField(help_text="Where the score comes from.")
    bar = serializers.FloatField(help_text="The task's quality bar.")
    passes = serializers.BooleanField()
    message = serializers.CharField()


class StudentSerializer(serializers.ModelSerializer):
    artifact_url = serializers.SerializerMethodField(help_text="The save_pretrained folder as a zip (token auth).")

    class Meta:
        model = Student
        fields = [
            "id",
            "task",
            "teacher",
            "parent",
            "name",
            "construction",
            "layers",
            "parameters",
            "size_bytes",
            "labels",
            "artifact",
            "artifact_sha256",
            "artifact_url",
            "config",
            "metrics",
            "source_job",
            "archived_at",
            "created_at",
        ]

    def get_artifact_url(self, student: Student) -> str:
        return reverse("api-student-artifact", args=[student.pk])


def _inputs(request: Request, task: Task, fields: dict[str, Any]) -> tuple[Teacher, Dataset, Dataset | None]:
    """Another team's objects are 404s (through the selectors); another task's are the caller's 400."""
    teacher = teacher_get_for_user(user=request.user, teacher_id=fields["teacher"])
    train = dataset_get_for_user(user=request.user, dataset_id=fields["train"])
    validation = (
        dataset_get_for_user(user=request.user, dataset_id=fields["validation"]) if fields.get("validation") else None
    )
    errors = {
        name: [f"This {name} belongs to another task ('{obj.task}')."]
        for name, obj in (("teacher", teacher), ("train", train), ("validation", validation))
        if obj is not None and obj.task_id != task.pk
    }
    if errors:
        raise serializers.ValidationError(errors)
    return teacher, train, validation


def _options(fields: dict[str, Any]) -> specs.TrainingOptions:
    keys = ("epochs", "batch_size", "learning_rate", "patience")
    return spec_or_validation_error(lambda: specs.TrainingOptions(**{k: fields[k] for k in keys}))


class TaskFinetuneApi(TaskScopedMixin, generics.GenericAPIView):
    """Fine-tune a teacher on this task; the finished job registers a new teacher."""

    serializer_class = JobSerializer

    @extend_schema(summary="Fine-tune a teacher", request=TrainingFieldsSerializer, responses={201: JobSerializer})
    def post(self, request: Request, task_id: int) -> Response:
        task = self.require_member()
        fields = _validated(TrainingFieldsSerializer, request.data)
        teacher, train, validation = _inputs(request, task, fields)
        job = finetune_start(
            task=task, teacher=teacher, train=train, validation=validation, user=request.user, options=_options(fields)
        )
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class TaskStudentListDistillApi(TaskScopedMixin, generics.ListAPIView):
    """Students of a task; POST distils one student, or a sweep for several layer counts."""

    serializer_class = StudentSerializer

    @extend_schema(summary="Students of a task (not archived)", parameters=[ArchivedFilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Student]:
        students = Student.objects.filter(task=self.task).order_by("layers", "created_at")
        return only_archived_or_active(students, self.request)

    @extend_schema(summary="Distil students", request=DistillStartSerializer, responses={201: JobSerializer})
    def post(self, request: Request, task_id: int) -> Response:
        task = self.require_member()
        fields = _validated(DistillStartSerializer, request.data)
        teacher, train, validation = _inputs(request, task, fields)
        student = spec_or_validation_error(
            lambda: specs.StudentOptions(
                construction=fields["construction"],
                layers=min(fields["layers"] or [2]),
                layer_strategy=fields["layer_strategy"],
                student_ref=fields["student_ref"],
                temperature=fields["temperature"],
                alpha=fields["alpha"],
            )
        )
        job = distil_students(
            task=task,
            teacher=teacher,
            train=train,
            validation=validation,
            user=request.user,
            layer_counts=fields["layers"],
            student=student,
            options=_options(fields),
            confirm_below_bar=fields["confirm_below_bar"],
        )
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class TeacherGateApi(TaskScopedMixin, generics.GenericAPIView):
    """Each distillable teacher's measured quality against the task's bar (what the distil form shows)."""

    serializer_class = TeacherGateSerializer

    @extend_schema(summary="Teachers' quality against the bar", responses={200: TeacherGateSerializer(many=True)})
    def get(self, request: Request, task_id: int) -> Response:
        rows = []
        for teacher in self.task.teachers.active():
            if teacher.has_task_head:
                gate = teacher_gate(teacher)
                rows.append(
                    {"teacher": teacher.pk, "passes": gate.passes, "message": gate_message(gate)}
                    | {"score": gate.score, "source": gate.source, "bar": gate.bar}
                )
        return Response(TeacherGateSerializer(rows, many=True).data)


class StudentDetailApi(generics.RetrieveAPIView):
    serializer_class = StudentSerializer

    def get_object(self) -> Student:
        return student_get_for_user(user=self.request.user, student_id=self.kwargs["student_id"])


class StudentArtifactApi(generics.GenericAPIView):
    """The student's save_pretrained folder as a zip, streamed. Its content digest (sha256 over each file's
    path and sha256, distillery.json left out) is `artifact_sha256`, also in the X-Artifact-SHA256 header."""

    @extend_schema(summary="Download a student's model files (zip)", responses={(200, "application/zip"): bytes})
    def get(self, request: Request, student_id: int) -> StreamingHttpResponse:
        return model_artifact_download(student_get_for_user(user=request.user, student_id=student_id))


class TeacherArtifactApi(generics.GenericAPIView):
    """A fine-tuned teacher's save_pretrained folder as a zip, streamed (404 for a registered teacher: its files
    are where it was registered from)."""

    @extend_schema(
        summary="Download a fine-tuned teacher's model files (zip)", responses={(200, "application/zip"): bytes}
    )
    def get(self, request: Request, teacher_id: int) -> StreamingHttpResponse:
        return model_artifact_download(teacher_get_for_user(user=request.user, teacher_id=teacher_id))
