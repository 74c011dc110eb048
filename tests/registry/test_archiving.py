"""Archiving (soft-deleting) tasks, datasets, teachers and students: they leave the lists, the pickers and
the API lists, no job starts on them, their evidence stays, and an Undo (or the Archived list) restores them.
Members only, within their own team; a student an active deployment serves can't be archived."""

import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import TRAIN_CSV, upload
from webapp.distillation.forms import DistillForm
from webapp.distillation.services import quantize_start
from webapp.evaluation.models import Evaluation
from webapp.evaluation.selectors import latest_evaluations
from webapp.evaluation.services import evaluate_start
from webapp.jobs.forms import ProfileJobForm
from webapp.jobs.models import Job
from webapp.jobs.services import profile_job_start
from webapp.registry.archiving import item_archive, item_restore
from webapp.registry.models import Dataset, Student, Task
from webapp.registry.services import dataset_upload

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def flash(client) -> str:
    return " ".join(str(m) for m in client.get(reverse("task-list")).context["messages"])


def test_a_member_archives_a_dataset_and_undoes_it_from_the_message(web, member, task, dataset):
    client = web(member)

    response = client.post(reverse("dataset-archive", args=[dataset.pk]))

    assert response.url == reverse("dataset-list", args=[task.pk])
    page = client.get(response.url)
    message = " ".join(str(m) for m in page.context["messages"])
    assert "Archived dataset 'train v1'" in message
    restore = reverse("dataset-restore", args=[dataset.pk])
    assert f'action="{restore}"' in message and 'name="csrfmiddlewaretoken"' in message
    dataset.refresh_from_db()
    assert dataset.is_archived and dataset.archived_by == member
    assert f'href="/datasets/{dataset.pk}/"' not in page.content.decode()  # out of the list

    client.post(restore)

    dataset.refresh_from_db()
    assert not dataset.is_archived
    assert f'href="/datasets/{dataset.pk}/"' in client.get(reverse("dataset-list", args=[task.pk])).content.decode()


def test_an_archived_dataset_leaves_the_pickers_and_the_api_list_but_stays_readable(web, api, member, task, dataset):
    item_archive(item=dataset, user=member)

    assert dataset not in ProfileJobForm(task=task).fields["dataset"].queryset
    assert dataset not in DistillForm(task=task).fields["train"].queryset
    listed = api(member).get(reverse("api-task-datasets", args=[task.pk])).json()["results"]
    archived = api(member).get(reverse("api-task-datasets", args=[task.pk]), {"archived": "true"}).json()["results"]
    assert listed == [] and [d["id"] for d in archived] == [dataset.pk] and archived[0]["archived_at"]
    page = web(member).get(reverse("dataset-detail", args=[dataset.pk]))
    assert page.status_code == 200 and "Archived" in text(page)
    assert web(member).get(reverse("dataset-file", args=[dataset.pk])).status_code == 200
    assert "train v1" in text(web(member).get(reverse("archived-list", args=[task.pk])))


def test_the_api_refuses_a_bad_archived_filter(api, member, task):
    response = api(member).get(reverse("api-task-datasets", args=[task.pk]), {"archived": "perhaps"})

    assert response.status_code == 400 and "archived" in response.json()


def test_no_job_starts_on_an_archived_dataset_or_model(member, task, dataset, teacher, student):
    item_archive(item=dataset, user=member)
    with pytest.raises(ValidationError, match="Archived: dataset 'train v1'. Restore it"):
        profile_job_start(task=task, dataset=dataset, teacher=teacher, user=member)
    item_restore(item=dataset, user=member)
    item_archive(item=teacher, user=member)
    with pytest.raises(ValidationError, match="teacher 'MiniLM'"):
        profile_job_start(task=task, dataset=dataset, teacher=teacher, user=member)
    item_archive(item=student, user=member)
    with pytest.raises(ValidationError, match="student '2-layer student'"):
        quantize_start(student=student, user=member)
    with pytest.raises(ValidationError, match="student '2-layer student'"):
        evaluate_start(task=task, user=member, model=student, datasets=[dataset])
    assert not Job.objects.exists()


