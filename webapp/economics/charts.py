"""Plotly figures of one ROI analysis, built from its `figures` dict (what `analysis.analyse` returns and a
saved Scenario stores), so the Routing & ROI page, the stakeholder report and its exports draw the same charts
from the same numbers. Each function is `fn(figures) -> figure dict` and computes nothing the analysis did not,
except the cost-reduction curve, which asks the cost model itself (never a second formula) at every share.
They are plain dicts, not graph_objects figures: the page rebuilds all five on every slider step, and plotly.py's
validation of each property was most of that step's time (webapp/ui/plotting.py says more).

Text that came from users (dataset names) is HTML-escaped: Plotly renders a subset of HTML in labels."""

import html
import math
from collections.abc import Callable
from typing import Any

from webapp.economics.cost_model import Mode, Serving, mode_cost
from webapp.economics.labels import MODE_LABELS as MODE_NAMES
from webapp.economics.labels import ROLE_LABELS as ROLE_NAMES
from webapp.ui.plotting import PALETTE, FigureDict, figure_dict, hline, vline

KEEP_TEACHER_COLOR = PALETTE[3]
DISTILLED_COLOR = PALETTE[0]
CHOSEN_COLOR = PALETTE[1]
CERTIFIED_COLOR = PALETTE[2]
MUTED = "#888"
SHARES = [i / 100 for i in range(101)]  # the share routed to the student, 0-100% in 1-point steps
# The default legend (y=-0.2) sits on the x-axis title.
_LEGEND_BELOW_AXIS_TITLE = {"orientation": "h", "y": -0.3}


def _axis(title: str, **settings: Any) -> dict[str, Any]:
    """An axis whose title keeps clear of its tick labels: the margin grows to fit wide ticks ($150k, 1000×)
    instead of the title being drawn over them (the template's fixed 56 px left margin did that)."""
    return {"title": {"text": title, "standoff": 12}, "automargin": True} | settings


def cumulative_cost_figure(figures: dict[str, Any]) -> FigureDict:
    """Cumulative cost month by month over the student's valid period: keep the teacher vs distil (one-off at
    month 0, retrainings as steps), with the month from which distilling stays cheaper marked."""
    tco = figures["tco"]
    months = list(range(len(tco["keep_teacher_cumulative_usd"])))
    mode = MODE_NAMES.get(figures["mode"], figures["mode"])
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "keep the teacher",
            "x": months,
            "y": tco["keep_teacher_cumulative_usd"],
            "line": {"color": KEEP_TEACHER_COLOR},
            "hovertemplate": "month %{x}: $%{y:,.0f}<extra>keep the teacher</extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"distil ({mode})",
            "x": months,
            "y": tco["distilled_cumulative_usd"],
            "line": {"color": DISTILLED_COLOR},
            "hovertemplate": "month %{x}: $%{y:,.0f}<extra>distil</extra>",
        },
    ]
    figure = figure_dict(
        traces,
        title={"text": "Cumulative cost"},
        xaxis=_axis("months from the switch", range=[0, months[-1] if months else 1]),
        yaxis=_axis("cumulative cost ($)", tickprefix="$", rangemode="tozero"),
        height=400,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )
    crossing = tco.get("crossing_month")
    if crossing is not None:
        vline(
            figure,
            crossing,
            line={"color": CHOSEN_COLOR, "dash": "dash"},
            label=f"breakeven: month {crossing:.1f}",
            position="top left" if crossing > months[-1] / 2 else "top right",
        )
    else:
        figure["layout"]["annotations"] = [
            {
                "text": f"no breakeven within {tco['valid_months']} months",
                "xref": "paper",
                "yref": "paper",
                "x": 0.02,
                "y": 0.98,
                "showarrow": False,
                "font": {"color": CHOSEN_COLOR},
            }
        ]
    return figure


