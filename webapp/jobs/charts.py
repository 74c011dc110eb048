"""Figures for job results (pure functions over the stored result dict)."""

from collections.abc import Iterable
from typing import Any

from webapp.registry.charts import Figure, histogram_figure


def token_length_figure(result: dict[str, Any]) -> Figure:
    return histogram_figure(
        result.get("histogram", {}),
        title="Tokens per row (teacher's tokenizer, before truncation)",
        x_title="tokens",
        marker_x=result.get("max_length"),
    )


# Accuracy-like curves share a 0-1 axis on the right; losses use the left one.
ACCURACY_AXIS_PREFIXES = ("val_accuracy", "accuracy")


def metric_series(points: Iterable[tuple[str, int, float]]) -> dict[str, dict[str, list[float]]]:
    """(name, step, value) points -> {name: {"x": steps, "y": values}}, in step order."""
    series: dict[str, dict[str, list[float]]] = {}
    for name, step, value in points:
        entry = series.setdefault(name, {"x": [], "y": []})
        entry["x"].append(step)
        entry["y"].append(value)
    return series


def training_curves_figure(series: dict[str, dict[str, list[float]]]) -> Figure:
    """Loss and accuracy curves of a training job; the page extends them as points arrive."""
    traces = []
    for name in sorted(series, key=lambda n: (n.startswith(ACCURACY_AXIS_PREFIXES), n)):
        on_right = name.startswith(ACCURACY_AXIS_PREFIXES)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if name.startswith("val") else "lines",
                "name": name,
                "x": series[name]["x"],
                "y": series[name]["y"],
                "yaxis": "y2" if on_right else "y",
            }
        )
    return {
        "data": traces,
        "layout": {
            "title": {"text": "Training curves"},
            "xaxis": {"title": {"text": "step"}},
            "yaxis": {"title": {"text": "loss"}, "rangemode": "tozero"},
            "yaxis2": {"title": {"text": "accuracy"}, "overlaying": "y", "side": "right", "range": [0, 1]},
            "legend": {"orientation": "h", "y": -0.2},
            "height": 380,
        },
    }
