"""Monitoring of a real deployment (approved through the services, with its validation evidence on disk):
signals on logged decisions, alerts priced from the approved scenario and audited once per episode, uploads of
decisions from elsewhere, and re-certification that goes back through approval."""

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tests.approvals.served import record_decisions, validation_confidences
from webapp.approvals.audit import chain_verify, team_chain
from webapp.approvals.models import ApprovalRequest, AuditEntry, Deployment, MonitoringAlert, ServedDecision
from webapp.approvals.monitoring import monitoring_report, reference_of, report_payload
from webapp.approvals.monitoring_services import (
    decisions_upload,
    monitoring_check,
    recertified_request_create,
)
from webapp.approvals.recertify import production_certificate
from webapp.economics.models import Scenario
from webapp.evaluation.models import Evaluation


@pytest.fixture
def deployment(deployment_and_key) -> Deployment:
    return deployment_and_key[0]


def drifted(deployment: Deployment) -> list[float]:
    """Validation's confidences scaled down by a fifth: everything falls below τ."""
    return [c * 0.8 for c in validation_confidences(deployment)]


def alerts_audited(deployment: Deployment) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="monitoring.alert", object_id=deployment.pk).order_by("seq"))


# --- signals and alerts ----------------------------------------------------------------------------------------


def test_traffic_like_validation_raises_no_alert(deployment):
    record_decisions(deployment, validation_confidences(deployment))
    report = monitoring_report(deployment)
    by_key = {s.key: s for s in report.signals}
    assert report.alerts == ()
    assert by_key["coverage"].status == "ok"
    assert by_key["coverage"].value == pytest.approx(report.approved.coverage)
    assert by_key["psi"].value == pytest.approx(0.0) and by_key["ks"].status == "ok"
    assert by_key["estimated_accuracy"].status == "ok"
    assert by_key["teacher_agreement"].status == "not_enough_data"  # shadow rate 0: no shadow sample


def test_lower_confidences_raise_coverage_and_psi_alerts_priced_from_the_scenario(deployment):
    record_decisions(deployment, drifted(deployment))
    report = monitoring_report(deployment)
    alerts = {a.signal: a for a in report.alerts}
    assert {"coverage", "psi", "ks"} <= set(alerts)
    coverage = alerts["coverage"]
    assert "escalates to the teacher" in coverage.explanation
    # Student-first cascade: each point of coverage lost sends that share of requests to the teacher as well.
    figures = deployment.request.scenario.figures
    lost = report.approved.coverage - report.realised_coverage
    expected_usd = lost * figures["assumptions"]["requests_per_month"] * figures["costs"]["teacher_usd_per_request"]
    assert coverage.monthly_usd == pytest.approx(expected_usd, rel=1e-9) and coverage.monthly_usd > 0
    assert f"${expected_usd:,.0f} more a month" in coverage.impact
    assert "scenario 'Deploy case' v1" in coverage.impact
    assert alerts["psi"].monthly_usd == pytest.approx(expected_usd)  # the same traffic, the same bill


def test_an_alert_is_audited_once_per_episode(deployment):
    now = timezone.now()
    record_decisions(deployment, drifted(deployment), start=now - timedelta(days=20))
    opened = monitoring_check(deployment=deployment)
    monitoring_check(deployment=deployment)  # seen again: the same episode
    first = alerts_audited(deployment)
    assert {e.evidence["signal"] for e in first} >= {"coverage", "psi"}
    assert len(first) == len({e.evidence["signal"] for e in first})
    assert opened.alerts and all(e.actor_name == "system" for e in first)
    coverage_line = next(e for e in first if e.evidence["signal"] == "coverage")
    assert coverage_line.evidence["monthly_usd_impact"] > 0 and "a month" in coverage_line.summary

    # A week of normal traffic later, the episode closes; drift again opens a new one, audited again.
    record_decisions(deployment, validation_confidences(deployment), start=now - timedelta(days=5))
    monitoring_check(deployment=deployment)
    coverage_episodes = MonitoringAlert.objects.filter(deployment=deployment, signal="coverage")
    assert [e.is_open for e in coverage_episodes] == [False]
    record_decisions(deployment, drifted(deployment) * 3, start=now - timedelta(hours=1), step=timedelta(seconds=1))
    monitoring_check(deployment=deployment)
    assert len([e for e in alerts_audited(deployment) if e.evidence["signal"] == "coverage"]) == 2
    assert coverage_episodes.filter(closed_at=None).count() == 1
    assert chain_verify(team_chain(deployment.task.team)).intact


