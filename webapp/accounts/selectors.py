"""Reads scoped to the user's teams. Every other app's selectors go through `scope_to_user`.

A team the user does not belong to does not exist for them: its objects are a 404, never a 403.
A member whose role is too low for an action gets a 403 (they already know the object exists).
"""

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from webapp.accounts.models import Membership, Role, Team

M = TypeVar("M", bound=Model)
AnyUser = AbstractBaseUser | AnonymousUser


def teams_for_user(*, user: AnyUser) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).order_by("name")


def role_for(*, user: AnyUser, team: Team) -> int | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, team=team).values_list("role", flat=True).first()


def scope_to_user(queryset: QuerySet[M], *, user: AnyUser, team_path: str) -> QuerySet[M]:
    """Restrict `queryset` to rows whose team (reached by `team_path`) has `user` as a member."""
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{f"{team_path}__memberships__user": user}).distinct()


def require_role(*, user: AnyUser, team: Team, role: int) -> None:
    current = role_for(user=user, team=team)
    if current is None:
        raise Http404("No such team.")
    if current < role:
        raise PermissionDenied(f"This needs the {Role(role).label} role in {team.name}.")


def team_get_for_user(*, user: AnyUser, team_id: int, role: int = Role.VIEWER) -> Team:
    team = teams_for_user(user=user).filter(pk=team_id).first()
    if team is None:
        raise Http404("No such team.")
    require_role(user=user, team=team, role=role)
    return team


def memberships_of_team(*, team: Team) -> QuerySet[Membership]:
    return Membership.objects.filter(team=team).select_related("user").order_by("-role", "user__username")
