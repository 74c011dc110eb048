"""Writes of monitoring: alert episodes (with their one audit line each), uploaded decisions, and a request to
approve the τ certified on production. Role checks happen here, as in `webapp.approvals.services`."""

import hashlib
from typing import IO, Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.approvals.audit import audit_append
from webapp.approvals.decision_files import MAX_BYTES, DecisionFileError, parse_decisions, too_large_message
from webapp.approvals.models import ApprovalRequest, Deployment, MonitoringAlert, ServedDecision
from webapp.approvals.monitoring import Alert, MonitoringReport, monitoring_report
from webapp.approvals.recertify import production_certificate
from webapp.approvals.services import request_create
from webapp.economics.services import assumptions_from, scenario_save

# --- alerts ----------------------------------------------------------------------------------------------------


def monitoring_check(*, deployment: Deployment) -> MonitoringReport:
    """Compute the monitoring and record what it newly sees: what a page view, an API call or a periodic check
    calls, so whichever sees an alert first records it, and only once."""
    report = monitoring_report(deployment)
    alerts_record(deployment=deployment, report=report)
    return report


def monitoring_check_active() -> int:
    """The periodic check (Celery beat): every active deployment that has logged decisions, so an alert is
    recorded when it starts even if nobody has the page open. Returns how many episodes it opened."""
    deployments = Deployment.objects.filter(state=Deployment.State.ACTIVE, decisions__isnull=False).distinct()
    opened = 0
    for deployment in deployments.select_related("task__team", "student", "request__scenario"):
        opened += len(alerts_record(deployment=deployment, report=monitoring_report(deployment)))
    return opened


@transaction.atomic
def alerts_record(*, deployment: Deployment, report: MonitoringReport) -> list[MonitoringAlert]:
    """Open an episode (and append its "monitoring.alert" audit line) for each signal newly in alert; close the
    open episode of each signal now ok. A signal without enough data leaves its episode as it is. Only an active
    deployment raises alerts: an ended one has nobody left to act on them. Returns the episodes opened."""
    if deployment.state != Deployment.State.ACTIVE:
        return []
    # One check of a deployment at a time: the second sees the first's episodes (the constraint backs this up).
    Deployment.objects.select_for_update().filter(pk=deployment.pk).first()
    open_episodes = {a.signal: a for a in MonitoringAlert.objects.filter(deployment=deployment, closed_at=None)}
    by_key = {alert.signal: alert for alert in report.alerts}
    now = timezone.now()
    opened = []
    for signal in report.signals:
        episode = open_episodes.get(signal.key)
        if signal.status == "alert" and episode is None:
            opened.append(_open(deployment, report, by_key[signal.key], now))
        elif signal.status == "ok" and episode is not None:
            episode.closed_at = now
            episode.save(update_fields=["closed_at"])
    return opened


def _open(deployment: Deployment, report: MonitoringReport, alert: Alert, now: Any) -> MonitoringAlert:
    signal = report.signal(alert.signal)
    summary = f"{alert.name} on deployment #{deployment.pk}: {alert.explanation} {alert.impact}"
    try:
        with transaction.atomic():
            episode = MonitoringAlert.objects.create(
                deployment=deployment,
                signal=alert.signal,
                opened_at=now,
                value=signal.value,
                monthly_usd_impact=alert.monthly_usd,
                summary=summary,
            )
            entry = audit_append(
                team=deployment.task.team,
                action="monitoring.alert",
                actor=None,
                task=deployment.task,
                obj=deployment,
                summary=summary,
                evidence=_alert_evidence(deployment, report, alert),
            )
            episode.audit_seq = entry.seq
            episode.save(update_fields=["audit_seq"])
    except IntegrityError:  # another check opened it a moment ago
        return MonitoringAlert.objects.get(deployment=deployment, signal=alert.signal, closed_at=None)
    return episode


