"""API for the distillation engine: fine-tune a teacher, distil students (one or a sweep), list students."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from webapp.api.serializers import JobSerializer
from webapp.api.views import TaskScopedMixin, _validated
from webapp.distillation.forms import STUDENT_LEARNING_RATE
from webapp.distillation.services import StudentSpec, TrainingOptions, distil_students, finetune_start
from webapp.registry.models import Dataset, Student, Task, Teacher
from webapp.registry.selectors import dataset_get_for_user, student_get_for_user, teacher_get_for_user


class TrainingFieldsSerializer(serializers.Serializer):
    teacher = serializers.IntegerField(help_text="Id of a teacher of this task.")
    train = serializers.IntegerField(help_text="Id of a train dataset of this task.")
    validation = serializers.IntegerField(required=False, allow_null=True, help_text="Optional validation dataset id.")
    epochs = serializers.IntegerField(min_value=1, max_value=200, default=10)
    batch_size = serializers.IntegerField(min_value=1, max_value=4096, default=32)
    learning_rate = serializers.FloatField(min_value=1e-7, max_value=0.5, default=5e-5)
    patience = serializers.IntegerField(min_value=1, max_value=50, default=3)


class DistillStartSerializer(TrainingFieldsSerializer):
    learning_rate = serializers.FloatField(min_value=1e-7, max_value=0.5, default=STUDENT_LEARNING_RATE)
    construction = serializers.ChoiceField(
        choices=[c for c in Student.Construction.choices if c[0] != Student.Construction.QUANTIZED], default="truncated"
    )
    layers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=48),
        default=[2],
        help_text="One size distils one student; several start a sweep (a parent job with one child per size).",
    )
    layer_strategy = serializers.ChoiceField(choices=["bottom", "spread"], default="bottom")
    student_ref = serializers.CharField(required=False, allow_blank=True, default="")
    temperature = serializers.FloatField(min_value=0.1, max_value=50, default=2.0)
    alpha = serializers.FloatField(min_value=0, max_value=1, default=0.5)


class StudentSerializer(serializers.ModelSerializer):
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
            "config",
            "metrics",
            "source_job",
            "created_at",
        ]


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


def _options(fields: dict[str, Any]) -> TrainingOptions:
    return TrainingOptions(**{k: fields[k] for k in ("epochs", "batch_size", "learning_rate", "patience")})


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

    def get_queryset(self) -> QuerySet[Student]:
        return Student.objects.filter(task=self.task).order_by("layers", "created_at")

    @extend_schema(summary="Distil students", request=DistillStartSerializer, responses={201: JobSerializer})
    def post(self, request: Request, task_id: int) -> Response:
        task = self.require_member()
        fields = _validated(DistillStartSerializer, request.data)
        teacher, train, validation = _inputs(request, task, fields)
        spec = StudentSpec(
            construction=fields["construction"],
            layer_strategy=fields["layer_strategy"],
            student_ref=fields["student_ref"],
            temperature=fields["temperature"],
            alpha=fields["alpha"],
        )
        job = distil_students(
            task=task,
            teacher=teacher,
            train=train,
            validation=validation,
            user=request.user,
            layer_counts=fields["layers"],
            spec=spec,
            options=_options(fields),
        )
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class StudentDetailApi(generics.RetrieveAPIView):
    serializer_class = StudentSerializer

    def get_object(self) -> Student:
        return student_get_for_user(user=self.request.user, student_id=self.kwargs["student_id"])
