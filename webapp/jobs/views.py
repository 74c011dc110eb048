from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.evaluation.selectors import evaluations_of_job
from webapp.jobs import charts
from webapp.jobs.compare import final_figures, side_by_side
from webapp.jobs.forms import ProfileJobForm
from webapp.jobs.models import Job
from webapp.jobs.payloads import job_payload
from webapp.jobs.selectors import job_get_for_user, job_metrics, jobs_comparable, jobs_of_task
from webapp.jobs.services import job_cancel, profile_job_start
from webapp.registry.models import Task
from webapp.registry.selectors import task_get_for_user
from webapp.ui.context import task_context


@login_required
def job_list(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    form = ProfileJobForm(request.POST or None, task=task)
    if request.method == "POST":
        require_role(user=request.user, team=task.team, role=Role.MEMBER)
        if form.is_valid():
            try:
                job = profile_job_start(
                    task=task,
                    dataset=form.cleaned_data["dataset"],
                    teacher=form.cleaned_data["teacher"],
                    user=request.user,
                    max_length=form.cleaned_data["max_length"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("job-detail", job_id=job.pk)
    context = task_context(request, task, "jobs") | {
        "jobs": jobs_of_task(task=task),
        "form": form,
        "comparable": jobs_comparable(task=task)[:50],
    }
    return render(request, "jobs/job_list.html", context, status=400 if form.errors else 200)


@login_required
def job_compare(request: HttpRequest, task_id: int) -> HttpResponse:
    """Two runs of the same kind side by side: hyper-parameters (differences marked), final figures, and the
    training curves on one chart. Another team's job id is a 404, as everywhere."""
    task = task_get_for_user(user=request.user, task_id=task_id)
    context = task_context(request, task, "jobs") | {"comparable": jobs_comparable(task=task)[:50]}
    chosen = [request.GET.get("a", ""), request.GET.get("b", "")]
    if not all(chosen):
        return render(request, "jobs/job_compare.html", context)
    if not all(value.isdigit() for value in chosen):
        context["problem"] = "Choose two jobs from the lists (job numbers)."
        return render(request, "jobs/job_compare.html", context, status=400)
    runs = [job_get_for_user(user=request.user, job_id=int(value)) for value in chosen]
    context |= {"runs": runs, "chosen": [run.pk for run in runs]}
    problem = _not_comparable(task, runs[0], runs[1])
    if problem:
        context["problem"] = problem
        return render(request, "jobs/job_compare.html", context, status=400)
    series = [charts.metric_series(job_metrics(job=run).values_list("name", "step", "value")) for run in runs]
    finals = [final_figures(s) for s in series]
    context |= {
        "params": side_by_side(runs[0].params, runs[1].params),
        "results": side_by_side(runs[0].result, runs[1].result),
        "finals": [{"name": name, "a": finals[0][name], "b": finals[1][name]} for name in finals[0]],
        "figure": charts.compare_curves_figure([(f"#{run.pk}", s) for run, s in zip(runs, series, strict=True)]),
    }
    return render(request, "jobs/job_compare.html", context)


def _not_comparable(task: Task, a: Job, b: Job) -> str:
    for run in (a, b):
        if run.task_id != task.pk:
            return f"Job #{run.pk} belongs to another task ('{run.task}'): compare runs of this task."
    if a.pk == b.pk:
        return "Choose two different jobs."
    if a.kind != b.kind:
        return (
            f"Compare two jobs of the same kind: #{a.pk} is '{a.get_kind_display()}', "
            f"#{b.pk} is '{b.get_kind_display()}'."
        )
    return ""


@login_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = job_get_for_user(user=request.user, job_id=job_id)
    figures = {}
    if job.status == Job.Status.SUCCEEDED and job.kind == Job.Kind.PROFILE_DATASET:
        figures["tokens"] = charts.token_length_figure(job.result)
    curves = None
    if job.kind in Job.TRAINING_KINDS:
        curves = charts.training_curves_figure(
            charts.metric_series(job_metrics(job=job).values_list("name", "step", "value"))
        )
    context = task_context(request, job.task, "jobs") | {
        "job": job,
        "evaluations": evaluations_of_job(job.pk) if job.kind == Job.Kind.EVALUATE else None,
        "payload": job_payload(job),
        "figures": figures,
        "curves": curves,
        "children": job.children.order_by("pk") if job.kind == Job.Kind.SWEEP else None,
    }
    return render(request, "jobs/job_detail.html", context)


@login_required
def job_metrics_view(request: HttpRequest, job_id: int) -> JsonResponse:
    """All points of a job's curves so far ({name: {x, y}}), for reconnects of the live chart."""
    job = job_get_for_user(user=request.user, job_id=job_id)
    return JsonResponse(charts.metric_series(job_metrics(job=job).values_list("name", "step", "value")))


@login_required
def job_status(request: HttpRequest, job_id: int) -> JsonResponse:
    """The same payload as the websocket's, for first paint and reconnects."""
    job = job_get_for_user(user=request.user, job_id=job_id)
    return JsonResponse(job_payload(job))


@login_required
@require_POST
def job_cancel_view(request: HttpRequest, job_id: int) -> HttpResponse:
    job = job_get_for_user(user=request.user, job_id=job_id)
    job = job_cancel(job=job, user=request.user)
    messages.info(
        request, "Cancelled." if job.status == Job.Status.CANCELLED else "Cancelling: the job stops at its next step."
    )
    return redirect("job-detail", job_id=job.pk)
