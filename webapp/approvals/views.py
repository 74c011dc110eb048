"""The approvals pages of a task: gates, requests and their decision, deployments (manifest, model card,
serving key, revocation) and the audit log. Views translate the request and call selectors and services;
role checks happen in the services (a viewer's POST is a 403 there), and the forms only show what the role
allows."""

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role, role_for
from webapp.approvals.audit import ACTIONS, chain_verify
from webapp.approvals.forms import DecisionForm, DeployForm, GatePolicyForm, RequestForm, RevokeForm
from webapp.approvals.models import ApprovalRequest, Deployment
from webapp.approvals.selectors import (
    audit_of_task,
    audit_of_team,
    deployment_get_for_user,
    deployments_of_task,
    request_get_for_user,
    requests_of_task,
)
from webapp.approvals.services import (
    deployment_create,
    deployment_key_rotate,
    deployment_revoke,
    deployment_shadow_update,
    gate_policy_of,
    gate_policy_update,
    request_create,
    request_decide,
    request_withdraw,
)
from webapp.economics.selectors import scenario_get_for_user
from webapp.registry.models import Task
from webapp.registry.selectors import task_get_for_user
from webapp.ui.context import task_context

TAB = "approvals"


# --- the task's approvals tab ----------------------------------------------------------------------------------


