"""The Evaluation tab: tier benchmarks, calibration, one model's evidence on one dataset, and the forms
that add evidence (evaluate jobs, robustness probes, imported results)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.evaluation import charts
from webapp.evaluation.confusion import DEFAULT_SHOWN
from webapp.evaluation.downloads import predictions_download
from webapp.evaluation.forms import EvaluateForm, ExternalResultsForm, ProbeForm
from webapp.evaluation.models import Evaluation
from webapp.evaluation.selectors import (
    confusion_examples,
    evaluation_confusion,
    evaluation_get_for_user,
    external_results_of,
    latest_evaluations,
)
from webapp.evaluation.services import evaluate_many, external_results_import, robustness_probe_create
from webapp.evaluation.tier import tier_table
from webapp.jobs.models import Job
from webapp.jobs.selectors import jobs_of_task
from webapp.registry.models import Dataset, Task
from webapp.registry.selectors import task_get_for_user
from webapp.ui.context import task_context


@login_required
def evaluation_overview(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    return _overview(request, task)


def _overview(request: HttpRequest, task: Task, **bound_forms: Any) -> HttpResponse:
    table = tier_table(task, latest_evaluations(task), list(external_results_of(task)))
    forms = {
        "evaluate_form": EvaluateForm(task=task),
        "probe_form": ProbeForm(task=task),
        "import_form": ExternalResultsForm(),
    } | bound_forms
    context = task_context(request, task, "evaluation") | forms
    context |= {
        "table": table,
        "figures": {"quality_latency": charts.quality_latency_figure(table)} if table.primary_points() else {},
        "eval_jobs": jobs_of_task(task=task).filter(kind=Job.Kind.EVALUATE)[:10],
    }
    invalid = any(form.errors for form in bound_forms.values())
    return render(request, "evaluation/overview.html", context, status=400 if invalid else 200)


def _member_task(request: HttpRequest, task_id: int) -> Task:
    task = task_get_for_user(user=request.user, task_id=task_id)
    require_role(user=request.user, team=task.team, role=Role.MEMBER)
    return task


def _submit(
    request: HttpRequest, task: Task, form_name: str, form: forms.Form, act: Callable[[dict[str, Any]], str]
) -> HttpResponse:
    """Run a form's action; on success say what happened and go back to the tab, else show the form's errors."""
    if form.is_valid():
        try:
            message = act(form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, message)
            return redirect("evaluation-overview", task_id=task.pk)
    return _overview(request, task, **{form_name: form})


@login_required
@require_POST
def evaluation_start(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _member_task(request, task_id)
    form = EvaluateForm(request.POST, task=task)

    def start(data: dict[str, Any]) -> str:
        models = form.chosen_models()
        jobs = evaluate_many(
            task=task,
            user=request.user,
            models=models,
            datasets=list(data["datasets"]),
            coverage=data["coverage"],
            save_probabilities=data["save_probabilities"],
        )
        return f"{len(jobs)} evaluate job(s) queued; the table fills in as they finish."

    return _submit(request, task, "evaluate_form", form, start)


@login_required
@require_POST
def robustness_probe(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _member_task(request, task_id)

    def make(data: dict[str, Any]) -> str:
        probe = robustness_probe_create(dataset=data["dataset"], user=request.user)
        return f"Robustness probe '{probe}' stored as an out-of-distribution set."

    return _submit(request, task, "probe_form", ProbeForm(request.POST, task=task), make)


@login_required
@require_POST
def external_import(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _member_task(request, task_id)

    def store(data: dict[str, Any]) -> str:
        upload = data["file"]
        stored = external_results_import(
            task=task, user=request.user, file=upload, filename=upload.name, model_name=data["model_name"]
        )
        models = len({r.model_name for r in stored})
        return f"Imported {len(stored)} score(s) of {models} model(s) from {upload.name}."

    return _submit(request, task, "import_form", ExternalResultsForm(request.POST, request.FILES), store)


@login_required
def evaluation_calibration(request: HttpRequest, task_id: int) -> HttpResponse:
    """Per dataset, in-distribution and OOD side by side: reliability, confidence when right vs wrong,
    risk-coverage, for every evaluated model."""
    task = task_get_for_user(user=request.user, task_id=task_id)
    by_dataset: dict[str, list[Evaluation]] = {}
    for evaluation in latest_evaluations(task):
        by_dataset.setdefault(evaluation.dataset_sha256, []).append(evaluation)
    order = {Dataset.Role.TEST: 0, Dataset.Role.OOD: 1}
    sections = []
    for index, evaluations in enumerate(
        sorted(by_dataset.values(), key=lambda es: (order.get(es[0].dataset_role, 2), es[0].dataset_name))
    ):
        first = evaluations[0]
        name = f"{first.dataset_name} ({first.get_dataset_role_display()})"
        sections.append(
            {
                "name": name,
                "evaluations": evaluations,
                "figures": {
                    f"reliability-{index}": charts.reliability_figure(evaluations, title="Reliability"),
                    f"confidence-{index}": charts.confidence_figure(
                        evaluations, title="Confidence when right (solid) and wrong (dotted)"
                    ),
                    f"risk-{index}": charts.risk_coverage_figure(evaluations, title="Risk-coverage"),
                },
            }
        )
    context = task_context(request, task, "evaluation") | {
        "sections": sections,
        "side_by_side": _side_by_side([section["evaluations"] for section in sections]),
    }
    return render(request, "evaluation/calibration.html", context)


def _side_by_side(columns: list[list[Evaluation]]) -> dict[str, Any]:
    """Each model's evaluation per dataset column, so in-distribution and OOD read across one row."""
    names: dict[tuple[int | None, int | None], str] = {}
    cells: dict[tuple[int | None, int | None], list[Evaluation | None]] = {}
    for index, evaluations in enumerate(columns):
        for evaluation in evaluations:
            key = (evaluation.teacher_id, evaluation.student_id)
            names[key] = evaluation.model_label
            cells.setdefault(key, [None] * len(columns))[index] = evaluation
    return {
        "datasets": [{"name": es[0].dataset_name, "role": es[0].dataset_role} for es in columns],
        "any_out_of_scope": any(e.metrics.get("out_of_scope") for es in columns for e in es),
        "rows": [
            {"name": names[key], "cells": cells[key]} for key in sorted(cells, key=lambda k: (k[0] is None, names[k]))
        ],
    }


