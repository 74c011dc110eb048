"""The distillation endpoints: same services and permissions as the Students and Teachers tabs."""

import pytest

from webapp.jobs.models import Job
from webapp.registry.models import Teacher


@pytest.fixture
def tuned(task, dataset, teacher) -> Teacher:
    task.refresh_from_db()
    teacher.labels, teacher.origin = list(task.labels), Teacher.Origin.FINE_TUNED
    teacher.save()
    return teacher


def test_a_member_starts_fine_tuning_on_the_gpu_queue(api, member, task, dataset, teacher) -> None:
    response = api(member).post(
        f"/api/tasks/{task.pk}/fine-tune/", {"teacher": teacher.pk, "train": dataset.pk, "epochs": 2}, format="json"
    )
    assert response.status_code == 201, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    assert job.kind == Job.Kind.FINETUNE_TEACHER and job.queue == Job.Queue.GPU
    assert job.params["training"]["epochs"] == 2


def test_several_layer_counts_start_a_sweep(api, member, task, dataset, tuned) -> None:
    body = {"teacher": tuned.pk, "train": dataset.pk, "layers": [3, 1], "epochs": 1, "confirm_below_bar": True}
    response = api(member).post(f"/api/tasks/{task.pk}/students/", body, format="json")
    assert response.status_code == 201 and response.json()["kind"] == "sweep"
    children = Job.objects.get(pk=response.json()["id"]).children
    assert sorted(children.values_list("params__student__layers", flat=True)) == [1, 3]


def test_distilling_from_an_unmeasured_teacher_needs_a_confirmation(api, member, task, dataset, tuned) -> None:
    body = {"teacher": tuned.pk, "train": dataset.pk, "layers": [1]}
    refused = api(member).post(f"/api/tasks/{task.pk}/students/", body, format="json")
    assert refused.status_code == 400 and "has not been measured" in str(refused.json()["confirm_below_bar"])
    assert not Job.objects.exists()


def test_a_teacher_below_the_bar_is_shown_and_needs_a_confirmation_recorded_on_the_job(
    api, member, task, dataset, tuned
) -> None:
    tuned.metrics = {"val_accuracy": 0.459}
    tuned.save()
    gates = api(member).get(f"/api/tasks/{task.pk}/teacher-gates/").json()
    assert gates == [
        {
            "teacher": tuned.pk,
            "score": 0.459,
            "source": "validation accuracy reached by its fine-tune",
            "bar": task.quality_min,
            "passes": False,
            "message": "The teacher's validation accuracy reached by its fine-tune is 45.9%, which is below the "
            "task's bar of 85%.",
        }
    ]
    body = {"teacher": tuned.pk, "train": dataset.pk, "layers": [1]}
    assert api(member).post(f"/api/tasks/{task.pk}/students/", body, format="json").status_code == 400
    started = api(member).post(f"/api/tasks/{task.pk}/students/", body | {"confirm_below_bar": True}, format="json")
    assert started.status_code == 201
    assert started.json()["params"]["gate"] == {
        "score": 0.459,
        "source": "validation accuracy reached by its fine-tune",
        "bar": task.quality_min,
        "confirmed_below_bar": True,
    }


def test_a_teacher_that_meets_the_bar_needs_no_confirmation(api, member, task, dataset, tuned) -> None:
    tuned.metrics = {"val_accuracy": 0.91}
    tuned.save()
    body = {"teacher": tuned.pk, "train": dataset.pk, "layers": [1]}
    response = api(member).post(f"/api/tasks/{task.pk}/students/", body, format="json")
    assert response.status_code == 201 and response.json()["params"]["gate"]["confirmed_below_bar"] is False


def test_a_misspelt_parameter_is_a_400_naming_it_and_starts_nothing(api, member, task, dataset, tuned) -> None:
    body = {"teacher": tuned.pk, "train": dataset.pk, "learning_rte": 1e-4, "confirm_below_bar": True}
    response = api(member).post(f"/api/tasks/{task.pk}/students/", body, format="json")
    assert response.status_code == 400 and "Unknown field 'learning_rte'" in str(response.json()["learning_rte"])
    assert not Job.objects.exists()


def test_distilling_from_a_teacher_without_a_task_head_is_a_400_saying_why(api, member, task, dataset, teacher) -> None:
    response = api(member).post(
        f"/api/tasks/{task.pk}/students/", {"teacher": teacher.pk, "train": dataset.pk}, format="json"
    )
    assert response.status_code == 400 and "fine-tune it first" in str(response.json())
    assert not Job.objects.exists()


def test_a_viewer_cannot_start_training(api, viewer, task, dataset, teacher) -> None:
    response = api(viewer).post(
        f"/api/tasks/{task.pk}/fine-tune/", {"teacher": teacher.pk, "train": dataset.pk}, format="json"
    )
    assert response.status_code == 403 and not Job.objects.exists()


def test_an_outsider_gets_404_for_another_teams_students(api, outsider, task, student) -> None:
    assert api(outsider).get(f"/api/tasks/{task.pk}/students/").status_code == 404
    assert api(outsider).get(f"/api/students/{student.pk}/").status_code == 404


def test_a_teammate_lists_the_students(api, viewer, task, student) -> None:
    response = api(viewer).get(f"/api/tasks/{task.pk}/students/")
    assert response.status_code == 200 and [s["name"] for s in response.json()["results"]] == ["2-layer student"]