def cost_reduction_figure(figures: dict[str, Any]) -> FigureDict:
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

    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": MODE_NAMES[mode],
            "x": SHARES,
            "y": [reduction(mode, s) for s in SHARES],
            "line": {"color": color, "dash": dash},
            "hovertemplate": "%{x:.0%} to the student: %{y:.2f}× cheaper<extra>" + MODE_NAMES[mode] + "</extra>",
        }
        for mode, color, dash in ((Mode.CASCADE, DISTILLED_COLOR, "solid"), (Mode.UPFRONT_ROUTING, MUTED, "dot"))
    ]
    chosen = figures["mode"]
    if chosen in (Mode.CASCADE, Mode.UPFRONT_ROUTING):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"this scenario ({figures['share']:.0%})",
                "x": [figures["share"]],
                "y": [reduction(Mode(chosen), figures["share"])],
                "marker": {"color": CHOSEN_COLOR, "size": 12, "symbol": "diamond"},
                "hovertemplate": "%{x:.1%} to the student: %{y:.2f}× cheaper<extra>this scenario</extra>",
            }
        )
    values = [y for trace in traces for y in trace["y"] if y is not None and y > 0]
    figure = figure_dict(
        traces,
        title={"text": "Cost reduction vs share routed to the student"},
        xaxis=_axis("share of requests the student answers (%)", tickformat=".0%", range=[0, 1]),
        # Log scale, and said so: a nearly free student makes the last points hundreds of times cheaper, which
        # would flatten the rest of the curve (and the scenario's own point) onto the axis. Ticks are named
        # "10×" at whole steps: plotly's own log ticks print bare minor digits (2, 5) that read as values.
        yaxis=_axis("cost reduction (× cheaper, log scale)", type="log", **_log_ticks(values, suffix="×")),
        height=400,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )
    hline(figure, 1, line={"color": MUTED, "dash": "dash"})
    # Placed by hand: on a log axis an annotation's y is log10 of the value (hline's label would sit at 10). At
    # the right, where the curves have climbed away from 1, the label covers no line.
    figure["layout"]["annotations"] = [
        {
            "text": "same cost as the teacher",
            "xref": "paper",
            "x": 0.99,
            "y": 0,
            "xanchor": "right",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"color": MUTED},
        }
    ]
    return figure


def risk_coverage_figure(figures: dict[str, Any]) -> FigureDict:
    """On validation: the student's error on the traffic it keeps (1 − accuracy, and 1 − agreement with the
    teacher) as it keeps more, with the chosen τ, the certified τ, the certified target and the certified
    lower bound on coverage marked."""
    points = figures["curve"]["points"]
    risk = figures["certificate"]["risk"]  # "agreement" or "accuracy": what the certificate is about
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": name,
            "x": [p["coverage"] for p in points],
            "y": [_one_minus(p[key]) for p in points],
            "customdata": [p["tau"] for p in points],
            "line": {"color": color, "dash": "solid" if key == f"kept_{risk}" else "dot"},
            "hovertemplate": "keeps %{x:.1%}: " + name + " %{y:.2%} (τ %{customdata:.3f})<extra></extra>",
        }
        for key, name, color in (
            ("kept_accuracy", "1 − accuracy of kept", DISTILLED_COLOR),
            ("kept_agreement", "1 − agreement with teacher on kept", PALETTE[4]),
        )
    ]
    chosen = figures["validation"]
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": f"chosen τ = {figures['tau']:.3f}",
            "x": [chosen["coverage"]],
            "y": [_one_minus(chosen[f"kept_{risk}"])],
            "marker": {"color": CHOSEN_COLOR, "size": 12, "symbol": "diamond"},
            "hovertemplate": "chosen τ: keeps %{x:.1%}, error %{y:.2%}<extra></extra>",
        }
    )
    certificate = figures["certificate"]
    if certificate["point"] is not None:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"certified τ = {certificate['tau']:.3f}",
                "x": [certificate["point"]["coverage"]],
                "y": [_one_minus(certificate["point"][f"kept_{risk}"])],
                "marker": {"color": CERTIFIED_COLOR, "size": 12, "symbol": "star"},
                "hovertemplate": "certified τ: keeps %{x:.1%}, error %{y:.2%}<extra></extra>",
            }
        )
    figure = figure_dict(
        traces,
        title={"text": "Risk vs coverage (validation)"},
        xaxis=_axis("share of traffic the student keeps (%)", tickformat=".0%", range=[0, 1]),
        yaxis=_axis("error on the kept traffic (%)", tickformat=".0%", rangemode="tozero"),
        height=420,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )
    hline(
        figure,
        1 - certificate["target"],
        line={"color": CERTIFIED_COLOR, "dash": "dash"},
        label=f"certified target: {risk} ≥ {certificate['target']:.1%} (δ = {certificate['delta']:g})",
        position="top left",
    )
    if certificate["coverage_lower_bound"] is not None:
        vline(
            figure,
            certificate["coverage_lower_bound"],
            line={"color": CERTIFIED_COLOR, "dash": "dot"},
            label=f"keeps ≥ {certificate['coverage_lower_bound']:.1%} (certified)",
            position="bottom left",
        )
    else:
        figure["layout"]["annotations"].append(
            {
                "text": "no certified τ on this validation set",
                "xref": "paper",
                "yref": "paper",
                "x": 0.02,
                "y": 0.98,
                "showarrow": False,
                "font": {"color": CERTIFIED_COLOR},
            }
        )
    return figure


