"""The overview's "At a glance" panel: the answer a stakeholder asks for first (which student, how much of the
teacher's quality it keeps, how much faster it is, how much traffic it may take, when it pays off, whether it
is signed off), each figure with the page that is its evidence, or, where a piece is missing, the one thing to
do next. Reads only; the figures are formatted here so the template only lays them out.

Which student is "best" is said, not guessed: the student of the most recent saved scenario (a person chose it
and costed it), else the evaluated student keeping the largest share of its teacher's test accuracy."""

from dataclasses import dataclass

from django.urls import reverse

from webapp.approvals.evidence import teacher_of
from webapp.approvals.models import ApprovalRequest, Deployment
from webapp.economics.models import Scenario
from webapp.evaluation.models import Evaluation
from webapp.evaluation.selectors import latest_evaluations
from webapp.evaluation.tier import device_label
from webapp.registry.models import Dataset, Student, Task


@dataclass(frozen=True)
class Figure:
    """One box: a value with the page that is its evidence, or what is missing and a link to do it."""

    key: str
    label: str
    url: str  # the evidence behind `value`, or where to do `action`
    value: str = ""
    detail: str = ""
    missing: str = ""  # "No evaluation on test yet"
    action: str = ""  # "evaluate a student"


@dataclass(frozen=True)
class Glance:
    student: Student | None
    rule: str  # which rule picked the student, in words
    student_url: str
    figures: list[Figure]
    missing: str = ""  # no student to show: why, and what to do
    action: str = ""


@dataclass(frozen=True)
class _Measured:
    """A student's newest test evaluation, next to its teacher's on the same test set (if there is one)."""

    evaluation: Evaluation
    teacher_evaluation: Evaluation | None

    @property
    def retention(self) -> float | None:
        student, teacher = self.evaluation.accuracy, self.teacher_evaluation and self.teacher_evaluation.accuracy
        return student / teacher if student is not None and teacher else None


def task_glance(task: Task) -> Glance:
    measured = _measured_on_test(task)
    scenario = _latest_scenario(task)
    student: Student | None
    if scenario is not None:
        student = scenario.student
        rule = f"the student of the most recent saved scenario, '{scenario.name}' v{scenario.version}"
    elif measured:
        student, rule = _best_retention(measured)
    else:
        student, rule = None, ""
    figures = [
        *_quality_and_speed(task, student, measured.get(student.pk) if student else None),
        _traffic(task, scenario),
        *_payoff(task, scenario),
        _approval(task, scenario),
    ]
    student_url = reverse("student-list", args=[task.pk])
    if student is not None:
        return Glance(student, rule, student_url, figures)
    missing, action, url = _no_student_step(task)
    return Glance(None, "", url, figures, missing=missing, action=action)


# --- which student ------------------------------------------------------------------------------------------


def _measured_on_test(task: Task) -> dict[int, _Measured]:
    """Per student, its newest test evaluation that its teacher was also evaluated on (else its newest)."""
    evaluations = [e for e in latest_evaluations(task) if e.dataset_role == Dataset.Role.TEST]  # newest first
    teachers = {(e.teacher_id, e.dataset_sha256): e for e in reversed(evaluations) if e.teacher_id}
    found: dict[int, _Measured] = {}
    for evaluation in evaluations:
        if evaluation.student is None:
            continue
        teacher = teacher_of(evaluation.student)
        paired = teachers.get((teacher.pk if teacher else None, evaluation.dataset_sha256))
        known = found.get(evaluation.student.pk)
        if known is None or (known.teacher_evaluation is None and paired is not None):
            found[evaluation.student.pk] = _Measured(evaluation, paired)
    return found


def _latest_scenario(task: Task) -> Scenario | None:
    """The most recent saved scenario whose student is still there to deploy."""
    scenarios = Scenario.objects.filter(task=task, student__isnull=False, student__archived_at__isnull=True)
    return scenarios.select_related("student").order_by("-created_at", "-pk").first()


def _best_retention(measured: dict[int, _Measured]) -> tuple[Student, str]:
    best = max(measured.values(), key=lambda m: (m.retention is not None, m.retention or 0, m.evaluation.accuracy or 0))
    count = f"{len(measured)} student{'s' if len(measured) != 1 else ''} evaluated on test"
    if best.retention is None:  # no teacher measured on the same test set: accuracy alone
        rule = f"the highest test accuracy of the {count} (no teacher evaluated on the same set to compare)"
    else:
        rule = f"the best retention of its teacher's test accuracy of the {count} (no scenario saved yet)"
    return best.evaluation.student, rule  # type: ignore[return-value]


