"""`{{ figure|figure_json_script:"key" }}`: a plotly figure as the JSON a `.chart[data-figure=key]` draws."""

import plotly.graph_objects as go
from django import template
from django.utils.safestring import SafeString

from webapp.ui import plotting

register = template.Library()


@register.filter
def figure_json_script(figure: go.Figure | plotting.FigureDict, element_id: str) -> SafeString:
    return plotting.figure_json_script(figure, element_id)
