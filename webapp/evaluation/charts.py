"""Plotly figures for the evidence pages, built from stored evaluations."""

import plotly.graph_objects as go

from domain.naming import shorten
from webapp.evaluation.confusion import ConfusionView
from webapp.evaluation.models import Evaluation
from webapp.evaluation.tier import TierTable, pareto_front
from webapp.ui.plotting import PALETTE, new_figure

# The page's default legend (y=-0.2) sits on the x-axis title once several models are listed.
_LEGEND_BELOW_AXIS_TITLE = {"orientation": "h", "y": -0.3}
KIND_SYMBOL = {"teacher": "star", "student": "circle", "quantized": "diamond", "external": "square"}
# The legend's group titles: which marker is which kind (the legend draws each model's marker next to it).
KIND_LEGEND = {
    "teacher": "teachers (stars)",
    "student": "students (circles)",
    "quantized": "int8 variants (diamonds)",
    "external": "imported results (squares)",
}
LEGEND_NAME_LIMIT = 40
QUALITY_BAR_COLOR = "#d32f2f"


def quality_latency_figure(table: TierTable) -> go.Figure:
    """Each evaluated model at (batch-1 latency, score on the primary set); the Pareto frontier joined.

    Models are named in the legend, not beside their points: close points' labels overlapped. The legend
    groups them by kind under a title saying which marker each kind has."""
    points = table.primary_points()
    traces = [
        go.Scatter(
            mode="markers",
            name=shorten(point["name"], LEGEND_NAME_LIMIT),
            x=[point["latency_ms"]],
            y=[point["score"]],
            cliponaxis=False,
            marker={"size": 12, "symbol": KIND_SYMBOL.get(point["kind"], "circle"), "color": PALETTE[i % 8]},
            hovertemplate=f"{point['name']}<br>%{{x:.2f}} ms, %{{y:.1%}}<extra></extra>",
            legendgroup=point["kind"],
            legendgrouptitle={"text": KIND_LEGEND.get(point["kind"], point["kind"])},
        )
        for i, point in enumerate(points)
    ]
    front = pareto_front(points)
    if len(front) > 1:
        traces.append(
            go.Scatter(
                mode="lines",
                name="Pareto frontier",
                x=[p["latency_ms"] for p in front],
                y=[p["score"] for p in front],
                line={"dash": "dot", "color": "#888", "shape": "hv"},
                hoverinfo="skip",
                legendgroup="frontier",
                legendgrouptitle={"text": "nothing beats these on both"},
            )
        )
    figure = new_figure(
        traces,
        title_text=f"{table.metric_label} on {table.primary.name if table.primary else '—'} vs latency",
        xaxis={"title": {"text": "batch-1 latency p50 (ms, log)"}, "type": "log"},
        yaxis={"title": {"text": table.metric_label}, "tickformat": ".0%"},
        height=420,
        # Beside the plot, one model a line: the names need the width more than the plot does.
        legend={"orientation": "v", "x": 1.02, "y": 1, "xanchor": "left", "yanchor": "top", "groupclick": "toggleitem"},
        margin={"r": 16},
    )
    figure.add_hline(
        y=table.quality_min,
        line={"color": QUALITY_BAR_COLOR, "dash": "dash"},
        annotation={"text": "quality bar", "font": {"color": QUALITY_BAR_COLOR}},
        annotation_position="top right",
    )
    return figure


def reliability_figure(evaluations: list[Evaluation], *, title: str) -> go.Figure:
    """Accuracy vs confidence per bin for each model, after temperature scaling (solid) and before (dotted)."""
    traces = [
        go.Scatter(
            mode="lines",
            name="perfectly calibrated",
            x=[0, 1],
            y=[0, 1],
            line={"color": "#aaa", "dash": "dash"},
            hoverinfo="skip",
        )
    ]
    for i, evaluation in enumerate(_calibrated(evaluations)):
        for stage, dash in (("after_scaling", "solid"), ("before_scaling", "dot")):
            bins = [b for b in evaluation.metrics[stage]["reliability"] if b["count"]]
            label = "after" if stage == "after_scaling" else "before"
            traces.append(
                go.Scatter(
                    mode="lines+markers",
                    name=f"{evaluation.model} ({label}, ECE {evaluation.metrics[stage]['ece']:.3f})",
                    legendgroup=str(evaluation.pk),
                    x=[b["confidence"] for b in bins],
                    y=[b["accuracy"] for b in bins],
                    customdata=[b["count"] for b in bins],
                    line={"color": PALETTE[i % 8], "dash": dash},
                    hovertemplate="confidence %{x:.2f}: accuracy %{y:.2f} (%{customdata} rows)<extra></extra>",
                )
            )
    return new_figure(
        traces,
        title_text=title,
        xaxis={"title": {"text": "confidence"}, "range": [0, 1]},
        yaxis={"title": {"text": "accuracy"}, "range": [0, 1]},
        height=440,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )


def confidence_figure(evaluations: list[Evaluation], *, title: str) -> go.Figure:
    """How confident each model is when it is right (solid) and when it is wrong (dotted), after scaling,
    as a share of its right (wrong) answers: a trustworthy model is rarely confident when wrong."""
    traces = []
    for i, evaluation in enumerate(_calibrated(evaluations)):
        histogram = evaluation.metrics["after_scaling"]["histogram"]
        edges = histogram["edges"]
        centers = [(edges[j] + edges[j + 1]) / 2 for j in range(len(edges) - 1)]
        for outcome, dash in (("correct", "solid"), ("wrong", "dot")):
            counts = histogram[outcome]
            total = sum(counts) or 1
            traces.append(
                go.Scatter(
                    mode="lines",
                    name=f"{evaluation.model}: {outcome} ({sum(counts)})",
                    legendgroup=str(evaluation.pk),
                    x=centers,
                    y=[c / total for c in counts],
                    line={"color": PALETTE[i % 8], "dash": dash, "shape": "hvh"},
                )
            )
    return new_figure(
        traces,
        title_text=title,
        xaxis={"title": {"text": "confidence"}, "range": [0, 1]},
        yaxis={"title": {"text": "share of answers"}, "tickformat": ".0%"},
        height=400,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )


def risk_coverage_figure(evaluations: list[Evaluation], *, title: str) -> go.Figure:
    """Accuracy of the traffic a model keeps, as it keeps less (most confident first)."""
    traces = []
    for i, evaluation in enumerate(e for e in evaluations if e.metrics.get("risk_coverage")):
        curve = evaluation.metrics["risk_coverage"]
        traces.append(
            go.Scatter(
                mode="lines",
                name=str(evaluation.model),
                x=[p["coverage"] for p in curve],
                y=[p["accuracy"] for p in curve],
                customdata=[p["threshold"] for p in curve],
                line={"color": PALETTE[i % 8]},
                hovertemplate="keeps %{x:.0%}: accuracy %{y:.1%} (τ %{customdata:.2f})<extra></extra>",
            )
        )
    return new_figure(
        traces,
        title_text=title,
        xaxis={"title": {"text": "share of traffic kept"}, "tickformat": ".0%", "range": [0, 1]},
        yaxis={"title": {"text": "accuracy of kept traffic"}, "tickformat": ".0%"},
        height=400,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )


def _calibrated(evaluations: list[Evaluation]) -> list[Evaluation]:
    return [e for e in evaluations if e.metrics.get("after_scaling") and e.metrics.get("before_scaling")]


def confusion_figure(view: ConfusionView) -> go.Figure:
    """Rows are true classes (worst at the top), columns predictions; colour is the share of the row, so
    the diagonal reads as recall. Counts are written in the cells while they still fit."""
    shares = view.shares()
    size = max(len(view.rows), len(view.columns))
    heatmap = go.Heatmap(
        z=shares,
        x=view.columns,
        y=view.rows,
        customdata=view.counts,
        zmin=0,
        zmax=1,
        colorscale="Blues",
        colorbar={"title": {"text": "share of row"}, "tickformat": ".0%"},
        hovertemplate="true %{y} → predicted %{x}: %{customdata} rows (%{z:.0%} of %{y})<extra></extra>",
        xgap=1,
        ygap=1,
    )
    if size <= 20:
        heatmap.update(text=view.counts, texttemplate="%{text}", textfont={"size": 11})
    cell = 22 if size <= 20 else 14  # 77 classes stay readable: one row of text per class, small ticks
    return new_figure(
        [heatmap],
        title_text="Confusion matrix (worst classes first)",
        xaxis={"title": {"text": "predicted"}, "type": "category", "tickangle": -45, "automargin": True,
               "tickfont": {"size": 11 if size <= 20 else 9}, "side": "bottom"},
        yaxis={"title": {"text": "true"}, "type": "category", "autorange": "reversed", "automargin": True,
               "tickfont": {"size": 11 if size <= 20 else 9}},
        height=max(360, 160 + cell * len(view.rows)),
        margin={"l": 56, "r": 16, "t": 40, "b": 48},
    )  # fmt: skip