def _no_student_step(task: Task) -> tuple[str, str, str]:
    if not task.students.active().exists():
        return "No student yet", "distil a student", reverse("student-list", args=[task.pk]) + "#distil"
    if not task.datasets.active().filter(role=Dataset.Role.TEST).exists():
        return "No test set yet", "upload one", reverse("dataset-list", args=[task.pk])
    return "No evaluation on test yet", "evaluate a student", reverse("evaluation-overview", args=[task.pk])


# --- the figures --------------------------------------------------------------------------------------------


def _quality_and_speed(task: Task, student: Student | None, measured: _Measured | None) -> list[Figure]:
    retention_label, speed_label = "retention of the teacher's test accuracy", "speed-up over the teacher"
    if student is None or measured is None:
        missing, action, url = _no_student_step(task)
        if student is not None:
            missing = "No evaluation on test yet"
            action, url = "evaluate it", reverse("evaluation-overview", args=[task.pk])
        return [
            Figure("retention", retention_label, url, missing=missing, action=action),
            Figure("speedup", speed_label, url, missing=missing, action=action),
        ]
    student_eval, teacher_eval = measured.evaluation, measured.teacher_evaluation
    url = reverse("evaluation-detail", args=[student_eval.pk])
    if teacher_eval is None:
        fix = reverse("evaluation-overview", args=[task.pk])
        missing = f"The teacher has no evaluation on '{student_eval.dataset_name}'"
        return [
            Figure("retention", retention_label, fix, missing=missing, action="evaluate it there"),
            Figure("speedup", speed_label, fix, missing=missing, action="evaluate it there"),
        ]
    retention = measured.retention
    quality = (
        Figure(
            "retention",
            retention_label,
            url,
            value=f"{retention:.1%}",
            detail=f"{student_eval.accuracy:.1%} vs the teacher's {teacher_eval.accuracy:.1%} on "
            f"'{student_eval.dataset_name}'",
        )
        if retention is not None
        else Figure("retention", retention_label, url, missing="No accuracy on this test set", action="see why")
    )
    return [quality, _speedup(student_eval, teacher_eval, url)]


def _speedup(student_eval: Evaluation, teacher_eval: Evaluation, url: str) -> Figure:
    label = "speed-up over the teacher"
    side = (student_eval.speed or {}).get("side_by_side") or {}
    if side.get("teacher_id") == teacher_eval.teacher_id and side.get("latency_speedup"):
        # Timed beside its teacher in one job: the median of per-round ratios, immune to a noisy neighbour
        # that slowed only one of two separate jobs.
        ratio = side["latency_speedup"]
        detail = (f"p50 latency, median of {side['rounds']} interleaved rounds (range {ratio['min']:.1f}–"
                  f"{ratio['max']:.1f}×), {device_label(student_eval.speed or {})}")  # fmt: skip
        return Figure("speedup", label, url, value=f"{ratio['median']:.1f}×", detail=detail)
    student_ms = (student_eval.speed or {}).get("latency_p50_ms")
    teacher_ms = (teacher_eval.speed or {}).get("latency_p50_ms")
    if not student_ms or not teacher_ms:
        untimed = "student" if not student_ms else "teacher"
        return Figure("speedup", label, url, missing=f"The {untimed} was not timed on this set",
                      action="evaluate it again")  # fmt: skip
    where = {device_label(student_eval.speed or {}), device_label(teacher_eval.speed or {})}
    detail = f"p50 latency {student_ms:.1f} ms vs {teacher_ms:.1f} ms, timed in separate jobs"
    detail += f", {where.pop()}" if len(where) == 1 else " on different devices"
    return Figure("speedup", label, url, value=f"{teacher_ms / student_ms:.1f}×", detail=detail)


