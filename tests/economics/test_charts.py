"""The ROI charts, inspected as figure objects: built from the figures of a real analysis of a recorded
student (the `roi_student` fixture), so they draw what the analysis said, not what a test made up.

The charts are plain dicts (fast to build on every slider step); each test reads one through `go.Figure`,
which validates every property against plotly's schema, so a misspelt key or a bad value fails here."""

import json
import math

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from webapp.economics import charts
from webapp.economics.cost_model import Mode
from webapp.economics.services import assumptions_from, scenario_compute
from webapp.ui.plotting import TEMPLATE_NAME, figure_json_script

pytestmark = pytest.mark.django_db


def _figures(task, student, **assumptions):
    values = {"tau_rule": "manual", "manual_tau": 0.8} | assumptions
    return scenario_compute(task=task, student=student, assumptions=assumptions_from(values, task=task))


@pytest.fixture
def figures(task, roi_student):
    """5M requests a month: about $900/month saved against a $4,000 one-off, so breakeven is inside the period."""
    return _figures(task, roi_student, requests_per_month=5_000_000)


def _payload(script: str) -> dict:
    return json.loads(script.split(">", 1)[1].rsplit("<", 1)[0])


def _checked(figure: dict) -> go.Figure:
    """The figure dict as plotly.py reads it: raises ValueError on any property plotly.js does not know."""
    return go.Figure(figure)


def _trace(figure, name_start):
    return next(t for t in figure.data if t.name.startswith(name_start))


def test_every_report_chart_uses_the_house_template(figures) -> None:
    built = charts.report_figures(figures, prefix="s1-")
    assert list(built) == [f"s1-{key}" for key in charts.REPORT_CHARTS]
    # new_figure's registered template, not plotly.py's default (which would weigh 7 kB more per chart).
    assert all(
        _checked(f).to_plotly_json()["layout"]["template"] == pio.templates[TEMPLATE_NAME].to_plotly_json()
        for f in built.values()
    )


def test_every_report_chart_is_valid_plotly_and_the_same_json_as_before(figures) -> None:
    """The dicts are what plotly.py would have sent: validating them through go.Figure changes nothing."""
    for key, figure in charts.report_figures(figures).items():
        assert _payload(figure_json_script(_checked(figure), key)) == _payload(figure_json_script(figure, key)), key


def test_every_axis_title_keeps_clear_of_its_tick_labels_and_says_its_unit(figures) -> None:
    for key, figure in charts.report_figures(figures).items():
        layout = _checked(figure).layout
        for axis in (layout.xaxis, layout.yaxis):
            assert axis.automargin is True, key  # the margin grows to fit the ticks, not the title over them
            if axis.title.text:
                assert axis.title.standoff >= 10, key
                assert any(unit in axis.title.text for unit in ("$", "%", "months", "×")), (key, axis.title.text)


def test_the_cumulative_cost_chart_draws_both_paths_and_marks_the_breakeven(figures) -> None:
    figure = _checked(charts.cumulative_cost_figure(figures))
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
    assert figure.layout.yaxis.tickprefix == "$" and figure.layout.yaxis.type in (None, "linear", "-")


def test_the_cumulative_cost_chart_says_when_it_never_breaks_even(task, roi_student) -> None:
    figures = _figures(task, roi_student, requests_per_month=10_000)  # too little traffic to pay back
    figure = _checked(charts.cumulative_cost_figure(figures))
    assert figures["tco"]["crossing_month"] is None and not figure.layout.shapes
    assert any("no breakeven within 24 months" in a.text for a in figure.layout.annotations)


def test_cost_reduction_comes_from_the_cost_model_for_both_modes(figures) -> None:
    figure = _checked(charts.cost_reduction_figure(figures))
    cascade, upfront = _trace(figure, "student-first cascade"), _trace(figure, "upfront routing")
    assert list(cascade.x) == charts.SHARES and list(upfront.x) == charts.SHARES
    # Share 0: the cascade pays for the student on every request and saves nothing; upfront costs the same.
    assert cascade.y[0] < 1 and upfront.y[0] == pytest.approx(1)
    assert all(a <= b for a, b in zip(cascade.y, cascade.y[1:], strict=False))  # more share never costs more
    # The marked point is the analysis's own figure for this scenario.
    (marker,) = [t for t in figure.data if t.name.startswith("this scenario")]
    assert marker.x[0] == figures["share"]
    assert marker.y[0] == pytest.approx(figures["modes"][Mode.CASCADE]["cost_reduction"])
    # Log, and its title says so; ticks name whole steps ("10×"), never plotly's bare minor digits.
    assert figure.layout.yaxis.type == "log" and "log scale" in figure.layout.yaxis.title.text
    assert figure.layout.yaxis.ticktext and all(t.endswith("×") for t in figure.layout.yaxis.ticktext)
    assert "1×" in figure.layout.yaxis.ticktext
    # The share axis is linear, 0-100%.
    assert figure.layout.xaxis.type is None and tuple(figure.layout.xaxis.range) == (0, 1)


