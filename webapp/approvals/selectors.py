"""Reads of the approvals app, scoped to the user's teams (another team's object is a 404)."""

from django.db.models import QuerySet
from django.http import Http404

from webapp.accounts.models import Team
from webapp.accounts.selectors import AnyUser, scope_to_user
from webapp.approvals.models import ApprovalRequest, AuditEntry, Deployment
from webapp.registry.models import Task


def requests_visible_to(*, user: AnyUser) -> QuerySet[ApprovalRequest]:
    return scope_to_user(ApprovalRequest.objects.all(), user=user, team_path="task__team")


def request_get_for_user(*, user: AnyUser, request_id: int) -> ApprovalRequest:
    found = (
        requests_visible_to(user=user)
        .select_related("task__team", "scenario", "student", "requested_by")
        .filter(pk=request_id)
        .first()
    )
    if found is None:
        raise Http404("No such approval request.")
    return found


def requests_of_task(task: Task) -> QuerySet[ApprovalRequest]:
    return ApprovalRequest.objects.filter(task=task).select_related("requested_by", "scenario", "decision__decided_by")


def deployments_visible_to(*, user: AnyUser) -> QuerySet[Deployment]:
    return scope_to_user(Deployment.objects.all(), user=user, team_path="task__team")


def deployment_get_for_user(*, user: AnyUser, deployment_id: int) -> Deployment:
    found = (
        deployments_visible_to(user=user)
        .select_related("task__team", "student", "teacher", "request__scenario", "created_by", "ended_by")
        .filter(pk=deployment_id)
        .first()
    )
    if found is None:
        raise Http404("No such deployment.")
    return found


def deployments_of_task(task: Task) -> QuerySet[Deployment]:
    return Deployment.objects.filter(task=task).select_related("student", "created_by", "request")


def active_deployment(task: Task) -> Deployment | None:
    return Deployment.objects.filter(task=task, state=Deployment.State.ACTIVE).select_related("student").first()


def audit_of_task(task: Task) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(team=task.team, task_id=task.pk).order_by("-seq")


def audit_of_team(team: Team) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(team=team).order_by("seq")
