"""The stakeholder report of a saved scenario, as plain sentences and labelled numbers.

It re-reads what the scenario stored (its `figures`), never recomputes: a report says what was decided on. The
sentences are written for readers who are not ML engineers; every number says whether it was *measured* by a
job, *entered* by a person, or *computed* from those two, and where it came from. Templates only lay these out
(and escape them), so the page, the share link and both exports say exactly the same thing."""

from dataclasses import asdict, dataclass
from typing import Any

from webapp.economics.analysis import Assumptions, device_prices_used, inputs_used
from webapp.economics.charts import REPORT_CHARTS
from webapp.economics.cost_model import Verdict, verdict_advice
from webapp.economics.labels import (
    ASSUMPTION_LABELS,
    HOST_KIND_LABELS,
    MODE_DESCRIPTIONS,
    RULE_DESCRIPTIONS,
    VERDICT_LABELS,
    assumption_label,
    assumption_value,
    device_label,
)
from webapp.economics.labels import ROLE_LABELS as ROLE_NAMES
from webapp.economics.models import Scenario
from webapp.economics.selectors import EvidenceRecords
from webapp.ui.plotting import FigureDict
from webapp.ui.templatetags.ui import per_request, usd

# Where a figure comes from: a job measured it, a person entered it, it is a built-in default nobody entered,
# or it is computed from the others.
MEASURED, ENTERED, DEFAULT, COMPUTED = "measured", "entered", "default", "computed"
# Where an assumption came from (services.assumption_provenance stores these with the figures).
ORIGIN_ENTERED, ORIGIN_DEFAULT, ORIGIN_TASK, ORIGIN_TEACHER = "entered", "default", "task", "teacher"
NOT_ENTERED = "default, not entered"

VERDICT_TITLES = VERDICT_LABELS
MODE_NAMES = MODE_DESCRIPTIONS
RULE_NAMES = RULE_DESCRIPTIONS
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
    figure: FigureDict
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


@dataclass(frozen=True)
class Origins:
    """Where each assumption of one scenario came from, and how to say so."""

    kinds: dict[str, str]  # key -> ORIGIN_*
    entered_by: str

    def kind(self, *keys: str) -> str:
        """ENTERED when a person entered any of `keys` (themselves or in the task's or teacher's settings), else
        DEFAULT."""
        return ENTERED if any(self.kinds.get(k, ORIGIN_ENTERED) != ORIGIN_DEFAULT for k in keys) else DEFAULT

    def text(self, key: str) -> str:
        origin = self.kinds.get(key, ORIGIN_ENTERED)
        if origin == ORIGIN_DEFAULT:
            return NOT_ENTERED
        if origin == ORIGIN_TASK:
            return "from the task's settings"
        if origin == ORIGIN_TEACHER:
            return "from the teacher's registered cost profile"
        return f"entered by {self.entered_by}" if self.entered_by else "entered"


def origins_of(figures: dict[str, Any], entered_by: str) -> Origins:
    """The stored provenance; a scenario saved before it was stored counts a value equal to the built-in
    default as that default (nobody changed it) and anything else as entered."""
    stored = figures.get("provenance")
    if not stored:
        builtin = asdict(Assumptions())
        stored = {
            key: ORIGIN_DEFAULT if key in builtin and value == builtin[key] else ORIGIN_ENTERED
            for key, value in figures["assumptions"].items()
        }
    return Origins(kinds=dict(stored), entered_by=entered_by)


