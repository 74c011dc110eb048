"""Plotly figures of a deployment's monitoring, built from its JSON payload (`monitoring.report_payload`, what
the API returns too), so the page and any export draw the same numbers: coverage over time against the approved
band with each window's binomial verdict, the confidence histograms of validation and production, and the
label-free accuracy estimate over time."""

from typing import Any

import plotly.graph_objects as go

from webapp.ui.plotting import PALETTE, new_figure

PRODUCTION_COLOR = PALETTE[0]
VALIDATION_COLOR = PALETTE[3]
APPROVED_COLOR = PALETTE[2]
MEASURED_COLOR = PALETTE[4]
STATUS_COLORS = {"ok": "#2e7d32", "alert": "#c62828", "not_enough_data": "#9e9e9e"}
STATUS_NAMES = {"ok": "within the band", "alert": "alert (binomial test)", "not_enough_data": "too few decisions"}
BAND_FILL = "rgba(67, 160, 71, 0.15)"
_LEGEND_BELOW_AXIS_TITLE = {"orientation": "h", "y": -0.3}


def coverage_figure(payload: dict[str, Any]) -> go.Figure:
    """Each window's coverage (share kept by the student) with the band the approved coverage allows for a
    window of its size, the approved coverage itself, and each window's verdict as its marker's colour."""
    windows, approved = payload["windows"], payload["approved"]
    x = [w["start"] for w in windows]
    banded = [w for w in windows if w["band"]]
    traces: list[go.Scatter] = [
        go.Scatter(
            x=[w["start"] for w in banded],
            y=[w["band"][1] for w in banded],
            mode="lines",
            line={"width": 0, "shape": "hv"},
            showlegend=False,
            hoverinfo="skip",
        ),
        go.Scatter(
            x=[w["start"] for w in banded],
            y=[w["band"][0] for w in banded],
            mode="lines",
            line={"width": 0, "shape": "hv"},
            fill="tonexty",
            fillcolor=BAND_FILL,
            name="approved band (99% for the window's size)",
            hoverinfo="skip",
        ),
        go.Scatter(
            x=x,
            y=[approved["coverage"]] * len(x),
            mode="lines",
            line={"color": APPROVED_COLOR, "dash": "dash"},
            name=f"approved coverage {approved['coverage']:.1%} at τ = {approved['tau']:.3g}",
            hoverinfo="skip",
        ),
        go.Scatter(
            x=x,
            y=[w["coverage"] for w in windows],
            mode="lines",
            line={"color": PRODUCTION_COLOR},
            connectgaps=False,
            showlegend=False,
            hoverinfo="skip",
        ),
    ]
    for status, name in STATUS_NAMES.items():
        chosen = [w for w in windows if w["status"] == status and w["coverage"] is not None]
        if not chosen:
            continue
        traces.append(
            go.Scatter(
                x=[w["start"] for w in chosen],
                y=[w["coverage"] for w in chosen],
                mode="markers",
                name=name,
                marker={"color": STATUS_COLORS[status], "size": 9, "symbol": "circle" if status != "alert" else "x"},
                customdata=[[w["decisions"], w["escalation_rate"], _p_text(w["p_value"])] for w in chosen],
                hovertemplate=(
                    "%{x}: kept %{y:.1%} of %{customdata[0]:,} decisions (escalated %{customdata[1]:.1%}), "
                    "%{customdata[2]}<extra>" + name + "</extra>"
                ),
            )
        )
    return new_figure(
        traces,
        title_text="Coverage over time",
        xaxis={"title": {"text": "window start (UTC)"}},
        yaxis={"title": {"text": "share kept by the student"}, "tickformat": ".0%", "range": [0, 1.02]},
        height=380,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )


def confidence_histogram_figure(payload: dict[str, Any]) -> go.Figure:
    """The student's calibrated confidence on validation (where τ was chosen) and in production, as shares of
    each, with τ marked: mass moving left of τ is traffic the teacher now pays for."""
    histogram, tau = payload["histogram"], payload["approved"]["tau"]
    edges = histogram["edges"]
    centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    width = edges[1] - edges[0]
    traces = [
        go.Bar(
            x=centres,
            y=histogram[key],
            width=width,
            name=name,
            marker={"color": color},
            opacity=0.6,
            hovertemplate="%{x:.2f}: %{y:.1%}<extra>" + name + "</extra>",
        )
        for key, name, color in (
            ("validation", f"validation ({payload['approved']['validation']['dataset']})", VALIDATION_COLOR),
            ("production", "production", PRODUCTION_COLOR),
        )
    ]
    figure = new_figure(
        traces,
        title_text="Confidence: validation vs production",
        barmode="overlay",
        xaxis={"title": {"text": "calibrated top-class probability"}, "range": [0, 1]},
        yaxis={"title": {"text": "share of rows"}, "tickformat": ".0%"},
        height=380,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )
    figure.add_vline(x=tau, line={"color": APPROVED_COLOR, "dash": "dash"}, annotation={"text": f"τ = {tau:.3g}"})
    return figure


def estimated_accuracy_figure(payload: dict[str, Any]) -> go.Figure:
    """The label-free accuracy estimate of each window's kept traffic, against validation's estimate and the
    alert line below it; the measured accuracy where kept decisions carry labels."""
    windows = payload["windows"]
    signal = next(s for s in payload["signals"] if s["key"] == "estimated_accuracy")
    x = [w["start"] for w in windows]
    traces = [
        go.Scatter(
            x=x,
            y=[w["estimated_accuracy"] for w in windows],
            mode="lines+markers",
            name="estimated (mean confidence of kept)",
            line={"color": PRODUCTION_COLOR},
            hovertemplate="%{x}: %{y:.1%}<extra>estimated</extra>",
        )
    ]
    if signal["expected"] is not None:
        traces.append(
            go.Scatter(
                x=x,
                y=[signal["expected"]] * len(x),
                mode="lines",
                name=f"validation's estimate {signal['expected']:.1%}",
                line={"color": APPROVED_COLOR, "dash": "dash"},
                hoverinfo="skip",
            )
        )
    if signal["low"] is not None:
        traces.append(
            go.Scatter(
                x=x,
                y=[signal["low"]] * len(x),
                mode="lines",
                name="alert below",
                line={"color": STATUS_COLORS["alert"], "dash": "dot"},
                hoverinfo="skip",
            )
        )
    measured = [w for w in windows if w["kept_accuracy"] is not None]
    if measured:
        traces.append(
            go.Scatter(
                x=[w["start"] for w in measured],
                y=[w["kept_accuracy"] for w in measured],
                mode="markers",
                name="measured (labelled kept decisions)",
                marker={"color": MEASURED_COLOR, "size": 8, "symbol": "diamond"},
                customdata=[w["labelled_kept"] for w in measured],
                hovertemplate="%{x}: %{y:.1%} of %{customdata} labelled<extra>measured</extra>",
            )
        )
    return new_figure(
        traces,
        title_text="Accuracy of kept traffic over time",
        xaxis={"title": {"text": "window start (UTC)"}},
        yaxis={"title": {"text": "accuracy"}, "tickformat": ".0%"},
        height=380,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )


MONITORING_CHARTS = {
    "coverage": coverage_figure,
    "confidence": confidence_histogram_figure,
    "accuracy": estimated_accuracy_figure,
}


def monitoring_figures(payload: dict[str, Any], *, prefix: str = "monitoring-") -> dict[str, go.Figure]:
    return {f"{prefix}{key}": build(payload) for key, build in MONITORING_CHARTS.items()}


def _p_text(p_value: float | None) -> str:
    if p_value is None:
        return "not tested"
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3g}"
