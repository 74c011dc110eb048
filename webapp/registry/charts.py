"""Plotly figures (plain dicts) built from stored stats, so they can be tested without a browser."""

from typing import Any

Figure = dict[str, Any]


def label_distribution_figure(stats: dict[str, Any], *, max_labels: int = 80) -> Figure:
    pairs = stats.get("label_counts", [])[:max_labels]
    labels = [str(label) for label, _ in pairs]
    counts = [count for _, count in pairs]
    return {
        "data": [
            {
                "type": "bar",
                "x": labels,
                "y": counts,
                "marker": {"color": "#1095c1"},
                "hovertemplate": "%{x}: %{y} rows<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": "Rows per label"},
            "xaxis": {"tickangle": -45, "automargin": True, "type": "category"},
            "yaxis": {"title": {"text": "rows"}},
            "height": 380,
        },
    }


def histogram_figure(
    histogram: dict[str, list[float]], *, title: str, x_title: str, marker_x: float | None = None
) -> Figure:
    """A pre-binned histogram (edges + counts) as a bar chart, optionally with a vertical marker."""
    edges, counts = histogram.get("edges", []), histogram.get("counts", [])
    centers = [(edges[i] + edges[i + 1]) / 2 for i in range(len(counts))] if len(edges) > len(counts) else edges
    widths = [edges[i + 1] - edges[i] for i in range(len(counts))] if len(edges) > len(counts) else None
    bar: dict[str, Any] = {"type": "bar", "x": centers, "y": counts, "marker": {"color": "#7c4dff"}}
    if widths:
        bar["width"] = widths
    layout: dict[str, Any] = {
        "title": {"text": title},
        "xaxis": {"title": {"text": x_title}},
        "yaxis": {"title": {"text": "rows"}},
        "bargap": 0.02,
        "height": 320,
    }
    if marker_x is not None:
        layout["shapes"] = [
            {
                "type": "line",
                "x0": marker_x,
                "x1": marker_x,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": "#d32f2f", "dash": "dash"},
            }
        ]
        layout["annotations"] = [
            {
                "x": marker_x,
                "yref": "paper",
                "y": 1,
                "text": f"max_length {marker_x:g}",
                "showarrow": False,
                "yanchor": "bottom",
            }
        ]
    return {"data": [bar], "layout": layout}
