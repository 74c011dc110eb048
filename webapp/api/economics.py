"""API for the decision layer, so a CI pipeline can ask "does this candidate pay off?": the candidates, the
routing curve with its τ rules, a full ROI analysis without saving, saved scenarios (versions) and share links
to their reports. Like the web pages, it only translates HTTP: the figures come from webapp.economics.

Reading is a viewer's right (computing figures stores nothing); saving a scenario and making or revoking a
share link need a member. Another team's task, student, scenario or link is a 404.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields as dataclass_fields
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.api.views import TaskScopedMixin, _validated
from webapp.economics.analysis import HOST_KINDS, TAU_RULES, Assumptions
from webapp.economics.cost_model import Mode, Verdict
from webapp.economics.evidence import candidate_students, validation_evaluations
from webapp.economics.models import Scenario, ShareLink
from webapp.economics.selectors import scenario_get_for_user, scenarios_of_task, share_link_get_for_user
from webapp.economics.services import (
    MAX_SHARE_DAYS,
    assumptions_from,
    routing_curve_compute,
    scenario_compute,
    scenario_save,
    share_link_create,
    share_link_revoke,
)
from webapp.registry.models import Student, Task
from webapp.registry.selectors import student_get_for_user

ASSUMPTION_NAMES = frozenset(f.name for f in dataclass_fields(Assumptions))
# The public report of a share link (a page of the report views, which need no login); the token is the path.
SHARE_PATH = "/r/{token}/"
# Each month of the period is a point of the TCO series: a bound keeps one request from asking for millions.
MAX_VALID_MONTHS = 240


def _more_than_zero(value: float) -> None:
    if value <= 0:
        raise serializers.ValidationError(f"Must be more than 0 (got {value:g}).")


# --- input ------------------------------------------------------------------------------------------------


class AssumptionsSerializer(serializers.Serializer):
    """What a user enters on the Routing & ROI page; each one left out takes the task's (volume, tokens) or its
    teacher's (prices) value, else the default below. Types and the bounds whose breach the cost model would
    report under another name are checked here; the cost model checks the rest and names the field."""

    mode = serializers.ChoiceField(choices=[m.value for m in Mode], required=False, help_text="Default cascade.")
    tau_rule = serializers.ChoiceField(choices=list(TAU_RULES), required=False, help_text="Default certified.")
    manual_tau = serializers.FloatField(required=False, help_text="τ for the manual rule, 0-1 (default 0.9).")
    certified_target = serializers.FloatField(
        required=False, help_text="Kept-traffic quality the certified τ guarantees, in (0, 1) (default 0.99)."
    )
    certified_delta = serializers.FloatField(
        required=False, help_text="Probability the guarantee may fail, in (0, 1) (default 0.05)."
    )
    certify_on = serializers.ChoiceField(choices=["agreement", "accuracy"], required=False)
    requests_per_month = serializers.FloatField(required=False, help_text="Volume; the task's by default.")
    input_tokens_per_request = serializers.FloatField(required=False)
    output_tokens_per_request = serializers.FloatField(required=False)
    teacher_pricing = serializers.ChoiceField(choices=["api", "self_hosted"], required=False)
    teacher_usd_per_million_input_tokens = serializers.FloatField(required=False, validators=[_more_than_zero])
    teacher_usd_per_million_output_tokens = serializers.FloatField(required=False, validators=[_more_than_zero])
    teacher_usd_per_host_hour = serializers.FloatField(required=False, validators=[_more_than_zero])
    teacher_hosts = serializers.IntegerField(required=False, min_value=1)
    teacher_host_kind = serializers.ChoiceField(
        choices=list(HOST_KINDS), required=False, help_text="What its $/hour buys; default the kind it was timed on."
    )
    student_usd_per_host_hour = serializers.FloatField(required=False, validators=[_more_than_zero])
    student_hosts = serializers.IntegerField(required=False, min_value=1)
    student_host_kind = serializers.ChoiceField(
        choices=list(HOST_KINDS), required=False, help_text="What its $/hour buys; default the kind it was timed on."
    )
    utilisation = serializers.FloatField(required=False, help_text="Share of host hours kept busy, in (0, 1].")
    student_fixed_usd_per_month = serializers.FloatField(required=False)
    router_usd_per_request = serializers.FloatField(required=False, min_value=0)
    router_latency_ms = serializers.FloatField(required=False, min_value=0)
    router_accuracy = serializers.FloatField(required=False, help_text="Upfront routing only (modelled), 0-1.")
    usd_per_device_hour = serializers.DictField(
        child=serializers.FloatField(min_value=0),
        required=False,
        help_text='Price of an hour of each device kind the training jobs ran on, e.g. {"cpu": 0.1, "cuda": 2.5}.',
    )
    filtering_labelling_usd = serializers.FloatField(required=False, min_value=0)
    engineering_hours = serializers.FloatField(required=False, min_value=0)
    engineering_usd_per_hour = serializers.FloatField(required=False, min_value=0)
    valid_months = serializers.IntegerField(required=False, min_value=1, max_value=MAX_VALID_MONTHS)
    retrain_every_months = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    retraining_share_of_one_off = serializers.FloatField(required=False, min_value=0)
    horizon_months = serializers.FloatField(required=False, help_text="Planning horizon of the kill point.")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # Nested serializers drop unknown keys silently: a misspelt assumption would be computed at its default.
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [f"Unknown assumption '{name}'."] for name in unknown})
        return dict(super().to_internal_value(data))


class RoiRequestSerializer(serializers.Serializer):
    student = serializers.IntegerField(help_text="Id of a student of this task with a validation evaluation.")
    assumptions = AssumptionsSerializer(required=False)


class ScenarioSaveSerializer(RoiRequestSerializer):
    name = serializers.CharField(max_length=120, help_text="Saving under an existing name adds a new version.")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class RoutingCurveQuerySerializer(serializers.Serializer):
    student = serializers.IntegerField(required=False, help_text="Default: the candidate best on validation.")
    certified_target = serializers.FloatField(required=False, help_text="In (0, 1), default 0.99.")
    certified_delta = serializers.FloatField(required=False, help_text="In (0, 1), default 0.05.")
    certify_on = serializers.ChoiceField(choices=["agreement", "accuracy"], required=False)
    manual_tau = serializers.FloatField(required=False, help_text="τ of the manual rule, 0-1, default 0.9.")


class ShareLinkCreateSerializer(serializers.Serializer):
    days = serializers.IntegerField(default=14, help_text=f"How long the link works, 1 to {MAX_SHARE_DAYS} days.")


# --- output -----------------------------------------------------------------------------------------------


class CandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    layers = serializers.IntegerField()
    parameters = serializers.IntegerField()
    validation_accuracy = serializers.FloatField(allow_null=True)
    validation_evaluation = serializers.IntegerField(help_text="The evaluation τ is chosen on.")
    validation_dataset = serializers.CharField()


class RoutingPointSerializer(serializers.Serializer):
    tau = serializers.FloatField()
    kept = serializers.IntegerField(help_text="Rows the student keeps at this τ.")
    coverage = serializers.FloatField(help_text="Share of traffic the student keeps.")
    kept_accuracy = serializers.FloatField(allow_null=True)
    kept_agreement = serializers.FloatField(allow_null=True, help_text="Agreement with the teacher on kept rows.")
    cascade_quality = serializers.FloatField(allow_null=True, help_text="Student on kept rows, teacher on the rest.")


class TauChoiceSerializer(serializers.Serializer):
    tau = serializers.FloatField(allow_null=True)
    found = serializers.BooleanField()
    reason = serializers.CharField()
    point = RoutingPointSerializer(allow_null=True)


class TauRulesSerializer(serializers.Serializer):
    quality_bar = TauChoiceSerializer(help_text="Most coverage whose cascade meets the task's bar and retention.")
    certified = TauChoiceSerializer(help_text="Most coverage with the target guaranteed with probability 1 - δ.")
    manual = TauChoiceSerializer(help_text="The τ given.")


class CertificateSerializer(serializers.Serializer):
    risk = serializers.CharField(help_text="agreement or accuracy")
    target = serializers.FloatField()
    delta = serializers.FloatField()
    tau = serializers.FloatField(allow_null=True)
    point = RoutingPointSerializer(allow_null=True)
    kept_scored = serializers.IntegerField()
    kept_failures = serializers.IntegerField()
    kept_quality = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    coverage_lower_bound = serializers.FloatField(allow_null=True)
    min_kept_to_certify = serializers.IntegerField()
    tested = serializers.IntegerField()
    reason = serializers.CharField()


class CurveSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    teacher_quality = serializers.FloatField(allow_null=True)
    teacher_accuracy = serializers.FloatField(allow_null=True)
    student_accuracy = serializers.FloatField(allow_null=True)
    points = RoutingPointSerializer(many=True, help_text="Thinned to about 200 points.")


class ValidationSourceSerializer(serializers.Serializer):
    name = serializers.CharField()
    sha256 = serializers.CharField()
    evaluation_id = serializers.IntegerField()
    rows = serializers.IntegerField()


class RoutingCurveSerializer(serializers.Serializer):
    student = serializers.IntegerField(allow_null=True, help_text="None: no student has a validation evaluation.")
    reason = serializers.CharField(help_text="Why there is no curve; empty when there is one.")
    student_name = serializers.CharField(required=False)
    teacher = serializers.CharField(required=False)
    validation = ValidationSourceSerializer(required=False)
    rules = TauRulesSerializer(required=False)
    certificate = CertificateSerializer(required=False)
    curve = CurveSerializer(required=False)
    evidence_ids = serializers.JSONField(required=False)


class BreakevenSerializer(serializers.Serializer):
    months = serializers.FloatField(allow_null=True, help_text="None: never (no monthly savings).")
    verdict = serializers.ChoiceField(choices=[v.value for v in Verdict], help_text="<= 6 months pays off.")
    advice = serializers.CharField()


class RoiFiguresSerializer(serializers.Serializer):
    """Every figure of the analysis, as the Routing & ROI page and a saved scenario show them. Money in USD
    (names end in _usd), shares 0-1; None where a figure has no finite value (e.g. breakeven "never")."""

    student = serializers.CharField(help_text="The student's name.")
    teacher = serializers.CharField()
    mode = serializers.CharField()
    tau_rule = serializers.CharField()
    tau = serializers.FloatField()
    share = serializers.FloatField(help_text="Share of traffic the student takes in the chosen mode.")
    validation = RoutingPointSerializer(help_text="What τ gives on validation.")
    rules = TauRulesSerializer()
    certificate = CertificateSerializer()
    curve = CurveSerializer()
    applied = serializers.ListField(child=serializers.JSONField(), help_text="τ on test and OOD sets vs validation.")
    upfront = serializers.JSONField(allow_null=True, help_text="The modelled router (upfront routing only).")
    costs = serializers.JSONField(help_text="Per-request costs and their basis.")
    modes = serializers.JSONField(help_text="Monthly cost, savings, cost reduction and latency of each mode.")
    one_off = serializers.JSONField()
    breakeven = BreakevenSerializer()
    tco = serializers.JSONField(help_text="Totals and cumulative series over the months the student stays valid.")
    sensitivity = serializers.JSONField(help_text="Tornado bars: teacher price cuts, volume, coverage bound.")
    kill_point = serializers.JSONField(help_text="The teacher price cut at which breakeven passes the horizon.")
    evidence = serializers.JSONField(help_text="Where each measured figure comes from.")
    assumptions = serializers.JSONField(help_text="Every assumption applied, defaults included.")
    evidence_ids = serializers.JSONField(help_text="The evaluations, jobs and dataset hashes it stands on.")


class ScenarioSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = Scenario
        fields = [
            "id",
            "task",
            "name",
            "version",
            "student",
            "student_name",
            "verdict",
            "breakeven_months",
            "monthly_savings_usd",
            "note",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ScenarioDetailSerializer(ScenarioSerializer):
    class Meta(ScenarioSerializer.Meta):
        fields = [*ScenarioSerializer.Meta.fields, "assumptions", "evidence", "figures"]
        read_only_fields = fields


class ShareLinkSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True, help_text="active, expired or revoked.")
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)

    class Meta:
        model = ShareLink
        # Never the token: only its hash is stored, and the hash stays on the server.
        fields = ["id", "scenario", "state", "expires_at", "revoked_at", "created_by", "created_at"]
        read_only_fields = fields


class ShareLinkCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="The report's address. Shown this once: only its hash is stored.")
    expires_at = serializers.DateTimeField()


# --- helpers ----------------------------------------------------------------------------------------------


def _student_of(request: Request, task: Task, student_id: int) -> Student:
    """Another team's student is a 404, as everywhere; one of another task of the same team is a 400."""
    student = student_get_for_user(user=request.user, student_id=student_id)
    if student.task_id != task.pk:
        raise serializers.ValidationError({"student": [f"This student belongs to another task ('{student.task}')."]})
    return student


