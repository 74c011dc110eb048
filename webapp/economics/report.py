"""The stakeholder report of a saved scenario, as plain sentences and labelled numbers.

It re-reads what the scenario stored (its `figures`), never recomputes: a report says what was decided on. The
sentences are written for readers who are not ML engineers; every number says whether it was *measured* by a
job, *entered* by a person, or *computed* from those two, and where it came from. Templates only lay these out
(and escape them), so the page, the share link and both exports say exactly the same thing."""

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from webapp.economics.charts import REPORT_CHARTS
from webapp.economics.labels import ASSUMPTION_LABELS
from webapp.economics.models import Scenario
from webapp.economics.selectors import EvidenceRecords
from webapp.ui.templatetags.ui import per_request, usd

MEASURED, ENTERED, COMPUTED = "measured", "entered", "computed"

VERDICT_TITLES = {
    "pays_off": "Pays off",
    "think_carefully": "Think carefully",
    "wrong_tool": "Wrong tool",
    "never": "Never pays off",
}
MODE_NAMES = {  # in the order a reader compares them
    "keep_teacher": "keep the teacher",
    "cascade": "student first, unsure requests escalate to the teacher",
    "upfront_routing": "a router sends each request to the student or the teacher",
}
RULE_NAMES = {
    "quality_bar": "the most traffic that still meets the task's quality bar",
    "certified": "certified (a statistical guarantee on the kept traffic)",
    "manual": "set by hand",
}
ROLE_NAMES = {"validation": "validation", "test": "test", "ood": "out-of-distribution"}
# A realised coverage or quality this far below what validation promised is worth a reader's attention.
NOTABLE_GAP = 0.02


@dataclass(frozen=True)
class Number:
    """One figure of the report with its provenance: kind is measured / entered / computed."""

    label: str
    value: str
    kind: str
    source: str = ""


@dataclass(frozen=True)
class Chart:
    id: str  # unique on the page: the id of its JSON <script>
    figure: go.Figure
    kind: str
    caption: str


# What each chart shows, for a reader who did not build it, and where its numbers come from.
CHART_NOTES = {
    "cumulative_cost": (COMPUTED, "What each path has cost by each month: distilling starts with the one-off cost "
                        "(and adds each retraining), then grows more slowly; where the lines cross it has paid off."),
    "cost_reduction": (COMPUTED, "How many times cheaper than the teacher serving gets as the student answers more "
                       "of the traffic, in both serving modes, at this scenario's per-request costs. The diamond "
                       "is this scenario."),
    "risk_coverage": (MEASURED, "On the validation set: the more traffic the student keeps, the more of it it gets "
                      "wrong (or answers differently from the teacher). The chosen and certified thresholds are "
                      "marked with the certified target."),
    "applied": (MEASURED, "The threshold chosen on validation, applied to sets it never saw: if test and "
                "out-of-distribution bars fall short of validation's, the promise does not fully hold there."),
    "sensitivity": (COMPUTED, "How the monthly savings move if the teacher gets cheaper, the volume changes, or "
                    "the student keeps only its certified minimum of the traffic."),
}  # fmt: skip


def report_charts(figures: dict[str, Any], *, prefix: str = "") -> list[Chart]:
    return [
        Chart(id=f"{prefix}{key}", figure=build(figures), kind=CHART_NOTES[key][0], caption=CHART_NOTES[key][1])
        for key, build in REPORT_CHARTS.items()
    ]


@dataclass(frozen=True)
class EvidenceLine:
    what: str
    ids: str
    dataset: str
    sha256: str
    when: str
    device: str


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def points(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f} points"


def months_text(months: float | None) -> str:
    return "never" if months is None else f"{months:.1f} months"


def short_sha(sha256: str | None) -> str:
    return (sha256 or "")[:12] or "—"


