"""Plotly figures of one ROI analysis, built from its `figures` dict (what `analysis.analyse` returns and a
saved Scenario stores), so the Routing & ROI page, the stakeholder report and its exports draw the same charts
from the same numbers. Each function is `fn(figures) -> go.Figure` and computes nothing the analysis did not,
except the cost-reduction curve, which asks the cost model itself (never a second formula) at every share.

Text that came from users (dataset names) is HTML-escaped: Plotly renders a subset of HTML in labels."""

import html
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from webapp.economics.cost_model import Mode, Serving, mode_cost
from webapp.economics.labels import MODE_LABELS as MODE_NAMES
from webapp.economics.labels import ROLE_LABELS as ROLE_NAMES
from webapp.ui.plotting import PALETTE, new_figure

KEEP_TEACHER_COLOR = PALETTE[3]
DISTILLED_COLOR = PALETTE[0]
CHOSEN_COLOR = PALETTE[1]
CERTIFIED_COLOR = PALETTE[2]
MUTED = "#888"
SHARES = [i / 100 for i in range(101)]  # the share routed to the student, 0-100% in 1-point steps
# The default legend (y=-0.2) sits on the x-axis title.
_LEGEND_BELOW_AXIS_TITLE = {"orientation": "h", "y": -0.3}


def cumulative_cost_figure(figures: dict[str, Any]) -> go.Figure:
    """Cumulative cost month by month over the student's valid period: keep the teacher vs distil (one-off at
    month 0, retrainings as steps), with the month from which distilling stays cheaper marked."""
    tco = figures["tco"]
    months = list(range(len(tco["keep_teacher_cumulative_usd"])))
    mode = MODE_NAMES.get(figures["mode"], figures["mode"])
    traces = [
        go.Scatter(
            mode="lines",
            name="keep the teacher",
            x=months,
            y=tco["keep_teacher_cumulative_usd"],
            line={"color": KEEP_TEACHER_COLOR},
            hovertemplate="month %{x}: $%{y:,.0f}<extra>keep the teacher</extra>",
        ),
        go.Scatter(
            mode="lines",
            name=f"distil ({mode})",
            x=months,
            y=tco["distilled_cumulative_usd"],
            line={"color": DISTILLED_COLOR},
            hovertemplate="month %{x}: $%{y:,.0f}<extra>distil</extra>",
        ),
    ]
    figure = new_figure(
        traces,
        title_text="Cumulative cost",
        xaxis={"title": {"text": "months from the switch"}, "range": [0, months[-1] if months else 1]},
        yaxis={"title": {"text": "cumulative cost (USD)"}, "tickprefix": "$", "rangemode": "tozero"},
        height=400,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )
    crossing = tco.get("crossing_month")
    if crossing is not None:
        figure.add_vline(
            x=crossing,
            line={"color": CHOSEN_COLOR, "dash": "dash"},
            annotation={"text": f"breakeven: month {crossing:.1f}", "font": {"color": CHOSEN_COLOR}},
            annotation_position="top left" if crossing > months[-1] / 2 else "top right",
        )
    else:
        figure.add_annotation(
            text=f"no breakeven within {tco['valid_months']} months",
            xref="paper",
            yref="paper",
            x=0.02,
            y=0.98,
            showarrow=False,
            font={"color": CHOSEN_COLOR},
        )
    return figure


def cost_reduction_figure(figures: dict[str, Any]) -> go.Figure:
    """Keep-teacher cost ÷ routed cost as the share routed to the student goes from 0 to 100%, for the cascade
    and upfront routing, priced by the cost model at this scenario's per-request costs; the scenario's own
    share is marked. Below 1 the routed setup costs more than keeping the teacher."""
    costs, assumptions = figures["costs"], figures["assumptions"]
    serving = {
        "requests_per_month": assumptions["requests_per_month"],
        "teacher_usd_per_request": costs["teacher_usd_per_request"],
        "student_usd_per_request": costs["student_usd_per_request"],
        "teacher_latency_ms": 0.0,
        "student_latency_ms": 0.0,
        "student_fixed_usd_per_month": assumptions["student_fixed_usd_per_month"],
        "router_usd_per_request": assumptions["router_usd_per_request"],
    }

    def reduction(mode: Mode, share: float) -> float | None:
        value = mode_cost(Serving(student_share=share, **serving), mode).cost_reduction
        return value if value != float("inf") else None

    traces = [
        go.Scatter(
            mode="lines",
            name=MODE_NAMES[mode],
            x=SHARES,
            y=[reduction(mode, s) for s in SHARES],
            line={"color": color, "dash": dash},
            hovertemplate="%{x:.0%} to the student: %{y:.2f}× cheaper<extra>" + MODE_NAMES[mode] + "</extra>",
        )
        for mode, color, dash in ((Mode.CASCADE, DISTILLED_COLOR, "solid"), (Mode.UPFRONT_ROUTING, MUTED, "dot"))
    ]
    chosen = figures["mode"]
    if chosen in (Mode.CASCADE, Mode.UPFRONT_ROUTING):
        traces.append(
            go.Scatter(
                mode="markers",
                name=f"this scenario ({figures['share']:.0%})",
                x=[figures["share"]],
                y=[reduction(Mode(chosen), figures["share"])],
                marker={"color": CHOSEN_COLOR, "size": 12, "symbol": "diamond"},
                hovertemplate="%{x:.1%} to the student: %{y:.2f}× cheaper<extra>this scenario</extra>",
            )
        )
    figure = new_figure(
        traces,
        title_text="Cost reduction vs share routed to the student",
        xaxis={"title": {"text": "share of requests the student answers"}, "tickformat": ".0%", "range": [0, 1]},
        # Log scale: a nearly free student makes the last points hundreds of times cheaper, which would flatten
        # the rest of the curve (and the scenario's own point) onto the axis.
        yaxis={"title": {"text": "cost reduction (× cheaper, log)"}, "type": "log"},
        height=400,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )
    figure.add_hline(y=1, line={"color": MUTED, "dash": "dash"})
    # Placed by hand: on a log axis an annotation's y is log10 of the value (add_hline's own would sit at 10).
    figure.add_annotation(
        text="same cost as the teacher",
        xref="paper",
        x=0.01,
        y=0,
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        font={"color": MUTED},
    )
    return figure


