"""The ROI charts, inspected as figure objects: built from the figures of a real analysis of a recorded
student (the `roi_student` fixture), so they draw what the analysis said, not what a test made up."""

import math

import plotly.io as pio
import pytest

from webapp.economics import charts
from webapp.economics.cost_model import Mode
from webapp.economics.services import assumptions_from, scenario_compute
from webapp.ui.plotting import TEMPLATE_NAME

pytestmark = pytest.mark.django_db


def _figures(task, student, **assumptions):
    values = {"tau_rule": "manual", "manual_tau": 0.8} | assumptions
    return scenario_compute(task=task, student=student, assumptions=assumptions_from(values, task=task))


@pytest.fixture
def figures(task, roi_student):
    """5M requests a month: about $900/month saved against a $4,000 one-off, so breakeven is inside the period."""
    return _figures(task, roi_student, requests_per_month=5_000_000)


def _trace(figure, name_start):
    return next(t for t in figure.data if t.name.startswith(name_start))


def test_every_report_chart_uses_the_house_template(figures) -> None:
    built = charts.report_figures(figures, prefix="s1-")
    assert list(built) == [f"s1-{key}" for key in charts.REPORT_CHARTS]
    # new_figure's registered template, not plotly.py's default (which would weigh 7 kB more per chart).
    assert all(
        f.to_plotly_json()["layout"]["template"] == pio.templates[TEMPLATE_NAME].to_plotly_json()
        for f in built.values()
    )


def test_the_cumulative_cost_chart_draws_both_paths_and_marks_the_breakeven(figures) -> None:
    figure = charts.cumulative_cost_figure(figures)
    keep, distil = _trace(figure, "keep the teacher"), _trace(figure, "distil")
    tco = figures["tco"]
    assert list(keep.y) == tco["keep_teacher_cumulative_usd"] and list(distil.y) == tco["distilled_cumulative_usd"]
    assert keep.y[0] == 0 and distil.y[0] == pytest.approx(figures["one_off"]["total_usd"])
    assert list(keep.x) == list(range(tco["valid_months"] + 1))
    crossing = tco["crossing_month"]
    assert crossing is not None and 0 < crossing < tco["valid_months"]
    (line,) = [s for s in figure.layout.shapes if s.type == "line"]
    assert line.x0 == line.x1 == crossing
    assert any(f"month {crossing:.1f}" in a.text for a in figure.layout.annotations)


def test_the_cumulative_cost_chart_says_when_it_never_breaks_even(task, roi_student) -> None:
    figures = _figures(task, roi_student, requests_per_month=10_000)  # too little traffic to pay back
    figure = charts.cumulative_cost_figure(figures)
    assert figures["tco"]["crossing_month"] is None and not figure.layout.shapes
    assert any("no breakeven within 24 months" in a.text for a in figure.layout.annotations)


def test_cost_reduction_comes_from_the_cost_model_for_both_modes(figures) -> None:
    figure = charts.cost_reduction_figure(figures)
    cascade, upfront = _trace(figure, "student-first cascade"), _trace(figure, "upfront routing")
    assert list(cascade.x) == charts.SHARES and list(upfront.x) == charts.SHARES
    # Share 0: the cascade pays for the student on every request and saves nothing; upfront costs the same.
    assert cascade.y[0] < 1 and upfront.y[0] == pytest.approx(1)
    assert all(a <= b for a, b in zip(cascade.y, cascade.y[1:], strict=False))  # more share never costs more
    # The marked point is the analysis's own figure for this scenario.
    (marker,) = [t for t in figure.data if t.name.startswith("this scenario")]
    assert marker.x[0] == figures["share"]
    assert marker.y[0] == pytest.approx(figures["modes"][Mode.CASCADE]["cost_reduction"])
    assert figure.layout.yaxis.type == "log"


def test_risk_coverage_marks_the_chosen_tau_and_refuses_to_draw_a_certificate_it_has_not(figures) -> None:
    figure = charts.risk_coverage_figure(figures)
    accuracy = _trace(figure, "1 − accuracy")
    points = figures["curve"]["points"]
    assert list(accuracy.x) == [p["coverage"] for p in points]
    assert accuracy.y[-1] == pytest.approx(1 - points[-1]["kept_accuracy"])
    chosen = _trace(figure, "chosen τ = 0.800")
    assert chosen.x[0] == figures["validation"]["coverage"] == 0.7
    assert not [t for t in figure.data if t.name.startswith("certified τ")]
    assert any("no certified τ" in a.text for a in figure.layout.annotations)
    target = [s for s in figure.layout.shapes if s.y0 == s.y1]
    assert target and target[0].y0 == pytest.approx(1 - figures["certificate"]["target"])


def test_risk_coverage_marks_the_certified_tau_and_its_coverage_bound(task, roi_student) -> None:
    figures = _figures(task, roi_student, tau_rule="certified", certified_target=0.85, certify_on="accuracy")
    certificate = figures["certificate"]
    assert certificate["tau"] is not None
    figure = charts.risk_coverage_figure(figures)
    certified = _trace(figure, f"certified τ = {certificate['tau']:.3f}")
    assert certified.x[0] == certificate["point"]["coverage"]
    bound = [s for s in figure.layout.shapes if s.x0 == s.x1]
    assert bound[0].x0 == certificate["coverage_lower_bound"]
    assert any(s.y0 == s.y1 and math.isclose(s.y0, 0.15) for s in figure.layout.shapes)


def test_validation_is_shown_next_to_what_test_realised(figures) -> None:
    figure = charts.applied_figure(figures)
    coverage, quality = _trace(figure, "kept by the student"), _trace(figure, "cascade quality")
    (applied,) = figures["applied"]
    assert list(coverage.x) == ["validation: val v1", "test: test v1"]
    assert list(coverage.y) == [figures["validation"]["coverage"], applied["realised"]["coverage"]]
    assert list(quality.y) == [figures["validation"]["cascade_quality"], applied["realised"]["cascade_quality"]]


def test_set_names_are_escaped_because_plotly_renders_html_in_labels(figures) -> None:
    figures["applied"][0]["name"] = '<a href="javascript:alert(1)">test</a>'
    figure = charts.applied_figure(figures)
    assert "&lt;a href=&quot;javascript:alert(1)&quot;&gt;test&lt;/a&gt;" in figure.data[0].x[1]
    assert "<a" not in figure.to_json()


def test_the_tornado_has_a_bar_per_factor_around_the_savings_as_entered(figures) -> None:
    figure = charts.sensitivity_figure(figures)
    low, high = _trace(figure, "least favourable"), _trace(figure, "most favourable")
    bars = figures["sensitivity"]["bars"]
    base = figures["sensitivity"]["base"]["monthly_savings_usd"]
    assert [b["factor"] for b in bars] == ["volume", "teacher price"]  # widest swing first
    assert list(low.y) == ["volume<br>volume x0.1 … volume x10", "teacher price<br>teacher price -80% … as entered"]
    assert list(low.base) == [base, base]
    assert low.x[0] + base == pytest.approx(bars[0]["low"]["monthly_savings_usd"])
    assert high.x[0] + base == pytest.approx(bars[0]["high"]["monthly_savings_usd"])
    assert "volume x0.1" in low.text[0] and "volume x10" in high.text[0]
    assert figure.layout.yaxis.autorange == "reversed"