def report_context(scenario: Scenario, records: EvidenceRecords) -> dict[str, Any]:
    """Everything the report template shows for `scenario`; `records` are the stored evaluations and jobs its
    evidence ids point at (for dates and devices), possibly fewer if some were deleted since."""
    f = scenario.figures
    mode = f["modes"][f["mode"]]
    keep = f["modes"]["keep_teacher"]
    return {
        "scenario": scenario,
        "verdict": {
            "key": f["breakeven"]["verdict"],
            "title": VERDICT_TITLES.get(f["breakeven"]["verdict"], f["breakeven"]["verdict"]),
            "advice": f["breakeven"]["advice"],
        },
        "headline": [
            Number("Breakeven", months_text(f["breakeven"]["months"]), COMPUTED, "one-off cost ÷ monthly savings"),
            Number(
                "Monthly savings",
                usd(mode["monthly_savings_usd"]),
                COMPUTED,
                f"{usd(keep['monthly_usd'])} keeping the teacher vs {usd(mode['monthly_usd'])} distilled",
            ),
            Number(
                "Traffic the student answers",
                pct(f["share"]),
                MEASURED if f["upfront"] is None else COMPUTED,
                _share_source(f),
            ),
            Number("One-off cost", usd(f["one_off"]["total_usd"]), COMPUTED, "itemised below"),
        ],  # fmt: skip
        "traffic": _traffic_sentence(f),
        "guarantee": _guarantee(f),
        "risks": _risks(f),
        "kill_point": _kill_point_sentence(f),
        "modes": _modes(f),
        "costs": _costs(f),
        "timing_warning": (f["evidence"].get("speedup") or {}).get("warning", ""),
        "one_off": _one_off(f, records),
        "rules": _rules(f),
        "evidence": _evidence(f, records),
        "assumptions": _assumptions(scenario),
        "charts": report_charts(f),
        "evidence_ids": sorted(records.evaluations),
        "entered_by": scenario.created_by.get_username() if scenario.created_by else "a deleted user",
    }


def _share_source(f: dict[str, Any]) -> str:
    validation = f["evidence"]["validation"]
    if f["upfront"] is not None:
        return (
            f"modelled: a router of stated accuracy {pct(f['upfront']['router_accuracy'])} on the measured "
            f"validation predictions (evaluation {validation['evaluation_id']})"
        )
    return f"at τ = {f['tau']:.3f} on {validation['rows']} validation rows (evaluation {validation['evaluation_id']})"


def _traffic_sentence(f: dict[str, Any]) -> str:
    rule = RULE_NAMES.get(f["tau_rule"], f["tau_rule"])
    if f["upfront"] is not None:
        return (
            f"A router sends {pct(f['share'])} of requests to the student and the rest to the teacher. The router is "
            f"modelled, not measured: its stated accuracy is {pct(f['upfront']['router_accuracy'])}."
        )
    return (
        f"The student answers {pct(f['share'])} of requests itself, those it is at least {f['tau']:.3f} confident "
        f"about (the threshold τ, chosen on the validation set: {rule}); the other {pct(1 - f['share'])} go to "
        f"the teacher. Together they answered {pct(f['validation']['cascade_quality'])} of validation requests "
        f"correctly, against {pct(f['curve']['teacher_quality'])} for the teacher alone."
    )


def _guarantee(f: dict[str, Any]) -> dict[str, Any]:
    c = f["certificate"]
    what = "agrees with the teacher" if c["risk"] == "agreement" else "is right"
    if c["tau"] is None:
        return {
            "certified": False,
            "text": "No guarantee on the kept traffic. " + c["reason"],
            "covers_scenario": False,
        }
    covers = f["tau_rule"] == "certified" or f["tau"] == c["tau"]
    text = (
        f"With probability at least {pct(1 - c['delta'], 0)} (δ = {c['delta']:g}), on traffic like the validation "
        f"set, the student {what} on at least {pct(c['target'])} of the requests it keeps at τ = {c['tau']:.3f}, "
        f"and it keeps at least {pct(c['coverage_lower_bound'])} of the traffic (lower bound; "
        f"{pct(c['point']['coverage'])} measured on validation)."
    )
    if not covers:
        text += f" This scenario uses τ = {f['tau']:.3f}, not the certified one, so the guarantee does not cover it."
    return {"certified": True, "text": text, "covers_scenario": covers}


def _risks(f: dict[str, Any]) -> list[str]:
    """The quality risk in plain words: does the validation promise hold on test and OOD sets, and drift."""
    predicted = f["validation"]
    sentences = []
    for applied in f["applied"]:
        realised = applied["realised"]
        where = f"On {ROLE_NAMES.get(applied['role'], applied['role'])} set '{applied['name']}'"
        sentence = (
            f"{where} the student kept {pct(realised['coverage'])} of requests (validation promised "
            f"{pct(predicted['coverage'])}, {points(applied['coverage_gap'])})"
        )
        if realised["cascade_quality"] is not None:
            sentence += (
                f" and the cascade answered {pct(realised['cascade_quality'])} correctly (promised "
                f"{pct(predicted['cascade_quality'])}, {points(applied['cascade_quality_gap'])})"
            )
        sentence += "."
        gaps = [g for g in (applied["coverage_gap"], applied["cascade_quality_gap"]) if g is not None]
        if any(g < -NOTABLE_GAP for g in gaps):
            sentence += " That is notably worse than promised: expect less saving or lower quality on such traffic."
        sentences.append(sentence)
    if not any(a["role"] == "ood" for a in f["applied"]):
        sentences.append(
            "No out-of-distribution set was evaluated, so how the student behaves on traffic unlike the validation "
            "set is unknown: evaluate it on real or shifted traffic before relying on these savings."
        )
    coverage_bar = next((b for b in f["sensitivity"]["bars"] if b["factor"] == "coverage"), None)
    drift = (
        "When traffic drifts away from what the student was trained on, it usually becomes less confident: more "
        "requests escalate to the teacher, which protects quality but shrinks the savings."
    )
    if coverage_bar is not None:
        drift += (
            f" At the certified lower bound of coverage the savings would be "
            f"{usd(coverage_bar['low']['monthly_savings_usd'])} a month "
            f"(breakeven {months_text(coverage_bar['low']['breakeven']['months'])})."
        )
    drift += (
        " The risk is a student that stays confidently wrong: monitoring compares the escalation rate in production "
        "with what validation predicted."
    )
    sentences.append(drift)
    return sentences


