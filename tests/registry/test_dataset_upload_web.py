"""Uploading datasets through the Data tab's form: good files are stored, bad ones are refused with
a message naming the problem, and a refused upload changes nothing stored."""

import html
import json
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from tests.factories import TRAIN_CSV, upload
from webapp.registry import views
from webapp.registry.models import Dataset, Task

pytestmark = pytest.mark.django_db


def post_upload(client, task: Task, filename: str, content: bytes, **fields: str):
    form = {"role": "train", "name": "", "text_column": "text", "label_column": "label", **fields}
    url = reverse("dataset-list", kwargs={"task_id": task.pk})
    return client.post(url, {**form, "file": upload(filename, content)})


def stored(task: Task) -> tuple[int, list[str], list[Path]]:
    """Everything an upload could change: the datasets, the task's labels, the dataset folders."""
    task.refresh_from_db()
    folders = sorted((Path(django_settings.DATA_DIR) / "datasets").glob("*/*"))
    return Dataset.objects.count(), list(task.labels), folders


def alerts(response) -> str:
    """The form's error messages as the user reads them (HTML entities decoded)."""
    found = re.findall(r'role="alert">(.*?)</(?:small|div)>', response.content.decode(), flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", " ".join(found)))


def assert_refused(response, *words: str) -> None:
    assert response.status_code == 400
    assert b'enctype="multipart/form-data"' in response.content  # the form is shown again
    message = alerts(response)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_it_stores_a_good_csv_and_shows_its_rows_label_chart_and_duplicates(web, member, task):
    content = b"text,label\nbook a flight,travel\nbook a flight,travel\nwhat is my balance,banking\n"

    response = post_upload(web(member), task, "mail.csv", content)

    dataset = Dataset.objects.get(task=task)
    assert response.status_code == 302
    assert response.url == reverse("dataset-detail", kwargs={"dataset_id": dataset.pk})
    page = web(member).get(response.url).content.decode()
    assert re.search(r'<div class="value">3</div><div class="label">rows</div>', page)
    assert re.search(r'<div class="value">1</div><div class="label">duplicate rows', page)
    chart = json.loads(re.search(r'<script id="labels" type="application/json">(.*?)</script>', page).group(1))
    assert (chart["data"][0]["x"], chart["data"][0]["y"]) == (["travel", "banking"], [2, 1])
    task.refresh_from_db()
    assert task.labels == ["banking", "travel"]


def test_it_refuses_an_empty_file(web, member, task):
    before = stored(task)

    response = post_upload(web(member), task, "empty.csv", b"")

    assert_refused(response, "empty")
    assert stored(task) == before


def test_it_refuses_a_csv_with_a_header_but_no_rows(web, member, task):
    before = stored(task)

    response = post_upload(web(member), task, "header.csv", b"text,label\n")

    assert_refused(response, "header.csv has a header but no rows")
    assert stored(task) == before


def test_it_refuses_a_file_that_is_not_utf8_naming_the_line(web, member, task):
    before = stored(task)
    latin1 = "text,label\nok,travel\ncafé au lait,food\n".encode("latin-1")

    response = post_upload(web(member), task, "latin1.csv", latin1)

    assert_refused(response, "latin1.csv", "line 3", "UTF-8")
    assert stored(task) == before


@pytest.mark.parametrize("role", ["train", "unlabeled"])
def test_it_refuses_a_txt_file_naming_its_extension_and_the_formats_it_reads(web, member, task, role):
    before = stored(task)

    response = post_upload(web(member), task, "questions.txt", b"where is my card\nbook a flight\n", role=role)

    # Not "has no 'text' column": the file never meant to be CSV.
    assert_refused(response, "questions.txt is a .txt file", "CSV (.csv", "JSON Lines (.jsonl", "Nothing was stored")
    assert "column" not in alerts(response)
    assert stored(task) == before


def test_it_refuses_a_txt_file_even_when_its_content_would_read_as_csv(web, member, task):
    before = stored(task)

    response = post_upload(web(member), task, "train.txt", TRAIN_CSV)

    assert_refused(response, "train.txt is a .txt file", "rename it with that extension")
    assert stored(task) == before


def test_the_file_picker_offers_the_formats_it_reads(web, member, task):
    page = web(member).get(reverse("dataset-list", kwargs={"task_id": task.pk})).content.decode()
    assert 'accept=".csv,.tsv,.jsonl,.ndjson,.json"' in page


def test_it_refuses_a_csv_without_the_label_column_naming_the_columns_found(web, member, task):
    before = stored(task)

    response = post_upload(web(member), task, "mail.csv", b"text,intent\nbook a flight,travel\n")

    assert_refused(response, "no column 'label'", "Columns found: text, intent")
    assert stored(task) == before


def test_it_stores_renamed_columns_when_they_are_mapped(web, member, task):
    content = b"utterance,intent\nbook a flight,travel\nwhat is my balance,banking\n"

    response = post_upload(web(member), task, "mail.csv", content, text_column="utterance", label_column="intent")

    assert response.status_code == 302
    dataset = Dataset.objects.get(task=task)
    assert (dataset.text_column, dataset.label_column, dataset.row_count) == ("utterance", "intent", 2)
    task.refresh_from_db()
    assert task.labels == ["banking", "travel"]


def test_it_refuses_a_test_set_with_a_label_the_task_does_not_know(web, member, task, dataset):
    before = stored(task)
    content = b"text,label\nfly me home,travel\nwill it rain,weather\n"

    response = post_upload(web(member), task, "test.csv", content, role="test")

    assert_refused(response, "'weather' (line 3)")
    assert stored(task) == before


def test_it_refuses_rows_with_empty_text_naming_the_line(web, member, task):
    before = stored(task)

    response = post_upload(web(member), task, "mail.csv", b"text,label\nbook a flight,travel\n ,banking\n")

    assert_refused(response, "empty text", "line 3")
    assert stored(task) == before


def test_it_refuses_a_jsonl_line_that_is_not_json_naming_the_line(web, member, task):
    before = stored(task)
    content = b'{"text": "book a flight", "label": "travel"}\n{"text": "oops", label: banking}\n'

    response = post_upload(web(member), task, "mail.jsonl", content)

    assert_refused(response, "mail.jsonl line 2 is not valid JSON")
    assert stored(task) == before


def test_it_refuses_a_label_that_would_display_reversed_naming_the_line(web, member, task):
    before = stored(task)
    content = "text,label\nbook a flight,travel\nwhat is my balance,\u202egniknab\n".encode()

    response = post_upload(web(member), task, "mail.csv", content)

    assert_refused(response, "mail.csv line 3", "U+202E")
    assert stored(task) == before


def test_it_refuses_a_nul_byte_in_a_text_naming_the_line(web, member, task):
    before = stored(task)

    response = post_upload(web(member), task, "mail.csv", b"text,label\nbook a\x00 flight,travel\n")

    assert_refused(response, "mail.csv line 2", "NUL byte")
    assert stored(task) == before


def test_it_refuses_the_same_bytes_twice_naming_the_stored_dataset(web, member, task, dataset):
    before = stored(task)

    response = post_upload(web(member), task, "copy.csv", TRAIN_CSV, name="another name")

    assert_refused(response, "already stored", "'train v1'")
    assert stored(task) == before


def test_it_stores_a_new_upload_under_the_same_name_as_version_2(web, member, task, dataset):
    response = post_upload(web(member), task, "train.csv", TRAIN_CSV + b"pay my card bill,banking\n")

    newest = Dataset.objects.get(task=task, name="train", version=2)
    assert response.url == reverse("dataset-detail", kwargs={"dataset_id": newest.pk})
    assert newest.row_count == 4
    assert "v2" in web(member).get(response.url).content.decode()


def test_it_lets_an_ood_set_hold_labels_outside_the_task_and_lists_them(web, member, task, dataset):
    response = post_upload(web(member), task, "ood.csv", b"text,label\norder me a pizza,oos\n", role="ood")

    assert response.status_code == 302
    page = html.unescape(web(member).get(response.url).content.decode())
    assert "Labels outside the task's label set (expected for out-of-scope data): oos" in page
    task.refresh_from_db()
    assert task.labels == ["banking", "travel"]


def test_it_stores_an_unlabeled_set_without_a_label_column(web, member, task):
    content = b"text\nhello\nwhere is my card\n"

    response = post_upload(web(member), task, "raw.csv", content, role="unlabeled", label_column="")

    assert response.status_code == 302
    dataset = Dataset.objects.get(task=task)
    assert (dataset.role, dataset.label_column, dataset.row_count) == ("unlabeled", "", 2)
    assert web(member).get(response.url).status_code == 200


def spy_on_dataset_upload(monkeypatch) -> dict[str, object]:
    """Record what the upload handler handed to the service, then let the real service run."""
    handed_over: dict[str, object] = {}
    real = views.dataset_upload

    def spy(**kwargs):
        file = kwargs["file"]
        handed_over.update(over_cap=file.over_cap, bytes_on_disk=Path(file.temporary_file_path()).stat().st_size)
        return real(**kwargs)

    monkeypatch.setattr(views, "dataset_upload", spy)
    return handed_over


def test_it_refuses_a_file_over_the_upload_cap_leaving_no_temp_files(web, member, task, settings, monkeypatch):
    settings.MAX_UPLOAD_BYTES = 100 * 1024 * 1024
    handed_over = spy_on_dataset_upload(monkeypatch)
    # The upload handler's temp file goes where dataset_upload stages its files, so one folder shows both.
    tmp = Path(settings.DATA_DIR) / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp)
    before, temp_before = stored(task), sorted(tmp.iterdir())
    row = b"book a flight to paris and back again,travel\n"
    content = b"text,label\n" + row * (200 * 1024 * 1024 // len(row))

    response = post_upload(web(member), task, "huge.csv", content, name="huge")

    assert_refused(response, "huge.csv (200 MB)", "over the 100 MB upload limit")
    # The test client's body goes through request.FILES parsing, so the streaming handler ran:
    # it marked the file and wrote no more than the cap to disk.
    assert handed_over["over_cap"] is True
    assert handed_over["bytes_on_disk"] <= settings.MAX_UPLOAD_BYTES
    assert response.context["form"]["name"].value() == "huge"  # the other fields survive the cap
    assert stored(task) == before
    assert sorted(tmp.iterdir()) == temp_before


def test_it_refuses_a_viewers_upload_with_403(web, viewer, task):
    before = stored(task)

    response = post_upload(web(viewer), task, "train.csv", TRAIN_CSV)

    assert response.status_code == 403
    assert stored(task) == before


def test_it_hides_another_teams_task_from_an_outsiders_upload(web, outsider, task):
    before = stored(task)

    response = post_upload(web(outsider), task, "train.csv", TRAIN_CSV)

    assert response.status_code == 404
    assert stored(task) == before
