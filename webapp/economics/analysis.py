"""One ROI analysis: measured evidence (predictions, speed, compute) plus entered assumptions (volume, prices)
in, every figure the Routing & ROI page, a saved scenario and the stakeholder report show out.

Pure (no Django): the evidence is gathered by webapp.economics.evidence, the assumptions come from the form
or the API; this module only combines routing (webapp.economics.routing/certify) with the cost model
(cost_model/tco/sensitivity). Its output is plain JSON, so a scenario stores exactly what was shown."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from webapp.economics.certify import CertifiedTau, certified_tau
from webapp.economics.cost_model import (
    ApiPrices,
    DeviceUsage,
    EconomicsInputError,
    Mode,
    OneOffInputs,
    SelfHosting,
    Serving,
    TeacherTokens,
    all_modes,
    breakeven,
    check_non_negative,
    check_positive,
    check_share,
    mode_cost,
    one_off_cost,
    usd_per_request,
    verdict_advice,
)
from webapp.economics.labels import VERDICT_LABELS, device_label
from webapp.economics.routing import (
    PredictionSet,
    RoutingCurve,
    RoutingInputError,
    TauChoice,
    apply_tau,
    kept_quality,
    routing_curve,
    routing_point,
    tau_for_quality_bar,
    upfront_routing,
    user_tau,
)
from webapp.economics.sensitivity import sensitivity, teacher_price_kill_point
from webapp.economics.tco import Lifetime, total_cost_of_ownership

TauRule = Literal["quality_bar", "certified", "manual"]
TAU_RULES: tuple[TauRule, ...] = ("quality_bar", "certified", "manual")
# What a self-hosted model's $/hour buys: a CPU or a GPU host, or ("timed") a host of the kind it was timed on.
HostKind = Literal["timed", "cpu", "gpu"]
HOST_KINDS: tuple[HostKind, ...] = ("timed", "cpu", "gpu")
# What an hour of a host of each device kind costs by default ($/hour); the user sets their own.
DEFAULT_USD_PER_DEVICE_HOUR = {"cpu": 0.10, "cuda": 2.50, "mps": 0.50}
# The device kinds (as workers record them) that are GPU hosts.
GPU_KINDS = frozenset({"cuda"})


class AnalysisError(ValueError):
    """The evidence or the assumptions can't give an answer; the message says why and what to do."""


@dataclass(frozen=True)
class Measured:
    """A figure measured by a job, with where it came from (shown next to every number)."""

    value: float
    source: str  # e.g. "evaluate job 12 on 'test v1', 2026-11-30, cpu: AMD EPYC (2 threads)"
    device_kind: str = ""


@dataclass(frozen=True)
class SpeedUp:
    """How many times faster the student is than its teacher, and how fairly that was measured.

    Side by side (one evaluate job timed both, interleaved in rounds on one device) each figure is the median of
    per-round ratios and the ranges are their min–max; from two separate jobs it is a ratio of their figures,
    with no range (their rounds have nothing in common) and a warning saying so."""

    latency: float  # the teacher's batch-1 latency / the student's
    throughput: float  # the student's batch-32 throughput / the teacher's
    latency_range: tuple[float, float] | None
    throughput_range: tuple[float, float] | None
    rounds: int  # interleaved rounds; 0 when timed in different jobs
    side_by_side: bool
    source: str
    warning: str = ""


@dataclass(frozen=True)
class SetEvidence:
    name: str
    role: str  # validation / test / ood
    sha256: str
    evaluation_id: int
    predictions: PredictionSet


@dataclass(frozen=True)
class Compute:
    job_id: int
    what: str
    device_kind: str
    device_seconds: float
    when: str = ""  # the day the job ran (ISO date), shown next to its device time


@dataclass(frozen=True)
class Evidence:
    """What was measured for one student (and its teacher), as gathered from stored evaluations and jobs."""

    student: str
    teacher: str
    validation: SetEvidence
    others: tuple[SetEvidence, ...]
    student_latency_ms: Measured
    student_throughput: Measured  # rows/s at batch 32
    teacher_latency_ms: Measured | None
    teacher_throughput: Measured | None
    compute: tuple[Compute, ...]
    speedup: SpeedUp | None = None  # None when the teacher was never timed
    # Teacher outputs generated elsewhere (uploaded from an API): tokens estimated, priced at API prices.
    uploaded_teacher_input_tokens: float = 0.0
    uploaded_teacher_output_tokens: float = 0.0
    min_quality: float = 0.85
    min_retention: float = 0.97


