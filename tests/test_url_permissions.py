"""Walks every URL pattern: an outsider gets 404 for another team's objects, a viewer can't write."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from webapp.accounts.models import Membership
from webapp.economics.services import share_link_create
from webapp.jobs.models import Job
from webapp.registry.models import Dataset, Task, Teacher

# URL kwargs -> the fixture object whose primary key fills it.
KWARG_OBJECTS = {
    "team_id": "team",
    "membership_id": "membership",
    "task_id": "task",
    "dataset_id": "dataset",
    "teacher_id": "teacher",
    "job_id": "job",
    "student_id": "student",
    "evaluation_id": "evaluation",
    "scenario_id": "roi_scenario",
    "link_id": "share_link",
    "request_id": "approval_request",
    "deployment_id": "deployment",
    "pk": None,  # admin and other framework routes: not ours
}


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # Django admin: staff only, its own permission system
            yield from _patterns(entry, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def object_routes() -> list[tuple[str, list[str]]]:
    """Every route that names one of our objects by id, with the kwargs it takes."""
    routes = []
    for route, pattern in _patterns(get_resolver()):
        kwargs = list(pattern.pattern.converters)
        if kwargs and all(KWARG_OBJECTS.get(k) for k in kwargs):
            routes.append((route, kwargs))
    return routes


def fill(route: str, kwargs: list[str], objects: dict[str, int]) -> str:
    path = "/" + route
    for name in kwargs:
        path = path.replace(f"<int:{name}>", str(objects[name]))
    return path


@pytest.fixture
def team_a_objects(
    team, admin, member, task, dataset, teacher, job, student, evaluation, roi_scenario, deployment_and_key
) -> dict[str, int]:
    membership = Membership.objects.get(team=team, user=admin)
    # The model downloads need files: the teacher as if fine-tuned, the student as if distilled.
    for model, field in ((teacher, "model_ref"), (student, "artifact")):
        folder = Path(settings.MODEL_ROOT) / "distillery" / f"walk-{type(model).__name__}-{model.pk}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text('{"model_type": "bert"}')
        setattr(model, field, f"./{folder.relative_to(settings.MODEL_ROOT)}")
    teacher.origin = Teacher.Origin.FINE_TUNED
    teacher.save()
    student.save()
    link, _ = share_link_create(scenario=roi_scenario, user=member)
    deployment, _ = deployment_and_key
    return {
        "request_id": deployment.request_id,
        "deployment_id": deployment.pk,
        "scenario_id": roi_scenario.pk,
        "link_id": link.pk,
        "team_id": team.pk,
        "membership_id": membership.pk,
        "task_id": task.pk,
        "dataset_id": dataset.pk,
        "teacher_id": teacher.pk,
        "job_id": job.pk,
        "student_id": student.pk,
        "evaluation_id": evaluation.pk,
    }


def test_the_walk_covers_every_kind_of_object() -> None:
    covered = {k for _, kwargs in object_routes() for k in kwargs}
    assert covered == {
        "team_id",
        "membership_id",
        "task_id",
        "dataset_id",
        "teacher_id",
        "job_id",
        "student_id",
        "evaluation_id",
        "scenario_id",
        "link_id",
        "request_id",
        "deployment_id",
    }
    assert len(object_routes()) >= 20  # web pages and API endpoints both


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_outsider_gets_404_for_every_page_and_endpoint_of_another_team(
    web, outsider, team_a_objects, method
) -> None:
    client = web(outsider)
    missing = dict.fromkeys(team_a_objects, 987654)
    for route, kwargs in object_routes():
        path = fill(route, kwargs, team_a_objects)
        status = getattr(client, method)(path).status_code
        # A route that doesn't take this method answers 405 whatever the id: that reveals nothing either.
        assert status in (404, 405), f"{method.upper()} {path} gave {status}"
        assert status == getattr(client, method)(fill(route, kwargs, missing)).status_code, path


def test_a_teammate_can_open_every_page_and_endpoint(web, member, team_a_objects) -> None:
    client = web(member)
    for route, kwargs in object_routes():
        path = fill(route, kwargs, team_a_objects)
        # 405: POST-only actions; follow=True: the ROI tab redirects to the newest saved scenario's page.
        assert client.get(path, follow=True).status_code in (200, 405), path


def test_a_viewer_cannot_create_or_run_anything(web, viewer, task, dataset, teacher, job) -> None:
    client = web(viewer)
    before = (Task.objects.count(), Dataset.objects.count(), Job.objects.count(), task.teachers.count())
    attempts = {
        "/tasks/new/": {"name": "x"},
        f"/tasks/{task.pk}/edit/": {"name": "renamed"},
        f"/tasks/{task.pk}/labels/": {"labels": "a\nb"},
        f"/tasks/{task.pk}/data/": {"role": "train"},
        f"/tasks/{task.pk}/teachers/": {"model_ref": "minilm-l6-offline"},
        f"/tasks/{task.pk}/jobs/": {"dataset": dataset.pk, "teacher": teacher.pk},
        f"/jobs/{job.pk}/cancel/": {},
        f"/tasks/{task.pk}/teachers/upload-outputs/": {"name": "x"},
        f"/tasks/{task.pk}/evaluation/start/": {"models": [f"teacher:{teacher.pk}"], "datasets": [dataset.pk]},
        f"/tasks/{task.pk}/evaluation/probe/": {"dataset": dataset.pk},
        f"/tasks/{task.pk}/evaluation/import/": {},
    }
    for path, data in attempts.items():
        assert client.post(path, data).status_code == 403, path
    assert (Task.objects.count(), Dataset.objects.count(), Job.objects.count(), task.teachers.count()) == before
    task.refresh_from_db()
    job.refresh_from_db()
    assert task.name != "renamed" and not job.cancel_requested


def test_anonymous_users_are_sent_to_the_login_page(client, task) -> None:
    response = client.get(f"/tasks/{task.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(f"/api/tasks/{task.pk}/").status_code in (401, 403)