def report_context(scenario: Scenario, records: EvidenceRecords) -> dict[str, Any]:
    """Everything the report template shows for `scenario`; `records` are the stored evaluations and jobs its
    evidence ids point at (for dates and devices), possibly fewer if some were deleted since."""
    f = scenario.figures
    mode = f["modes"][f["mode"]]
    keep = f["modes"]["keep_teacher"]
    entered_by = scenario.created_by.get_username() if scenario.created_by else "a deleted user"
    origins = origins_of(f, entered_by)
    assumptions = assumption_rows(f, origins)
    return {
        "scenario": scenario,
        "verdict": {
            "key": f["breakeven"]["verdict"],
            "title": VERDICT_TITLES.get(f["breakeven"]["verdict"], f["breakeven"]["verdict"]),
            "advice": advice(f),
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
        "costs": _costs(f, origins),
        "timing_warning": (f["evidence"].get("speedup") or {}).get("warning", ""),
        "one_off": _one_off(f, records, origins),
        "rules": _rules(f),
        "evidence": _evidence(f, records),
        "assumptions": assumptions,
        "defaults": defaults_in(assumptions),
        "charts": report_charts(f),
        "evidence_ids": sorted(records.evaluations),
        "entered_by": entered_by,
    }


def advice(f: dict[str, Any]) -> str:
    """The verdict's advice for this teacher: what to try instead depends on how the teacher is paid for (a
    scenario saved before that was told apart gets the right words too)."""
    key = f["breakeven"]["verdict"]
    if key not in Verdict.__members__.values():
        return str(f["breakeven"].get("advice", ""))
    return verdict_advice(Verdict(key), teacher_self_hosted=f["assumptions"].get("teacher_pricing") == "self_hosted")


def _share_source(f: dict[str, Any]) -> str:
    validation = f["evidence"]["validation"]
    if f["upfront"] is not None:
        return (
            f"modelled: a router of stated accuracy {pct(f['upfront']['router_accuracy'])} on the measured "
            f"validation predictions (evaluation {validation['evaluation_id']})"
        )
    return f"at τ = {f['tau']:.3f} on {validation['rows']} validation rows (evaluation {validation['evaluation_id']})"


def upfront_quality_sentence(upfront: dict[str, Any]) -> str:
    """Upfront routing's quality is a model's output, not a measurement: one sentence that says so."""
    return (
        f"Its quality, {pct(upfront['quality'])} of requests answered correctly, is modelled from the stated router "
        f"accuracy of {pct(upfront['router_accuracy'])} applied to the validation predictions, not measured: no "
        "router has been run."
    )


def upfront_text(upfront: dict[str, Any]) -> str:
    """The page's paragraph on upfront routing ("Modelled, not measured" once, then what the model gives)."""
    note = upfront["note"].removeprefix("Modelled, not measured:").strip()
    return (
        f"Modelled, not measured: {note} At the stated router accuracy of {pct(upfront['router_accuracy'])} the "
        f"student gets {pct(upfront['student_share'])} of traffic. {upfront_quality_sentence(upfront)}"
    )


def _traffic_sentence(f: dict[str, Any]) -> str:
    rule = RULE_NAMES.get(f["tau_rule"], f["tau_rule"])
    if f["upfront"] is not None:
        return (
            f"A router sends {pct(f['share'])} of requests to the student and the rest to the teacher. The router is "
            f"modelled, not measured: its stated accuracy is {pct(f['upfront']['router_accuracy'])}. "
            + upfront_quality_sentence(f["upfront"])
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


def _kept_quality(applied: dict[str, Any]) -> tuple[float | None, float | None]:
    """How well the kept rows were answered, realised and on validation (a scenario saved before this was
    stored: kept accuracy, which leaves out-of-scope rows out)."""
    if "realised_kept_quality" in applied:
        return applied["realised_kept_quality"], applied["predicted_kept_quality"]
    return applied["realised"]["kept_accuracy"], applied["predicted"]["kept_accuracy"]


def drift_finding(f: dict[str, Any], applied: dict[str, Any]) -> str:
    """What an out-of-distribution set measured at τ says about drift, from its numbers: did the threshold
    escalate the shifted traffic to the teacher, or did the student keep it and answer it wrongly?"""
    coverage, promised = applied["realised"]["coverage"], applied["predicted"]["coverage"]
    kept, kept_promised = _kept_quality(applied)
    sentence = (
        f"On the out-of-distribution set '{applied['name']}', at τ = {f['tau']:.3f} the student kept "
        f"{pct(coverage)} of requests (validation: {pct(promised)})"
    )
    if kept is None:
        sentence += ", and none of the rows it kept is labelled, so how well it answered them is unknown."
        return sentence
    sentence += f" and answered {pct(kept)} of those it kept correctly (validation: {pct(kept_promised)})."
    escalated_more = coverage < promised - NOTABLE_GAP
    kept_worse = kept_promised is not None and kept < kept_promised - NOTABLE_GAP
    if kept_worse and not escalated_more:
        return sentence + (
            " The threshold does NOT protect against this shift: the student stays confident on such traffic, so "
            "it answers it wrongly itself instead of escalating it to the teacher. Expect lower quality, not "
            "smaller savings, where traffic shifts this way."
        )
    if kept_worse:
        return sentence + (
            " The threshold escalated more of this traffic to the teacher, yet what the student still kept was "
            "answered worse than on validation."
        )
    if escalated_more:
        return sentence + (
            " Here the threshold protected quality: the student was less confident on this traffic and escalated "
            "more of it to the teacher, which shrinks the savings."
        )
    return sentence + " On this set the student behaved as it did on validation."


def _risks(f: dict[str, Any]) -> list[str]:
    """The quality risk in plain words: does the validation promise hold on test and OOD sets, and what the
    OOD sets measured says about drift (nothing is claimed about drift that no set measured)."""
    predicted = f["validation"]
    sentences = []
    for applied in f["applied"]:
        if applied["role"] == "ood":
            sentences.append(drift_finding(f, applied))
            continue
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
            "set is unknown: whether the threshold would escalate such traffic to the teacher or the student would "
            "answer it wrongly has not been measured. Evaluate it on real or shifted traffic before relying on "
            "these savings."
        )
    coverage_bar = next((b for b in f["sensitivity"]["bars"] if b["factor"] == "coverage"), None)
    if coverage_bar is not None:
        sentences.append(
            f"At the certified lower bound of coverage the savings would be "
            f"{usd(coverage_bar['low']['monthly_savings_usd'])} a month "
            f"(breakeven {months_text(coverage_bar['low']['breakeven']['months'])})."
        )
    sentences.append(
        "The risk is a student that stays confidently wrong: monitoring compares the escalation rate in production "
        "with what validation predicted, which does not reveal wrong answers the student was confident about."
    )
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


def _valued(key: str, a: dict[str, Any], origins: Origins, shown: str = "") -> str:
    """ "$3 per 1M input tokens (default (not entered))": a value with where it came from."""
    return f"{shown or assumption_value(key, a[key])} ({origins.text(key)})"


def _host_kind_text(f: dict[str, Any], model: str, origins: Origins) -> str:
    key = f"{model}_host_kind"
    resolved = f["costs"].get(key) or f["assumptions"].get(key, "")
    if not resolved:
        return ""
    how = "the kind it was timed on, " + NOT_ENTERED if origins.kinds.get(key) == ORIGIN_DEFAULT else origins.text(key)
    return f"host kind {HOST_KIND_LABELS.get(resolved, resolved)} ({how})"


def teacher_source(f: dict[str, Any], origins: Origins) -> str:
    """How the teacher's cost per request was priced, each input with where it came from (no warning)."""
    a, costs = f["assumptions"], f["costs"]
    if a["teacher_pricing"] == "api":
        return (
            f"API prices per token: ${a['teacher_usd_per_million_input_tokens']:g} per 1M input tokens "
            f"({origins.text('teacher_usd_per_million_input_tokens')}) and "
            f"${a['teacher_usd_per_million_output_tokens']:g} per 1M output tokens "
            f"({origins.text('teacher_usd_per_million_output_tokens')}), "
            f"{a['input_tokens_per_request']:g} input and {a['output_tokens_per_request']:g} output tokens per "
            f"request ({origins.text('input_tokens_per_request')})"
        )
    return (
        f"{costs['teacher_basis']}; ${a['teacher_usd_per_host_hour']:g}/hour "
        f"{origins.text('teacher_usd_per_host_hour')}; {_host_kind_text(f, 'teacher', origins)}"
    )


def student_source(f: dict[str, Any], origins: Origins) -> str:
    """How the student's cost per request was priced, each input with where it came from (no warning)."""
    a = f["assumptions"]
    source = (
        f"{f['costs']['student_basis']}; ${a['student_usd_per_host_hour']:g}/hour "
        f"{origins.text('student_usd_per_host_hour')}; utilisation {origins.text('utilisation')}"
    )
    if _host_kind_text(f, "student", origins):
        source += f"; {_host_kind_text(f, 'student', origins)}"
    return source


def _costs(f: dict[str, Any], origins: Origins) -> list[Number]:
    a, costs, evidence = f["assumptions"], f["costs"], f["evidence"]
    teacher_kind = (
        origins.kind("teacher_usd_per_million_input_tokens", "teacher_usd_per_million_output_tokens")
        if a["teacher_pricing"] == "api"
        else COMPUTED
    )
    teacher = teacher_source(f, origins)
    if costs.get("teacher_warning"):
        teacher += f". Warning: {costs['teacher_warning']}"
    student = student_source(f, origins)
    if costs.get("student_warning"):
        student += f". Warning: {costs['student_warning']}"
    numbers = [
        Number("Teacher, per request", per_request(costs["teacher_usd_per_request"]), teacher_kind, teacher),
        Number("Student, per request", per_request(costs["student_usd_per_request"]), COMPUTED, student),
        Number("Requests per month", f"{a['requests_per_month']:,.0f}", origins.kind("requests_per_month"),
               origins.text("requests_per_month")),
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


def compute_lines(f: dict[str, Any], records: EvidenceRecords | None = None) -> list[str]:
    """Each producing job whose measured device time the training compute sums: id, what, day, device."""
    lines = []
    for compute in f["evidence"]["compute"]:
        when = compute.get("when")
        if not when and records is not None:
            job = records.jobs.get(compute["job_id"])
            when = job.created_at.date().isoformat() if job else "job no longer stored"
        lines.append(
            f"job {compute['job_id']} ({compute['what']}, ran {when or 'on an unrecorded day'}): "
            f"{compute['device_seconds'] / 3600:.2f} hours on {device_label(compute['device_kind'])}"
        )
    return lines


def device_prices_text(f: dict[str, Any], origins: Origins) -> str:
    prices = ", ".join(f"{device_label(kind)} ${price:g}/hour" for kind, price in device_prices_used(f).items())
    return f"{prices} ({origins.text('usd_per_device_hour')})" if prices else ""


def _one_off(f: dict[str, Any], records: EvidenceRecords, origins: Origins) -> list[Number]:
    one_off, a = f["one_off"], f["assumptions"]
    jobs = compute_lines(f, records)
    return [
        Number("Teacher data generation", usd(one_off["teacher_generation_usd"], 2), COMPUTED,
               "uploaded teacher outputs: their estimated tokens at the teacher's API prices "
               f"({origins.text('teacher_usd_per_million_input_tokens')})"
               if one_off["teacher_generation_usd"]
               else "the teacher ran in our own jobs: its time is in the training compute"),
        Number("Training compute", usd(one_off["training_compute_usd"], 2), MEASURED,
               "device time of " + "; ".join(jobs) + f" — priced at {device_prices_text(f, origins)}"
               if jobs else "no producing job recorded compute"),
        Number("Data filtering and labelling", usd(one_off["filtering_labelling_usd"], 2),
               origins.kind("filtering_labelling_usd"), origins.text("filtering_labelling_usd")),
        Number("Engineering", usd(one_off["engineering_usd"], 2),
               origins.kind("engineering_hours", "engineering_usd_per_hour"),
               f"{a['engineering_hours']:g} hours ({origins.text('engineering_hours')}) at "
               f"{usd(a['engineering_usd_per_hour'])}/hour ({origins.text('engineering_usd_per_hour')})"),
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
    return f"{device_label(device.get('kind', ''))}: {device.get('name', '')} ({device.get('threads', '?')} threads)"


def assumption_rows(f: dict[str, Any], origins: Origins) -> list[tuple[str, str, str]]:
    """Each assumption the figures used as (label, value, where it came from), in the form's order; inputs the
    chosen pricing never read are left out, and training prices only for the device kinds the jobs used."""
    stored = f["assumptions"]
    used = set(inputs_used(f))
    # In the form's order (jsonb keeps none), then anything a newer version added.
    keys = [k for k in ASSUMPTION_LABELS if k in stored] + [k for k in stored if k not in ASSUMPTION_LABELS]
    rows = []
    for key in keys:
        if key not in used:
            continue
        value = stored[key]
        if key == "usd_per_device_hour":
            value = device_prices_used(f)
            if not value:
                continue
        if key.endswith("_host_kind"):
            resolved = f["costs"].get(key) or value
            origin = origins.text(key)
            if origins.kinds.get(key) == ORIGIN_DEFAULT:
                origin += ": the kind it was timed on"
            rows.append((assumption_label(key), HOST_KIND_LABELS.get(resolved, resolved), origin))
            continue
        rows.append((assumption_label(key), assumption_value(key, value), origins.text(key)))
    return rows


def defaults_in(rows: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """The (label, value) of the assumption rows nobody entered."""
    return [(label, value) for label, value, origin in rows if origin.startswith(NOT_ENTERED)]
