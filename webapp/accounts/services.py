"""Writes for teams and memberships."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from webapp.accounts.models import Membership, Role, Team

User = get_user_model()


@transaction.atomic
def team_create(*, name: str, owner: object) -> Team:
    name = name.strip()
    if not name:
        raise ValidationError("A team needs a name.")
    if Team.objects.filter(name__iexact=name).exists():
        raise ValidationError(f"A team named '{name}' already exists.")
    team = Team.objects.create(name=name)
    Membership.objects.create(team=team, user=owner, role=Role.ADMIN)
    return team


def membership_add(*, team: Team, username: str, role: int) -> Membership:
    user = User.objects.filter(username=username.strip()).first()
    if user is None:
        raise ValidationError(f"There is no user '{username}'. An administrator creates users first.")
    if Membership.objects.filter(team=team, user=user).exists():
        raise ValidationError(f"{user} is already a member of {team}.")
    return Membership.objects.create(team=team, user=user, role=role)


@transaction.atomic
def membership_set_role(*, membership: Membership, role: int) -> Membership:
    _keep_an_admin(membership, new_role=role)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    _keep_an_admin(membership, new_role=None)
    membership.delete()


def _keep_an_admin(membership: Membership, *, new_role: int | None) -> None:
    """A team always keeps at least one admin, or nobody could manage it any more."""
    if membership.role != Role.ADMIN or new_role == Role.ADMIN:
        return
    admins = Membership.objects.select_for_update().filter(team=membership.team, role=Role.ADMIN)
    if admins.count() <= 1:
        raise ValidationError(f"{membership.team} needs at least one admin; make someone else admin first.")