@login_required
@require_GET
def approvals_overview(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    return _overview(request, task)


def _overview(
    request: HttpRequest,
    task: Task,
    *,
    gate_form: GatePolicyForm | None = None,
    request_form: RequestForm | None = None,
    status: int = 200,
) -> HttpResponse:
    policy = gate_policy_of(task)
    context = task_context(request, task, TAB) | {
        "policy": policy,
        "gate_form": gate_form or GatePolicyForm(instance=policy),
        "request_form": request_form or RequestForm(task=task),
        "requests": requests_of_task(task),
        "deployments": deployments_of_task(task),
    }
    return render(request, "approvals/overview.html", context, status=status)


@login_required
@require_POST
def gate_policy_update_view(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    require_role(user=request.user, team=task.team, role=Role.APPROVER)  # before judging the values
    form = GatePolicyForm(request.POST, instance=gate_policy_of(task))
    if not form.is_valid():
        return _overview(request, task, gate_form=form, status=400)
    values = {name: form.cleaned_data[name] for name in form.Meta.fields}
    gate_policy_update(task=task, user=request.user, values=values)
    messages.success(request, "Gate thresholds saved. Requests made before keep the gates they were judged on.")
    return redirect("approvals", task_id=task.pk)


@login_required
@require_POST
def request_create_view(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    form = RequestForm(request.POST, task=task)
    if not form.is_valid():
        return _overview(request, task, request_form=form, status=400)
    scenario = scenario_get_for_user(user=request.user, scenario_id=form.cleaned_data["scenario"].pk)
    try:
        approval = request_create(scenario=scenario, user=request.user, note=form.cleaned_data["note"])
    except ValidationError as exc:
        form.add_error(None, exc)
        return _overview(request, task, request_form=form, status=400)
    messages.success(request, "Approval requested. Another approver of the team decides it.")
    return redirect("approval-request", request_id=approval.pk)


# --- one request -----------------------------------------------------------------------------------------------


@login_required
@require_GET
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    approval = request_get_for_user(user=request.user, request_id=request_id)
    return _request_page(request, approval)


def _request_page(
    request: HttpRequest,
    approval: ApprovalRequest,
    *,
    decision_form: DecisionForm | None = None,
    deploy_form: DeployForm | None = None,
    status: int = 200,
) -> HttpResponse:
    role = role_for(user=request.user, team=approval.task.team) or 0
    own = approval.requested_by_id == request.user.pk
    pending = approval.state == ApprovalRequest.State.PENDING
    decision = getattr(approval, "decision", None) if hasattr(approval, "decision") else None
    deployment = Deployment.objects.filter(request=approval).first()
    context = task_context(request, approval.task, TAB) | {
        "approval": approval,
        "snapshot": approval.snapshot,
        "decision": decision,
        "deployment": deployment,
        "own": own,
        "can_decide": pending and not own and role >= Role.APPROVER,
        "can_withdraw": pending and (own or role >= Role.ADMIN),
        "can_deploy": approval.state == ApprovalRequest.State.APPROVED and deployment is None and role >= Role.MEMBER,
        "evidence_rows": _evidence_rows(approval.snapshot),
        "decision_form": decision_form or DecisionForm(request=approval),
        "deploy_form": deploy_form or DeployForm(),
    }
    return render(request, "approvals/request_detail.html", context, status=status)


@login_required
@require_POST
def request_decide_view(request: HttpRequest, request_id: int) -> HttpResponse:
    approval = request_get_for_user(user=request.user, request_id=request_id)
    form = DecisionForm(request.POST, request=approval)
    if not form.is_valid():
        return _request_page(request, approval, decision_form=form, status=400)
    try:
        decision = request_decide(
            request=approval,
            user=request.user,
            outcome=form.cleaned_data["outcome"],
            comment=form.cleaned_data["comment"],
            overrides=form.overrides(),
        )
    except ValidationError as exc:
        _form_errors(form, exc)
        approval.refresh_from_db()
        return _request_page(request, approval, decision_form=form, status=400)
    messages.success(request, f"{decision.get_outcome_display()}: recorded in the audit log.")
    return redirect("approval-request", request_id=approval.pk)


@login_required
@require_POST
def request_withdraw_view(request: HttpRequest, request_id: int) -> HttpResponse:
    approval = request_get_for_user(user=request.user, request_id=request_id)
    try:
        request_withdraw(request=approval, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("approval-request", request_id=approval.pk)


@login_required
@require_POST
def deploy_view(request: HttpRequest, request_id: int) -> HttpResponse:
    approval = request_get_for_user(user=request.user, request_id=request_id)
    form = DeployForm(request.POST)
    if not form.is_valid():
        return _request_page(request, approval, deploy_form=form, status=400)
    try:
        deployment, key = deployment_create(
            request=approval, user=request.user, shadow_rate=form.cleaned_data["shadow_rate"]
        )
    except ValidationError as exc:
        _form_errors(form, exc)
        return _request_page(request, approval, deploy_form=form, status=400)
    return _show_key_once(request, deployment, key)


def _evidence_rows(snapshot: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    student, teacher = snapshot["student"]["name"], snapshot["teacher"]["name"]
    rows = [("Validation (τ and T fitted here)", snapshot["validation"], student)]
    if snapshot["student_test"]:
        rows.append(("In-distribution test", snapshot["student_test"], student))
    if snapshot["teacher_test"]:
        rows.append(("In-distribution test", snapshot["teacher_test"], teacher))
    rows += [("Out of distribution", e, student) for e in snapshot["student_ood"]]
    return rows


def _form_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# --- deployments -----------------------------------------------------------------------------------------------


@login_required
@require_GET
def deployment_detail(request: HttpRequest, deployment_id: int) -> HttpResponse:
    deployment = deployment_get_for_user(user=request.user, deployment_id=deployment_id)
    return _deployment_page(request, deployment, new_key=request.session.pop(_key_session_name(deployment), None))


def _show_key_once(request: HttpRequest, deployment: Deployment, key: str) -> HttpResponse:
    """Post/redirect/get: the new key waits in the session for the next view of the deployment, which
    removes it. Rendering it on the POST's own response would make a reload (F5) deploy or rotate again,
    silently invalidating the key just copied."""
    request.session[_key_session_name(deployment)] = key
    return redirect("deployment-detail", deployment_id=deployment.pk)


def _key_session_name(deployment: Deployment) -> str:
    return f"new-serving-key-{deployment.pk}"


def _deployment_page(
    request: HttpRequest,
    deployment: Deployment,
    *,
    new_key: str | None = None,
    revoke_form: RevokeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    serving_url = settings.SERVING_URL.rstrip("/")
    context = task_context(request, deployment.task, TAB) | {
        "deployment": deployment,
        "manifest_json": json.dumps(deployment.manifest, indent=2, ensure_ascii=False),
        "endpoint": f"{serving_url}/v1/deployments/{deployment.pk}/predict",
        "new_key": new_key,
        "revoke_form": revoke_form or RevokeForm(),
    }
    response = render(request, "approvals/deployment_detail.html", context, status=status)
    if new_key:
        response["Cache-Control"] = "no-store"  # the key must not stay in a cache
    return response


@login_required
@require_POST
def deployment_revoke_view(request: HttpRequest, deployment_id: int) -> HttpResponse:
    deployment = deployment_get_for_user(user=request.user, deployment_id=deployment_id)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        return _deployment_page(request, deployment, revoke_form=form, status=400)
    try:
        deployment_revoke(deployment=deployment, user=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        _form_errors(form, exc)
        return _deployment_page(request, deployment, revoke_form=form, status=400)
    messages.success(request, "Revoked: its endpoint answers 410 from now on.")
    return redirect("deployment-detail", deployment_id=deployment.pk)


@login_required
@require_POST
def deployment_shadow_view(request: HttpRequest, deployment_id: int) -> HttpResponse:
    deployment = deployment_get_for_user(user=request.user, deployment_id=deployment_id)
    form = DeployForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The shadow rate is a share between 0 and 1.")
    else:
        deployment_shadow_update(deployment=deployment, user=request.user, shadow_rate=form.cleaned_data["shadow_rate"])
        messages.success(request, "Shadow rate saved.")
    return redirect("deployment-detail", deployment_id=deployment.pk)


@login_required
@require_POST
def deployment_key_rotate_view(request: HttpRequest, deployment_id: int) -> HttpResponse:
    deployment = deployment_get_for_user(user=request.user, deployment_id=deployment_id)
    key = deployment_key_rotate(deployment=deployment, user=request.user)
    return _show_key_once(request, deployment, key)


@login_required
@require_GET
def deployment_manifest(request: HttpRequest, deployment_id: int) -> HttpResponse:
    deployment = deployment_get_for_user(user=request.user, deployment_id=deployment_id)
    body = json.dumps(deployment.manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return _download(body, "application/json", f"deployment-{deployment.pk}-manifest.json")


@login_required
@require_GET
def deployment_model_card(request: HttpRequest, deployment_id: int) -> HttpResponse:
    deployment = deployment_get_for_user(user=request.user, deployment_id=deployment_id)
    return _download(deployment.model_card, "text/markdown; charset=utf-8", "README.md")


def _download(body: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- the audit log ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def audit_log(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    entries = list(audit_of_task(task)[:500])
    context = task_context(request, task, TAB) | {
        "entries": entries,
        "actions": ACTIONS,
        "chain": chain_verify(audit_of_team(task.team).iterator(chunk_size=2000)),
    }
    return render(request, "approvals/audit_log.html", context)


@login_required
@require_GET
def audit_export(request: HttpRequest, task_id: int) -> StreamingHttpResponse:
    """The team's whole chain as JSON lines (hashes included, so anyone can re-verify it offline); the task's
    own lines are the ones whose task_id is this task."""
    task = task_get_for_user(user=request.user, task_id=task_id)
    require_role(user=request.user, team=task.team, role=Role.VIEWER)

    def lines() -> Any:
        from webapp.approvals.audit import hashed_fields

        for entry in audit_of_team(task.team).iterator(chunk_size=2000):
            yield json.dumps(hashed_fields(entry) | {"entry_hash": entry.entry_hash}, ensure_ascii=False) + "\n"

    response = StreamingHttpResponse(lines(), content_type="application/x-ndjson")
    name = slugify(task.team.name) or "team"
    response["Content-Disposition"] = f'attachment; filename="{name}-audit-log.jsonl"'
    return response


@login_required
@require_POST
def request_from_scenario(request: HttpRequest, scenario_id: int) -> HttpResponse:
    """The report page's "Request approval" button."""
    scenario = scenario_get_for_user(user=request.user, scenario_id=scenario_id)
    try:
        approval = request_create(scenario=scenario, user=request.user, note=request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("scenario-detail", scenario_id=scenario.pk)
    except PermissionDenied:
        raise
    messages.success(request, "Approval requested. Another approver of the team decides it.")
    return redirect("approval-request", request_id=approval.pk)