def test_an_ended_deployment_shows_alerts_but_records_none(deployment, approver):
    from webapp.approvals.services import deployment_revoke

    deployment_revoke(deployment=deployment, user=approver, reason="pilot over")
    deployment.refresh_from_db()
    record_decisions(deployment, drifted(deployment))
    assert monitoring_check(deployment=deployment).alerts
    assert alerts_audited(deployment) == [] and not MonitoringAlert.objects.exists()


def test_few_decisions_are_not_enough_data_and_no_alert(deployment):
    record_decisions(deployment, drifted(deployment)[:20])
    report = monitoring_report(deployment)
    assert report.alerts == ()
    assert all(s.status == "not_enough_data" for s in report.signals)
    assert "needs at least 50" in report.signal("coverage").explanation


def test_windows_are_hourly_over_forty_hours_of_traffic(deployment):
    confidences = validation_confidences(deployment) * 2
    record_decisions(deployment, confidences, start=timezone.now() - timedelta(days=2), step=timedelta(minutes=3))
    report = monitoring_report(deployment)
    assert report.windows[0].end - report.windows[0].start == timedelta(hours=1)
    assert sum(w.decisions for w in report.windows) == len(confidences)
    payload = report_payload(report)
    assert payload["period"]["window_seconds"] == 3600
    assert json.dumps(payload)  # plain JSON all the way down


def test_without_the_validation_predictions_the_shift_signals_say_why(deployment):
    evaluation = Evaluation.objects.get(pk=reference_of(deployment).evaluation_id)
    record_decisions(deployment, validation_confidences(deployment))
    (Path(settings.DATA_DIR) / evaluation.predictions_path).unlink()
    report = monitoring_report(deployment)
    psi = report.signal("psi")
    assert psi.status == "not_enough_data" and "no longer stored" in psi.explanation
    assert report.signal("coverage").status == "ok"  # coverage only needs the approval's expected figure


def test_labelled_and_shadowed_decisions_feed_accuracy_agreement_and_ece(deployment):
    confidences = validation_confidences(deployment) * 2
    record_decisions(
        deployment, confidences, shadow_every=2, teacher_agrees=lambda i, c: i % 10 != 0, label_right=lambda i, c: True
    )
    report = monitoring_report(deployment)
    agreement, accuracy, ece = (report.signal(k) for k in ("teacher_agreement", "accuracy", "ece"))
    assert agreement.status != "not_enough_data" and agreement.interval is not None
    assert accuracy.value == 1.0
    assert ece.value is not None and ece.status in ("ok", "alert")


# --- uploads ---------------------------------------------------------------------------------------------------


def csv_upload(rows: int, *, bad_line: str | None = None) -> io.BytesIO:
    lines = ["confidence,prediction,tier,teacher_prediction,label,timestamp"]
    lines += [f"0.{50 + i % 49},{'banking' if i % 2 else 'travel'},student,,travel,2026-03-01T09:{i % 60:02d}:00Z"
              for i in range(rows)]  # fmt: skip
    if bad_line is not None:
        lines.insert(3, bad_line)
    return io.BytesIO("\n".join(lines).encode())


def test_an_upload_stores_every_decision_and_is_audited(deployment, member):
    count = decisions_upload(deployment=deployment, user=member, file=csv_upload(120), filename="elsewhere.csv")
    assert count == 120
    stored = ServedDecision.objects.filter(deployment=deployment)
    assert stored.count() == 120 and set(stored.values_list("source", flat=True)) == {"upload"}
    assert stored.filter(label="travel").count() == 120
    entry = AuditEntry.objects.get(action="monitoring.samples_uploaded")
    assert entry.evidence["rows"] == 120 and entry.evidence["labelled"] == 120 and entry.actor_name == member.username


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("1.5,travel,student,,,", "elsewhere.csv line 4: confidence '1.5' is not a probability in [0, 1]"),
        ("0.5,cinema,student,,,", "line 4: prediction 'cinema' is not one of the task's labels"),
        ("0.5,travel,student,,", "line 4 has 5 fields but the header has 6"),
    ],
)
def test_a_bad_upload_names_the_line_and_stores_nothing(deployment, member, bad_line, message):
    with pytest.raises(ValidationError) as caught:
        decisions_upload(deployment=deployment, user=member, file=csv_upload(50, bad_line=bad_line),
                         filename="elsewhere.csv")  # fmt: skip
    assert message in " ".join(caught.value.messages)
    assert not ServedDecision.objects.exists()
    assert not AuditEntry.objects.filter(action="monitoring.samples_uploaded").exists()


def test_a_viewer_cannot_upload(deployment, viewer):
    with pytest.raises(PermissionDenied):
        decisions_upload(deployment=deployment, user=viewer, file=csv_upload(5), filename="x.csv")


# --- re-certification ------------------------------------------------------------------------------------------