def risk_coverage_figure(figures: dict[str, Any]) -> go.Figure:
    """On validation: the student's error on the traffic it keeps (1 − accuracy, and 1 − agreement with the
    teacher) as it keeps more, with the chosen τ, the certified τ, the certified target and the certified
    lower bound on coverage marked."""
    points = figures["curve"]["points"]
    risk = figures["certificate"]["risk"]  # "agreement" or "accuracy": what the certificate is about
    traces = [
        go.Scatter(
            mode="lines",
            name=name,
            x=[p["coverage"] for p in points],
            y=[_one_minus(p[key]) for p in points],
            customdata=[p["tau"] for p in points],
            line={"color": color, "dash": "solid" if key == f"kept_{risk}" else "dot"},
            hovertemplate="keeps %{x:.1%}: " + name + " %{y:.2%} (τ %{customdata:.3f})<extra></extra>",
        )
        for key, name, color in (
            ("kept_accuracy", "1 − accuracy of kept", DISTILLED_COLOR),
            ("kept_agreement", "1 − agreement with teacher on kept", PALETTE[4]),
        )
    ]
    chosen = figures["validation"]
    traces.append(
        go.Scatter(
            mode="markers",
            name=f"chosen τ = {figures['tau']:.3f}",
            x=[chosen["coverage"]],
            y=[_one_minus(chosen[f"kept_{risk}"])],
            marker={"color": CHOSEN_COLOR, "size": 12, "symbol": "diamond"},
            hovertemplate="chosen τ: keeps %{x:.1%}, error %{y:.2%}<extra></extra>",
        )
    )
    certificate = figures["certificate"]
    if certificate["point"] is not None:
        traces.append(
            go.Scatter(
                mode="markers",
                name=f"certified τ = {certificate['tau']:.3f}",
                x=[certificate["point"]["coverage"]],
                y=[_one_minus(certificate["point"][f"kept_{risk}"])],
                marker={"color": CERTIFIED_COLOR, "size": 12, "symbol": "star"},
                hovertemplate="certified τ: keeps %{x:.1%}, error %{y:.2%}<extra></extra>",
            )
        )
    figure = new_figure(
        traces,
        title_text="Risk vs coverage (validation)",
        xaxis={"title": {"text": "share of traffic the student keeps"}, "tickformat": ".0%", "range": [0, 1]},
        yaxis={"title": {"text": "error on the kept traffic"}, "tickformat": ".0%", "rangemode": "tozero"},
        height=420,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )
    figure.add_hline(
        y=1 - certificate["target"],
        line={"color": CERTIFIED_COLOR, "dash": "dash"},
        annotation={
            "text": f"certified target: {risk} ≥ {certificate['target']:.1%} (δ = {certificate['delta']:g})",
            "font": {"color": CERTIFIED_COLOR},
        },
        annotation_position="top left",
    )
    if certificate["coverage_lower_bound"] is not None:
        figure.add_vline(
            x=certificate["coverage_lower_bound"],
            line={"color": CERTIFIED_COLOR, "dash": "dot"},
            annotation={
                "text": f"keeps ≥ {certificate['coverage_lower_bound']:.1%} (certified)",
                "font": {"color": CERTIFIED_COLOR},
            },
            annotation_position="bottom left",
        )
    else:
        figure.add_annotation(
            text="no certified τ on this validation set",
            xref="paper",
            yref="paper",
            x=0.02,
            y=0.98,
            showarrow=False,
            font={"color": CERTIFIED_COLOR},
        )
    return figure


