"""Seeing what a dataset holds (a page of rows, a few examples per label) and taking the stored file away,
on the pages and through the API, within the user's teams only."""

import html
import re

import pytest
from django.urls import reverse

from tests.factories import upload
from webapp.registry.selectors import dataset_examples_by_label, dataset_rows_page
from webapp.registry.services import dataset_upload

pytestmark = pytest.mark.django_db

# 120 rows: labels a (60), b (40), c (20), in a repeating order.
ROWS = [(f"text number {i}", "abcaba"[i % 6]) for i in range(120)]
CSV = ("text,label\n" + "".join(f"{text},{label}\n" for text, label in ROWS)).encode()


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def big(task, member):
    return dataset_upload(task=task, user=member, file=upload("mail.csv", CSV), filename="mail.csv", role="train")


def test_a_page_of_rows_counts_from_the_offset_with_stable_row_ids(big):
    page = dataset_rows_page(big, offset=50, limit=50)

    assert [row["row"] for row in page.rows] == list(range(50, 100))
    assert page.rows[0] == {"row": 50, "text": "text number 50", "label": ROWS[50][1]}
    assert (page.total, page.previous_offset, page.next_offset) == (120, 0, 100)
    assert dataset_rows_page(big, offset=100).next_offset is None


def test_a_page_of_one_label_keeps_the_rows_file_ids(big):
    page = dataset_rows_page(big, label="c", limit=5)

    assert page.total == 20
    assert [row["row"] for row in page.rows] == [2, 8, 14, 20, 26]
    assert {row["label"] for row in page.rows} == {"c"}


def test_examples_per_label_come_most_frequent_first_with_counts(big):
    groups = dataset_examples_by_label(big, per_label=2)

    assert [(g["label"], g["count"]) for g in groups] == [("a", 60), ("b", 40), ("c", 20)]
    assert groups[2]["examples"] == ["text number 2", "text number 8"]


def test_the_dataset_page_shows_its_first_rows_examples_per_label_and_the_download(web, viewer, big):
    response = web(viewer).get(reverse("dataset-detail", args=[big.pk]))

    page = text(response)
    assert response.status_code == 200
    assert "First rows" in page and "text number 9" in page and "text number 10 " not in page
    assert "Examples per label (3 labels)" in page and "× 60" in page
    assert f'href="/datasets/{big.pk}/file/"' in response.content.decode()
    assert big.sha256[:12] in page


def test_the_rows_page_pages_through_one_label(web, viewer, big):
    response = web(viewer).get(reverse("dataset-rows", args=[big.pk]), {"label": "b", "offset": "10"})

    page = text(response)
    assert response.status_code == 200
    assert "rows 10–39 of 40 labelled b" in page
    assert "text number 1 " not in page and "text number 61" in page  # row 61 is the 11th 'b'
    assert "Previous 50" in page and "Next 50" not in page


@pytest.mark.parametrize("offset", ["-5", "ten", "1e9999"])
def test_a_bad_offset_shows_the_first_page_not_an_error(web, viewer, big, offset):
    response = web(viewer).get(reverse("dataset-rows", args=[big.pk]), {"offset": offset})

    assert response.status_code == 200
    assert "text number 0" in text(response)


def test_a_viewer_downloads_the_file_as_uploaded(web, viewer, big):
    response = web(viewer).get(reverse("dataset-file", args=[big.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CSV
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="mail.csv"'
    assert response["X-Content-SHA256"] == big.sha256


def test_a_jsonl_upload_downloads_as_jsonl_under_its_name(web, member, task):
    content = b'{"text": "hi", "label": "a"}\n{"text": "yo", "label": "b"}\n'
    stored = dataset_upload(task=task, user=member, file=upload("chat.ndjson", content), filename="chat.ndjson",
                            role="train")  # fmt: skip

    response = web(member).get(reverse("dataset-file", args=[stored.pk]))

    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert 'filename="chat.ndjson"' in response["Content-Disposition"]


def test_a_file_missing_from_disk_is_a_404_naming_it_not_a_500(web, member, big):
    big.original_path.unlink()

    response = web(member).get(reverse("dataset-file", args=[big.pk]))

    assert response.status_code == 404


def test_an_outsider_cannot_see_rows_or_download(web, api, outsider, big):
    assert web(outsider).get(reverse("dataset-rows", args=[big.pk])).status_code == 404
    assert web(outsider).get(reverse("dataset-file", args=[big.pk])).status_code == 404
    assert api(outsider).get(reverse("api-dataset-rows", args=[big.pk])).status_code == 404
    assert api(outsider).get(reverse("api-dataset-file", args=[big.pk])).status_code == 404


def test_the_api_pages_through_rows_and_downloads_the_file(api, viewer, big):
    client = api(viewer)

    detail = client.get(reverse("api-dataset-detail", args=[big.pk])).json()
    rows = client.get(detail["rows_url"], {"offset": 2, "limit": 3, "label": "a"}).json()
    file = client.get(detail["file_url"])

    assert rows == {
        "total": 60, "offset": 2, "limit": 3, "label": "a",
        "rows": [{"row": 5, "text": "text number 5", "label": "a"}, {"row": 6, "text": "text number 6", "label": "a"},
                 {"row": 9, "text": "text number 9", "label": "a"}],
    }  # fmt: skip
    assert b"".join(file.streaming_content) == CSV


def test_the_api_refuses_a_bad_limit_naming_the_field(api, viewer, big):
    response = api(viewer).get(reverse("api-dataset-rows", args=[big.pk]), {"limit": 0})

    assert response.status_code == 400 and "limit" in response.json()