@dataclass(frozen=True)
class Assumptions:
    """What the user enters (or accepts as defaults). Units are in the names."""

    mode: Mode = Mode.CASCADE
    tau_rule: TauRule = "certified"
    manual_tau: float = 0.9
    certified_target: float = 0.99
    certified_delta: float = 0.05
    certify_on: Literal["agreement", "accuracy"] = "agreement"
    requests_per_month: float = 1_000_000
    input_tokens_per_request: float = 60
    output_tokens_per_request: float = 5
    # The teacher is bought per token (an API) or self-hosted on GPUs at its measured throughput.
    teacher_pricing: Literal["api", "self_hosted"] = "api"
    teacher_usd_per_million_input_tokens: float = 3.0
    teacher_usd_per_million_output_tokens: float = 15.0
    teacher_usd_per_host_hour: float = 2.5
    teacher_hosts: int = 1
    teacher_host_kind: HostKind = "timed"
    # The student runs on hosts of this kind (by default the kind its speed was measured on), at this price and
    # utilisation. A host of another kind than the timing's is flagged: the throughput would not hold there.
    student_usd_per_host_hour: float = 0.10
    student_hosts: int = 1
    student_host_kind: HostKind = "timed"
    utilisation: float = 0.5
    student_fixed_usd_per_month: float = 0.0
    router_usd_per_request: float = 0.0
    router_latency_ms: float = 0.0
    router_accuracy: float = 0.95
    usd_per_device_hour: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_USD_PER_DEVICE_HOUR))
    filtering_labelling_usd: float = 0.0
    engineering_hours: float = 40.0
    engineering_usd_per_hour: float = 100.0
    valid_months: int = 24
    retrain_every_months: int | None = 6
    retraining_share_of_one_off: float = 0.3
    horizon_months: float = 12.0

    def check(self) -> None:
        """Refuse what no figure can be computed from, naming the field (the page shows it, the API 400s)."""
        check_positive("requests_per_month", self.requests_per_month)
        for name in ("input_tokens_per_request", "output_tokens_per_request", "student_fixed_usd_per_month"):
            check_non_negative(name, getattr(self, name))
        check_share("utilisation", self.utilisation)
        check_positive("utilisation", self.utilisation)
        if self.tau_rule not in TAU_RULES:
            raise EconomicsInputError("tau_rule", f"must be one of {', '.join(TAU_RULES)}")
        for name in ("certified_target", "certified_delta"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise EconomicsInputError(name, f"must be strictly between 0 and 1 (got {value:g})")
        check_share("manual_tau", self.manual_tau)
        for name in ("teacher_host_kind", "student_host_kind"):
            if getattr(self, name) not in HOST_KINDS:
                raise EconomicsInputError(name, f"must be one of {', '.join(HOST_KINDS)}")
        check_share("router_accuracy", self.router_accuracy)
        check_positive("horizon_months", self.horizon_months)


def analyse(evidence: Evidence, assumptions: Assumptions) -> dict[str, Any]:
    """Every figure of one scenario, JSON-ready. Raises AnalysisError or EconomicsInputError (both say why)."""
    assumptions.check()
    validation = evidence.validation.predictions
    curve, certified, rules = _tau_rules(evidence, assumptions)
    chosen = rules[assumptions.tau_rule]
    if not chosen.found or chosen.tau is None:
        raise AnalysisError(f"No τ for the '{_RULE_NAMES[assumptions.tau_rule]}' rule: {chosen.reason}")
    tau = chosen.tau
    at_tau = routing_point(validation, tau)
    # Each mode keeps its own share of traffic: the cascade what clears τ, upfront routing what a router of the
    # stated accuracy sends the student (modelled, not measured).
    shares: dict[Mode, float] = {Mode.CASCADE: at_tau.coverage}
    upfront = None
    try:
        modelled = upfront_routing(validation, router_accuracy=assumptions.router_accuracy)
        shares[Mode.UPFRONT_ROUTING] = modelled.student_share
    except RoutingInputError as exc:
        if assumptions.mode == Mode.UPFRONT_ROUTING:
            raise AnalysisError(str(exc)) from exc
    else:
        if assumptions.mode == Mode.UPFRONT_ROUTING:
            upfront = modelled
    share = shares[assumptions.mode]

    serving, costs = _serving(evidence, assumptions, share)
    modes = all_modes(serving)
    for mode, mode_share in shares.items():
        modes[mode] = mode_cost(_serving(evidence, assumptions, mode_share, mode=mode)[0], mode)
    if Mode.UPFRONT_ROUTING not in shares:  # no labelled rows to model a router on: no upfront row
        del modes[Mode.UPFRONT_ROUTING]
    one_off = one_off_cost(_one_off_inputs(evidence, assumptions))
    chosen_mode = modes[assumptions.mode]
    result = breakeven(one_off_usd=one_off.total_usd, monthly_savings_usd=chosen_mode.monthly_savings_usd)
    lifetime = Lifetime(
        valid_months=assumptions.valid_months,
        retrain_every_months=assumptions.retrain_every_months,
        retraining_share_of_one_off=assumptions.retraining_share_of_one_off,
    )
    tco = total_cost_of_ownership(
        one_off_usd=one_off.total_usd,
        keep_teacher_monthly_usd=modes[Mode.KEEP_TEACHER].monthly_usd,
        distilled_monthly_usd=chosen_mode.monthly_usd,
        lifetime=lifetime,
    )
    spread = sensitivity(
        serving,
        mode=assumptions.mode,
        one_off_usd=one_off.total_usd,
        coverage_lower_bound=certified.coverage_lower_bound if assumptions.tau_rule == "certified" else None,
    )
    kill = teacher_price_kill_point(
        serving, mode=assumptions.mode, one_off_usd=one_off.total_usd, horizon_months=assumptions.horizon_months
    )
    figures: dict[str, Any] = _jsonable(
        {
            "student": evidence.student,
            "teacher": evidence.teacher,
            "mode": str(assumptions.mode),
            "tau_rule": assumptions.tau_rule,
            "tau": tau,
            "share": share,
            "shares": {str(mode): value for mode, value in shares.items()},
            "validation": asdict(at_tau),
            "rules": {name: _choice(choice) for name, choice in rules.items()},
            "certificate": asdict(certified),
            "curve": _curve(curve),
            "applied": [_applied(tau, evidence.validation, other) for other in evidence.others],
            "upfront": _maybe(upfront),
            "costs": costs,
            "modes": {str(mode): asdict(cost) for mode, cost in modes.items()},
            "one_off": asdict(one_off) | {"total_usd": one_off.total_usd},
            "breakeven": {
                "months": result.months,
                "verdict": str(result.verdict),
                "label": VERDICT_LABELS[str(result.verdict)],
                "advice": verdict_advice(
                    result.verdict, teacher_self_hosted=assumptions.teacher_pricing == "self_hosted"
                ),
            },
            "tco": asdict(tco),
            "sensitivity": asdict(spread),
            "kill_point": asdict(kill),
            "evidence": _evidence_sources(evidence),
            # The host kinds as resolved (a "timed" host is stored as the kind it was timed on).
            "assumptions": asdict(assumptions)
            | {
                "mode": str(assumptions.mode),
                "teacher_host_kind": costs["teacher_host_kind"] or assumptions.teacher_host_kind,
                "student_host_kind": costs["student_host_kind"],
            },
        }
    )
    return figures


def routing_figures(evidence: Evidence, assumptions: Assumptions) -> dict[str, Any]:
    """The routing curve on validation and the τ each rule picks there, without prices: what a pipeline asks
    before any cost question. A rule that finds no τ is reported with its reason here, not refused."""
    assumptions.check()
    curve, certified, rules = _tau_rules(evidence, assumptions)
    figures: dict[str, Any] = _jsonable(
        {
            "student": evidence.student,
            "teacher": evidence.teacher,
            "validation": _evidence_sources(evidence)["validation"],
            "rules": {name: _choice(choice) for name, choice in rules.items()},
            "certificate": asdict(certified),
            "curve": _curve(curve),
        }
    )
    return figures


_RULE_NAMES = {"quality_bar": "meets the quality bar", "certified": "certified", "manual": "set by hand"}


_API_INPUTS = ("input_tokens_per_request", "output_tokens_per_request")
_API_PRICES = ("teacher_usd_per_million_input_tokens", "teacher_usd_per_million_output_tokens")
_SELF_HOSTED_INPUTS = ("teacher_usd_per_host_hour", "teacher_hosts", "teacher_host_kind")
_ROUTER_INPUTS = ("router_accuracy", "router_usd_per_request", "router_latency_ms")


def inputs_used(figures: dict[str, Any]) -> list[str]:
    """The assumptions `figures` actually depend on, so pages list those and not the ones the chosen pricing
    never read: a self-hosted teacher's token prices (unless uploaded teacher outputs were priced with them) and
    tokens per request, an API teacher's host-hours, τ by hand under another rule, the router without an
    upfront-routing row, the retraining cost when the student is never retrained."""
    a = figures["assumptions"]
    unused: set[str] = set()
    if a["teacher_pricing"] == "self_hosted":
        unused |= set(_API_INPUTS)
        if not figures["one_off"]["teacher_generation_usd"]:
            unused |= set(_API_PRICES)
    else:
        unused |= set(_SELF_HOSTED_INPUTS)
    if a["tau_rule"] != "manual":
        unused.add("manual_tau")
    if "upfront_routing" not in figures["modes"]:
        unused |= set(_ROUTER_INPUTS)
    if a.get("retrain_every_months") is None:
        unused.add("retraining_share_of_one_off")
    return [key for key in a if key not in unused]


def device_prices_used(figures: dict[str, Any]) -> dict[str, float]:
    """The training $/device-hour of the device kinds the producing jobs ran on (the others priced nothing)."""
    kinds = {c["device_kind"] for c in figures["evidence"]["compute"]}
    return {kind: price for kind, price in figures["assumptions"]["usd_per_device_hour"].items() if kind in kinds}


def _tau_rules(
    evidence: Evidence, assumptions: Assumptions
) -> tuple[RoutingCurve, CertifiedTau, dict[TauRule, TauChoice]]:
    """The validation curve and the three τ rules side by side (always on validation, never on test)."""
    validation = evidence.validation.predictions
    try:
        curve = routing_curve(validation)
        certified = certified_tau(
            validation,
            target=assumptions.certified_target,
            delta=assumptions.certified_delta,
            risk=assumptions.certify_on,
        )
        rules: dict[TauRule, TauChoice] = {
            "quality_bar": tau_for_quality_bar(
                curve, min_quality=evidence.min_quality, min_retention=evidence.min_retention
            ),
            "certified": _certified_choice(validation, certified),
            "manual": user_tau(validation, assumptions.manual_tau),
        }
    except RoutingInputError as exc:
        raise AnalysisError(str(exc)) from exc
    return curve, certified, rules


def _certified_choice(validation: PredictionSet, certified: CertifiedTau) -> TauChoice:
    if certified.tau is None:
        return TauChoice(rule="certified", tau=None, point=None, reason=certified.reason)
    return TauChoice(rule="certified", tau=certified.tau, point=certified.point, reason=certified.reason)


def _serving(
    evidence: Evidence, a: Assumptions, share: float, *, mode: Mode | None = None
) -> tuple[Serving, dict[str, Any]]:
    """Serving at `share` for `mode` (default: the chosen one; the router is priced in upfront routing only)."""
    mode = a.mode if mode is None else mode
    tokens = {
        "input_tokens_per_request": a.input_tokens_per_request,
        "output_tokens_per_request": a.output_tokens_per_request,
    }
    teacher_warning, teacher_host = "", ""
    if a.teacher_pricing == "api":
        teacher_pricing: ApiPrices | SelfHosting = ApiPrices(
            usd_per_million_input_tokens=a.teacher_usd_per_million_input_tokens,
            usd_per_million_output_tokens=a.teacher_usd_per_million_output_tokens,
        )
        teacher_basis = "API prices per token"
    else:
        if evidence.teacher_throughput is None:
            raise AnalysisError(
                "A self-hosted teacher is priced from its measured throughput, and the teacher has none: "
                "evaluate the teacher (the evaluate job times it), or price it per token."
            )
        teacher_pricing = SelfHosting(
            usd_per_gpu_hour=a.teacher_usd_per_host_hour,
            gpus=a.teacher_hosts,
            throughput_requests_per_second=evidence.teacher_throughput.value,
            utilisation=a.utilisation,
        )
        teacher_host = host_kind(a.teacher_host_kind, evidence.teacher_throughput.device_kind)
        teacher_basis = (
            f"{a.teacher_hosts} {teacher_host.upper()} host(s) at ${a.teacher_usd_per_host_hour:g}/hour, "
            f"{a.utilisation:.0%} utilised, at its measured throughput ({evidence.teacher_throughput.source})"
        )
        teacher_warning = host_mismatch(
            "teacher", teacher_host, evidence.teacher_throughput.device_kind, a.teacher_usd_per_host_hour
        )
    student_pricing = SelfHosting(
        usd_per_gpu_hour=a.student_usd_per_host_hour,
        gpus=a.student_hosts,
        throughput_requests_per_second=evidence.student_throughput.value,
        utilisation=a.utilisation,
    )
    student_timed_on = evidence.student_throughput.device_kind
    student_host = host_kind(a.student_host_kind, student_timed_on)
    c_t = usd_per_request(teacher_pricing, **tokens)
    c_s = usd_per_request(student_pricing, **tokens)
    teacher_latency = evidence.teacher_latency_ms.value if evidence.teacher_latency_ms else 0.0
    serving = Serving(
        requests_per_month=a.requests_per_month,
        teacher_usd_per_request=c_t,
        student_usd_per_request=c_s,
        student_share=share,
        teacher_latency_ms=teacher_latency,
        student_latency_ms=evidence.student_latency_ms.value,
        student_fixed_usd_per_month=a.student_fixed_usd_per_month,
        router_usd_per_request=a.router_usd_per_request if mode == Mode.UPFRONT_ROUTING else 0.0,
        router_latency_ms=a.router_latency_ms if mode == Mode.UPFRONT_ROUTING else 0.0,
    )
    costs = {
        "teacher_usd_per_request": c_t,
        "teacher_basis": teacher_basis,
        "teacher_warning": teacher_warning,
        "teacher_host_kind": teacher_host,
        "student_usd_per_request": c_s,
        "student_basis": (
            f"{a.student_hosts} {student_host.upper()} host(s) at ${a.student_usd_per_host_hour:g}/hour, "
            f"{a.utilisation:.0%} utilised, at its measured throughput ({evidence.student_throughput.source})"
        ),
        "student_host_kind": student_host,
        "student_warning": host_mismatch("student", student_host, student_timed_on, a.student_usd_per_host_hour),
        "student_to_teacher_cost": c_s / c_t if c_t else None,
        "student_to_teacher_cost_range": _cost_ratio_range(evidence, a, c_s / c_t if c_t else None),
    }
    return serving, costs


def host_kind(chosen: str, timed_on: str) -> str:
    """The host a self-hosted model is priced on: the kind chosen, or the kind it was timed on ("cpu"/"gpu")."""
    if chosen != "timed":
        return chosen
    return "gpu" if timed_on in GPU_KINDS else "cpu"


def host_mismatch(model: str, host: str, timed_on: str, usd_per_hour: float) -> str:
    """Why a host's $/hour and a throughput timed on another kind of device don't belong together ("" if they
    do). The figure stays, flagged, so the user can see it and fix it."""
    timed_gpu = timed_on in GPU_KINDS
    if host == "gpu" and not timed_gpu:
        return (
            f"the {model}'s throughput was measured on {device_label(timed_on)}, priced as a GPU host "
            f"(${usd_per_hour:g}/hour): a GPU is faster than that timing, so the cost per request is overstated; "
            f"measure it on a GPU worker, or price a CPU host"
        )
    if host == "cpu" and timed_on != "cpu":
        return (
            f"the {model}'s throughput was measured on {device_label(timed_on)}, priced as a CPU host "
            f"(${usd_per_hour:g}/hour): a CPU host is slower than that timing, so the cost per request is "
            f"understated; measure it on a CPU worker, or price a host of the kind it was timed on"
        )
    return ""


def _cost_ratio_range(evidence: Evidence, a: Assumptions, ratio: float | None) -> tuple[float, float] | None:
    """c_S / c_T at the slowest and the fastest round's throughput ratio, when both models are self-hosted and
    were timed side by side: c_S / c_T = (host prices S / T) / (throughput S / T), so it moves with that ratio."""
    speedup = evidence.speedup
    if ratio is None or a.teacher_pricing != "self_hosted" or speedup is None or speedup.throughput_range is None:
        return None
    assert evidence.teacher_throughput is not None  # self-hosted pricing was refused above without it
    measured = evidence.student_throughput.value / evidence.teacher_throughput.value
    low, high = speedup.throughput_range
    return (ratio * measured / high, ratio * measured / low)


def _one_off_inputs(evidence: Evidence, a: Assumptions) -> OneOffInputs:
    missing = sorted({c.device_kind for c in evidence.compute} - set(a.usd_per_device_hour))
    if missing:
        raise EconomicsInputError("usd_per_device_hour", f"needs a price for the device kind(s) {', '.join(missing)}")
    uploaded = None
    if evidence.uploaded_teacher_input_tokens or evidence.uploaded_teacher_output_tokens:
        uploaded = TeacherTokens(
            input_tokens=evidence.uploaded_teacher_input_tokens,
            output_tokens=evidence.uploaded_teacher_output_tokens,
            prices=ApiPrices(
                usd_per_million_input_tokens=a.teacher_usd_per_million_input_tokens,
                usd_per_million_output_tokens=a.teacher_usd_per_million_output_tokens,
            ),
        )
    return OneOffInputs(
        usd_per_device_hour=a.usd_per_device_hour,
        teacher_generation_tokens=uploaded,
        # A teacher that ran on our workers did so inside the jobs below: its time is in their compute.
        training_compute=tuple(DeviceUsage(c.device_kind, c.device_seconds) for c in evidence.compute),
        filtering_labelling_usd=a.filtering_labelling_usd,
        engineering_hours=a.engineering_hours,
        engineering_usd_per_hour=a.engineering_usd_per_hour,
    )


def _choice(choice: TauChoice) -> dict[str, Any]:
    return {"tau": choice.tau, "found": choice.found, "reason": choice.reason, "point": _maybe(choice.point)}


def _applied(tau: float, validation: SetEvidence, other: SetEvidence) -> dict[str, Any]:
    applied = apply_tau(tau, validation=validation.predictions, other=other.predictions)
    return {
        "name": other.name,
        "role": other.role,
        "sha256": other.sha256,
        "evaluation_id": other.evaluation_id,
        # The share of the rows the student kept that it answered right, out-of-scope rows counted wrong.
        "predicted_kept_quality": kept_quality(validation.predictions, tau),
        "realised_kept_quality": kept_quality(other.predictions, tau),
    } | asdict(applied)


def _curve(curve: RoutingCurve) -> dict[str, Any]:
    """The curve for charts: thinned to at most ~200 points (a page needs its shape, not every row)."""
    points = curve.points
    step = max(1, math.ceil(len(points) / 200))
    kept = points[::step] + ((points[-1],) if points and (len(points) - 1) % step else ())
    return {
        "rows": curve.rows,
        "teacher_quality": curve.teacher_quality,
        "teacher_accuracy": curve.teacher_accuracy,
        "student_accuracy": curve.student_accuracy,
        "points": [asdict(p) for p in kept],
    }


def _evidence_sources(evidence: Evidence) -> dict[str, Any]:
    def measured(m: Measured | None) -> dict[str, Any] | None:
        return asdict(m) if m else None

    return {
        "validation": {
            "name": evidence.validation.name,
            "sha256": evidence.validation.sha256,
            "evaluation_id": evidence.validation.evaluation_id,
            "rows": len(evidence.validation.predictions),
        },
        "student_latency_ms": measured(evidence.student_latency_ms),
        "student_throughput": measured(evidence.student_throughput),
        "teacher_latency_ms": measured(evidence.teacher_latency_ms),
        "teacher_throughput": measured(evidence.teacher_throughput),
        "speedup": _maybe(evidence.speedup),
        "compute": [asdict(c) for c in evidence.compute],
    }


def _maybe(value: Any) -> Any:
    return asdict(value) if value is not None else None


def _jsonable(value: Any) -> Any:
    """Infinities and NaN have no JSON form: None, which the pages read as "—" (or "never")."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