def test_risk_coverage_marks_the_chosen_tau_and_refuses_to_draw_a_certificate_it_has_not(figures) -> None:
    figure = _checked(charts.risk_coverage_figure(figures))
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
    figure = _checked(charts.risk_coverage_figure(figures))
    certified = _trace(figure, f"certified τ = {certificate['tau']:.3f}")
    assert certified.x[0] == certificate["point"]["coverage"]
    bound = [s for s in figure.layout.shapes if s.x0 == s.x1]
    assert bound[0].x0 == certificate["coverage_lower_bound"]
    assert any(s.y0 == s.y1 and math.isclose(s.y0, 0.15) for s in figure.layout.shapes)


def test_validation_is_shown_next_to_what_test_realised(figures) -> None:
    figure = _checked(charts.applied_figure(figures))
    coverage, quality = _trace(figure, "kept by the student"), _trace(figure, "cascade quality")
    (applied,) = figures["applied"]
    assert list(coverage.x) == ["validation<br>val v1", "test<br>test v1", "teacher alone<br>val v1"]
    assert list(coverage.y) == [figures["validation"]["coverage"], applied["realised"]["coverage"], None]
    assert list(quality.y) == [
        figures["validation"]["cascade_quality"],
        applied["realised"]["cascade_quality"],
        figures["curve"]["teacher_quality"],
    ]


def test_each_applied_bar_says_what_it_measures_and_its_value_above_the_bar(figures) -> None:
    figure = _checked(charts.applied_figure(figures))
    coverage, quality = _trace(figure, "kept by the student"), _trace(figure, "cascade quality")
    assert coverage.text[0] == f"kept<br>{figures['validation']['coverage']:.1%}"
    assert quality.text[1] == f"quality<br>{figures['applied'][0]['realised']['cascade_quality']:.1%}"
    assert coverage.textposition == quality.textposition == "outside" and coverage.textangle == 0
    # Above the bars: the axis leaves room over 100% for the labels, and its ticks stop at 100%.
    assert figure.layout.yaxis.range[1] > 1.15 and max(figure.layout.yaxis.tickvals) == 1
    # The teacher alone is a bar of its own, labelled like the others; nothing is drawn over the bars, and the
    # legend sits below the axis.
    assert quality.text[-1] == f"teacher<br>{figures['curve']['teacher_quality']:.1%}" and coverage.text[-1] == ""
    assert not figure.layout.annotations and not figure.layout.shapes and figure.layout.legend.y < 0


def test_set_names_are_escaped_because_plotly_renders_html_in_labels(figures) -> None:
    figures["applied"][0]["name"] = '<a href="javascript:alert(1)">test</a>'
    figure = _checked(charts.applied_figure(figures))
    assert "&lt;a href=&quot;javascript:alert(1)&quot;&gt;test&lt;/a&gt;" in figure.data[0].x[1]
    assert "<a" not in figure.to_json()
    assert "<a" not in figure_json_script(charts.applied_figure(figures), "applied")


def test_the_tornado_has_a_bar_per_factor_around_the_savings_as_entered(figures) -> None:
    figure = _checked(charts.sensitivity_figure(figures))
    low, high = _trace(figure, "least favourable"), _trace(figure, "most favourable")
    bars = figures["sensitivity"]["bars"]
    base = figures["sensitivity"]["base"]["monthly_savings_usd"]
    assert [b["factor"] for b in bars] == ["volume", "teacher price"]  # widest swing first
    months = [[f"{b[e]['breakeven']['months']:.1f} months" for e in ("low", "high")] for b in bars]
    assert list(low.y) == [
        f"<b>volume</b> x0.1 … x10<br>breakeven {months[0][0]} … {months[0][1]}",
        f"<b>teacher price</b> -80% … as entered<br>breakeven {months[1][0]} … {months[1][1]}",
    ]
    assert list(low.base) == [base, base]
    assert low.x[0] + base == pytest.approx(bars[0]["low"]["monthly_savings_usd"])
    assert high.x[0] + base == pytest.approx(bars[0]["high"]["monthly_savings_usd"])
    assert low.text[0] == f"x0.1: ${bars[0]['low']['monthly_savings_usd']:,.0f}"
    assert high.text[0] == f"x10: ${bars[0]['high']['monthly_savings_usd']:,.0f}"
    assert "breakeven" in high.customdata[0] or "never breaks even" in high.customdata[0]
    assert figure.layout.yaxis.autorange == "reversed"


def test_the_tornado_labels_sit_outside_the_bars_and_the_baseline_is_stated(figures) -> None:
    figure = _checked(charts.sensitivity_figure(figures))
    base = figures["sensitivity"]["base"]["monthly_savings_usd"]
    # Outside, unrotated: inside a short bar plotly shrank the label to an unreadable size.
    assert all(t.textposition == "outside" and t.textangle == 0 for t in figure.data)
    assert figure.layout.uniformtext.minsize >= 11
    # The x range leaves room for the labels beyond the widest bars.
    ends = [base] + [b[e]["monthly_savings_usd"] for b in figures["sensitivity"]["bars"] for e in ("low", "high")]
    left, right = figure.layout.xaxis.range
    assert left < min(ends) and right > max(ends)
    # The baseline: in the title, and as the dashed line the bars start from.
    assert f"baseline as entered: ${base:,.0f}/month" in figure.layout.title.text
    (line,) = figure.layout.shapes
    assert line.x0 == line.x1 == base and figure.layout.xaxis.type is None
