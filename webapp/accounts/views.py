from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from webapp.accounts.forms import MemberAddForm, MemberRoleForm, TeamForm
from webapp.accounts.middleware import SESSION_KEY
from webapp.accounts.models import Membership, Role
from webapp.accounts.selectors import memberships_of_team, role_for, team_get_for_user, teams_for_user
from webapp.accounts.services import membership_add, membership_remove, membership_set_role, team_create


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.team is None:  # type: ignore[attr-defined]
        return redirect("team-list")
    return redirect("task-list")


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_create(name=form.cleaned_data["name"], owner=request.user)
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            request.session[SESSION_KEY] = team.pk
            messages.success(request, f"Team {team} created; you are its admin.")
            return redirect("task-list")
    teams = [(team, role_for(user=request.user, team=team)) for team in teams_for_user(user=request.user)]
    context = {"teams": teams, "form": form, "roles": dict(Role.choices)}
    return render(request, "accounts/team_list.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def team_switch(request: HttpRequest) -> HttpResponse:
    team = team_get_for_user(user=request.user, team_id=_int(request.POST.get("team")))
    request.session[SESSION_KEY] = team.pk
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) or "/tasks/" in target:
        target = "task-list"  # a task page of the previous team would 404 in the new one
    return redirect(target)


@login_required
def team_members(request: HttpRequest, team_id: int) -> HttpResponse:
    team = team_get_for_user(user=request.user, team_id=team_id)
    is_admin = role_for(user=request.user, team=team) == Role.ADMIN
    form = MemberAddForm(request.POST or None)
    if request.method == "POST":
        team_get_for_user(user=request.user, team_id=team_id, role=Role.ADMIN)
        if form.is_valid():
            try:
                membership = membership_add(
                    team=team, username=form.cleaned_data["username"], role=form.cleaned_data["role"]
                )
            except ValidationError as exc:
                form.add_error("username", exc)
            else:
                messages.success(request, f"{membership.user} added as {membership.get_role_display()}.")
                return redirect("team-members", team_id=team.pk)
    context = {
        "team": team,
        "memberships": memberships_of_team(team=team),
        "form": form,
        "is_admin": is_admin,
        "roles": Role.choices,
    }
    return render(request, "accounts/team_members.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def member_update(request: HttpRequest, team_id: int, membership_id: int) -> HttpResponse:
    team = team_get_for_user(user=request.user, team_id=team_id, role=Role.ADMIN)
    membership = get_object_or_404(Membership, pk=membership_id, team=team)
    try:
        if request.POST.get("action") == "remove":
            membership_remove(membership=membership)
            messages.success(request, f"{membership.user} removed from {team}.")
        else:
            form = MemberRoleForm(request.POST)
            if not form.is_valid():
                raise ValidationError("Choose a valid role.")
            membership_set_role(membership=membership, role=form.cleaned_data["role"])
            messages.success(request, f"{membership.user} is now {membership.get_role_display()}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("team-members", team_id=team.pk)


@login_required
def api_token(request: HttpRequest) -> HttpResponse:
    token = Token.objects.filter(user=request.user).first()
    if request.method == "POST":
        replaced = token is not None
        if token:
            token.delete()
        token = Token.objects.create(user=request.user)
        messages.success(request, "New token made; the old one no longer works." if replaced else "Token made.")
        return redirect("api-token")
    return render(request, "accounts/api_token.html", {"token": token})


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return 0
