"""The evidence charts are plotly figures built from stored evaluations (the real evidence code's output)."""

import pytest

from tests.factories import evaluation_of, upload
from webapp.evaluation import charts
from webapp.evaluation.selectors import latest_evaluations
from webapp.evaluation.tier import tier_table
from webapp.registry.services import dataset_upload

pytestmark = pytest.mark.django_db

TEST_CSV = (
    b"text,label\nflights to oslo,travel\nmy card balance,banking\nhotel in nice,travel\nopen an account,banking\n"
)
TARGETS = [1, 0, 1, 0]


@pytest.fixture
def evaluations(task, member, teacher, student):
    """Teacher 4/4 right at 8 ms, the student 3/4 at 2 ms."""
    test_set = dataset_upload(task=task, user=member, file=upload("t.csv", TEST_CSV), filename="t.csv", role="test")
    teacher.labels = ["banking", "travel"]
    teacher.save(update_fields=["labels"])
    task.refresh_from_db()
    speed = {"latency_p50_ms": 8.0, "latency_p95_ms": 9.0, "throughput_b32": 900.0, "parameters": 22_000_000}
    return [
        evaluation_of(teacher, test_set, logits=[[0, 3], [3, 0], [0, 3], [3, 0]], targets=TARGETS, speed=speed),
        evaluation_of(
            student, test_set, logits=[[0, 2], [2, 0], [1, 0], [2, 0]], targets=TARGETS, temperature=1.5,
            speed=speed | {"latency_p50_ms": 2.0},
        ),
    ]  # fmt: skip


def test_quality_vs_latency_plots_each_model_the_frontier_and_the_quality_bar(task, evaluations):
    task.quality_min = 0.7

    figure = charts.quality_latency_figure(tier_table(task, latest_evaluations(task), []))

    models = {t.name: (t.x, t.y) for t in figure.data if t.mode == "markers"}
    assert models == {"MiniLM": ((8.0,), (1.0,)), "2-layer student": ((2.0,), (0.75,))}
    # Named in a legend that says which marker is which kind, not in labels that overlap on the plot.
    groups = {t.name: (t.marker.symbol, t.legendgrouptitle.text) for t in figure.data if t.mode == "markers"}
    assert groups == {"MiniLM": ("star", "teachers (stars)"), "2-layer student": ("circle", "students (circles)")}
    assert all(t.text is None for t in figure.data) and figure.layout.legend.orientation == "v"
    frontier = next(t for t in figure.data if t.name == "Pareto frontier")
    assert frontier.x == (2.0, 8.0) and frontier.y == (0.75, 1.0)
    assert figure.layout.xaxis.type == "log"
    (bar,) = figure.layout.shapes
    assert bar.y0 == bar.y1 == 0.7 and figure.layout.annotations[0].text == "quality bar"


def test_the_reliability_diagram_draws_each_model_before_and_after_scaling(evaluations):
    figure = charts.reliability_figure(evaluations, title="Reliability")

    names = [t.name for t in figure.data]
    assert names[0] == "perfectly calibrated" and len(names) == 1 + 2 * len(evaluations)
    assert {t.line.dash for t in figure.data[1:]} == {"solid", "dot"}
    assert all(0 <= x <= 1 for t in figure.data[1:] for x in t.x)


def test_confidence_and_risk_coverage_draw_one_curve_per_model_and_outcome(evaluations):
    confidence = charts.confidence_figure(evaluations, title="Confidence")
    risk = charts.risk_coverage_figure(evaluations, title="Risk-coverage")

    assert len(risk.data) == len(evaluations)
    # Each curve is a share of that model's right (or wrong) answers; the teacher is never wrong.
    shares = {t.name: sum(t.y) for t in confidence.data}
    assert shares == pytest.approx(
        {"MiniLM: correct (4)": 1, "MiniLM: wrong (0)": 0, "2-layer student: correct (3)": 1,
         "2-layer student: wrong (1)": 1}
    )  # fmt: skip


def test_models_without_calibration_evidence_leave_the_charts_empty(evaluations):
    for evaluation in evaluations:
        evaluation.metrics = {}

    assert [t.name for t in charts.reliability_figure(evaluations, title="r").data] == ["perfectly calibrated"]
    assert charts.risk_coverage_figure(evaluations, title="r").data == ()