@contextmanager
def _assumption_errors_nested() -> Iterator[None]:
    """The services name a bad assumption by its own name; in the API it sits under "assumptions", where the
    request had it. Any other refusal (no validation evidence, no τ meeting the rule) passes unchanged."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        errors = exc.message_dict
        nested = {name: messages for name, messages in errors.items() if name in ASSUMPTION_NAMES}
        if not nested:
            raise
        rest = {name: messages for name, messages in errors.items() if name not in ASSUMPTION_NAMES}
        raise serializers.ValidationError(rest | {"assumptions": nested}) from exc


# --- views ------------------------------------------------------------------------------------------------


class TaskRoiCandidatesApi(TaskScopedMixin, generics.ListAPIView):
    """Students with a validation evaluation (routing needs its predictions), best on validation first."""

    serializer_class = CandidateSerializer

    def get_queryset(self) -> list[dict[str, Any]]:  # a list paginates like a queryset
        newest = validation_evaluations(self.task)
        return [
            {
                "id": s.pk,
                "name": s.name,
                "layers": s.layers,
                "parameters": s.parameters,
                "validation_accuracy": newest[s.pk].accuracy,
                "validation_evaluation": newest[s.pk].pk,
                "validation_dataset": newest[s.pk].dataset_name,
            }
            for s in candidate_students(self.task)
        ]


class TaskRoiApi(TaskScopedMixin, generics.GenericAPIView):
    """The CI question: every figure for one student under the assumptions given, nothing saved."""

    serializer_class = RoiFiguresSerializer

    @extend_schema(
        summary="Does this candidate pay off? (computed, not saved)",
        description="Viewers may ask. A 400 names the assumption at fault, or says why there is no answer "
        "(no validation evaluation, no τ meeting the rule, ...). `breakeven.verdict` is the answer.",
        request=RoiRequestSerializer,
        responses={200: RoiFiguresSerializer},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = self.task
        fields = _validated(RoiRequestSerializer, request.data)
        student = _student_of(request, task, fields["student"])
        with _assumption_errors_nested():
            assumptions = assumptions_from(fields.get("assumptions", {}), task=task)
            figures = scenario_compute(task=task, student=student, assumptions=assumptions)
        return Response(figures)


class TaskRoutingCurveApi(TaskScopedMixin, generics.GenericAPIView):
    """The routing curve of a student on validation and the τ each rule picks there (no prices needed)."""

    serializer_class = RoutingCurveSerializer

    @extend_schema(
        summary="Routing curve and τ rules on validation",
        description="Without `student`, the candidate best on validation; with no candidate yet, `student` is "
        "null and `reason` says what to do. A rule that finds no τ says why in its `reason`.",
        parameters=[RoutingCurveQuerySerializer],
        responses={200: RoutingCurveSerializer},
    )
    def get(self, request: Request, task_id: int) -> Response:
        task = self.task
        query = _validated(RoutingCurveQuerySerializer, request.query_params)
        student_id = query.pop("student", None)
        if student_id is None:
            candidates = candidate_students(task)
            if not candidates:
                reason = "No student of this task has a validation evaluation yet: evaluate one on a validation set."
                return Response({"student": None, "reason": reason})
            student = candidates[0]
        else:
            student = _student_of(request, task, student_id)
        # The τ assumptions come in the query string under their own names, so a bad one is named as sent.
        figures = routing_curve_compute(task=task, student=student, assumptions=Assumptions(**query))
        figures["student_name"] = figures.pop("student")
        return Response({"student": student.pk, "reason": ""} | figures)


class TaskScenarioListSaveApi(TaskScopedMixin, generics.ListAPIView):
    """A task's saved scenarios, every version, newest version of each name first; POST saves a version."""

    serializer_class = ScenarioSerializer

    def get_queryset(self) -> QuerySet[Scenario]:
        return scenarios_of_task(self.task).select_related("created_by")

    @extend_schema(
        summary="Save a scenario (a new version under its name)",
        request=ScenarioSaveSerializer,
        responses={201: ScenarioDetailSerializer},
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = self.require_member()
        fields = _validated(ScenarioSaveSerializer, request.data)
        student = _student_of(request, task, fields["student"])
        with _assumption_errors_nested():
            assumptions = assumptions_from(fields.get("assumptions", {}), task=task)
            scenario = scenario_save(
                task=task,
                student=student,
                user=request.user,
                name=fields["name"],
                assumptions=assumptions,
                note=fields["note"],
            )
        return Response(ScenarioDetailSerializer(scenario).data, status=status.HTTP_201_CREATED)


class ScenarioDetailApi(generics.RetrieveAPIView):
    """One saved version: what was assumed, the evidence it was pinned to, and every figure it gave."""

    serializer_class = ScenarioDetailSerializer

    def get_object(self) -> Scenario:
        return scenario_get_for_user(user=self.request.user, scenario_id=self.kwargs["scenario_id"])


class ScenarioShareLinkListCreateApi(generics.ListAPIView):
    """A scenario's share links (never their tokens); POST makes one, whose URL is shown only in that answer."""

    serializer_class = ShareLinkSerializer

    def get_queryset(self) -> QuerySet[ShareLink]:
        scenario = scenario_get_for_user(user=self.request.user, scenario_id=self.kwargs["scenario_id"])
        return scenario.share_links.select_related("created_by")

    @extend_schema(
        summary="Make a share link to the scenario's report",
        request=ShareLinkCreateSerializer,
        responses={201: ShareLinkCreatedSerializer},
    )
    def post(self, request: Request, scenario_id: int) -> Response:
        scenario = scenario_get_for_user(user=request.user, scenario_id=scenario_id)
        # Before the body, so a viewer gets a 403 whatever they sent.
        require_role(user=request.user, team=scenario.task.team, role=Role.MEMBER)
        fields = _validated(ShareLinkCreateSerializer, request.data)
        link, token = share_link_create(scenario=scenario, user=request.user, days=fields["days"])
        url = request.build_absolute_uri(SHARE_PATH.format(token=token))
        data = {"id": link.pk, "url": url, "expires_at": link.expires_at}
        return Response(ShareLinkCreatedSerializer(data).data, status=status.HTTP_201_CREATED)


class ShareLinkRevokeApi(generics.GenericAPIView):
    serializer_class = ShareLinkSerializer

    @extend_schema(
        summary="Revoke a share link",
        description="Immediate: the next request with its token is refused. Revoking twice changes nothing.",
        request=None,
        responses={200: ShareLinkSerializer},
    )
    def post(self, request: Request, link_id: int) -> Response:
        link = share_link_get_for_user(user=request.user, link_id=link_id)
        return Response(ShareLinkSerializer(share_link_revoke(link=link, user=request.user)).data)