def _traffic(task: Task, scenario: Scenario | None) -> Figure:
    label = "traffic kept at the certified τ"
    if scenario is None:
        return Figure("traffic", label, reverse("roi", args=[task.pk]), missing="No saved scenario yet",
                      action="certify a τ on Routing & ROI")  # fmt: skip
    figures, url = scenario.figures, reverse("scenario-detail", args=[scenario.pk]) + "#guarantee"
    certificate = figures["certificate"]
    if certificate["tau"] is None:
        chosen = f"it keeps {figures['share']:.1%} at its τ {figures['tau']:.3f}, uncertified"
        rows = figures["curve"]["rows"]
        if certificate["min_kept_to_certify"] > rows:
            missing = f"No certified τ: needs ≥ {certificate['min_kept_to_certify']:,} validation rows, has {rows:,}"
            return Figure("traffic", label, reverse("dataset-list", args=[task.pk]), detail=chosen,
                          missing=missing, action="add validation data")  # fmt: skip
        return Figure("traffic", label, url, detail=chosen, missing="No certified τ", action="see why")
    kept = certificate["point"]["coverage"]
    detail = (
        f"τ {certificate['tau']:.3f} certifies {certificate['risk']} ≥ {certificate['target']:.0%}; "
        f"≥ {certificate['coverage_lower_bound']:.1%} at {1 - certificate['delta']:.0%} confidence"
    )
    return Figure("traffic", label, url, value=f"{kept:.1%}", detail=detail)


def _payoff(task: Task, scenario: Scenario | None) -> list[Figure]:
    if scenario is None:
        roi = reverse("roi", args=[task.pk])
        return [
            Figure("breakeven", "breakeven", roi, missing="No saved scenario yet", action="work out the ROI"),
            Figure("verdict", "verdict", roi, missing="No saved scenario yet", action="save a scenario"),
        ]
    url = reverse("scenario-detail", args=[scenario.pk]) + "#verdict"
    months = scenario.breakeven_months
    monthly, mode = scenario.monthly_savings_usd, scenario.figures["mode"].replace("_", " ")
    savings = (
        f"{'saves' if monthly >= 0 else 'costs'} ${abs(monthly):,.0f} a month{'' if monthly >= 0 else ' more'} ({mode})"
    )
    saved = f"'{scenario.name}' v{scenario.version}, saved {scenario.created_at:%Y-%m-%d}"
    verdict = scenario.figures["breakeven"].get("label") or scenario.verdict.replace("_", " ").capitalize()
    return [
        Figure(
            "breakeven", "breakeven", url, value="never" if months is None else f"{months:.1f} months", detail=savings
        ),  # fmt: skip
        Figure("verdict", "verdict", url, value=verdict, detail=saved),
    ]


def _approval(task: Task, scenario: Scenario | None) -> Figure:
    """The task's state of sign-off: what serves now, else its latest request (withdrawn ones aside)."""
    label = "approval"
    requests = ApprovalRequest.objects.filter(task=task).exclude(state=ApprovalRequest.State.WITHDRAWN)
    latest = requests.select_related("deployment").order_by("-created_at", "-pk").first()
    deployment = Deployment.objects.filter(task=task, state=Deployment.State.ACTIVE).select_related("request").first()
    if deployment is not None:
        detail = f"{deployment.request.student_name} at τ {deployment.tau:.3f}, since {deployment.created_at:%Y-%m-%d}"
        if latest is not None and latest.state == ApprovalRequest.State.PENDING:
            detail += f"; request #{latest.pk} waits for sign-off"
        return Figure("approval", label, reverse("deployment-detail", args=[deployment.pk]), value="Deployed",
                      detail=detail)  # fmt: skip
    if latest is None:
        if scenario is None:
            url, action = reverse("roi", args=[task.pk]), "save a scenario to request sign-off"
        else:
            url, action = reverse("approvals", args=[task.pk]) + "#request-form", "request sign-off"
        return Figure("approval", label, url, missing="Not requested yet", action=action)
    value = {
        ApprovalRequest.State.PENDING: "Waiting for sign-off",
        ApprovalRequest.State.APPROVED: "Approved",
        ApprovalRequest.State.REJECTED: "Rejected",
    }[ApprovalRequest.State(latest.state)]
    detail = f"request #{latest.pk}: {latest.student_name} at τ {latest.tau:.3f}"
    if latest.state == ApprovalRequest.State.APPROVED:
        ended = getattr(latest, "deployment", None)
        detail += f", deployment {ended.get_state_display().lower()}" if ended else ", not deployed yet"
    return Figure("approval", label, reverse("approval-request", args=[latest.pk]), value=value, detail=detail)
