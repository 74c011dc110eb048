"""The label set: an upload that would grow it says which labels are new and needs an explicit confirm (form
and API alike); labels can be renamed or merged, with a history, while no model was trained or evaluated on
them; stored files stay as uploaded and every read maps old names to new ones."""

import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import upload
from webapp.registry.models import Dataset, LabelChange
from webapp.registry.services import LabelSetWouldGrow, dataset_upload, task_labels_rename, task_labels_set

pytestmark = pytest.mark.django_db

GROWING = b"text,label\nwill it rain,weather\nsunny tomorrow,weather\nmy pin,banking\nlost card,cards\n"


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def post_upload(client, task, content, **fields):
    form = {"role": "train", "name": "", "text_column": "text", "label_column": "label", **fields}
    return client.post(reverse("dataset-list", args=[task.pk]), {**form, "file": upload("more.csv", content)})


def test_an_upload_that_would_grow_a_reviewed_set_names_the_new_labels_and_stores_nothing(member, task, dataset):
    task_labels_set(task=task, user=member, labels=["banking", "travel"])

    with pytest.raises(LabelSetWouldGrow) as refused:
        dataset_upload(task=task, user=member, file=upload("more.csv", GROWING), filename="more.csv", role="train")

    message = refused.value.message_text
    assert "reviewed label set from 2 to 4 labels" in message
    assert "'weather' (line 2), 'cards' (line 5)" in message
    assert refused.value.new_labels == ["cards", "weather"]
    task.refresh_from_db()
    assert task.labels == ["banking", "travel"] and Dataset.objects.count() == 1


def test_an_unreviewed_set_asks_too_so_small_files_cannot_grow_it_unnoticed(member, task, dataset):
    with pytest.raises(LabelSetWouldGrow, match=r"label set from 2 to 4 labels"):
        dataset_upload(task=task, user=member, file=upload("more.csv", GROWING), filename="more.csv", role="train")


def test_confirmed_new_labels_join_the_set(member, task, dataset):
    stored = dataset_upload(task=task, user=member, file=upload("more.csv", GROWING), filename="more.csv",
                            role="train", confirm_new_labels=True)  # fmt: skip

    task.refresh_from_db()
    assert task.labels == ["banking", "cards", "travel", "weather"]
    assert stored.stats["labels_added"] == ["cards", "weather"]


def test_the_form_shows_the_new_labels_and_a_confirm_box_then_stores_when_ticked(web, member, task, dataset):
    client = web(member)

    refused = post_upload(client, task, GROWING)
    stored = post_upload(client, task, GROWING, confirm_new_labels="on")

    assert refused.status_code == 400
    assert 'data-testid="confirm-new-labels"' in refused.content.decode()
    assert "new 'weather' (line 2), 'cards' (line 5)" in text(refused)
    assert stored.status_code == 302
    assert "Added 2 label(s) to the task: cards, weather" in text(client.get(stored.url))


def test_the_api_refuses_growth_naming_the_labels_until_confirmed(api, member, task, dataset):
    url = reverse("api-task-datasets", args=[task.pk])

    refused = api(member).post(url, {"file": upload("m.csv", GROWING), "role": "train"}, format="multipart")
    stored = api(member).post(
        url, {"file": upload("m.csv", GROWING), "role": "train", "confirm_new_labels": "true"}, format="multipart"
    )

    assert refused.status_code == 400
    assert refused.json()["new_labels"] == ["cards", "weather"]
    assert "from 2 to 4 labels" in refused.json()["confirm_new_labels"][0]
    assert stored.status_code == 201


def test_a_rename_maps_stored_rows_and_counts_without_touching_the_file(web, member, task, dataset):
    before = dataset.original_path.read_bytes()

    change = task_labels_rename(task=task, user=member, sources=["travel"], target="trips")

    task.refresh_from_db()
    dataset = Dataset.objects.get(pk=dataset.pk)
    assert task.labels == ["banking", "trips"] and task.label_map == {"travel": "trips"}
    assert [row["label"] for row in dataset.rows()] == ["trips", "banking", "trips"]
    assert dataset.label_counts() == [("trips", 2), ("banking", 1)]
    assert dataset.original_path.read_bytes() == before
    assert (change.action, change.sources, change.target, change.rows, change.actor) == (
        "renamed", ["travel"], "trips", 2, member,
    )  # fmt: skip
    page = text(web(member).get(reverse("task-labels", args=[task.pk])))
    assert "max-member renamed travel → trips (2 stored rows)" in page


def test_a_later_upload_under_an_old_name_reads_as_the_new_one(member, task, dataset):
    task_labels_rename(task=task, user=member, sources=["travel"], target="trips")
    content = b"text,label\nfly to oslo,travel\nmy balance,banking\n"

    test_set = dataset_upload(task=task, user=member, file=upload("t.csv", content), filename="t.csv", role="test")

    assert [row["label"] for row in test_set.rows()] == ["trips", "banking"]


def test_a_merge_joins_labels_and_a_chain_of_renames_follows_through(member, task, dataset):
    task_labels_rename(task=task, user=member, sources=["travel"], target="trips")

    change = task_labels_rename(task=task, user=member, sources=["banking", "trips"], target="general")

    task.refresh_from_db()
    assert task.labels == ["general"] and change.action == "merged" and change.rows == 3
    assert task.label_map == {"travel": "general", "banking": "general", "trips": "general"}
    assert {row["label"] for row in Dataset.objects.get(pk=dataset.pk).rows()} == {"general"}


def test_renaming_onto_an_existing_label_is_a_merge(member, task, dataset):
    change = task_labels_rename(task=task, user=member, sources=["travel"], target="banking")

    task.refresh_from_db()
    assert change.action == "merged" and task.labels == ["banking"]


def test_renaming_is_refused_once_a_model_learnt_the_names(web, member, task, dataset, student):
    client = web(member)

    page = text(client.get(reverse("task-labels", args=[task.pk])))
    response = client.post(reverse("task-labels-rename", args=[task.pk]), {"sources": ["travel"], "target": "x"})

    assert "can't be renamed or merged once models were trained or evaluated on them: 1 student(s)" in page
    assert response.status_code == 400
    task.refresh_from_db()
    assert task.labels == ["banking", "travel"] and not LabelChange.objects.exists()


def test_renaming_is_refused_when_evaluations_exist(member, task, evaluation):
    with pytest.raises(ValidationError, match=r"1 teacher\(s\) with a head over them, 1 evaluation\(s\)"):
        task_labels_rename(task=task, user=member, sources=["travel"], target="x")


@pytest.mark.parametrize(
    ("sources", "target", "problem"),
    [
        (["travel"], "trip\u202es", "U+202E"),
        (["weather"], "x", "Not in this task's label set: weather"),
        (["travel"], "travel", "already its name"),
        ([], "x", "Choose the label"),
    ],
)
def test_a_bad_rename_names_the_problem(member, task, dataset, sources, target, problem):
    with pytest.raises(ValidationError, match=re.escape(problem)):
        task_labels_rename(task=task, user=member, sources=sources, target=target)


def test_a_viewer_cannot_rename_and_an_outsider_gets_404(web, viewer, outsider, task, dataset):
    url = reverse("task-labels-rename", args=[task.pk])

    assert web(viewer).post(url, {"sources": ["travel"], "target": "x"}).status_code == 403
    assert web(outsider).post(url, {"sources": ["travel"], "target": "x"}).status_code == 404
    task.refresh_from_db()
    assert task.labels == ["banking", "travel"]