def _alert_evidence(deployment: Deployment, report: MonitoringReport, alert: Alert) -> dict[str, Any]:
    signal = report.signal(alert.signal)
    cost = report.cost
    return {
        "deployment_id": deployment.pk,
        "request_id": deployment.request_id,
        "signal": signal.key,
        "value": signal.value,
        "expected": signal.expected,
        "band": [signal.low, signal.high],
        "p_value": signal.p_value,
        "sample": signal.sample,
        "decisions": len(report.log.traffic),
        "period": [report.log.start, report.log.end],
        "validation_evaluation_id": report.reference.evaluation_id,
        "monthly_usd_impact": alert.monthly_usd,
        "scenario": {"id": cost.scenario_id, "name": cost.scenario} if cost else None,
    }


# --- uploads ---------------------------------------------------------------------------------------------------


@transaction.atomic
def decisions_upload(*, deployment: Deployment, user: AbstractBaseUser, file: IO[bytes], filename: str) -> int:
    """Store the decisions of a CSV or JSONL file as uploaded ServedDecision rows, all or none; returns how many.
    Raises ValidationError naming the file and line of the first problem."""
    require_role(user=user, team=deployment.task.team, role=Role.MEMBER)
    size = getattr(file, "size", 0) or 0
    if getattr(file, "over_cap", False) or size > MAX_BYTES:
        raise ValidationError(too_large_message(filename, size))
    labels = deployment.student.labels or deployment.task.labels
    try:
        parsed = parse_decisions(file, filename=filename, labels=labels)
    except DecisionFileError as exc:
        raise ValidationError(str(exc)) from exc
    file.seek(0)
    sha256 = hashlib.sha256(file.read()).hexdigest()
    now = timezone.now()
    rows = [
        ServedDecision(
            deployment=deployment,
            created_at=decision.timestamp or now,
            source=ServedDecision.Source.UPLOAD,
            tier=decision.tier,
            confidence=decision.confidence,
            student_label=decision.prediction,
            teacher_label=decision.teacher_prediction,
            shadow=decision.tier == ServedDecision.Tier.STUDENT and bool(decision.teacher_prediction),
            label=decision.label,
            latency_ms=None,
        )
        for decision in parsed
    ]
    ServedDecision.objects.bulk_create(rows, batch_size=5000)
    times = [row.created_at for row in rows]
    labelled = sum(1 for row in rows if row.label)
    answered = sum(1 for row in rows if row.teacher_label)
    audit_append(
        team=deployment.task.team,
        action="monitoring.samples_uploaded",
        actor=user,
        task=deployment.task,
        obj=deployment,
        summary=(
            f"Uploaded {len(rows):,} decisions to deployment #{deployment.pk} from {filename} ({labelled:,} labelled, "
            f"{answered:,} with the teacher's answer), {min(times):%Y-%m-%d %H:%M} to {max(times):%Y-%m-%d %H:%M} UTC"
        ),
        evidence={
            "deployment_id": deployment.pk,
            "filename": filename,
            "sha256": sha256,
            "rows": len(rows),
            "labelled": labelled,
            "teacher_answers": answered,
            "first": min(times),
            "last": max(times),
        },
    )
    return len(rows)


# --- re-certification ------------------------------------------------------------------------------------------


@transaction.atomic
def recertified_request_create(*, deployment: Deployment, user: AbstractBaseUser) -> ApprovalRequest:
    """Ask to approve the τ certified on production: a new version of the approved scenario with τ set by hand
    to it, and a request for that version, which waits for an approver like any other."""
    require_role(user=user, team=deployment.task.team, role=Role.MEMBER)
    recertification = production_certificate(deployment)
    if recertification.tau is None:
        raise ValidationError(recertification.explanation)
    scenario = deployment.request.scenario
    if scenario.student is None:
        raise ValidationError(f"The student of scenario '{scenario}' was deleted: there is nothing to re-approve.")
    tau = recertification.tau
    assumptions = assumptions_from(
        dict(scenario.assumptions) | {"tau_rule": "manual", "manual_tau": tau}, task=deployment.task
    )
    note = f"τ re-certified on production decisions of deployment #{deployment.pk}: {recertification.explanation}"
    saved = scenario_save(
        task=deployment.task, student=scenario.student, user=user, name=scenario.name, assumptions=assumptions,
        note=note,
    )  # fmt: skip
    return request_create(scenario=saved, user=user, note=note)
