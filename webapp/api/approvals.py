"""API for sign-off: a task's gates, approval requests and their decision, deployments (manifest, model card,
revocation) and the audit log with its chain check. It only translates HTTP: the rules (roles, four eyes,
overrides, artifact checks) are in webapp.approvals.services and answer 400/403 with their reason. Another
team's object is a 404."""

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.api.views import TaskScopedMixin, _validated
from webapp.approvals.audit import chain_verify
from webapp.approvals.forms import GatePolicyForm
from webapp.approvals.models import ApprovalRequest, AuditEntry, Deployment, GatePolicy
from webapp.approvals.selectors import (
    audit_of_task,
    audit_of_team,
    deployment_get_for_user,
    deployments_of_task,
    request_get_for_user,
    requests_of_task,
)
from webapp.approvals.services import (
    deployment_create,
    deployment_revoke,
    gate_policy_of,
    gate_policy_update,
    request_create,
    request_decide,
)
from webapp.economics.selectors import scenario_get_for_user

GATE_FIELDS = GatePolicyForm.Meta.fields


class GatePolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = GatePolicy
        fields = [*GATE_FIELDS, "updated_at"]
        read_only_fields = ["updated_at"]


class GateUpdateSerializer(serializers.Serializer):
    teacher_quality_min = serializers.FloatField(required=False, min_value=0, max_value=1)
    student_retention_min = serializers.FloatField(required=False, min_value=0, max_value=1)
    ood_gap_max_points = serializers.FloatField(required=False, min_value=0)
    ece_after_max = serializers.FloatField(required=False, min_value=0, max_value=1)
    worst_class_recall_min = serializers.FloatField(required=False, min_value=0, max_value=1)
    require_certificate = serializers.BooleanField(required=False)
    breakeven_max_months = serializers.FloatField(required=False, min_value=0)


class ApprovalRequestSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.get_username", read_only=True)
    decision = serializers.SerializerMethodField()
    deployment_id = serializers.SerializerMethodField()

    class Meta:
        model = ApprovalRequest
        fields = [
            "id", "task", "scenario", "student", "student_name", "tau", "temperature", "state", "gates", "note",
            "requested_by", "created_at", "snapshot_sha256", "decision", "deployment_id",
        ]  # fmt: skip

    def get_decision(self, obj: ApprovalRequest) -> dict[str, Any] | None:
        decision = getattr(obj, "decision", None) if hasattr(obj, "decision") else None
        if decision is None:
            return None
        return {
            "id": decision.pk,
            "outcome": decision.outcome,
            "comment": decision.comment,
            "overrides": decision.overrides,
            "decided_by": decision.decided_by.get_username(),
            "created_at": decision.created_at,
        }

    def get_deployment_id(self, obj: ApprovalRequest) -> int | None:
        return Deployment.objects.filter(request=obj).values_list("pk", flat=True).first()


class ApprovalRequestDetailSerializer(ApprovalRequestSerializer):
    class Meta(ApprovalRequestSerializer.Meta):
        fields = [*ApprovalRequestSerializer.Meta.fields, "snapshot"]


class RequestCreateSerializer(serializers.Serializer):
    scenario = serializers.IntegerField(help_text="The saved scenario (a version) to approve.")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DecisionSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["approved", "rejected"])
    comment = serializers.CharField()
    overrides = serializers.DictField(
        child=serializers.CharField(), required=False, default=dict,
        help_text="A written reason per failed gate key, needed to approve with failed gates.",
    )  # fmt: skip


class DeploySerializer(serializers.Serializer):
    shadow_rate = serializers.FloatField(required=False, default=0.0, min_value=0, max_value=1)


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField()


class DeploymentSerializer(serializers.ModelSerializer):
    endpoint = serializers.SerializerMethodField()

    class Meta:
        model = Deployment
        fields = [
            "id", "task", "request", "student", "teacher", "tau", "temperature", "shadow_rate", "state",
            "created_at", "ended_at", "end_reason", "manifest", "manifest_sha256", "endpoint",
        ]  # fmt: skip

    def get_endpoint(self, obj: Deployment) -> str:
        return f"{settings.SERVING_URL.rstrip('/')}/v1/deployments/{obj.pk}/predict"


class DeploymentCreatedSerializer(DeploymentSerializer):
    serving_key = serializers.CharField(help_text="Shown once: only its hash is stored.")

    class Meta(DeploymentSerializer.Meta):
        fields = [*DeploymentSerializer.Meta.fields, "serving_key"]


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "seq", "created_at", "action", "actor_id", "actor_name", "task_id", "task_name", "object_type",
            "object_id", "summary", "evidence", "prev_hash", "entry_hash",
        ]  # fmt: skip


