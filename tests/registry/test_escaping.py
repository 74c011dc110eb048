"""Names and labels users type are shown escaped on every page, never as markup."""

import pytest
from django.urls import reverse

from tests.factories import TEACHER_REF, upload
from webapp.registry.services import dataset_upload, task_create, teacher_register

pytestmark = pytest.mark.django_db

TASK_NAME = "<script>alert(1)</script>"
DATASET_NAME = "<img src=x onerror=alert(1)>"
LABEL = "<b>x</b>"
ESCAPED = {
    TASK_NAME: "&lt;script&gt;alert(1)&lt;/script&gt;",
    DATASET_NAME: "&lt;img src=x onerror=alert(1)&gt;",
    LABEL: "&lt;b&gt;x&lt;/b&gt;",
}


@pytest.fixture
def hostile_task(team, member):
    task = task_create(team=team, user=member, name=TASK_NAME)
    content = f"text,label\nhello,{LABEL}\nbook a flight,travel\n".encode()
    dataset = dataset_upload(
        task=task, user=member, file=upload("x.csv", content), filename="x.csv", role="train", name=DATASET_NAME
    )
    # With a teacher too, the jobs tab offers the dataset in its form.
    teacher_register(task=task, user=member, name="MiniLM", model_ref=TEACHER_REF)
    return task, dataset


def pages(task, dataset) -> dict[str, tuple[str, list[str]]]:
    """Each page, and which of the hostile strings it shows as text."""
    return {
        "task list": (reverse("task-list"), [TASK_NAME]),
        "task detail": (reverse("task-detail", args=[task.pk]), [TASK_NAME]),
        "data tab": (reverse("dataset-list", args=[task.pk]), [TASK_NAME, DATASET_NAME]),
        "dataset detail": (reverse("dataset-detail", args=[dataset.pk]), [TASK_NAME, DATASET_NAME]),
        "labels page": (reverse("task-labels", args=[task.pk]), [TASK_NAME, DATASET_NAME, LABEL]),
        "jobs tab": (reverse("job-list", args=[task.pk]), [TASK_NAME, DATASET_NAME]),
    }


def test_it_escapes_task_dataset_and_label_names_on_every_page(web, member, hostile_task):
    task, dataset = hostile_task
    client = web(member)

    for page, (url, shown) in pages(task, dataset).items():
        response = client.get(url)
        body = response.content.decode()
        assert response.status_code == 200, page
        for raw in shown:
            assert ESCAPED[raw] in body, f"{page} does not show {raw!r} escaped"
        for raw in ESCAPED:
            assert raw not in body, f"{page} contains the raw {raw!r}"
