"""Plotly figures built from stored dataset stats, so they can be tested without a browser."""

from typing import Any

import plotly.graph_objects as go

from webapp.ui.plotting import new_figure


def label_distribution_figure(stats: dict[str, Any], *, max_labels: int = 80) -> go.Figure:
    pairs = stats.get("label_counts", [])[:max_labels]
    bars = go.Bar(
        x=[str(label) for label, _ in pairs],
        y=[count for _, count in pairs],
        marker_color="#1095c1",
        hovertemplate="%{x}: %{y} rows<extra></extra>",
    )
    return new_figure(
        [bars],
        title_text="Rows per label",
        xaxis={"tickangle": -45, "automargin": True, "type": "category"},
        yaxis_title_text="rows",
        height=380,
    )


def histogram_figure(
    histogram: dict[str, list[float]], *, title: str, x_title: str, marker_x: float | None = None
) -> go.Figure:
    """A pre-binned histogram (edges + counts) as a bar chart, optionally with a vertical marker."""
    edges, counts = histogram.get("edges", []), histogram.get("counts", [])
    binned = len(edges) > len(counts)
    bars = go.Bar(
        x=[(edges[i] + edges[i + 1]) / 2 for i in range(len(counts))] if binned else edges,
        y=counts,
        width=[edges[i + 1] - edges[i] for i in range(len(counts))] if binned and counts else None,
        marker_color="#7c4dff",
    )
    figure = new_figure(
        [bars], title_text=title, xaxis_title_text=x_title, yaxis_title_text="rows", bargap=0.02, height=320
    )
    if marker_x is not None:
        figure.add_vline(
            x=marker_x,
            line={"color": "#d32f2f", "dash": "dash"},
            annotation={"text": f"max_length {marker_x:g}", "yanchor": "bottom"},
            annotation_position="top",
        )
    return figure