class TaskGatesApi(TaskScopedMixin, APIView):
    """The task's gate thresholds; approvers change them with PATCH."""

    @extend_schema(responses=GatePolicySerializer)
    def get(self, request: Request, task_id: int) -> Response:
        return Response(GatePolicySerializer(gate_policy_of(self.task)).data)

    @extend_schema(request=GateUpdateSerializer, responses=GatePolicySerializer)
    def patch(self, request: Request, task_id: int) -> Response:
        values = _validated(GateUpdateSerializer, request.data)
        policy = gate_policy_update(task=self.task, user=request.user, values=values)
        return Response(GatePolicySerializer(policy).data)


class TaskApprovalRequestsApi(TaskScopedMixin, generics.ListAPIView):
    """A task's approval requests (newest first); POST freezes a saved scenario's evidence into a new one."""

    serializer_class = ApprovalRequestSerializer

    def get_queryset(self) -> Any:
        return requests_of_task(self.task)

    @extend_schema(request=RequestCreateSerializer, responses={201: ApprovalRequestDetailSerializer})
    def post(self, request: Request, task_id: int) -> Response:
        self.require_member()
        data = _validated(RequestCreateSerializer, request.data)
        scenario = scenario_get_for_user(user=request.user, scenario_id=data["scenario"])
        if scenario.task_id != self.task.pk:
            raise serializers.ValidationError({"scenario": ["This scenario belongs to another task."]})
        created = request_create(scenario=scenario, user=request.user, note=data["note"])
        return Response(ApprovalRequestDetailSerializer(created).data, status=status.HTTP_201_CREATED)


class ApprovalRequestDetailApi(APIView):
    @extend_schema(responses=ApprovalRequestDetailSerializer)
    def get(self, request: Request, request_id: int) -> Response:
        found = request_get_for_user(user=request.user, request_id=request_id)
        return Response(ApprovalRequestDetailSerializer(found).data)


class ApprovalDecisionApi(APIView):
    """Approve or reject (approvers only, never your own request; one decision per request: a second is 400)."""

    @extend_schema(request=DecisionSerializer, responses={201: ApprovalRequestSerializer})
    def post(self, request: Request, request_id: int) -> Response:
        found = request_get_for_user(user=request.user, request_id=request_id)
        data = _validated(DecisionSerializer, request.data)
        request_decide(request=found, user=request.user, **data)
        found.refresh_from_db()
        return Response(ApprovalRequestSerializer(found).data, status=status.HTTP_201_CREATED)


class ApprovalDeployApi(APIView):
    """Deploy an approved request: the answer carries the serving key, once."""

    @extend_schema(request=DeploySerializer, responses={201: DeploymentCreatedSerializer})
    def post(self, request: Request, request_id: int) -> Response:
        found = request_get_for_user(user=request.user, request_id=request_id)
        data = _validated(DeploySerializer, request.data)
        deployment, key = deployment_create(request=found, user=request.user, shadow_rate=data["shadow_rate"])
        deployment.serving_key = key  # type: ignore[attr-defined]
        body = DeploymentCreatedSerializer(deployment).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class TaskDeploymentsApi(TaskScopedMixin, generics.ListAPIView):
    serializer_class = DeploymentSerializer

    def get_queryset(self) -> Any:
        return deployments_of_task(self.task)


class DeploymentDetailApi(APIView):
    @extend_schema(responses=DeploymentSerializer)
    def get(self, request: Request, deployment_id: int) -> Response:
        return Response(
            DeploymentSerializer(deployment_get_for_user(user=request.user, deployment_id=deployment_id)).data
        )


class DeploymentModelCardApi(APIView):
    @extend_schema(responses={(200, "text/markdown"): str})
    def get(self, request: Request, deployment_id: int) -> HttpResponse:
        deployment = deployment_get_for_user(user=request.user, deployment_id=deployment_id)
        return HttpResponse(deployment.model_card, content_type="text/markdown; charset=utf-8")


class DeploymentRevokeApi(APIView):
    """Revoke (approvers): the endpoint answers 410 from the next request on."""

    @extend_schema(request=RevokeSerializer, responses=DeploymentSerializer)
    def post(self, request: Request, deployment_id: int) -> Response:
        deployment = deployment_get_for_user(user=request.user, deployment_id=deployment_id)
        data = _validated(RevokeSerializer, request.data)
        return Response(DeploymentSerializer(deployment_revoke(deployment=deployment, user=request.user, **data)).data)


class TaskAuditApi(TaskScopedMixin, generics.ListAPIView):
    """The task's audit entries (newest first) with their hashes; `chain` re-verifies the team's whole chain."""

    serializer_class = AuditEntrySerializer

    def get_queryset(self) -> Any:
        return audit_of_task(self.task)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        report = chain_verify(audit_of_team(self.task.team).iterator(chunk_size=2000))
        chain = {"intact": report.intact, "entries": report.entries, "head": report.head,
                 "broken_at": report.broken_at, "problem": report.problem}  # fmt: skip
        if isinstance(response.data, dict):
            response.data["chain"] = chain
        else:
            response.data = {"results": response.data, "chain": chain}
        return response