def agreeing_traffic(deployment: Deployment, copies: int = 2) -> None:
    """Every decision answered by the teacher too (escalations, and a shadow sample of half the kept ones); the
    teacher agrees with every confident answer and with few unsure ones."""
    record_decisions(
        deployment,
        validation_confidences(deployment) * copies,
        shadow_every=1,
        teacher_agrees=lambda i, c: c >= 0.7 or i % 3 == 0,
    )


def test_too_few_production_samples_say_how_many_are_needed(deployment):
    record_decisions(deployment, validation_confidences(deployment)[:100], shadow_every=1)
    recertification = production_certificate(deployment)
    assert recertification.tau is None
    assert "needs at least 299 decisions with the teacher's answer" in recertification.explanation
    assert "this deployment has 100" in recertification.explanation


def test_a_tau_is_certified_on_shadow_and_escalated_decisions(deployment):
    agreeing_traffic(deployment)
    recertification = production_certificate(deployment)
    assert recertification.risk == "agreement" and recertification.found
    # Production supports more coverage than the approved τ; well below 0.7 two answers in three disagree.
    assert 0.6 < recertification.tau < deployment.tau
    assert 0 < recertification.coverage <= 1 and recertification.realised_coverage is not None
    assert "Certified on 800 decisions with the teacher's answer" in recertification.explanation


def test_labelled_uploads_certify_accuracy_when_there_is_no_teacher_answer(deployment):
    record_decisions(
        deployment, validation_confidences(deployment) * 2, label_right=lambda i, c: c >= 0.6, teacher_answers=False
    )
    recertification = production_certificate(deployment)
    assert recertification.risk == "accuracy" and recertification.found
    assert "certifies accuracy instead of agreement" in recertification.explanation


def test_requesting_the_recertified_tau_goes_back_through_approval(deployment, member):
    agreeing_traffic(deployment)
    tau = production_certificate(deployment).tau
    request = recertified_request_create(deployment=deployment, user=member)
    assert request.state == ApprovalRequest.State.PENDING and request.tau == pytest.approx(tau)
    scenario = request.scenario
    approved = deployment.request.scenario
    assert (scenario.name, scenario.version) == (approved.name, approved.version + 1)
    assert scenario.assumptions["tau_rule"] == "manual" and scenario.assumptions["manual_tau"] == pytest.approx(tau)
    assert scenario.assumptions["requests_per_month"] == approved.assumptions["requests_per_month"]
    assert Scenario.objects.filter(name=approved.name).count() == 2
    deployment.refresh_from_db()
    assert deployment.tau == approved.figures["tau"]  # nothing changes until it is approved and deployed
    assert AuditEntry.objects.filter(action="request.created", object_id=request.pk).exists()


def test_without_a_certified_tau_no_request_is_made(deployment, member):
    with pytest.raises(ValidationError, match="Too few production samples"):
        recertified_request_create(deployment=deployment, user=member)
    assert ApprovalRequest.objects.count() == 1  # only the approved one


def test_a_viewer_cannot_request_a_recertified_tau(deployment, viewer):
    agreeing_traffic(deployment)
    with pytest.raises(PermissionDenied):
        recertified_request_create(deployment=deployment, user=viewer)


def test_the_charts_draw_the_band_each_verdict_and_both_histograms(deployment):
    from webapp.approvals.monitoring_charts import monitoring_figures

    now = timezone.now()
    record_decisions(deployment, validation_confidences(deployment), start=now - timedelta(hours=3))
    record_decisions(deployment, drifted(deployment), start=now - timedelta(hours=1))
    payload = report_payload(monitoring_report(deployment))
    figures = monitoring_figures(payload)
    coverage = figures["monitoring-coverage"]
    names = [trace.name for trace in coverage.data]
    assert "approved band (99% for the window's size)" in names
    assert "within the band" in names and "alert (binomial test)" in names
    alert_marks = next(t for t in coverage.data if t.name == "alert (binomial test)")
    assert all(y < payload["approved"]["coverage"] for y in alert_marks.y)
    histogram = figures["monitoring-confidence"]
    assert [t.type for t in histogram.data] == ["bar", "bar"]
    assert sum(histogram.data[0].y) == pytest.approx(1.0) and sum(histogram.data[1].y) == pytest.approx(1.0)
    assert figures["monitoring-accuracy"].data[0].name == "estimated (mean confidence of kept)"


def test_the_periodic_check_records_alerts_nobody_has_seen(deployment):
    from workers.tasks import check_monitoring

    record_decisions(deployment, drifted(deployment))
    assert check_monitoring() >= 2  # the task body, as beat runs it (coverage, PSI, ...)
    assert {e.evidence["signal"] for e in alerts_audited(deployment)} >= {"coverage", "psi"}
    assert check_monitoring() == 0  # the same episodes: nothing new
