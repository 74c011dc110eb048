"""The monitoring page of a deployment: alerts with their monthly $ impact, charts, the signals table, the τ
re-certified on production, and the upload of decisions logged elsewhere. Views translate the request and call
`monitoring` (reads) and `monitoring_services` (writes); every team member may read, members may write."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.approvals import monitoring_charts
from webapp.approvals.models import Deployment, MonitoringAlert
from webapp.approvals.monitoring import report_payload
from webapp.approvals.monitoring_forms import DecisionUploadForm
from webapp.approvals.monitoring_services import decisions_upload, monitoring_check, recertified_request_create
from webapp.approvals.recertify import production_certificate, recertification_payload
from webapp.approvals.selectors import deployment_get_for_user
from webapp.ui.context import task_context

TAB = "approvals"  # the task tab deployments belong to


def monitoring_context(deployment: Deployment) -> dict[str, Any]:
    """What the page (and its periodic refresh) shows; checking also records newly seen alerts."""
    report = monitoring_check(deployment=deployment)
    payload = report_payload(report)
    return {
        "period_start": report.log.start,
        "period_end": report.log.end,
        "deployment": deployment,
        "monitoring": payload,
        "estimated": next(s for s in payload["signals"] if s["key"] == "estimated_accuracy"),
        "recertification": recertification_payload(production_certificate(deployment, recent=report.log)),
        "episodes": MonitoringAlert.objects.filter(deployment=deployment)[:20],
        "charts": monitoring_charts.monitoring_figures(payload) if payload["period"]["decisions"] else {},
    }


@login_required
@require_GET
def deployment_monitoring(request: HttpRequest, deployment_id: int) -> HttpResponse:
    deployment = deployment_get_for_user(user=request.user, deployment_id=deployment_id)
    context = task_context(request, deployment.task, TAB) | monitoring_context(deployment)
    if request.headers.get("HX-Request"):
        return render(request, "approvals/monitoring/_results.html", context)
    return render(request, "approvals/monitoring/page.html", context | {"upload_form": DecisionUploadForm()})


@login_required
@require_POST
def deployment_monitoring_upload(request: HttpRequest, deployment_id: int) -> HttpResponse:
    """Members upload decisions logged elsewhere; a refused file is named with its line, and nothing is kept."""
    deployment = deployment_get_for_user(user=request.user, deployment_id=deployment_id)
    require_role(user=request.user, team=deployment.task.team, role=Role.MEMBER)  # a viewer's 403 comes first
    form = DecisionUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            count = decisions_upload(deployment=deployment, user=request.user, file=upload, filename=upload.name)
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            messages.success(request, f"Stored {count:,} decisions from {upload.name}.")
            return redirect("deployment-monitoring", deployment_id=deployment.pk)
    context = task_context(request, deployment.task, TAB) | monitoring_context(deployment)
    return render(request, "approvals/monitoring/page.html", context | {"upload_form": form}, status=400)


@login_required
@require_POST
def deployment_recertify(request: HttpRequest, deployment_id: int) -> HttpResponse:
    """Request approval of the τ certified on production (computed again now, on the data as it is)."""
    deployment = deployment_get_for_user(user=request.user, deployment_id=deployment_id)
    require_role(user=request.user, team=deployment.task.team, role=Role.MEMBER)
    try:
        approval = recertified_request_create(deployment=deployment, user=request.user)
    except ValidationError as exc:
        messages.error(request, "No request was made: " + " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Requested approval #{approval.pk} of τ = {approval.tau:.4g} (scenario '{approval.scenario}'): it waits "
            "for an approver's decision, and the deployment keeps its current τ until then.",
        )
    return redirect("deployment-monitoring", deployment_id=deployment.pk)
