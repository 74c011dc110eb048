import pytest
from django.urls import reverse

from tests.factories import TRAIN_CSV, upload
from webapp.registry.models import Dataset, Task

pytestmark = pytest.mark.django_db


def datasets_url(task: Task) -> str:
    return reverse("api-task-datasets", args=[task.pk])


def post_file(client, task, filename, content, **fields):
    return client.post(datasets_url(task), {"file": upload(filename, content), **fields}, format="multipart")


def test_a_member_uploads_a_csv(api, member, task):
    response = post_file(api(member), task, "train.csv", TRAIN_CSV, role="train", name="mail")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("name", "version", "role", "row_count", "file_format", "synthetic")} == {
        "name": "mail",
        "version": 1,
        "role": "train",
        "row_count": 3,
        "file_format": "csv",
        "synthetic": False,
    }
    assert len(body["sha256"]) == 64 and body["size_bytes"] == len(TRAIN_CSV)
    assert body["stats"]["row_count"] == 3
    assert Dataset.objects.get(pk=body["id"]).rows_path.exists()
    task.refresh_from_db()
    assert task.labels == ["banking", "travel"]


def test_a_second_upload_under_the_same_name_is_a_new_version(api, member, task, dataset):
    response = post_file(api(member), task, "train.csv", TRAIN_CSV + b"new row,travel\n", role="train")

    assert response.status_code == 201
    assert (response.json()["name"], response.json()["version"]) == ("train", 2)


def test_a_viewer_can_read_datasets(api, viewer, task, dataset):
    client = api(viewer)

    assert [d["id"] for d in client.get(datasets_url(task)).json()["results"]] == [dataset.pk]
    assert client.get(reverse("api-dataset-detail", args=[dataset.pk])).json()["sha256"] == dataset.sha256


def test_a_viewer_cannot_upload_a_dataset(api, viewer, task):
    response = post_file(api(viewer), task, "train.csv", TRAIN_CSV, role="train")

    assert response.status_code == 403
    assert not Dataset.objects.exists()


def test_a_viewer_gets_403_not_400_for_an_invalid_upload(api, viewer, task):
    assert api(viewer).post(datasets_url(task), {"role": "nonsense"}, format="multipart").status_code == 403


def test_it_rejects_a_jsonl_upload_with_a_bad_line_naming_it(api, member, task):
    content = b'{"text": "hi", "label": "greeting"}\n{"text": "bye", "label": \n'

    response = post_file(api(member), task, "mail.jsonl", content, role="train")

    assert response.status_code == 400
    (message,) = response.json()["file"]
    assert message.startswith("mail.jsonl line 2 is not valid JSON")


def test_it_rejects_a_csv_without_the_text_column_listing_the_columns_found(api, member, task):
    response = post_file(api(member), task, "mail.csv", b"body,label\nhello,greeting\n", role="train")

    assert response.status_code == 400
    assert "has no column 'text'. Columns found: body, label" in response.json()["file"][0]


def test_it_rejects_an_empty_file(api, member, task):
    response = post_file(api(member), task, "empty.csv", b"", role="train")

    assert response.status_code == 400
    assert response.json()["file"] == ["empty.csv is empty: it has no rows to store."]


def test_it_rejects_a_file_it_already_stores(api, member, task, dataset):
    response = post_file(api(member), task, "copy.csv", TRAIN_CSV, role="validation")

    assert response.status_code == 400
    assert "already stored in this task as 'train v1'" in response.json()["file"][0]
    assert Dataset.objects.count() == 1


def test_it_rejects_an_upload_over_the_size_cap(api, member, task, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    big = b"text,label\n" + b"a long enough line of text,travel\n" * 200

    response = post_file(api(member), task, "big.csv", big, role="train")

    assert response.status_code == 400
    assert "upload limit" in response.json()["file"][0]
    assert not Dataset.objects.exists()


def test_it_rejects_validation_data_with_labels_the_task_does_not_know(api, member, task, dataset):
    content = b"text,label\nwhere is my parcel,shipping\n"

    response = post_file(api(member), task, "val.csv", content, role="validation")

    assert response.status_code == 400
    assert "labels this task does not know: 'shipping' (line 2)" in response.json()["file"][0]


def test_it_rejects_an_unknown_role(api, member, task):
    response = post_file(api(member), task, "train.csv", TRAIN_CSV, role="holdout")

    assert response.status_code == 400
    assert "role" in response.json()


def test_it_asks_for_a_file(api, member, task):
    response = api(member).post(datasets_url(task), {"role": "train"}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()


def test_an_outsider_gets_404_for_the_datasets_of_another_teams_task(api, outsider, task, dataset):
    client = api(outsider)

    assert client.get(datasets_url(task)).status_code == 404
    assert post_file(client, task, "mine.csv", b"text,label\nx,y\n", role="train").status_code == 404
    assert client.get(reverse("api-dataset-detail", args=[dataset.pk])).status_code == 404
    assert Dataset.objects.count() == 1
