"""The Evaluation tab: tier table, quality-vs-latency chart, calibration and detail pages, and the forms
that add evidence (evaluate jobs, robustness probes, imported results), as a member and as a viewer."""

import html
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import evaluation_of, upload
from webapp.evaluation.models import ExternalResult
from webapp.evaluation.selectors import latest_evaluations
from webapp.evaluation.services import evaluate_start, robustness_probe_create
from webapp.evaluation.tier import pareto_front, tier_table
from webapp.jobs.models import Job
from webapp.registry.models import Dataset
from webapp.registry.services import dataset_upload

pytestmark = pytest.mark.django_db

TEST_CSV = (
    b"text,label\nflights to oslo,travel\nmy card balance,banking\nhotel in nice,travel\nopen an account,banking\n"
)
SPEED = {"latency_p50_ms": 8.0, "latency_p95_ms": 9.0, "throughput_b32": 900.0, "parameters": 22_000_000,
         "device": "cpu", "threads": 2}  # fmt: skip


def text(response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def test_set(task, member, dataset) -> Dataset:
    return dataset_upload(task=task, user=member, file=upload("test.csv", TEST_CSV), filename="test.csv", role="test")


@pytest.fixture
def evidence(task, teacher, student, test_set):
    """Teacher 4/4 right on the test set, the student 3/4 (it calls 'hotel in nice' banking)."""
    teacher.labels = ["banking", "travel"]
    teacher.save(update_fields=["labels"])
    task.refresh_from_db()
    targets = [1, 0, 1, 0]
    teacher_eval = evaluation_of(
        teacher, test_set, logits=[[0, 3], [3, 0], [0, 3], [3, 0]], targets=targets, speed=SPEED
    )
    student_eval = evaluation_of(
        student, test_set, logits=[[0, 2], [2, 0], [1, 0], [2, 0]], targets=targets, temperature=1.5,
        speed=SPEED | {"latency_p50_ms": 2.0, "parameters": 5_000_000},
    )  # fmt: skip
    return teacher_eval, student_eval


def test_the_tier_table_puts_the_teacher_first_and_scores_students_against_it(task, evidence):
    teacher_eval, student_eval = evidence
    task.quality_min, task.min_retention = 0.7, 0.97

    table = tier_table(task, latest_evaluations(task), [])

    assert [r.kind for r in table.rows] == ["teacher", "student"]
    teacher_cell, student_cell = table.rows[0].cells[0], table.rows[1].cells[0]
    assert (teacher_cell.score, teacher_cell.retention, teacher_cell.status) == (1.0, None, "good")
    # 0.75 clears the 0.7 bar but keeps 75% of the teacher: more than 2 points under 97% retention.
    assert (student_cell.score, student_cell.retention, student_cell.status) == (0.75, 0.75, "bad")
    assert [p["name"] for p in table.primary_points()] == [r.name for r in table.rows]


def test_the_pareto_front_keeps_only_models_nothing_beats_on_both_axes():
    points = [
        {"name": "teacher", "latency_ms": 10, "score": 0.93},
        {"name": "3L", "latency_ms": 4, "score": 0.92},
        {"name": "2L-slow", "latency_ms": 5, "score": 0.90},  # slower and worse than 3L
        {"name": "1L", "latency_ms": 2, "score": 0.89},
    ]

    assert [p["name"] for p in pareto_front(points)] == ["1L", "3L", "teacher"]


def test_the_overview_shows_the_table_and_the_quality_latency_chart(web, member, task, evidence):
    response = web(member).get(reverse("evaluation-overview", args=[task.pk]))

    assert response.status_code == 200
    page = text(response)
    assert "Tier benchmarks" in page and "75.0% of teacher" in page
    figure = json.loads(re.search(r'<script id="quality_latency" type="application/json">(.*?)</script>',
                                  response.content.decode(), re.DOTALL).group(1))  # fmt: skip
    assert {t["name"] for t in figure["data"]} >= {"MiniLM", "2-layer student", "Pareto frontier"}


def test_the_calibration_page_draws_reliability_confidence_and_risk_coverage(web, member, task, evidence):
    response = web(member).get(reverse("evaluation-calibration", args=[task.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    for key in ("reliability-0", "confidence-0", "risk-0"):
        assert f'id="{key}"' in content


def test_the_detail_page_names_the_confusion_with_its_example_text(web, member, evidence):
    _, student_eval = evidence

    page = text(web(member).get(reverse("evaluation-detail", args=[student_eval.pk])))

    assert "travel → banking" in page and "hotel in nice" in page
    download = web(member).get(reverse("evaluation-predictions", args=[student_eval.pk]))
    rows = [json.loads(line) for line in b"".join(download.streaming_content).decode().splitlines()]
    assert [r["prediction"] for r in rows] == ["travel", "banking", "banking", "banking"]


def test_an_ood_evaluation_gives_its_gap_to_the_test_set_in_points(web, member, task, student, evidence, test_set):
    ood = robustness_probe_create(dataset=test_set, user=member)
    # 3/4 on test, 1/4 on the probe: 50 points lower, not "50% lower".
    on_ood = evaluation_of(student, ood, logits=[[0, 2], [0, 2], [1, 0], [0, 2]], targets=[1, 0, 1, 0])

    page = text(web(member).get(reverse("evaluation-detail", args=[on_ood.pk])))

    assert "75.0% on test v1 → 25.0% here (-50.0 points)" in " ".join(page.split())


def test_a_member_starts_one_evaluate_job_per_model(web, member, task, teacher, student, test_set):
    teacher.labels = ["banking", "travel"]
    teacher.save(update_fields=["labels"])
    form = {"models": [f"teacher:{teacher.pk}", f"student:{student.pk}"], "datasets": [test_set.pk], "coverage": 0.9}

    response = web(member).post(reverse("evaluation-start", args=[task.pk]), form)

    assert response.status_code == 302
    jobs = Job.objects.filter(kind=Job.Kind.EVALUATE).order_by("pk")
    assert [(j.params["teacher_id"] is not None, j.params["dataset_ids"], j.params["coverage"]) for j in jobs] == [
        (True, [test_set.pk], 0.9),
        (False, [test_set.pk], 0.9),
    ]


def test_a_model_without_the_tasks_labels_cannot_be_evaluated(task, member, teacher, student, test_set):
    with pytest.raises(ValidationError, match="does not predict this task's 2 labels: fine-tune it first"):
        evaluate_start(task=task, user=member, model=teacher, datasets=[test_set])
    with pytest.raises(ValidationError, match="at least one dataset"):
        evaluate_start(task=task, user=member, model=student, datasets=[])


def test_a_robustness_probe_is_a_deterministic_ood_copy_of_the_test_set(task, member, test_set, dataset):
    probe = robustness_probe_create(dataset=test_set, user=member)

    assert (probe.role, probe.row_count, probe.stats["derived_from"]["dataset_id"]) == ("ood", 4, test_set.pk)
    # The same seed gives the same file: a second request is recognised as already stored.
    with pytest.raises(ValidationError, match="already stored"):
        robustness_probe_create(dataset=test_set, user=member)
    with pytest.raises(ValidationError, match="made from a test"):
        robustness_probe_create(dataset=dataset, user=member)


def test_imported_results_join_the_table_and_a_bad_file_changes_nothing(web, member, task, evidence):
    url = reverse("external-import", args=[task.pk])
    good = b"model,benchmark,score,params\nDistilBERT,SST-2,91.3%,66M\nDistilBERT,MNLI,0.822,66M\n"

    assert web(member).post(url, {"file": upload("published.csv", good)}).status_code == 302
    bad = web(member).post(url, {"file": upload("more.csv", b"model,benchmark,score\nTinyBERT,SST-2,92.6\n")})

    assert bad.status_code == 400 and "more.csv" in text(bad) and "line 2" in text(bad)
    assert list(ExternalResult.objects.values_list("model_name", "benchmark", "score")) == [
        ("DistilBERT", "MNLI", 0.822),
        ("DistilBERT", "SST-2", pytest.approx(0.913)),
    ]
    page = text(web(member).get(reverse("evaluation-overview", args=[task.pk])))
    assert "DistilBERT" in page and "imported from published.csv" in page and "91.3%" in page
