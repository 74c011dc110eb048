import pytest
from django.urls import reverse

from webapp.registry.models import Task

pytestmark = pytest.mark.django_db

TASKS = reverse("api-task-list")


def task_url(task: Task) -> str:
    return reverse("api-task-detail", args=[task.pk])


def test_an_anonymous_request_is_refused(api, task):
    assert api(None).get(TASKS).status_code == 401
    assert api(None).get(task_url(task)).status_code == 401


def test_it_lists_my_teams_with_my_role(api, viewer, team, other_team):
    response = api(viewer).get(reverse("api-team-list"))

    assert response.status_code == 200
    assert [(t["id"], t["name"], t["role"]) for t in response.json()["results"]] == [(team.pk, "Support", "viewer")]


def test_it_lists_only_the_tasks_of_my_teams(api, viewer, task, foreign_task):
    response = api(viewer).get(TASKS)

    assert response.status_code == 200
    assert [t["id"] for t in response.json()["results"]] == [task.pk]


def test_it_filters_tasks_by_team(api, member, task, team, other_team):
    assert [t["id"] for t in api(member).get(TASKS, {"team": team.pk}).json()["results"]] == [task.pk]
    # Another team's filter finds nothing rather than telling whether the team exists.
    assert api(member).get(TASKS, {"team": other_team.pk}).json()["results"] == []
    assert api(member).get(TASKS, {"team": "support"}).status_code == 400


def test_a_member_creates_a_task(api, member, team):
    response = api(member).post(
        TASKS, {"team": team.pk, "name": " Triage ", "quality_metric": "macro_f1", "quality_min": 0.8}, format="json"
    )

    assert response.status_code == 201, response.json()
    task = Task.objects.get(pk=response.json()["id"])
    assert (task.team, task.name, task.created_by) == (team, "Triage", member)
    assert task.quality_metric == "macro_f1" and task.quality_min == 0.8
    assert task.latency_slo_ms == 200  # fields left out keep the model's defaults
    assert response.json()["team_name"] == "Support"


def test_a_viewer_cannot_create_a_task(api, viewer, team):
    response = api(viewer).post(TASKS, {"team": team.pk, "name": "Triage"}, format="json")

    assert response.status_code == 403
    assert not Task.objects.filter(name="Triage").exists()


def test_a_viewer_gets_403_not_400_for_an_invalid_task(api, viewer, team):
    assert api(viewer).post(TASKS, {"team": team.pk, "quality_min": 7}, format="json").status_code == 403


def test_creating_a_task_in_a_team_i_am_not_in_says_no_such_team(api, member, other_team):
    response = api(member).post(TASKS, {"team": other_team.pk, "name": "Sneaky"}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such team."}
    assert not Task.objects.filter(name="Sneaky").exists()


def test_it_rejects_a_task_name_the_team_already_has(api, member, team, task):
    response = api(member).post(TASKS, {"team": team.pk, "name": "intents"}, format="json")

    assert response.status_code == 400
    assert "already has a task named" in response.json()["name"][0]


def test_it_rejects_a_quality_bar_outside_zero_to_one(api, member, team):
    response = api(member).post(TASKS, {"team": team.pk, "name": "Triage", "quality_min": 1.5}, format="json")

    assert response.status_code == 400
    assert "quality_min" in response.json()


def test_the_task_detail_includes_its_labels(api, viewer, task, dataset):
    response = api(viewer).get(task_url(task))

    assert response.status_code == 200
    assert response.json()["labels"] == ["banking", "travel"]
    assert response.json()["name"] == "Intents"


def test_an_outsider_gets_404_for_another_teams_task(api, outsider, task):
    assert api(outsider).get(task_url(task)).status_code == 404
