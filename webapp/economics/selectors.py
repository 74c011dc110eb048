"""Reads of scenarios and share links, scoped to the user's teams (a share link's token is its own scope)."""

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from webapp.accounts.selectors import scope_to_user
from webapp.economics.models import Scenario, ShareLink
from webapp.registry.models import Task
from webapp.registry.selectors import AnyUser


def scenarios_visible_to(*, user: AnyUser) -> QuerySet[Scenario]:
    return scope_to_user(Scenario.objects.select_related("task", "task__team"), user=user, team_path="task__team")


def scenario_get_for_user(*, user: AnyUser, scenario_id: int) -> Scenario:
    scenario = scenarios_visible_to(user=user).filter(pk=scenario_id).first()
    if scenario is None:
        raise Http404("No such scenario.")
    return scenario


def scenarios_of_task(task: Task) -> QuerySet[Scenario]:
    return Scenario.objects.filter(task=task).order_by("name", "-version")


def share_link_get_for_user(*, user: AnyUser, link_id: int) -> ShareLink:
    link = ShareLink.objects.filter(pk=link_id, scenario__in=scenarios_visible_to(user=user)).first()
    if link is None:
        raise Http404("No such link.")
    return link


def scenario_for_share_token(token: str) -> Scenario:
    """The scenario behind a live link; an unknown, expired or revoked token is the same 404 (nothing leaks)."""
    link = (
        ShareLink.objects.filter(
            token_sha256=ShareLink.digest(token), revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
        .select_related("scenario", "scenario__task")
        .first()
    )
    if link is None:
        raise Http404("This link does not exist, has expired or was revoked.")
    return link.scenario