def applied_figure(figures: dict[str, Any]) -> FigureDict:
    """The chosen τ on validation (what it promised) next to test and every out-of-distribution set (what it
    delivered): the share the student keeps and the cascade's quality, then the teacher alone's quality on
    validation to compare the cascade's with. Each set is a group of bars named under it (its role, then its
    name); each bar says what it measures and its value above it, so neither a printed page nor a reader needs
    the legend, which sits below the axis."""
    validation = figures["evidence"]["validation"]
    sets = [("validation", validation["name"], figures["validation"])] + [
        (a["role"], a["name"], a["realised"]) for a in figures["applied"]
    ]
    names = [f"{ROLE_NAMES.get(role, role)}<br>{html.escape(name)}" for role, name, _ in sets]
    kept = [point["coverage"] for _, _, point in sets]
    quality = [point["cascade_quality"] for _, _, point in sets]
    quality_colors = [CERTIFIED_COLOR] * len(sets)
    quality_text = [f"quality<br>{_percent(q)}" for q in quality]
    teacher_quality = figures["curve"].get("teacher_quality")
    if teacher_quality is not None:
        # A bar of its own: as a line across the plot it ran through the labels of bars just below it.
        names.append(f"teacher alone<br>{html.escape(validation['name'])}")
        kept.append(None)
        quality.append(teacher_quality)
        quality_colors.append(MUTED)
        quality_text.append(f"teacher<br>{_percent(teacher_quality)}")
    traces = [
        {
            "type": "bar",
            "name": "kept by the student",
            "x": names,
            "y": kept,
            "text": [f"kept<br>{_percent(k)}" if k is not None else "" for k in kept],
            "marker": {"color": DISTILLED_COLOR},
            "hovertemplate": "%{x}<br>kept by the student: %{y:.1%}<extra></extra>",
        },
        {
            "type": "bar",
            "name": "cascade quality (teacher alone in grey)",
            "x": names,
            "y": quality,
            "text": quality_text,
            "marker": {"color": quality_colors},
            "hovertemplate": "%{x}<br>quality: %{y:.1%}<extra></extra>",
        },
    ]
    for trace in traces:
        trace |= {"textposition": "outside", "textangle": 0, "cliponaxis": False}
    return figure_dict(
        traces,
        title={"text": f"τ = {figures['tau']:.3f}: validation (promised) vs test and OOD (realised)"},
        barmode="group",
        xaxis={"automargin": True},
        # Room above 100% for the two-line labels; ticks stop at 100%, the most either measure can be.
        yaxis=_axis("share of requests (%)", tickformat=".0%", range=[0, 1.22], tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1]),
        uniformtext={"minsize": 11, "mode": "show"},
        height=420,
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )


