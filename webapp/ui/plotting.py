"""The house Plotly look, registered once as a plotly.py template, and the one way figures reach a page.

Chart modules (`<app>/charts.py`) build `plotly.graph_objects` figures with `new_figure`, so every figure
carries this small template instead of plotly.py's default one (about 7 kB of colour scales and trace
styles a page would download once per chart). The browser only calls `Plotly.newPlot` with what it gets.

Charts redrawn on every input step (the Routing & ROI page's) are built as plain figure dicts with
`figure_dict`, `vline` and `hline` instead: a graph_objects figure validates every property as it is set,
which cost about 10 ms a chart there, most of a step (bench/roi_step.py). Their tests pass each dict through
`go.Figure`, which validates it against plotly's schema, so a typo still fails a test, not a page.
"""

from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from django.utils.html import json_script
from django.utils.safestring import SafeString
from plotly.basedatatypes import BaseFigure, BaseTraceType
from plotly.utils import PlotlyJSONEncoder

TEMPLATE_NAME = "distillery"

# Colours that stay apart for up to eight models; `colorway` hands them out in trace order.
PALETTE = ["#1095c1", "#d81b60", "#43a047", "#fb8c00", "#7c4dff", "#00897b", "#6d4c41", "#546e7a"]
# Pico's light theme (base.html pins data-theme="light"): its sans-serif stack, text and border colours.
FONT_FAMILY = 'system-ui, "Segoe UI", Roboto, Oxygen, Ubuntu, Cantarell, Helvetica, Arial, "Helvetica Neue", sans-serif'
TEXT_COLOR = "#373c44"
GRID_COLOR = "#e7eaf0"

_AXIS = {"gridcolor": GRID_COLOR, "zerolinecolor": GRID_COLOR}

TEMPLATE = go.layout.Template(
    layout={
        "autosize": True,
        "colorway": PALETTE,
        "font": {"family": FONT_FAMILY, "color": TEXT_COLOR, "size": 13},
        # Transparent, so a chart sits on its card's background like the text around it.
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 56, "r": 16, "t": 40, "b": 48},
        "xaxis": _AXIS,  # a template's xaxis / yaxis style every x / y axis, the right-hand y2 too
        "yaxis": _AXIS,
        "legend": {"orientation": "h", "y": -0.2},
    }
)
pio.templates[TEMPLATE_NAME] = TEMPLATE
# What `new_figure` writes into a figure's layout.template, computed once for `figure_dict`.
TEMPLATE_JSON: dict[str, Any] = TEMPLATE.to_plotly_json()

# A figure as plotly.js takes it: {"data": [trace, ...], "layout": {...}}.
FigureDict = dict[str, Any]


def new_figure(traces: Iterable[BaseTraceType] = (), **layout: Any) -> go.Figure:
    """A figure in the house template; `layout` takes plotly's layout keys (title, xaxis, height, ...)."""
    return go.Figure(data=list(traces), layout={"template": TEMPLATE_NAME, **layout})


def figure_dict(traces: Iterable[dict[str, Any]] = (), **layout: Any) -> FigureDict:
    """`new_figure` without graph_objects: the same JSON, unvalidated (see the module's docstring)."""
    return {"data": list(traces), "layout": {"template": TEMPLATE_JSON, **layout}}


# Where Figure.add_vline / add_hline put a line's label, by their `annotation_position`.
_VLINE_LABEL = {
    "top left": {"y": 1, "yanchor": "top", "xanchor": "right"},
    "top right": {"y": 1, "yanchor": "top", "xanchor": "left"},
    "top": {"y": 1, "yanchor": "bottom", "xanchor": "center"},
    "bottom left": {"y": 0, "yanchor": "bottom", "xanchor": "right"},
    "bottom right": {"y": 0, "yanchor": "bottom", "xanchor": "left"},
}
_HLINE_LABEL = {
    "top left": {"x": 0, "xanchor": "left", "yanchor": "bottom"},
    "top right": {"x": 1, "xanchor": "right", "yanchor": "bottom"},
    "bottom left": {"x": 0, "xanchor": "left", "yanchor": "top"},
    "bottom right": {"x": 1, "xanchor": "right", "yanchor": "top"},
}


def vline(figure: FigureDict, x: float, *, line: dict[str, Any], label: str = "", position: str = "top right") -> None:
    """A vertical line across the plot at data x, labelled at `position`, as `Figure.add_vline` draws it."""
    layout = figure["layout"]
    shape = {"type": "line", "xref": "x", "x0": x, "x1": x, "yref": "y domain", "y0": 0, "y1": 1, "line": line}
    layout.setdefault("shapes", []).append(shape)
    if label:
        annotation = {"text": label, "showarrow": False, "xref": "x", "x": x, "yref": "y domain"}
        annotation |= _VLINE_LABEL[position] | {"font": {"color": line.get("color")}}
        layout.setdefault("annotations", []).append(annotation)


def hline(figure: FigureDict, y: float, *, line: dict[str, Any], label: str = "", position: str = "top right") -> None:
    """A horizontal line across the plot at data y, labelled at `position`, as `Figure.add_hline` draws it."""
    layout = figure["layout"]
    shape = {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y, "line": line}
    layout.setdefault("shapes", []).append(shape)
    if label:
        annotation = {"text": label, "showarrow": False, "xref": "x domain", "yref": "y", "y": y}
        annotation |= _HLINE_LABEL[position] | {"font": {"color": line.get("color")}}
        layout.setdefault("annotations", []).append(annotation)


def figure_json_script(figure: go.Figure | FigureDict, element_id: str) -> SafeString:
    """The figure as a `<script type="application/json">` for app.js to draw, escaped like `json_script`.
    Plotly's encoder writes NaN and infinities as null: plain JSON would print NaN, which JSON.parse refuses."""
    plain = figure.to_plotly_json() if isinstance(figure, BaseFigure) else figure
    return json_script(plain, element_id, encoder=PlotlyJSONEncoder)