def test_an_archived_task_leaves_the_task_list_and_takes_no_uploads(web, member, task, dataset, teacher):
    client = web(member)

    client.post(reverse("task-archive", args=[task.pk]))

    listing = client.get(reverse("task-list")).content.decode()
    assert "Archived tasks (1)" in listing and f'action="/tasks/{task.pk}/restore/"' in listing
    task.refresh_from_db()
    with pytest.raises(ValidationError, match="Archived: task 'Intents'"):
        dataset_upload(task=task, user=member, file=upload("b.csv", TRAIN_CSV + b"x,y\n"), filename="b.csv",
                       role="train")  # fmt: skip
    with pytest.raises(ValidationError, match="Archived: task 'Intents'"):
        profile_job_start(task=task, dataset=dataset, teacher=teacher, user=member)
    client.post(reverse("task-restore", args=[task.pk]))
    assert Task.objects.active().filter(pk=task.pk).exists()


def test_evidence_of_an_archived_model_stays_but_leaves_the_comparisons(web, member, task, evaluation, teacher):
    item_archive(item=teacher, user=member)

    assert Evaluation.objects.filter(pk=evaluation.pk, teacher=teacher).exists()
    assert latest_evaluations(task) == []
    assert web(member).get(reverse("evaluation-detail", args=[evaluation.pk])).status_code == 200


def test_a_student_goes_with_its_int8_variants_and_comes_back_with_them(member, task, student):
    variant = Student.objects.create(task=task, parent=student, name="2-layer int8", construction="quantized",
                                     labels=student.labels, artifact="./distillery/none-int8")  # fmt: skip

    item_archive(item=student, user=member)
    variant.refresh_from_db()
    assert variant.is_archived

    item_restore(item=student, user=member)
    variant.refresh_from_db()
    assert not variant.is_archived


def test_a_student_serving_an_active_deployment_cannot_be_archived(web, member, deployment_and_key):
    deployment, _ = deployment_and_key
    student = deployment.student

    client = web(member)

    response = client.post(reverse("student-archive", args=[student.pk]))

    student.refresh_from_db()
    assert response.status_code == 302 and not student.is_archived
    page = client.get(response.url)
    assert f"Deployment #{deployment.pk} is active and serves" in " ".join(str(m) for m in page.context["messages"])


def test_a_viewer_cannot_archive_or_restore(web, viewer, member, task, dataset):
    assert web(viewer).post(reverse("dataset-archive", args=[dataset.pk])).status_code == 403
    item_archive(item=dataset, user=member)
    assert web(viewer).post(reverse("dataset-restore", args=[dataset.pk])).status_code == 403
    dataset.refresh_from_db()
    assert dataset.is_archived


def test_an_outsider_gets_404_and_nothing_changes(web, outsider, task, dataset, teacher, student):
    client = web(outsider)
    for name, obj in (("task", task), ("dataset", dataset), ("teacher", teacher), ("student", student)):
        assert client.post(reverse(f"{name}-archive", args=[obj.pk])).status_code == 404
    assert client.get(reverse("archived-list", args=[task.pk])).status_code == 404
    assert not Dataset.objects.archived().exists() and not Task.objects.archived().exists()


def test_archiving_twice_says_so(web, member, dataset):
    client = web(member)
    client.post(reverse("dataset-archive", args=[dataset.pk]))
    client.post(reverse("dataset-archive", args=[dataset.pk]))

    assert "already archived" in flash(client)


def test_the_api_archives_and_restores_with_the_same_rules(api, member, viewer, outsider, task, dataset):
    url = reverse("api-dataset-archive", args=[dataset.pk])

    assert api(viewer).post(url).status_code == 403
    assert api(outsider).post(url).status_code == 404
    archived = api(member).post(url)
    again = api(member).post(url)
    restored = api(member).post(reverse("api-dataset-restore", args=[dataset.pk]))

    assert archived.status_code == 200 and archived.json()["archived_at"]
    assert again.status_code == 400 and "already archived" in again.json()["detail"][0]
    assert restored.json() == {"kind": "dataset", "id": dataset.pk, "archived_at": None}