def _kill_point_sentence(f: dict[str, Any]) -> str:
    kill = f["kill_point"]
    horizon = f"{kill['horizon_months']:g}-month planning horizon"
    if kill["already_beyond_horizon"]:
        return f"Breakeven is already beyond the {horizon}, before any cut in the teacher's price."
    if kill["teacher_price_cut"] is None:
        return f"No cut in the teacher's price pushes breakeven beyond the {horizon}."
    return (
        f"If the teacher's price falls by more than {pct(kill['teacher_price_cut'])}, breakeven passes the "
        f"{horizon}: the investment would no longer pay back in time."
    )


def _modes(f: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "name": MODE_NAMES.get(key, key),
            "chosen": key == f["mode"],
            "share": "—"
            if key == "keep_teacher"
            else pct(f.get("shares", {}).get(key, f["share"] if key == f["mode"] else None)),
            "monthly": usd(m["monthly_usd"]),
            "savings": usd(m["monthly_savings_usd"]),
            "reduction": "—" if m["cost_reduction"] is None else f"{m['cost_reduction']:.2f}×",
            "latency": f"{m['mean_latency_ms']:.1f} ms",
        }
        for key in MODE_NAMES  # a stored scenario's JSON (jsonb) keeps no key order: ours, keep-teacher first
        if key in f["modes"]
        for m in [f["modes"][key]]
    ]


def _costs(f: dict[str, Any]) -> list[Number]:
    a, costs, evidence = f["assumptions"], f["costs"], f["evidence"]
    teacher_kind = ENTERED if a["teacher_pricing"] == "api" else COMPUTED
    numbers = [
        Number("Teacher, per request", per_request(costs["teacher_usd_per_request"]), teacher_kind,
               f"{costs['teacher_basis']}. Warning: {costs['teacher_warning']}" if costs.get("teacher_warning")
               else costs["teacher_basis"]),
        Number("Student, per request", per_request(costs["student_usd_per_request"]), COMPUTED,
               costs["student_basis"]),
        Number("Requests per month", f"{a['requests_per_month']:,.0f}", ENTERED),
        Number("Student throughput (batch 32)", f"{evidence['student_throughput']['value']:,.1f} rows/s", MEASURED,
               evidence["student_throughput"]["source"]),
        Number("Student latency (p50, batch 1)", f"{evidence['student_latency_ms']['value']:.2f} ms", MEASURED,
               evidence["student_latency_ms"]["source"]),
    ]  # fmt: skip
    for key, label in (("teacher_throughput", "Teacher throughput (batch 32)"), ("teacher_latency_ms", "")):
        measured = evidence.get(key)
        if measured:
            label = label or "Teacher latency (p50, batch 1)"
            unit = "rows/s" if "throughput" in key else "ms"
            numbers.append(Number(label, f"{measured['value']:,.2f} {unit}", MEASURED, measured["source"]))
    speedup = evidence.get("speedup")  # scenarios saved before side-by-side timing have none
    if speedup:
        numbers.append(Number("Student speed-up over the teacher", speedup_text(speedup), MEASURED,
                              _speedup_source(speedup)))  # fmt: skip
    cost_range = costs.get("student_to_teacher_cost_range")
    if cost_range:
        numbers.append(Number("Student cost per request, share of the teacher's",
                              f"{pct(costs['student_to_teacher_cost'])} (rounds {pct(cost_range[0])}–"
                              f"{pct(cost_range[1])})", COMPUTED,
                              "both self-hosted: the hosts' prices (entered) over their throughputs, measured side "
                              "by side; the range is at the slowest and fastest round's throughput ratio"))  # fmt: skip
    return numbers


def speedup_text(speedup: dict[str, Any]) -> str:
    """'6.1× lower latency (rounds 4.0–8.2×), 5.9× the throughput (rounds 5.1–6.6×)': medians, and min–max
    over rounds when the two were timed side by side (a ratio of two jobs' figures has no rounds to range over)."""

    def one(value: float, bounds: list[float] | None, what: str) -> str:
        spread = f" (rounds {bounds[0]:.1f}–{bounds[1]:.1f}×)" if bounds else ""
        return f"{value:.1f}× {what}{spread}"

    return (
        f"{one(speedup['latency'], speedup.get('latency_range'), 'lower latency')}, "
        f"{one(speedup['throughput'], speedup.get('throughput_range'), 'the throughput')}"
    )