@login_required
def evaluation_detail(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    """One model on one dataset: headline figures, worst classes, confusions with example texts, OOD gap."""
    evaluation = evaluation_get_for_user(user=request.user, evaluation_id=evaluation_id)
    quality = evaluation.metrics.get("quality") or {}
    pairs = quality.get("confused_pairs", [])
    siblings = [
        e
        for e in latest_evaluations(evaluation.task)
        if (e.teacher_id, e.student_id) == (evaluation.teacher_id, evaluation.student_id) and e.pk != evaluation.pk
    ]
    in_distribution = next(
        (e for e in siblings if e.dataset_role == Dataset.Role.TEST and e.accuracy is not None), None
    )
    gap = None
    if evaluation.dataset_role == Dataset.Role.OOD and in_distribution and evaluation.accuracy is not None:
        gap = {"test": in_distribution, "change": evaluation.accuracy - in_distribution.accuracy}
    show_all = request.GET.get("classes") == "all"
    confusion = evaluation_confusion(evaluation, show=None if show_all else DEFAULT_SHOWN)
    context = task_context(request, evaluation.task, "evaluation") | {
        "evaluation": evaluation,
        "quality": quality,
        "examples": confusion_examples(evaluation, pairs),
        "gap": gap,
        "siblings": siblings,
        "confusion": confusion,
        "confusion_all": show_all,
        "confusion_default": DEFAULT_SHOWN,
        "figures": {"confusion": charts.confusion_figure(confusion)} if confusion and confusion.rows else {},
    }
    return render(request, "evaluation/detail.html", context)


@login_required
def evaluation_predictions(request: HttpRequest, evaluation_id: int) -> FileResponse:
    return predictions_download(evaluation_get_for_user(user=request.user, evaluation_id=evaluation_id))
