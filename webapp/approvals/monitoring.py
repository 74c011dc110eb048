"""A deployment's monitoring, read and computed (nothing stored here; `monitoring_services` records alerts).

It reads the decisions the deployment logged (its last week of traffic, up to the newest decision), the
validation predictions its approval stood on (the reference confidences), and what the approval expected
(coverage and kept quality at τ, from the request's frozen snapshot); `webapp.approvals.drift` does the
statistics. Each alert is priced from the approved scenario's stored figures: the serving cost at the coverage
production realises against the cost at the coverage that was approved, by the cost model itself."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from webapp.approvals import drift
from webapp.approvals.models import Deployment, ServedDecision
from webapp.economics.cost_model import EconomicsInputError, Mode, Serving, monthly_usd
from webapp.evaluation.models import Evaluation
from webapp.evaluation.selectors import prediction_rows

# The stretch of traffic the signals are computed on, ending at the newest decision (not at "now": a
# deployment that went quiet still shows its last week).
RECENT = timedelta(days=7)
# The most decisions one check reads (the newest ones); above it the page says the period was shortened.
MAX_DECISIONS = 200_000
HISTOGRAM_BINS = 20
DECISION_COLUMNS = ("created_at", "tier", "confidence", "student_label", "teacher_label", "shadow", "label")
# Signals that compare with the validation set, so have nothing to say without it.
REFERENCE_SIGNALS = ("psi", "ks", "estimated_accuracy", "ece")
MODE_NAMES = {"cascade": "student-first cascade", "upfront_routing": "upfront routing", "keep_teacher": "teacher"}


def approved_of(deployment: Deployment) -> drift.Approved:
    """What the approval expected at τ on validation (frozen in the request's snapshot)."""
    snapshot = deployment.request.snapshot
    validation = snapshot["expected"]["validation"]
    return drift.Approved(
        tau=deployment.tau,
        coverage=float(validation["coverage"]),
        kept_accuracy=validation.get("kept_accuracy"),
        kept_agreement=validation.get("kept_agreement"),
        validation_rows=snapshot["validation"].get("examples") or None,
        validation_kept=validation.get("kept") or None,
    )


# --- the reference: the validation set τ was chosen on ----------------------------------------------------------


@dataclass(frozen=True)
class ReferenceSet:
    evaluation_id: int
    name: str
    reference: drift.Reference | None
    problem: str  # why there is no reference; empty when there is one


def reference_of(deployment: Deployment) -> ReferenceSet:
    facts = deployment.request.snapshot["validation"]
    evaluation_id, name = int(facts["evaluation_id"]), str(facts["dataset"])
    evaluation = Evaluation.objects.filter(pk=evaluation_id).first()
    if evaluation is None:
        problem = f"the validation evaluation #{evaluation_id} the approval stood on was deleted"
        return ReferenceSet(evaluation_id, name, None, problem)
    rows = list(prediction_rows(evaluation))
    if not rows:
        problem = f"the per-example predictions of evaluation #{evaluation_id} ('{name}') are no longer stored"
        return ReferenceSet(evaluation_id, name, None, problem)
    reference = drift.reference_from(
        [float(row["confidence"]) for row in rows],
        [str(row["prediction"]) for row in rows],
        [row.get("label") for row in rows],
    )
    return ReferenceSet(evaluation_id, name, reference, "")


# --- the decisions -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionLog:
    """The decisions of the monitored period, oldest first, as drift columns, with their times."""

    times: list[datetime]
    traffic: drift.Traffic
    start: datetime | None  # the first decision of the period
    end: datetime | None  # the newest decision
    total: int  # every decision the deployment ever logged
    capped: bool  # the period was cut to the newest MAX_DECISIONS


def recent_decisions(deployment: Deployment, *, period: timedelta = RECENT) -> DecisionLog:
    decisions = ServedDecision.objects.filter(deployment=deployment)
    total = decisions.count()
    newest = decisions.order_by("-created_at").values_list("created_at", flat=True).first()
    if newest is None:
        return DecisionLog([], _traffic([]), None, None, 0, False)
    rows = list(
        decisions.filter(created_at__gt=newest - period)
        .order_by("-created_at", "-pk")
        .values_list(*DECISION_COLUMNS)[: MAX_DECISIONS + 1]
    )
    capped = len(rows) > MAX_DECISIONS
    rows = rows[:MAX_DECISIONS][::-1]
    return DecisionLog(
        times=[row[0] for row in rows],
        traffic=_traffic(rows),
        start=rows[0][0],
        end=newest,
        total=total,
        capped=capped,
    )


def _traffic(rows: list[tuple[Any, ...]]) -> drift.Traffic:
    return drift.traffic_from(
        confidence=[row[2] for row in rows],
        kept=[row[1] == ServedDecision.Tier.STUDENT for row in rows],
        student_label=[row[3] for row in rows],
        teacher_label=[row[4] for row in rows],
        shadow=[row[5] for row in rows],
        label=[row[6] for row in rows],
    )


# --- what a coverage change costs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostBasis:
    """The approved scenario's stored serving figures, which price every alert."""

    scenario_id: int
    scenario: str
    mode: str
    requests_per_month: float
    teacher_usd_per_request: float
    student_usd_per_request: float
    student_fixed_usd_per_month: float
    router_usd_per_request: float
    teacher_basis: str

    def monthly_usd(self, share: float) -> float:
        """The scenario's monthly serving cost with the student keeping `share`, by the cost model."""
        serving = Serving(
            requests_per_month=self.requests_per_month,
            teacher_usd_per_request=self.teacher_usd_per_request,
            student_usd_per_request=self.student_usd_per_request,
            student_share=min(max(share, 0.0), 1.0),
            teacher_latency_ms=0.0,
            student_latency_ms=0.0,
            student_fixed_usd_per_month=self.student_fixed_usd_per_month,
            router_usd_per_request=self.router_usd_per_request,
        )
        return monthly_usd(serving, Mode(self.mode))

    def per_point_text(self) -> str:
        """What one kept-share point is worth, in words (the formula of the scenario's mode)."""
        if self.mode == Mode.UPFRONT_ROUTING:
            each = f"the teacher's ${self.teacher_usd_per_request:.3g} less the student's "
            each += f"${self.student_usd_per_request:.3g} per request moved"
        else:
            each = f"the teacher's ${self.teacher_usd_per_request:.3g} per escalated request (the student runs on all)"
        return (
            f"{self.requests_per_month:,.0f} requests a month × {each}; {MODE_NAMES.get(self.mode, self.mode)}, "
            f"figures stored in scenario {self.scenario}"
        )


def cost_basis_of(deployment: Deployment) -> CostBasis | None:
    scenario = deployment.request.scenario
    figures = scenario.figures
    costs, assumptions = figures.get("costs") or {}, figures.get("assumptions") or {}
    mode = str(figures.get("mode", Mode.CASCADE))
    try:
        basis = CostBasis(
            scenario_id=scenario.pk,
            scenario=f"'{scenario.name}' v{scenario.version}",
            mode=mode,
            requests_per_month=float(assumptions["requests_per_month"]),
            teacher_usd_per_request=float(costs["teacher_usd_per_request"]),
            student_usd_per_request=float(costs["student_usd_per_request"]),
            student_fixed_usd_per_month=float(assumptions.get("student_fixed_usd_per_month") or 0.0),
            router_usd_per_request=float(assumptions.get("router_usd_per_request") or 0.0)
            if mode == Mode.UPFRONT_ROUTING
            else 0.0,
            teacher_basis=str(costs.get("teacher_basis", "")),
        )
        basis.monthly_usd(0.5)  # the cost model refuses figures it can't price (e.g. a free teacher)
    except (KeyError, TypeError, ValueError, EconomicsInputError):
        return None
    return basis


# --- alerts ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """A signal in alert, with what it costs a month: `monthly_usd` is the extra serving cost at the coverage
    production realises against the approved one (negative: it saves), None when it can't be priced."""

    signal: str
    name: str
    explanation: str
    monthly_usd: float | None
    impact: str


def alert_of(
    signal: drift.Signal, *, realised: float | None, approved: drift.Approved, cost: CostBasis | None
) -> Alert:
    impact, usd = _cost_impact(realised, approved, cost)
    consequence = _quality_consequence(signal, realised, cost)
    return Alert(
        signal=signal.key,
        name=signal.name,
        explanation=signal.explanation,
        monthly_usd=usd,
        impact=f"{impact}{consequence}",
    )


def _cost_impact(realised: float | None, approved: drift.Approved, cost: CostBasis | None) -> tuple[str, float | None]:
    if cost is None:
        return "Not priced: the approved scenario has no serving figures to price it with.", None
    if realised is None:
        return "Not priced yet: no decisions to measure the coverage on.", None
    usd = cost.monthly_usd(realised) - cost.monthly_usd(approved.coverage)
    gap = (realised - approved.coverage) * 100
    coverage = f"At {realised:.1%} coverage against the approved {approved.coverage:.1%} ({gap:+.1f} pts)"
    if abs(usd) < 0.5:
        change = "serving costs what the approval planned"
    elif usd > 0:
        change = f"serving costs ${usd:,.0f} more a month than approved"
    else:
        change = f"serving costs ${-usd:,.0f} less a month than approved (on traffic validation did not vouch for)"
    return f"{coverage}, {change}: {cost.per_point_text()}.", usd


def _quality_consequence(signal: drift.Signal, realised: float | None, cost: CostBasis | None) -> str:
    """For a quality alert, the answers a month that the drop turns wrong (or away from the teacher's)."""
    if signal.key not in ("estimated_accuracy", "accuracy", "teacher_agreement") or cost is None:
        return ""
    if signal.value is None or signal.expected is None or realised is None:
        return ""
    shortfall = signal.expected - signal.value
    if shortfall <= 0:
        return ""
    answers = shortfall * realised * cost.requests_per_month
    what = "answers that differ from the teacher's" if signal.key == "teacher_agreement" else "wrong answers"
    return f" The drop means about {answers:,.0f} more {what} a month from the student."


# --- the report ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitoringReport:
    deployment: Deployment
    approved: drift.Approved
    log: DecisionLog
    reference: ReferenceSet
    signals: tuple[drift.Signal, ...]
    windows: tuple[drift.Window, ...]
    alerts: tuple[Alert, ...]
    cost: CostBasis | None

    @property
    def realised_coverage(self) -> float | None:
        n = len(self.log.traffic)
        return float(self.log.traffic.kept.sum()) / n if n else None

    def signal(self, key: str) -> drift.Signal:
        return next(s for s in self.signals if s.key == key)


def monitoring_report(deployment: Deployment) -> MonitoringReport:
    approved = approved_of(deployment)
    log = recent_decisions(deployment)
    reference = reference_of(deployment)
    empty = drift.Reference(np.zeros(0), np.zeros(0, bool), np.zeros(0, bool))
    signals = drift.all_signals(log.traffic, reference.reference or empty, approved)
    if reference.reference is None:
        missing = f"No reference: {reference.problem}, so this can't be compared with validation."
        signals = tuple(
            replace(s, status="not_enough_data", value=None, explanation=missing) if s.key in REFERENCE_SIGNALS else s
            for s in signals
        )
    cost = cost_basis_of(deployment)
    realised = float(log.traffic.kept.mean()) if len(log.traffic) else None
    alerts = tuple(alert_of(s, realised=realised, approved=approved, cost=cost) for s in signals if s.status == "alert")
    return MonitoringReport(
        deployment=deployment,
        approved=approved,
        log=log,
        reference=reference,
        signals=signals,
        windows=drift.windows(log.times, log.traffic, approved),
        alerts=alerts,
        cost=cost,
    )


def confidence_histogram(report: MonitoringReport, *, bins: int = HISTOGRAM_BINS) -> dict[str, list[float]]:
    """Shares of validation and of production confidences in equal-width bins over [0, 1]."""
    edges = np.linspace(0.0, 1.0, bins + 1)

    def shares(values: np.ndarray) -> list[float]:
        counts, _ = np.histogram(values, bins=edges)
        return [float(c) / len(values) for c in counts] if len(values) else [0.0] * bins

    reference = report.reference.reference
    return {
        "edges": [float(e) for e in edges],
        "validation": shares(reference.confidence) if reference is not None else [0.0] * bins,
        "production": shares(report.log.traffic.confidence),
    }


# --- as JSON (the API, and what the charts are drawn from) -----------------------------------------------------


def report_payload(report: MonitoringReport) -> dict[str, Any]:
    """Everything the monitoring page shows, as plain JSON: signals, alerts with their $ impact, the windows'
    verdicts, the confidence histograms and the cost basis. Times are ISO 8601 (UTC)."""
    deployment, approved, log = report.deployment, report.approved, report.log
    width = (report.windows[0].end - report.windows[0].start) if report.windows else None
    return _jsonable(
        {
            "deployment": {
                "id": deployment.pk,
                "task": deployment.task_id,
                "student": str(deployment.student),
                "state": deployment.state,
                "tau": deployment.tau,
                "temperature": deployment.temperature,
                "shadow_rate": deployment.shadow_rate,
            },
            "approved": {
                "request": deployment.request_id,
                "tau": approved.tau,
                "coverage": approved.coverage,
                "kept_accuracy": approved.kept_accuracy,
                "kept_agreement": approved.kept_agreement,
                "validation": {"evaluation_id": report.reference.evaluation_id, "dataset": report.reference.name},
            },
            "period": {
                "start": log.start.isoformat() if log.start else None,
                "end": log.end.isoformat() if log.end else None,
                "decisions": len(log.traffic),
                "total_decisions": log.total,
                "capped": log.capped,
                "window_seconds": width.total_seconds() if width else None,
                "realised_coverage": report.realised_coverage,
            },
            "signals": [_signal_json(s) for s in report.signals],
            "alerts": [asdict(a) | {"monthly_usd_text": _usd_change(a.monthly_usd)} for a in report.alerts],
            "windows": [_window_json(w) for w in report.windows],
            "histogram": confidence_histogram(report),
            "cost_basis": asdict(report.cost) if report.cost else None,
            "reference_problem": report.reference.problem,
        }
    )


def _signal_json(signal: drift.Signal) -> dict[str, Any]:
    return asdict(signal) | {
        "status_label": drift.STATUS_LABELS[signal.status],
        "interval": list(signal.interval) if signal.interval else None,
        "value_text": _number(signal.value, signal.unit),
        "band_text": band_text(signal),
    }


def band_text(signal: drift.Signal) -> str:
    """The band in words: "77.0%–83.0%", "≥ 93.0%", "< 0.25"."""
    low, high = _number(signal.low, signal.unit), _number(signal.high, signal.unit)
    if signal.low is not None and signal.high is not None:
        return f"{low}–{high}"
    if signal.low is not None:
        return f"≥ {low}"
    if signal.high is not None:
        return f"< {high}" if signal.unit == "score" else f"≤ {high}"
    return "—"


def _usd_change(usd: float | None) -> str:
    if usd is None:
        return "not priced"
    return f"{'+' if usd >= 0 else '−'}${abs(usd):,.0f} a month"


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if unit == "share" else f"{value:.3f}"


def _window_json(window: drift.Window) -> dict[str, Any]:
    coverage = window.coverage
    return {
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "decisions": window.decisions,
        "kept": window.kept,
        "coverage": window.kept / window.decisions if window.decisions else None,
        "escalation_rate": 1 - window.kept / window.decisions if window.decisions else None,
        "band": [coverage.low, coverage.high] if coverage.low is not None else None,
        "status": coverage.status,
        "p_value": coverage.p_value,
        "estimated_accuracy": window.estimated_accuracy,
        "labelled_kept": window.labelled_kept,
        "kept_accuracy": window.kept_accuracy,
    }


def _jsonable(value: Any) -> Any:
    """NaN and infinities have no JSON form: None (the pages read it as "—")."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value
