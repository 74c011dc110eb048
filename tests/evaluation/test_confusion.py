"""The confusion matrix on an evaluation's page: worst classes first, the worst few by default (the rest
summed in one column so rows still add up), all of them on request, readable with 77 classes."""

import json
import re

import pytest
from django.urls import reverse

from webapp.evaluation.charts import confusion_figure
from webapp.evaluation.confusion import OTHER, confusion_view, worst_first

LABELS = ["a", "b", "c", "d"]
# a: 3 right; b: 2 right, 1 as c; c: 1 right, 2 as b; d: 0 right, 1 as a; one out-of-scope row.
PAIRS = (
    [("a", "a")] * 3 + [("b", "b")] * 2 + [("b", "c")] + [("c", "c")] + [("c", "b")] * 2 + [("d", "a"), ("oos", "a")]
)
PER_CLASS = [
    {"label": "a", "f1": 0.86, "support": 3},
    {"label": "b", "f1": 0.57, "support": 3},
    {"label": "c", "f1": 0.4, "support": 3},
    {"label": "d", "f1": 0.0, "support": 1},
]


def test_rows_come_worst_first_and_count_what_was_predicted():
    view = confusion_view(PAIRS, labels=LABELS, order=worst_first(PER_CLASS), show=None)

    assert view.rows == ["d", "c", "b", "a"] and view.columns == ["d", "c", "b", "a"]
    assert view.counts == [[0, 0, 0, 1], [0, 1, 2, 0], [0, 1, 2, 0], [0, 0, 0, 3]]
    assert (view.classes, view.hidden, view.out_of_scope) == (4, 0, 1)
    assert view.shares()[1] == pytest.approx([0, 1 / 3, 2 / 3, 0])


def test_the_worst_few_keep_every_row_whole_with_an_other_column():
    view = confusion_view(PAIRS, labels=LABELS, order=worst_first(PER_CLASS), show=2)

    assert view.rows == ["d", "c"] and view.columns == ["d", "c", OTHER]
    assert view.counts == [[0, 0, 1], [0, 1, 2]]  # d→a and c→b fall under "other classes"
    assert view.hidden == 2


def test_seventy_seven_classes_stay_readable():
    labels = [f"intent_{i:02d}" for i in range(77)]
    pairs = [(label, label) for label in labels for _ in range(5)] + [(labels[3], labels[4])] * 4
    per_class = [{"label": label, "f1": 0.5 if label == labels[3] else 0.9, "support": 5} for label in labels]

    worst = confusion_view(pairs, labels=labels, order=worst_first(per_class))
    every = confusion_view(pairs, labels=labels, order=worst_first(per_class), show=None)

    assert worst.rows[0] == "intent_03" and len(worst.rows) == 15 and len(worst.columns) == 16
    assert len(every.rows) == 77 and len(every.columns) == 77
    small, large = confusion_figure(worst).to_plotly_json(), confusion_figure(every).to_plotly_json()
    assert "texttemplate" in small["data"][0] and "texttemplate" not in large["data"][0]  # no 5,929 numbers
    assert large["layout"]["height"] >= 77 * 14  # a row of text per class
    assert large["layout"]["yaxis"]["autorange"] == "reversed"  # the worst at the top


def chart(page: str, key: str) -> dict:
    return json.loads(re.search(rf'<script id="{key}" type="application/json">(.*?)</script>', page, re.S).group(1))


@pytest.mark.django_db
def test_the_evaluation_page_draws_it_and_offers_all_classes(web, viewer, evaluation):
    url = reverse("evaluation-detail", args=[evaluation.pk])

    page = web(viewer).get(url).content.decode()
    figure = chart(page, "confusion-figure")  # not "confusion": that is the section's anchor

    # Rows travel, banking, travel predicted travel, banking, banking: both classes have F1 2/3 (ties by name).
    assert figure["data"][0]["y"] == ["banking", "travel"]
    assert figure["data"][0]["customdata"] == [[1, 0], [1, 1]]
    assert "?classes=all#confusion" in page
    assert "All 2 classes" in web(viewer).get(url, {"classes": "all"}).content.decode()


@pytest.mark.django_db
def test_without_a_predictions_file_the_page_still_opens(web, viewer, evaluation):
    evaluation.predictions_path = ""
    evaluation.save(update_fields=["predictions_path"])

    response = web(viewer).get(reverse("evaluation-detail", args=[evaluation.pk]))

    assert response.status_code == 200 and 'id="confusion"' not in response.content.decode()


@pytest.mark.django_db
def test_the_teachers_tab_links_a_model_to_its_evaluations(web, viewer, evaluation, task):
    page = web(viewer).get(reverse("teacher-list", args=[task.pk])).content.decode()

    assert f'href="/evaluations/{evaluation.pk}/#confusion"' in page
