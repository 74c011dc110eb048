import pytest
from django.urls import reverse

from tests.factories import TEACHER_REF, upload
from tests.registry.test_teacher_outputs_upload import GOOD
from webapp.registry.models import Task, Teacher

pytestmark = pytest.mark.django_db


def teachers_url(task: Task) -> str:
    return reverse("api-task-teachers", args=[task.pk])


def test_a_member_registers_a_teacher_from_an_offline_preset(api, member, task):
    response = api(member).post(
        teachers_url(task),
        {"model_ref": TEACHER_REF, "max_length": 64, "price_input_per_m": "0.15", "price_output_per_m": "0.6"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    teacher = Teacher.objects.get(pk=response.json()["id"])
    assert (teacher.task, teacher.model_ref, teacher.max_length, teacher.created_by) == (task, TEACHER_REF, 64, member)
    assert teacher.name == "all-MiniLM-L6-v2"  # a blank name defaults to the model's short name
    assert response.json()["price_input_per_m"] == "0.1500"


def test_it_rejects_a_model_it_cannot_load_offline(api, member, task):
    response = api(member).post(teachers_url(task), {"model_ref": "./not-there"}, format="json")

    assert response.status_code == 400
    assert "does not exist" in response.json()["model_ref"][0]


def test_it_rejects_a_max_length_out_of_range(api, member, task):
    response = api(member).post(teachers_url(task), {"model_ref": TEACHER_REF, "max_length": 4}, format="json")

    assert response.status_code == 400
    assert "max_length" in response.json()


def test_it_rejects_a_teacher_name_the_task_already_has(api, member, task, teacher):
    response = api(member).post(teachers_url(task), {"name": "minilm", "model_ref": TEACHER_REF}, format="json")

    assert response.status_code == 400
    assert "already has a teacher named" in response.json()["name"][0]


def test_a_viewer_can_read_teachers_but_not_register_one(api, viewer, task, teacher):
    client = api(viewer)

    assert [t["id"] for t in client.get(teachers_url(task)).json()["results"]] == [teacher.pk]
    assert client.get(reverse("api-teacher-detail", args=[teacher.pk])).json()["name"] == "MiniLM"
    assert client.post(teachers_url(task), {"model_ref": TEACHER_REF}, format="json").status_code == 403


def test_an_outsider_gets_404_for_the_teachers_of_another_team(api, outsider, task, teacher):
    client = api(outsider)

    assert client.get(teachers_url(task)).status_code == 404
    assert client.post(teachers_url(task), {"model_ref": TEACHER_REF}, format="json").status_code == 404
    assert client.get(reverse("api-teacher-detail", args=[teacher.pk])).status_code == 404


def test_the_api_registers_it_and_names_the_problem_of_a_bad_file(api, member, task, dataset):
    url = reverse("api-task-teacher-outputs", args=[task.pk])

    bad = api(member).post(url, {"file": upload("o.jsonl", b'{"text": "a"}')}, format="multipart")
    good = api(member).post(url, {"file": upload("o.jsonl", GOOD), "name": "api teacher"}, format="multipart")

    assert bad.status_code == 400 and "exactly one of 'probs' or 'logits'" in bad.json()["file"][0]
    assert good.status_code == 201, good.json()
    assert good.json()["backend"] == "precomputed" and good.json()["labels"] == ["banking", "travel"]