def applied_figure(figures: dict[str, Any]) -> go.Figure:
    """The chosen τ on validation (what it promised) next to test and every out-of-distribution set (what it
    delivered): the share the student keeps and the cascade's quality."""
    validation = figures["evidence"]["validation"]
    sets = [(f"validation: {validation['name']}", figures["validation"])] + [
        (f"{ROLE_NAMES.get(a['role'], a['role'])}: {a['name']}", a["realised"]) for a in figures["applied"]
    ]
    names = [html.escape(name) for name, _ in sets]
    traces = [
        go.Bar(
            name=label,
            x=names,
            y=[point[key] for _, point in sets],
            text=[f"{point[key]:.1%}" if point[key] is not None else "—" for _, point in sets],
            textposition="outside",
            marker={"color": color},
            hovertemplate="%{x}: " + label + " %{y:.1%}<extra></extra>",
        )
        for key, label, color in (
            ("coverage", "kept by the student", DISTILLED_COLOR),
            ("cascade_quality", "cascade quality", CERTIFIED_COLOR),
        )
    ]
    figure = new_figure(
        traces,
        title_text=f"τ = {figures['tau']:.3f}: validation (promised) vs test and OOD (realised)",
        barmode="group",
        xaxis={"title": {"text": ""}},
        yaxis={"tickformat": ".0%", "range": [0, 1.15]},
        height=400,
    )
    teacher_quality = figures["curve"].get("teacher_quality")
    if teacher_quality is not None:
        figure.add_hline(
            y=teacher_quality,
            line={"color": MUTED, "dash": "dash"},
            annotation={"text": f"teacher alone on validation: {teacher_quality:.1%}", "font": {"color": MUTED}},
            annotation_position="bottom right",
        )
    return figure


def sensitivity_figure(figures: dict[str, Any]) -> go.Figure:
    """Tornado: monthly savings at each factor's least and most favourable setting, around the scenario as
    entered; each bar is labelled with its setting and breakeven. Widest swing on top."""
    sensitivity = figures["sensitivity"]
    base = sensitivity["base"]["monthly_savings_usd"]
    bars = sensitivity["bars"]
    # The factor and its range as the bar's name: a printed page has no hover, and short bars hide their text.
    factors = [f"{bar['factor']}<br>{bar['low']['setting']} … {bar['high']['setting']}" for bar in bars]
    traces = [
        go.Bar(
            name=name,
            orientation="h",
            y=factors,
            base=[base] * len(bars),
            x=[bar[end]["monthly_savings_usd"] - base for bar in bars],
            text=[f"{bar[end]['setting']}: {_breakeven_text(bar[end]['breakeven']['months'])}" for bar in bars],
            textposition="inside",  # outside, long labels would run over the factor names
            insidetextanchor="middle",
            customdata=[bar[end]["monthly_savings_usd"] for bar in bars],
            marker={"color": color},
            hovertemplate="%{text}<br>$%{customdata:,.0f}/month saved<extra></extra>",
        )
        for end, name, color in (
            ("low", "least favourable", KEEP_TEACHER_COLOR),
            ("high", "most favourable", DISTILLED_COLOR),
        )
    ]
    figure = new_figure(
        traces,
        title_text="Sensitivity of the monthly savings",
        barmode="overlay",
        xaxis={"title": {"text": "monthly savings (USD)"}, "tickprefix": "$"},
        yaxis={"autorange": "reversed", "automargin": True},
        height=160 + 90 * max(1, len(bars)),
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )
    figure.add_vline(
        x=base,
        line={"color": MUTED, "dash": "dash"},
        annotation={"text": f"as entered: ${base:,.0f}/month", "font": {"color": MUTED}},
        annotation_position="top",
    )
    return figure


# The report's charts, in reading order: the money, then how much traffic, then whether it holds.
REPORT_CHARTS: dict[str, Callable[[dict[str, Any]], go.Figure]] = {
    "cumulative_cost": cumulative_cost_figure,
    "cost_reduction": cost_reduction_figure,
    "risk_coverage": risk_coverage_figure,
    "applied": applied_figure,
    "sensitivity": sensitivity_figure,
}


def report_figures(figures: dict[str, Any], *, prefix: str = "") -> dict[str, go.Figure]:
    """Every chart of a scenario, keyed by a page-unique id (`prefix` tells several scenarios apart)."""
    return {f"{prefix}{key}": build(figures) for key, build in REPORT_CHARTS.items()}


def _one_minus(value: float | None) -> float | None:
    return None if value is None else 1 - value


def _breakeven_text(months: float | None) -> str:
    return "never breaks even" if months is None else f"breakeven {months:.1f} months"
