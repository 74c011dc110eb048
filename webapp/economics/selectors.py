"""Reads of scenarios and share links, scoped to the user's teams (a share link's token is its own scope)."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from webapp.accounts.selectors import scope_to_user
from webapp.economics.models import Scenario, ShareLink
from webapp.evaluation.models import Evaluation
from webapp.jobs.models import Job
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


def scenarios_to_compare(*, user: AnyUser, task: Task, ids: list[int]) -> list[Scenario]:
    """The scenarios of `task` with these ids, in the order asked; any id the user can't see is a 404."""
    found = {
        s.pk: s for s in scenarios_visible_to(user=user).filter(task=task, pk__in=ids).select_related("created_by")
    }
    if len(found) != len(set(ids)):
        raise Http404("No such scenario.")
    return [found[i] for i in dict.fromkeys(ids)]


def share_links_of(scenario: Scenario) -> QuerySet[ShareLink]:
    return scenario.share_links.select_related("created_by").order_by("-created_at")


@dataclass(frozen=True)
class EvidenceRecords:
    """The stored evaluations and jobs a scenario's evidence ids point at (a deleted one is simply absent)."""

    evaluations: dict[int, Evaluation]
    jobs: dict[int, Job]


def evidence_records(scenario: Scenario) -> EvidenceRecords:
    figures = scenario.figures
    evaluation_ids = [figures["evidence"]["validation"]["evaluation_id"]]
    evaluation_ids += [a["evaluation_id"] for a in figures["applied"]]
    job_ids = [c["job_id"] for c in figures["evidence"]["compute"]]
    # Scoped to the scenario's task: ids come from a stored JSON field, never from the request.
    evaluations = Evaluation.objects.filter(task_id=scenario.task_id, pk__in=evaluation_ids)
    jobs = Job.objects.filter(task_id=scenario.task_id, pk__in=job_ids)
    return EvidenceRecords(evaluations={e.pk: e for e in evaluations}, jobs={j.pk: j for j in jobs})