def sensitivity_figure(figures: dict[str, Any]) -> FigureDict:
    """Tornado: monthly savings at each factor's least and most favourable setting, around the scenario as
    entered (the baseline: a dashed line, named in the title). Each factor's label gives its range and the
    breakeven at both ends; each bar's end its setting and savings. Widest swing on top."""
    sensitivity = figures["sensitivity"]
    base = sensitivity["base"]["monthly_savings_usd"]
    bars = sensitivity["bars"]
    # The factor, its range and the breakeven at both ends as the bar's name: a printed page has no hover.
    factors = [
        f"<b>{bar['factor']}</b> {_setting(bar, 'low')} … {_setting(bar, 'high')}<br>"
        f"breakeven {_months(bar['low']['breakeven']['months'])} … {_months(bar['high']['breakeven']['months'])}"
        for bar in bars
    ]
    traces = [
        {
            "type": "bar",
            "name": name,
            "orientation": "h",
            "y": factors,
            "base": [base] * len(bars),
            "x": [bar[end]["monthly_savings_usd"] - base for bar in bars],
            "text": [f"{_setting(bar, end)}: {_usd(bar[end]['monthly_savings_usd'])}" for bar in bars],
            # Outside each bar's end, level, at the plot's font size: inside, a short bar shrank its label to an
            # unreadable sliver. The x range below leaves the labels room on both sides.
            "textposition": "outside",
            "textangle": 0,
            "cliponaxis": False,
            "customdata": [
                f"{bar[end]['setting']}: {_usd(bar[end]['monthly_savings_usd'])}/month saved, "
                f"{_breakeven_text(bar[end]['breakeven']['months'])}"
                for bar in bars
            ],
            "marker": {"color": color},
            "hovertemplate": "%{customdata}<extra></extra>",
        }
        for end, name, color in (
            ("low", "least favourable", KEEP_TEACHER_COLOR),
            ("high", "most favourable", DISTILLED_COLOR),
        )
    ]
    ends = [base] + [bar[end]["monthly_savings_usd"] for bar in bars for end in ("low", "high")]
    low, high = min(ends), max(ends)
    pad = 0.25 * (high - low or abs(base) or 1)  # about a bar label's width on the page's narrowest chart
    figure = figure_dict(
        traces,
        title={"text": f"Sensitivity of the monthly savings (baseline as entered: {_usd(base)}/month)"},
        barmode="overlay",
        xaxis=_axis("monthly savings ($/month)", tickprefix="$", range=[low - pad, high + pad]),
        yaxis={"autorange": "reversed", "automargin": True},
        uniformtext={"minsize": 11, "mode": "show"},
        height=160 + 90 * max(1, len(bars)),
        legend=_LEGEND_BELOW_AXIS_TITLE,
    )
    vline(figure, base, line={"color": MUTED, "dash": "dash"}, label=f"baseline: {_usd(base)}/month", position="top")
    return figure


# The report's charts, in reading order: the money, then how much traffic, then whether it holds.
REPORT_CHARTS: dict[str, Callable[[dict[str, Any]], FigureDict]] = {
    "cumulative_cost": cumulative_cost_figure,
    "cost_reduction": cost_reduction_figure,
    "risk_coverage": risk_coverage_figure,
    "applied": applied_figure,
    "sensitivity": sensitivity_figure,
}


def report_figures(figures: dict[str, Any], *, prefix: str = "") -> dict[str, FigureDict]:
    """Every chart of a scenario, keyed by a page-unique id (`prefix` tells several scenarios apart)."""
    return {f"{prefix}{key}": build(figures) for key, build in REPORT_CHARTS.items()}


def _one_minus(value: float | None) -> float | None:
    return None if value is None else 1 - value


def _breakeven_text(months: float | None) -> str:
    return "never breaks even" if months is None else f"breakeven {months:.1f} months"


def _months(months: float | None) -> str:
    return "never" if months is None else f"{months:.1f} months"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _usd(value: float) -> str:
    return f"-${-value:,.0f}" if value < 0 else f"${value:,.0f}"


def _setting(bar: dict[str, Any], end: str) -> str:
    """A setting without its factor's name, which the bar's label already gives: "x10" for "volume x10"."""
    setting: str = bar[end]["setting"]
    return setting.removeprefix(bar["factor"]).strip() or setting


def _log_ticks(values: list[float], *, suffix: str) -> dict[str, Any]:
    """Tick values and labels for a log axis spanning `values`: 1-2-5 steps over up to two decades, powers of
    ten beyond, each labelled with `suffix` ("0.5×", "10×")."""
    if not values:
        return {}
    low, high = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    steps = (1, 2, 5) if high - low <= 2 else (1,)
    ticks = [m * 10.0**e for e in range(low, high + 1) for m in steps]
    ticks = [t for t in ticks if min(values) / 1.5 <= t <= max(values) * 1.5]
    return {"tickvals": ticks, "ticktext": [f"{t:g}{suffix}" for t in ticks]}
