"""API for the evidence: start evaluate jobs, read evaluations, import results of models evaluated elsewhere."""

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from webapp.api.serializers import JobSerializer
from webapp.api.views import TaskScopedMixin, _validated
from webapp.evaluation.downloads import predictions_download
from webapp.evaluation.models import Evaluation, ExternalResult
from webapp.evaluation.selectors import (
    evaluation_get_for_user,
    evaluations_visible_to,
    latest_evaluations,
)
from webapp.evaluation.services import evaluate_many, external_results_import
from webapp.jobs.payloads import job_payload
from webapp.registry.models import Student, Teacher
from webapp.registry.selectors import dataset_get_for_user, student_get_for_user, teacher_get_for_user


class EvaluationSerializer(serializers.ModelSerializer):
    model_deleted = serializers.BooleanField(read_only=True, help_text="The measured model was deleted since.")
    predictions_url = serializers.SerializerMethodField(
        help_text="Absolute URL of the per-example predictions (JSONL), token auth."
    )

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "task",
            "teacher",
            "student",
            "model_name",
            "model_kind",
            "model_deleted",
            "artifact_sha256",
            "dataset",
            "dataset_sha256",
            "dataset_name",
            "dataset_role",
            "examples",
            "in_scope_examples",
            "accuracy",
            "macro_f1",
            "ece_before",
            "ece_after",
            "temperature",
            "threshold",
            "calibration_dataset",
            "calibration_dataset_sha256",
            "agreement_with_teacher",
            "metrics",
            "speed",
            "device",
            "predictions_sha256",
            "predictions_url",
            "job",
            "created_at",
        ]
        read_only_fields = fields

    def get_predictions_url(self, evaluation: Evaluation) -> str | None:
        if not evaluation.predictions_path:
            return None
        path = reverse("api-evaluation-predictions", args=[evaluation.pk])
        # Absolute, so a client can fetch it as given (like any link in an API answer).
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class EvaluateSerializer(serializers.Serializer):
    teachers = serializers.ListField(child=serializers.IntegerField(), default=list, help_text="Teacher ids.")
    students = serializers.ListField(child=serializers.IntegerField(), default=list, help_text="Student ids.")
    datasets = serializers.ListField(child=serializers.IntegerField(), min_length=1, help_text="Dataset ids.")
    coverage = serializers.FloatField(min_value=0.5, max_value=0.999, default=0.95)
    save_probabilities = serializers.BooleanField(
        default=False,
        help_text="Keep every label's probability per example ('probs' in each predictions row, in the order of "
        "the evaluation's metrics.probability_labels, 4 decimals); off by default, it multiplies the file's size.",
    )


class ExternalResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExternalResult
        fields = ["id", "model_name", "benchmark", "metric", "score", "parameters", "source_filename", "created_at"]
        read_only_fields = fields


class ExternalImportSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="lm-evaluation-harness JSON or a CSV.")
    model_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class TaskEvaluationListStartApi(TaskScopedMixin, generics.ListAPIView):
    serializer_class = EvaluationSerializer

    def get_queryset(self) -> QuerySet[Evaluation]:
        latest = [e.pk for e in latest_evaluations(self.task)]
        return evaluations_visible_to(user=self.request.user).filter(pk__in=latest)

    @extend_schema(
        summary="Evaluate models (one job per model)",
        request=EvaluateSerializer,
        responses={201: JobSerializer(many=True)},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = self.require_member()
        fields = _validated(EvaluateSerializer, request.data)
        # Another team's objects are 404s through the selectors; the service refuses another task's.
        models: list[Teacher | Student] = [
            teacher_get_for_user(user=request.user, teacher_id=pk) for pk in fields["teachers"]
        ]
        models += [student_get_for_user(user=request.user, student_id=pk) for pk in fields["students"]]
        datasets = [dataset_get_for_user(user=request.user, dataset_id=pk) for pk in fields["datasets"]]
        jobs = evaluate_many(
            task=task,
            user=request.user,
            models=models,
            datasets=datasets,
            coverage=fields["coverage"],
            save_probabilities=fields["save_probabilities"],
        )
        return Response([job_payload(job) for job in jobs], status=status.HTTP_201_CREATED)


class EvaluationDetailApi(generics.RetrieveAPIView):
    serializer_class = EvaluationSerializer

    def get_object(self) -> Evaluation:
        return evaluation_get_for_user(user=self.request.user, evaluation_id=self.kwargs["evaluation_id"])


class EvaluationPredictionsApi(generics.GenericAPIView):
    """The per-example predictions of an evaluation as JSONL (one object a line: row, text, label,
    prediction, confidence after temperature scaling, the teacher's prediction where there is one, and "probs",
    every label's probability, when the evaluate job was started with save_probabilities)."""

    @extend_schema(summary="Per-example predictions (JSONL)", responses={(200, "application/jsonl"): bytes})
    def get(self, request: Request, evaluation_id: int) -> FileResponse:
        return predictions_download(evaluation_get_for_user(user=request.user, evaluation_id=evaluation_id))


class TaskExternalResultsApi(TaskScopedMixin, generics.ListAPIView):
    serializer_class = ExternalResultSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[ExternalResult]:
        return ExternalResult.objects.filter(task=self.task)

    @extend_schema(
        summary="Import external results (multipart)",
        request=ExternalImportSerializer,
        responses={201: ExternalResultSerializer(many=True)},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = self.require_member()
        fields = _validated(ExternalImportSerializer, request.data)
        upload = fields["file"]
        try:
            stored = external_results_import(
                task=task, user=request.user, file=upload, filename=upload.name, model_name=fields["model_name"]
            )
        except ValidationError as exc:
            raise serializers.ValidationError({"file": exc.messages}) from exc
        return Response(ExternalResultSerializer(stored, many=True).data, status=status.HTTP_201_CREATED)
