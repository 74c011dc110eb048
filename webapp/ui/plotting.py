"""The house Plotly look, registered once as a plotly.py template, and the one way figures reach a page.

Chart modules (`<app>/charts.py`) build `plotly.graph_objects` figures with `new_figure`, so every figure
carries this small template instead of plotly.py's default one (about 7 kB of colour scales and trace
styles a page would download once per chart). The browser only calls `Plotly.newPlot` with what it gets.
"""

from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from django.utils.html import json_script
from django.utils.safestring import SafeString
from plotly.basedatatypes import BaseTraceType
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


def new_figure(traces: Iterable[BaseTraceType] = (), **layout: Any) -> go.Figure:
    """A figure in the house template; `layout` takes plotly's layout keys (title, xaxis, height, ...)."""
    return go.Figure(data=list(traces), layout={"template": TEMPLATE_NAME, **layout})


def figure_json_script(figure: go.Figure, element_id: str) -> SafeString:
    """The figure as a `<script type="application/json">` for app.js to draw, escaped like `json_script`.
    Plotly's encoder writes NaN and infinities as null: plain JSON would print NaN, which JSON.parse refuses."""
    return json_script(figure.to_plotly_json(), element_id, encoder=PlotlyJSONEncoder)
