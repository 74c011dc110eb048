"""Figures for job results (pure functions over the stored result dict)."""

from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go

from webapp.registry.charts import histogram_figure
from webapp.ui.plotting import PALETTE, new_figure


def token_length_figure(result: dict[str, Any]) -> go.Figure:
    return histogram_figure(
        result.get("histogram", {}),
        title="Tokens per row (teacher's tokenizer, before truncation)",
        x_title="tokens",
        marker_x=result.get("max_length"),
    )


# The curves a training job's chart shows (other reported metrics, like the learning rate, stay in the
# stored series): losses on the left axis, accuracy on a 0-1 axis on the right.
CURVES = ("train_loss", "val_loss", "val_accuracy")
# What the legend calls them; each trace keeps its metric's key in `meta`, which the page extends it by.
CURVE_NAMES = {
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "val_accuracy": "validation accuracy (right axis)",
}


def metric_series(points: Iterable[tuple[str, int, float]]) -> dict[str, dict[str, list[float]]]:
    """(name, step, value) points -> {name: {"x": steps, "y": values}}, in step order."""
    series: dict[str, dict[str, list[float]]] = {}
    for name, step, value in points:
        entry = series.setdefault(name, {"x": [], "y": []})
        entry["x"].append(step)
        entry["y"].append(value)
    return series


def training_curves_figure(series: dict[str, dict[str, list[float]]]) -> go.Figure:
    """Loss and accuracy curves of a training job; the page extends them as points arrive."""
    traces = [
        go.Scatter(
            mode="lines+markers" if name.startswith("val") else "lines",
            name=CURVE_NAMES[name],
            meta=name,
            # plotly.js leaves a trace with no points out of the legend: a curve without points yet holds one
            # empty (null) point, so the legend says which line is which from the start.
            x=series.get(name, {}).get("x") or [None],
            y=series.get(name, {}).get("y") or [None],
            yaxis="y2" if name.endswith("accuracy") else "y",
        )
        for name in CURVES
    ]
    return new_figure(
        traces,
        title_text="Training curves",
        xaxis_title_text="step",
        yaxis={"title": {"text": "loss"}, "rangemode": "tozero"},
        yaxis2={"title": {"text": "accuracy"}, "overlaying": "y", "side": "right", "range": [0, 1]},
        margin={"l": 60, "r": 70, "t": 40, "b": 50},  # room for the right axis' title
        height=380,
        # Always a legend: which line is which must be readable before the first points arrive too.
        showlegend=True,
    )


# In the comparison each run keeps one colour and each curve one dash, so both questions read at a glance.
_CURVE_DASH = {"train_loss": "solid", "val_loss": "dash", "val_accuracy": "dot"}


def compare_curves_figure(runs: list[tuple[str, dict[str, dict[str, list[float]]]]]) -> go.Figure:
    """The training curves of several runs on one chart: losses on the left axis, accuracy on the right."""
    traces = [
        go.Scatter(
            mode="lines+markers" if name.startswith("val") else "lines",
            name=f"{label}: {name}",
            legendgroup=label,
            x=series.get(name, {}).get("x", []),
            y=series.get(name, {}).get("y", []),
            yaxis="y2" if name.endswith("accuracy") else "y",
            line={"color": PALETTE[index % len(PALETTE)], "dash": _CURVE_DASH[name]},
        )
        for index, (label, series) in enumerate(runs)
        for name in CURVES
    ]
    return new_figure(
        traces,
        title_text="Training curves side by side",
        xaxis_title_text="step",
        yaxis={"title": {"text": "loss"}, "rangemode": "tozero"},
        yaxis2={"title": {"text": "accuracy"}, "overlaying": "y", "side": "right", "range": [0, 1]},
        margin={"l": 60, "r": 70, "t": 40, "b": 50},
        height=440,
        showlegend=True,
        legend={"orientation": "h", "y": -0.25},
    )