def _speedup_source(speedup: dict[str, Any]) -> str:
    how = f"median of {speedup['rounds']} interleaved rounds; " if speedup["side_by_side"] else ""
    return f"{how}{speedup['source']}"


def _one_off(f: dict[str, Any], records: EvidenceRecords) -> list[Number]:
    one_off, a = f["one_off"], f["assumptions"]
    jobs = []
    for compute in f["evidence"]["compute"]:
        job = records.jobs.get(compute["job_id"])
        when = job.created_at.date().isoformat() if job else "job no longer stored"
        jobs.append(f"job {compute['job_id']} ({compute['what']}, {when}): "
                    f"{compute['device_seconds'] / 3600:.2f} {compute['device_kind']} hours")  # fmt: skip
    prices = ", ".join(f"{kind} ${price:g}/hour" for kind, price in a["usd_per_device_hour"].items())
    return [
        Number("Teacher data generation", usd(one_off["teacher_generation_usd"], 2), COMPUTED,
               "uploaded teacher outputs: their estimated tokens at the teacher's API prices (entered)"
               if one_off["teacher_generation_usd"]
               else "the teacher ran in our own jobs: its time is in the training compute"),
        Number("Training compute", usd(one_off["training_compute_usd"], 2), MEASURED,
               "; ".join(jobs) + f" — priced at {prices} (entered)" if jobs else "no producing job recorded compute"),
        Number("Data filtering and labelling", usd(one_off["filtering_labelling_usd"], 2), ENTERED),
        Number("Engineering", usd(one_off["engineering_usd"], 2), ENTERED,
               f"{a['engineering_hours']:g} hours at {usd(a['engineering_usd_per_hour'])}/hour"),
    ]  # fmt: skip


def _rules(f: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": RULE_NAMES.get(key, key),
            "chosen": key == f["tau_rule"],
            "tau": "—" if rule["tau"] is None else f"{rule['tau']:.3f}",
            "coverage": pct(rule["point"]["coverage"]) if rule["point"] else "—",
            "reason": rule["reason"],
        }
        for key in RULE_NAMES
        for rule in [f["rules"][key]]
    ]


def _evidence(f: dict[str, Any], records: EvidenceRecords) -> list[EvidenceLine]:
    validation = f["evidence"]["validation"]
    sets = [("validation", validation["evaluation_id"], validation["name"], validation["sha256"])] + [
        (a["role"], a["evaluation_id"], a["name"], a["sha256"]) for a in f["applied"]
    ]
    lines = []
    for role, evaluation_id, name, sha256 in sets:
        evaluation = records.evaluations.get(evaluation_id)
        device = (evaluation.device or {}) if evaluation else {}
        lines.append(
            EvidenceLine(
                what=f"predictions on the {ROLE_NAMES.get(role, role)} set",
                ids=f"evaluation {evaluation_id}" + (f", job {evaluation.job_id}" if evaluation and evaluation.job_id
                                                     else ""),
                dataset=name,
                sha256=short_sha(sha256),
                when=evaluation.created_at.date().isoformat() if evaluation else "no longer stored",
                device=_device(device),
            )
        )  # fmt: skip
    return lines


def _device(device: dict[str, Any]) -> str:
    if not device:
        return "—"
    return f"{device.get('kind', '?')}: {device.get('name', '')} ({device.get('threads', '?')} threads)".strip()


def _assumptions(scenario: Scenario) -> list[tuple[str, str]]:
    """Every entered assumption as (label, value), in the form's order."""
    rows = []
    stored = scenario.assumptions
    # In the form's order (jsonb keeps none), then anything a newer version added.
    for key in [k for k in ASSUMPTION_LABELS if k in stored] + [k for k in stored if k not in ASSUMPTION_LABELS]:
        value = stored[key]
        if isinstance(value, dict):
            shown = ", ".join(f"{k}: {v:g}" if isinstance(v, int | float) else f"{k}: {v}" for k, v in value.items())
        elif value is None:
            shown = "never"
        elif isinstance(value, bool):
            shown = "yes" if value else "no"
        elif isinstance(value, int | float) and float(value).is_integer():
            shown = f"{int(value):,}"  # 5,000,000 rather than 5e+06
        elif isinstance(value, float):
            shown = f"{value:,.6g}"
        else:
            shown = str(value)
        rows.append((ASSUMPTION_LABELS.get(key, key.replace("_", " ")), shown))
    return rows
