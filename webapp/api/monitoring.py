"""A deployment's monitoring as JSON: the same payload the monitoring page is drawn from (signals with their
band, status and explanation; alerts with their monthly $ impact; per-window coverage verdicts; confidence
histograms; the τ re-certified on production). Reading is every team member's right; another team's deployment
is a 404. Like the page, a read records an alert the first time it is seen (once per episode)."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from webapp.approvals.monitoring import report_payload
from webapp.approvals.monitoring_services import monitoring_check
from webapp.approvals.recertify import production_certificate, recertification_payload
from webapp.approvals.selectors import deployment_get_for_user


class SignalSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="coverage, psi, ks, estimated_accuracy, teacher_agreement, accuracy, ece")
    name = serializers.CharField()
    value = serializers.FloatField(allow_null=True, help_text="None when there is not enough data.")
    expected = serializers.FloatField(allow_null=True, help_text="What validation / the approval expected.")
    low = serializers.FloatField(allow_null=True, help_text="The band's lower end (None: open).")
    high = serializers.FloatField(allow_null=True, help_text="The band's upper end (None: open).")
    status = serializers.ChoiceField(choices=["ok", "alert", "not_enough_data"])
    status_label = serializers.CharField()
    sample = serializers.IntegerField(help_text="Observations the signal stands on.")
    min_sample = serializers.IntegerField(help_text="The fewest it is judged on.")
    p_value = serializers.FloatField(allow_null=True)
    interval = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="95% CI.")
    unit = serializers.ChoiceField(choices=["share", "score"])
    value_text = serializers.CharField()
    band_text = serializers.CharField()
    explanation = serializers.CharField()


class AlertSerializer(serializers.Serializer):
    signal = serializers.CharField()
    name = serializers.CharField()
    explanation = serializers.CharField()
    monthly_usd = serializers.FloatField(
        allow_null=True, help_text="Extra serving cost a month at the realised coverage (negative: saved)."
    )
    monthly_usd_text = serializers.CharField()
    impact = serializers.CharField(help_text="The $ impact in words, and which scenario figures it used.")


class MonitoringSerializer(serializers.Serializer):
    deployment = serializers.JSONField()
    approved = serializers.JSONField(help_text="τ, coverage and kept quality the approval expected on validation.")
    period = serializers.JSONField(help_text="The decisions the signals are computed on (the last week of traffic).")
    signals = SignalSerializer(many=True)
    alerts = AlertSerializer(many=True)
    windows = serializers.ListField(child=serializers.JSONField(), help_text="Per time window: coverage verdict.")
    histogram = serializers.JSONField(help_text="Shares of confidences per bin, validation and production.")
    cost_basis = serializers.JSONField(
        allow_null=True, help_text="The approved scenario's figures alerts are priced by."
    )
    reference_problem = serializers.CharField(help_text="Why validation can't be compared with; empty when it can.")
    recertification = serializers.JSONField(help_text="The certified τ on production samples, or why there is none.")


class DeploymentMonitoringApi(generics.GenericAPIView):
    serializer_class = MonitoringSerializer

    @extend_schema(summary="Monitoring of a deployment: drift signals, alerts with $ impact, re-certified τ")
    def get(self, request: Request, deployment_id: int) -> Response:
        deployment = deployment_get_for_user(user=request.user, deployment_id=deployment_id)
        report = monitoring_check(deployment=deployment)
        payload = report_payload(report)
        payload["recertification"] = recertification_payload(production_certificate(deployment, recent=report.log))
        return Response(payload)
