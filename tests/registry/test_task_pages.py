"""Creating and editing tasks, and reviewing a task's label set, through the pages' forms."""

import html
import re

import pytest
from django.urls import reverse

from tests.factories import upload
from webapp.registry.models import Dataset, Task

pytestmark = pytest.mark.django_db

TASK_FORM = {
    "name": "Refund triage",
    "description": "Sort refund mail",
    "quality_metric": "macro_f1",
    "quality_min": "0.9",
    "min_retention": "0.95",
    "requests_per_month": "5000000",
    "mean_input_tokens": "50",
    "mean_output_tokens": "4",
    "latency_slo_ms": "150",
}


def alerts(response) -> str:
    found = re.findall(r'role="alert">(.*?)</(?:small|div)>', response.content.decode(), flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", " ".join(found)))


def save_labels(client, task: Task, *labels: str):
    return client.post(reverse("task-labels", kwargs={"task_id": task.pk}), {"labels": "\n".join(labels)})


def test_it_creates_a_task_with_its_quality_bar_and_traffic_and_opens_its_data_tab(web, member, team):
    client = web(member)

    response = client.post(reverse("task-create"), TASK_FORM)

    task = Task.objects.get(team=team, name="Refund triage")
    assert response.url == reverse("dataset-list", kwargs={"task_id": task.pk})
    assert (task.quality_metric, task.quality_min, task.min_retention) == ("macro_f1", 0.9, 0.95)
    assert (task.requests_per_month, task.mean_input_tokens, task.mean_output_tokens) == (5_000_000, 50, 4)
    assert task.latency_slo_ms == 150 and task.created_by == member
    page = client.get(response.url).content.decode()
    assert "Task Refund triage created" in page and "Upload a dataset" in page


def test_it_refuses_a_task_from_a_viewer_with_403(web, viewer):
    response = web(viewer).post(reverse("task-create"), TASK_FORM)

    assert response.status_code == 403
    assert not Task.objects.exists()


def test_it_refuses_a_quality_bar_above_one_naming_the_field(web, member):
    response = web(member).post(reverse("task-create"), TASK_FORM | {"quality_min": "1.5"})

    assert response.status_code == 400
    assert "less than or equal to 1" in alerts(response)
    assert not Task.objects.exists()


def test_it_saves_an_edited_task(web, member, task):
    form = TASK_FORM | {"name": "Intents v2", "latency_slo_ms": "80"}

    response = web(member).post(reverse("task-edit", kwargs={"task_id": task.pk}), form)

    assert response.url == reverse("task-detail", kwargs={"task_id": task.pk})
    task.refresh_from_db()
    assert (task.name, task.latency_slo_ms, task.quality_metric) == ("Intents v2", 80, "macro_f1")


def test_it_saves_a_reviewed_label_set(web, member, task, dataset):
    response = save_labels(web(member), task, "banking", "travel", "weather")

    assert response.url == reverse("task-labels", kwargs={"task_id": task.pk})
    task.refresh_from_db()
    assert (task.labels, task.labels_reviewed) == (["banking", "travel", "weather"], True)
    assert "reviewed" in web(member).get(response.url).content.decode()


def test_it_refuses_to_drop_a_label_used_by_stored_train_data(web, member, task, dataset):
    response = save_labels(web(member), task, "travel")

    assert response.status_code == 400
    assert "used by stored datasets and must stay: banking" in alerts(response)
    task.refresh_from_db()
    assert (task.labels, task.labels_reviewed) == (["banking", "travel"], False)


def test_it_refuses_a_train_upload_with_a_new_label_after_review(web, member, task, dataset):
    client = web(member)
    save_labels(client, task, "banking", "travel")
    form = {"role": "train", "name": "more", "text_column": "text", "label_column": "label"}
    content = b"text,label\nfly me home,travel\nwill it rain,weather\n"

    response = client.post(
        reverse("dataset-list", kwargs={"task_id": task.pk}), form | {"file": upload("more.csv", content)}
    )

    assert response.status_code == 400
    assert "'weather' (line 3)" in alerts(response)
    task.refresh_from_db()
    assert task.labels == ["banking", "travel"]
    assert list(Dataset.objects.filter(task=task)) == [dataset]
