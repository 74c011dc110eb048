"""Teams through the pages: listing, creating, switching, and an admin managing the members."""

import html
import re

import pytest
from django.urls import reverse

from webapp.accounts.models import Membership, Role, Team

pytestmark = pytest.mark.django_db


def alerts(response) -> str:
    found = re.findall(r'role="alert">(.*?)</(?:small|div)>', response.content.decode(), flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", " ".join(found)))


def flashes(response) -> str:
    return html.unescape(" ".join(re.findall(r'role="status">(.*?)</article>', response.content.decode())))


def add_member(client, team: Team, username: str, role: int):
    return client.post(reverse("team-members", kwargs={"team_id": team.pk}), {"username": username, "role": role})


def update_member(client, membership: Membership, **form: str):
    url = reverse("member-update", kwargs={"team_id": membership.team_id, "membership_id": membership.pk})
    return client.post(url, form, follow=True)


def test_it_lists_my_teams_with_my_role(web, member, other_team):
    Membership.objects.create(team=other_team, user=member, role=Role.VIEWER)

    page = web(member).get(reverse("team-list")).content.decode()

    assert re.search(r"<td>Elsewhere</td>\s*<td>Viewer</td>", page)
    assert re.search(r"<td>Support</td>\s*<td>Member</td>", page)


def test_it_makes_the_creator_admin_of_a_new_team(web, member):
    client = web(member)

    response = client.post(reverse("team-list"), {"name": "Research"})

    team = Team.objects.get(name="Research")
    assert response.url == reverse("task-list")
    assert Membership.objects.get(team=team, user=member).role == Role.ADMIN
    assert "Research: what your team distils" in client.get(response.url).content.decode()


def test_it_refuses_a_team_name_that_is_taken(web, member, other_team):
    response = web(member).post(reverse("team-list"), {"name": "elsewhere"})

    assert response.status_code == 400
    assert "A team named 'elsewhere' already exists" in alerts(response)
    assert Team.objects.count() == 2 and not Membership.objects.filter(team=other_team, user=member).exists()


def test_it_shows_the_tasks_of_the_team_i_switch_to(web, member, task, other_team, foreign_task):
    Membership.objects.create(team=other_team, user=member, role=Role.VIEWER)
    client = web(member)

    client.post(reverse("team-switch"), {"team": other_team.pk})
    theirs = client.get(reverse("task-list")).content.decode()
    client.post(reverse("team-switch"), {"team": task.team_id})
    mine = client.get(reverse("task-list")).content.decode()

    assert "Their task" in theirs and "Intents" not in theirs
    assert "Intents" in mine and "Their task" not in mine


def test_it_hides_a_team_i_am_not_in_when_switching(web, member, other_team):
    assert web(member).post(reverse("team-switch"), {"team": other_team.pk}).status_code == 404


def test_it_lets_an_admin_add_an_existing_user_with_a_role(web, admin, team, outsider):
    response = add_member(web(admin), team, "otto-outsider", Role.VIEWER)

    assert response.url == reverse("team-members", kwargs={"team_id": team.pk})
    assert Membership.objects.get(team=team, user=outsider).role == Role.VIEWER


def test_it_lets_an_admin_change_a_role(web, admin, member):
    membership = Membership.objects.get(user=member)

    response = update_member(web(admin), membership, role=str(Role.APPROVER))

    assert "max-member is now Approver" in flashes(response)
    membership.refresh_from_db()
    assert membership.role == Role.APPROVER


def test_it_lets_an_admin_remove_a_member(web, admin, member, team):
    response = update_member(web(admin), Membership.objects.get(user=member), action="remove")

    assert "max-member removed from Support" in flashes(response)
    assert not Membership.objects.filter(team=team, user=member).exists()


def test_it_refuses_member_changes_from_a_non_admin_with_403(web, member, viewer, team, outsider):
    client = web(member)

    added = add_member(client, team, "otto-outsider", Role.ADMIN)
    promoted = update_member(client, Membership.objects.get(user=viewer), role=str(Role.ADMIN))

    assert (added.status_code, promoted.status_code) == (403, 403)
    assert not Membership.objects.filter(user=outsider, team=team).exists()
    assert Membership.objects.get(user=viewer).role == Role.VIEWER


@pytest.mark.parametrize("form", [{"role": str(Role.MEMBER)}, {"action": "remove"}], ids=["demote", "remove"])
def test_it_keeps_the_last_admin(web, admin, member, team, form):
    membership = Membership.objects.get(user=admin)

    response = update_member(web(admin), membership, **form)

    assert response.status_code == 200
    assert "Support needs at least one admin" in flashes(response)
    assert Membership.objects.get(pk=membership.pk).role == Role.ADMIN


def test_it_names_an_unknown_username(web, admin, team):
    before = list(Membership.objects.values_list("team", "user", "role"))

    response = add_member(web(admin), team, "ghost", Role.MEMBER)

    assert response.status_code == 400
    assert "There is no user 'ghost'" in alerts(response)
    assert list(Membership.objects.values_list("team", "user", "role")) == before
