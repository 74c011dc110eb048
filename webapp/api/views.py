"""The JSON API. Like the web pages, these views only translate HTTP to selector and service calls.

Permissions are the web's: a team you are not in does not exist for you (404, also for lists nested
under its tasks), a role too low for a write is a 403, and a write the service refuses is a 400 with
its message.
"""

from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.accounts.models import Role, Team
from webapp.accounts.selectors import require_role, teams_for_user
from webapp.api.serializers import (
    ArchivedFilterSerializer,
    DatasetRowsQuerySerializer,
    DatasetRowsSerializer,
    DatasetSerializer,
    DatasetUploadSerializer,
    JobSerializer,
    JobStartSerializer,
    TaskCreateSerializer,
    TaskFilterSerializer,
    TaskSerializer,
    TeacherOutputsUploadSerializer,
    TeacherRegisterSerializer,
    TeacherSerializer,
    TeamSerializer,
)
from webapp.jobs.models import Job
from webapp.jobs.selectors import job_get_for_user, jobs_of_task
from webapp.jobs.services import job_cancel, profile_job_start
from webapp.registry.downloads import dataset_file_download
from webapp.registry.models import Dataset, Task, Teacher
from webapp.registry.selectors import (
    dataset_get_for_user,
    dataset_rows_page,
    datasets_visible_to,
    task_get_for_user,
    tasks_visible_to,
    teacher_get_for_user,
    teachers_visible_to,
)
from webapp.registry.services import (
    LabelSetWouldGrow,
    dataset_upload,
    task_create,
    teacher_register,
    teacher_upload_outputs,
)


def _validated(serializer_class: type[serializers.Serializer], data: Any, **context: Any) -> dict[str, Any]:
    """Validated fields; a field the endpoint does not take (a typo such as "learning_rte") is a 400, not
    silently dropped: a job must run with exactly the parameters the caller meant."""
    serializer = serializer_class(data=data, context=context)
    if hasattr(data, "keys"):
        unknown = sorted(set(data.keys()) - set(serializer.fields))
        if unknown:
            expected = ", ".join(sorted(serializer.fields))
            raise serializers.ValidationError(
                {name: [f"Unknown field '{name}'. This endpoint takes: {expected}."] for name in unknown}
            )
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def only_archived_or_active(queryset: QuerySet[Any], request: Request) -> QuerySet[Any]:
    """Lists show what is not archived; ?archived=true shows only what is (to restore it)."""
    raw = request.query_params.get("archived")
    try:
        archived = serializers.BooleanField().to_internal_value(raw) if raw is not None else False
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"archived": exc.detail}) from exc
    return queryset.filter(archived_at__isnull=not archived)


class TaskScopedMixin:
    """For endpoints under /tasks/{task_id}/. The task comes through the selector, so another team's
    task is a 404 for its lists and writes alike, before anything else is looked at."""

    request: Request
    kwargs: dict[str, Any]

    @cached_property
    def task(self) -> Task:
        return task_get_for_user(user=self.request.user, task_id=self.kwargs["task_id"])

    def require_member(self) -> Task:
        # Checked before the body, so a viewer gets a 403 whatever they sent, as on the web pages.
        require_role(user=self.request.user, team=self.task.team, role=Role.MEMBER)
        return self.task


# --- teams and tasks --------------------------------------------------------------------------


class TeamListApi(generics.ListAPIView):
    """The teams you belong to, with your role in each."""

    serializer_class = TeamSerializer

    def get_queryset(self) -> QuerySet[Team]:
        return teams_for_user(user=self.request.user)


