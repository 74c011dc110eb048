"""The Routing & ROI page: pick a student and assumptions; the server computes every figure from the stored
evidence and the page swaps them in as the inputs move (htmx), with no cost model in JavaScript."""

from dataclasses import asdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.economics import charts
from webapp.economics.analysis import Assumptions
from webapp.economics.evidence import candidate_students
from webapp.economics.forms import RoiForm
from webapp.economics.labels import RULE_LABELS
from webapp.economics.models import Scenario
from webapp.economics.report import (
    assumption_rows,
    compute_lines,
    defaults_in,
    device_prices_text,
    drift_finding,
    origins_of,
    student_source,
    teacher_source,
    upfront_text,
)
from webapp.economics.services import assumptions_from, default_assumptions, scenario_compute, scenario_save
from webapp.registry.models import Task
from webapp.registry.selectors import task_get_for_user
from webapp.ui.context import task_context


def _initial(task: Task) -> dict[str, Any]:
    values = asdict(Assumptions()) | default_assumptions(task)
    values["mode"] = str(values["mode"])
    # Whole numbers read as such in the form ("1000000", not "1000000.0").
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in values.items()}


def _with_defaults(data: QueryDict, initial: dict[str, Any]) -> QueryDict:
    """The submitted values, with every field left out or blank filled with the default the analysis uses for
    it: the form then shows exactly the assumptions the figures were computed with (a partial link included)."""
    filled = data.copy()
    for name, value in initial.items():
        if name in RoiForm.base_fields and value is not None and filled.get(name, "") == "":
            filled[name] = str(value)
    return filled


def _analysis(request: HttpRequest, task: Task) -> dict[str, Any]:
    """The form and, when it is valid and the evidence allows, every figure (or the reason there are none)."""
    students = candidate_students(task)
    initial = _initial(task)
    form = RoiForm(
        _with_defaults(request.GET, initial) if "student" in request.GET else None,
        initial=initial,
        task=task,
        students=students,
    )
    context: dict[str, Any] = {"form": form, "students": students, "figures": None, "problem": None}
    if not students:
        return context
    if form.is_bound and not form.is_valid():
        context["problem"] = "Some assumptions are not valid: see the form."
        return context
    student = form.cleaned_data["student"] if form.is_bound else students[0]
    chosen = form.assumptions() if form.is_bound else {}
    # A first visit tries the strongest rule first and says so when it has to fall back; a rule the user
    # picked is kept, and its refusal explained.
    attempts = [chosen] if form.is_bound else [{"tau_rule": rule} for rule in ("certified", "quality_bar", "manual")]
    refusals = []
    for attempt in attempts:
        try:
            figures = scenario_compute(task=task, student=student, assumptions=assumptions_from(attempt, task=task))
            break
        except ValidationError as exc:
            refusals.append(exc)
    else:
        exc = refusals[-1] if form.is_bound else refusals[0]
        for field, errors in getattr(exc, "error_dict", {}).items():
            if field in form.fields:
                form.add_error(field, errors)
        context["problem"] = " ".join(exc.messages)
        return context
    if refusals:
        # The form shows the rule the figures use, and the note says why the stronger one was not used.
        form.initial["tau_rule"] = figures["tau_rule"]
        context["fallback"] = " ".join(refusals[0].messages)
        context["fallback_rule"] = RULE_LABELS[figures["tau_rule"]]
    context["figures"] = figures
    context["charts"] = charts.report_figures(figures, prefix="roi-")
    return context | _sources(figures)


def _sources(figures: dict[str, Any]) -> dict[str, Any]:
    """Where the figures came from, in the report's words: which inputs are defaults nobody entered, how each
    model was priced, the jobs the training compute sums, what the OOD sets say about drift."""
    origins = origins_of(figures, entered_by="")
    return {
        "origin": {key: origins.text(key) for key in figures["assumptions"]},
        "defaults": defaults_in(assumption_rows(figures, origins)),
        "teacher_source": teacher_source(figures, origins),
        "student_source": student_source(figures, origins),
        "compute_lines": compute_lines(figures),
        "device_prices": device_prices_text(figures, origins),
        "drift": [drift_finding(figures, a) for a in figures["applied"] if a["role"] == "ood"],
        "upfront_text": upfront_text(figures["upfront"]) if figures["upfront"] else "",
    }


@login_required
def roi(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    if "student" not in request.GET and (resumed := _latest_scenario_url(task)) is not None:
        # Opened from the tab: continue from the newest saved scenario rather than from the defaults, which
        # would show another student at other assumptions (a "Wrong tool" beside a saved "Pays off").
        return redirect(resumed)
    context = task_context(request, task, "roi") | _analysis(request, task)
    context["resumed_from"] = _resumed_from(request, task)
    if request.headers.get("HX-Request"):
        return render(request, "economics/_roi_results.html", context)
    return render(request, "economics/roi.html", context)


def _latest_scenario_url(task: Task) -> str | None:
    """The ROI page's URL with the newest saved scenario's student and assumptions, if its student is still a
    candidate; None otherwise."""
    candidates = {student.pk for student in candidate_students(task)}
    scenario = task.scenarios.filter(student__in=candidates).order_by("-created_at").first()
    if scenario is None:
        return None
    values: dict[str, str] = {"student": str(scenario.student_id), "from_scenario": str(scenario.pk)}
    for name, value in scenario.assumptions.items():
        if name not in RoiForm.base_fields or value is None or isinstance(value, dict | list):
            continue
        if isinstance(value, bool):
            if value:
                values[name] = "on"
            continue
        values[name] = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return f"{reverse('roi', args=[task.pk])}?{urlencode(values)}"


def _resumed_from(request: HttpRequest, task: Task) -> Scenario | None:
    scenario_id = request.GET.get("from_scenario", "")
    return task.scenarios.filter(pk=int(scenario_id)).first() if scenario_id.isdigit() else None


@login_required
@require_POST
def roi_save(request: HttpRequest, task_id: int) -> HttpResponse:
    """Save what the page shows as a new version of a named scenario (members only)."""
    task = task_get_for_user(user=request.user, task_id=task_id)
    require_role(user=request.user, team=task.team, role=Role.MEMBER)
    students = candidate_students(task)
    form = RoiForm(request.POST, initial=_initial(task), task=task, students=students)
    if not form.is_valid():
        messages.error(request, "The scenario was not saved: some assumptions are not valid.")
        return redirect("roi", task_id=task.pk)
    try:
        scenario = scenario_save(
            task=task,
            student=form.cleaned_data["student"],
            user=request.user,
            name=request.POST.get("name", ""),
            assumptions=assumptions_from(form.assumptions(), task=task),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, "The scenario was not saved: " + " ".join(exc.messages))
        return redirect("roi", task_id=task.pk)
    messages.success(request, f"Saved '{scenario}': it will not change, and a change saves a new version.")
    return redirect("scenario-detail", scenario_id=scenario.pk)
