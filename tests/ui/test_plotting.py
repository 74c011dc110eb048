"""Figures carry the small house template and reach the page as strict, escaped JSON."""

import json
import re

import plotly.graph_objects as go
import plotly.io as pio

from webapp.ui.plotting import TEMPLATE_NAME, figure_json_script, new_figure


def payload(html: str) -> dict:
    return json.loads(re.fullmatch(r'<script id="fig" type="application/json">(.*)</script>', html, re.DOTALL).group(1))


def test_a_figure_is_drawn_in_the_house_template_registered_once() -> None:
    figure = new_figure([go.Scatter(x=[1, 2], y=[3, 4])], title_text="t")

    assert figure.layout.template == pio.templates[TEMPLATE_NAME]
    assert payload(figure_json_script(figure, "fig"))["layout"]["template"]["layout"]["font"]["size"] == 13


def test_a_figure_payload_stays_small_without_plotlys_default_template() -> None:
    traces = [go.Scatter(x=[1, 2], y=[3, 4])]

    ours = len(figure_json_script(new_figure(traces), "fig"))
    plotly_default = len(figure_json_script(go.Figure(traces), "fig"))

    assert ours < 1_000 < 5_000 < plotly_default


def test_a_figure_reaches_the_page_as_strict_json_with_user_text_escaped() -> None:
    """A model name is user input, and JSON.parse refuses the NaN that Python's json module writes."""
    figure = new_figure([go.Scatter(name="</script><b>x</b>", x=[1, 2], y=[float("nan"), float("inf")])])

    html = figure_json_script(figure, "fig")

    assert "</script><b>" not in html and "NaN" not in html and "Infinity" not in html
    trace = payload(html)["data"][0]
    assert trace["name"] == "</script><b>x</b>" and trace["y"] == [None, None]