class TaskListCreateApi(generics.ListAPIView):
    serializer_class = TaskSerializer

    def get_queryset(self) -> QuerySet[Task]:
        tasks = tasks_visible_to(user=self.request.user)
        query = _validated(TaskFilterSerializer, self.request.query_params)
        tasks = tasks.filter(archived_at__isnull=not query.get("archived", False))
        return tasks if query.get("team") is None else tasks.filter(team_id=query["team"])

    @extend_schema(summary="Tasks of all your teams", parameters=[TaskFilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Create a task", request=TaskCreateSerializer, responses={201: TaskSerializer})
    def post(self, request: Request) -> Response:
        # The serializer resolves `team` first: 404 for a team you are not in, 403 for a viewer.
        fields = _validated(TaskCreateSerializer, request.data, request=request)
        task = task_create(team=fields.pop("team"), user=request.user, **fields)
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskDetailApi(generics.RetrieveAPIView):
    serializer_class = TaskSerializer

    def get_object(self) -> Task:
        return task_get_for_user(user=self.request.user, task_id=self.kwargs["task_id"])


# --- datasets ---------------------------------------------------------------------------------


class TaskDatasetListUploadApi(TaskScopedMixin, generics.ListAPIView):
    serializer_class = DatasetSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Dataset]:
        return only_archived_or_active(datasets_visible_to(user=self.request.user).filter(task=self.task), self.request)

    @extend_schema(summary="Datasets of a task (not archived)", parameters=[ArchivedFilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Upload a dataset (multipart)", request=DatasetUploadSerializer, responses={201: DatasetSerializer}
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = self.require_member()
        fields = _validated(DatasetUploadSerializer, request.data)
        upload = fields.pop("file")
        try:
            dataset = dataset_upload(task=task, user=request.user, file=upload, filename=upload.name, **fields)
        except LabelSetWouldGrow as exc:
            raise serializers.ValidationError(
                {"confirm_new_labels": [exc.message_text], "new_labels": exc.new_labels}
            ) from exc
        except ValidationError as exc:
            # As on the web page, whatever is wrong with the upload is an error of its file field.
            raise serializers.ValidationError({"file": exc.messages}) from exc
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetailApi(generics.RetrieveAPIView):
    serializer_class = DatasetSerializer

    def get_object(self) -> Dataset:
        return dataset_get_for_user(user=self.request.user, dataset_id=self.kwargs["dataset_id"])


class DatasetRowsApi(generics.GenericAPIView):
    """A page of the dataset's stored rows (row id, text, label), optionally only one label's."""

    serializer_class = DatasetRowsSerializer

    @extend_schema(summary="Rows of a dataset", parameters=[DatasetRowsQuerySerializer])
    def get(self, request: Request, dataset_id: int) -> Response:
        dataset = dataset_get_for_user(user=request.user, dataset_id=dataset_id)
        query = _validated(DatasetRowsQuerySerializer, request.query_params)
        page = dataset_rows_page(dataset, offset=query["offset"], limit=query["limit"], label=query.get("label"))
        return Response(DatasetRowsSerializer(page).data)


class DatasetFileApi(generics.GenericAPIView):
    """The uploaded file exactly as stored: same bytes, same sha256 (also in the X-Content-SHA256 header)."""

    @extend_schema(
        summary="Download a dataset's file as uploaded",
        responses={(200, "text/csv"): bytes, (200, "application/jsonl"): bytes},
    )
    def get(self, request: Request, dataset_id: int) -> FileResponse:
        return dataset_file_download(dataset_get_for_user(user=request.user, dataset_id=dataset_id))


# --- teachers ---------------------------------------------------------------------------------


class TaskTeacherListRegisterApi(TaskScopedMixin, generics.ListAPIView):
    serializer_class = TeacherSerializer

    def get_queryset(self) -> QuerySet[Teacher]:
        return only_archived_or_active(teachers_visible_to(user=self.request.user).filter(task=self.task), self.request)

    @extend_schema(summary="Teachers of a task (not archived)", parameters=[ArchivedFilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Register a teacher", request=TeacherRegisterSerializer, responses={201: TeacherSerializer})
    def post(self, request: Request, task_id: int) -> Response:
        task = self.require_member()
        fields = _validated(TeacherRegisterSerializer, request.data)
        teacher = teacher_register(task=task, user=request.user, **fields)
        return Response(TeacherSerializer(teacher).data, status=status.HTTP_201_CREATED)


class TaskTeacherOutputsUploadApi(TaskScopedMixin, APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Register a teacher from its precomputed outputs (multipart JSONL)",
        request=TeacherOutputsUploadSerializer,
        responses={201: TeacherSerializer},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = self.require_member()
        fields = _validated(TeacherOutputsUploadSerializer, request.data)
        upload = fields.pop("file")
        try:
            teacher = teacher_upload_outputs(task=task, user=request.user, file=upload, filename=upload.name, **fields)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise
            raise serializers.ValidationError({"file": exc.messages}) from exc
        return Response(TeacherSerializer(teacher).data, status=status.HTTP_201_CREATED)


class TeacherDetailApi(generics.RetrieveAPIView):
    serializer_class = TeacherSerializer

    def get_object(self) -> Teacher:
        return teacher_get_for_user(user=self.request.user, teacher_id=self.kwargs["teacher_id"])


# --- jobs -------------------------------------------------------------------------------------


class TaskJobListStartApi(TaskScopedMixin, generics.ListAPIView):
    """Jobs of a task, each in the same JSON as the web's status endpoint."""

    serializer_class = JobSerializer

    def get_queryset(self) -> QuerySet[Job]:
        return jobs_of_task(task=self.task)

    @extend_schema(summary="Start a job", request=JobStartSerializer, responses={201: JobSerializer})
    def post(self, request: Request, task_id: int) -> Response:
        task = self.require_member()
        fields = _validated(JobStartSerializer, request.data)
        # Another team's dataset or teacher is a 404, as everywhere; one of another task of
        # the same team is the caller's mistake, a 400.
        dataset = dataset_get_for_user(user=request.user, dataset_id=fields["dataset"])
        teacher = teacher_get_for_user(user=request.user, teacher_id=fields["teacher"])
        errors = {
            field: [f"This {field} belongs to another task ('{obj.task}')."]
            for field, obj in (("dataset", dataset), ("teacher", teacher))
            if obj.task_id != task.pk
        }
        if errors:
            raise serializers.ValidationError(errors)
        job = profile_job_start(
            task=task, dataset=dataset, teacher=teacher, user=request.user, max_length=fields.get("max_length")
        )
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class JobDetailApi(generics.RetrieveAPIView):
    """The same JSON as the web's status endpoint and the websocket."""

    serializer_class = JobSerializer

    def get_object(self) -> Job:
        return job_get_for_user(user=self.request.user, job_id=self.kwargs["job_id"])


class JobCancelApi(generics.GenericAPIView):
    serializer_class = JobSerializer

    @extend_schema(
        summary="Cancel a job",
        description="A queued job is cancelled at once; a running one stops at its next step.",
        request=None,
        responses=JobSerializer,
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_cancel(job=job_get_for_user(user=request.user, job_id=job_id), user=request.user)
        return Response(JobSerializer(job).data)
