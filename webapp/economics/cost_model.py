"""What each way of serving costs per month, what distilling costs once, and when it pays off.

Notation (../shared/DESIGN.md, "The economics"): `R` requests per month, `s` the share of requests the
student keeps (answers itself), `c_T` / `c_S` the teacher's / student's cost per request in USD, `L_T` / `L_S`
their latencies in ms.

Per request:
    API prices:    c = (tokens_in * usd_per_1M_in + tokens_out * usd_per_1M_out) / 1e6
    self-hosting:  c = usd_per_gpu_hour * gpus / requests_per_hour,
                   requests_per_hour = measured throughput (rows/s) * 3600 * utilisation

Per month:
    keep-teacher:           R * c_T                                          latency L_T
    upfront routing:        R * (s*c_S + (1-s)*c_T + c_router) + fixed_S      latency L_router + s*L_S + (1-s)*L_T
    student-first cascade:  R * (c_S + (1-s)*c_T) + fixed_S                  latency L_S + (1-s)*L_T
    savings = keep-teacher - mode;  cost reduction = keep-teacher / mode
    (savings, simplified: upfront R * (s*(c_T - c_S) - c_router) - fixed_S; cascade R * (s*c_T - c_S) - fixed_S)

Latencies are means over requests: in upfront routing every request pays the router, then one model; in the
cascade every request pays the student and the escalated share the teacher as well.

Once: teacher data generation + measured training compute + filtering/labelling + engineering hours * rate.
Breakeven months = one-off / monthly savings, "never" when savings <= 0.

Bad input raises `EconomicsInputError` naming the field. Zero is refused where it makes the model meaningless
(volume, throughput, utilisation, GPUs) and for the prices of serving (API prices, $/GPU-hour: a free teacher
leaves nothing to save, a free GPU-hour is almost always a typo); it is accepted for one-off components
(no labelling was needed, the training GPUs are already paid for) and for the student's cost per request
(a student whose hosting is all in its fixed monthly cost)."""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

SECONDS_PER_HOUR = 3600
TOKENS_PER_PRICE_UNIT = 1_000_000  # API prices are quoted per million tokens

# Verdict bands, in months to break even. The edges belong to the better band: exactly 6 months pays off,
# exactly 12 months is still "think carefully".
PAYS_OFF_WITHIN_MONTHS = 6.0
THINK_CAREFULLY_WITHIN_MONTHS = 12.0
# What to try instead of distilling, by how the teacher is paid for: an API teacher's bill is tokens, a
# self-hosted teacher's is host-hours.
ALTERNATIVES = ("better prompts", "a cheaper API tier", "retrieval (RAG)")
SELF_HOSTED_ALTERNATIVES = (
    "a smaller or cheaper GPU for the teacher",
    "batching requests to keep its hosts busy",
    "quantizing the teacher",
)


class EconomicsInputError(ValueError):
    """An input to the cost model is out of range: `field` names it, `problem` says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        self.message = f"{field}: {problem}"
        super().__init__(self.message)


# --- input checks: each names the field and what was given -------------------------------------------------


def _finite(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EconomicsInputError(name, f"must be a finite number (got {value!r}).")


def check_positive(name: str, value: float) -> None:
    _finite(name, value)
    if value <= 0:
        raise EconomicsInputError(name, f"must be more than 0 (got {value:g}).")


def check_non_negative(name: str, value: float) -> None:
    _finite(name, value)
    if value < 0:
        raise EconomicsInputError(name, f"must not be negative (got {value:g}).")


def check_share(name: str, value: float) -> None:
    """A share of traffic: 0 (none) to 1 (all), both ends allowed."""
    _finite(name, value)
    if not 0 <= value <= 1:
        raise EconomicsInputError(name, f"must be between 0 and 1 (got {value:g}).")


def check_whole(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EconomicsInputError(name, f"must be a whole number (got {value!r}).")
    if value < minimum:
        raise EconomicsInputError(name, f"must be at least {minimum} (got {value}).")


# --- cost per request ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiPrices:
    """A model billed per token, prices in USD per million tokens."""

    usd_per_million_input_tokens: float
    usd_per_million_output_tokens: float

    def __post_init__(self) -> None:
        check_positive("usd_per_million_input_tokens", self.usd_per_million_input_tokens)
        check_positive("usd_per_million_output_tokens", self.usd_per_million_output_tokens)

    def tokens_usd(self, *, input_tokens: float, output_tokens: float) -> float:
        """(input_tokens * $/1M in + output_tokens * $/1M out) / 1e6."""
        check_non_negative("input_tokens", input_tokens)
        check_non_negative("output_tokens", output_tokens)
        return (
            input_tokens * self.usd_per_million_input_tokens + output_tokens * self.usd_per_million_output_tokens
        ) / TOKENS_PER_PRICE_UNIT


@dataclass(frozen=True)
class SelfHosting:
    """A model on rented or owned GPUs, billed by the hour whether busy or not.

    `throughput_requests_per_second` is the measured batch throughput of this model on this device kind
    (rows/s), `utilisation` the share of the hours it is kept busy, in (0, 1]."""

    usd_per_gpu_hour: float
    gpus: int
    throughput_requests_per_second: float
    utilisation: float

    def __post_init__(self) -> None:
        check_positive("usd_per_gpu_hour", self.usd_per_gpu_hour)
        check_whole("gpus", self.gpus, minimum=1)
        check_positive("throughput_requests_per_second", self.throughput_requests_per_second)
        _finite("utilisation", self.utilisation)
        if not 0 < self.utilisation <= 1:
            raise EconomicsInputError("utilisation", f"must be more than 0 and at most 1 (got {self.utilisation:g}).")

    @property
    def requests_per_hour(self) -> float:
        """throughput (rows/s) * 3600 * utilisation."""
        return self.throughput_requests_per_second * SECONDS_PER_HOUR * self.utilisation

    @property
    def usd_per_request(self) -> float:
        """$/GPU-hour * GPUs / requests per hour."""
        return self.usd_per_gpu_hour * self.gpus / self.requests_per_hour


def usd_per_request(
    pricing: ApiPrices | SelfHosting, *, input_tokens_per_request: float, output_tokens_per_request: float
) -> float:
    """One request's cost in USD under either pricing (self-hosting ignores the token counts)."""
    if isinstance(pricing, SelfHosting):
        return pricing.usd_per_request
    return pricing.tokens_usd(input_tokens=input_tokens_per_request, output_tokens=output_tokens_per_request)


# --- cost per month, by mode ---------------------------------------------------------------------------------


class Mode(StrEnum):
    KEEP_TEACHER = "keep_teacher"
    UPFRONT_ROUTING = "upfront_routing"  # a router picks the model before either runs
    CASCADE = "cascade"  # student first; the unsure share escalates to the teacher


@dataclass(frozen=True)
class Serving:
    """Monthly traffic and what serving it costs, for every mode.

    `student_share` is s: the share of requests the student keeps (upfront routing: the share the router
    sends it). The router fields are used by upfront routing only."""

    requests_per_month: float
    teacher_usd_per_request: float
    student_usd_per_request: float
    student_share: float
    teacher_latency_ms: float
    student_latency_ms: float
    student_fixed_usd_per_month: float = 0.0
    router_usd_per_request: float = 0.0
    router_latency_ms: float = 0.0

    def __post_init__(self) -> None:
        check_positive("requests_per_month", self.requests_per_month)
        check_positive("teacher_usd_per_request", self.teacher_usd_per_request)
        check_non_negative("student_usd_per_request", self.student_usd_per_request)
        check_share("student_share", self.student_share)
        check_non_negative("teacher_latency_ms", self.teacher_latency_ms)
        check_non_negative("student_latency_ms", self.student_latency_ms)
        check_non_negative("student_fixed_usd_per_month", self.student_fixed_usd_per_month)
        check_non_negative("router_usd_per_request", self.router_usd_per_request)
        check_non_negative("router_latency_ms", self.router_latency_ms)


@dataclass(frozen=True)
class ModeCost:
    """One mode's monthly figures. `cost_reduction` is keep-teacher cost / this mode's (inf if it costs 0)."""

    mode: Mode
    monthly_usd: float
    monthly_savings_usd: float
    cost_reduction: float
    mean_latency_ms: float


def monthly_usd(serving: Serving, mode: Mode, *, teacher_usd_per_request: float | None = None) -> float:
    """The mode's monthly cost (formulas in the module docstring).

    `teacher_usd_per_request` overrides c_T without re-checking it, so sensitivity can price a teacher down
    to zero; every mode is linear in c_T."""
    r, s = serving.requests_per_month, serving.student_share
    c_t = serving.teacher_usd_per_request if teacher_usd_per_request is None else teacher_usd_per_request
    c_s, fixed = serving.student_usd_per_request, serving.student_fixed_usd_per_month
    if mode is Mode.KEEP_TEACHER:
        return r * c_t
    if mode is Mode.UPFRONT_ROUTING:
        return r * (s * c_s + (1 - s) * c_t + serving.router_usd_per_request) + fixed
    return r * (c_s + (1 - s) * c_t) + fixed


def monthly_savings_usd(serving: Serving, mode: Mode, *, teacher_usd_per_request: float | None = None) -> float:
    """keep-teacher monthly cost - the mode's, at the same teacher price, simplified so that a small saving on a
    large bill is not lost to rounding (nor its sign):
        upfront routing:  R * (s*(c_T - c_S) - c_router) - fixed_S
        cascade:          R * (s*c_T - c_S) - fixed_S"""
    r, s = serving.requests_per_month, serving.student_share
    c_t = serving.teacher_usd_per_request if teacher_usd_per_request is None else teacher_usd_per_request
    c_s, fixed = serving.student_usd_per_request, serving.student_fixed_usd_per_month
    if mode is Mode.KEEP_TEACHER:
        return 0.0
    if mode is Mode.UPFRONT_ROUTING:
        return r * (s * (c_t - c_s) - serving.router_usd_per_request) - fixed
    return r * (s * c_t - c_s) - fixed


def mean_latency_ms(serving: Serving, mode: Mode) -> float:
    """keep-teacher L_T; upfront L_router + s*L_S + (1-s)*L_T; cascade L_S + (1-s)*L_T."""
    s, l_s, l_t = serving.student_share, serving.student_latency_ms, serving.teacher_latency_ms
    if mode is Mode.KEEP_TEACHER:
        return l_t
    if mode is Mode.UPFRONT_ROUTING:
        return serving.router_latency_ms + s * l_s + (1 - s) * l_t
    return l_s + (1 - s) * l_t


def mode_cost(serving: Serving, mode: Mode) -> ModeCost:
    cost = monthly_usd(serving, mode)
    keep = monthly_usd(serving, Mode.KEEP_TEACHER)
    return ModeCost(
        mode=mode,
        monthly_usd=cost,
        monthly_savings_usd=monthly_savings_usd(serving, mode),
        cost_reduction=keep / cost if cost > 0 else math.inf,
        mean_latency_ms=mean_latency_ms(serving, mode),
    )


def all_modes(serving: Serving) -> dict[Mode, ModeCost]:
    """Every mode's figures, keep-teacher first, for a side-by-side table."""
    return {mode: mode_cost(serving, mode) for mode in Mode}


# --- one-off cost --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceUsage:
    """Compute a job used, as measured by the job: device kind (e.g. "cuda:NVIDIA H200", "cpu") and seconds."""

    device_kind: str
    device_seconds: float

    def __post_init__(self) -> None:
        if not self.device_kind:
            raise EconomicsInputError("device_kind", "must name the device kind.")
        check_non_negative("device_seconds", self.device_seconds)


@dataclass(frozen=True)
class TeacherTokens:
    """Tokens the teacher read and wrote to label the training data, at its API prices."""

    input_tokens: float
    output_tokens: float
    prices: ApiPrices

    def __post_init__(self) -> None:
        check_non_negative("teacher_input_tokens", self.input_tokens)
        check_non_negative("teacher_output_tokens", self.output_tokens)

    @property
    def usd(self) -> float:
        return self.prices.tokens_usd(input_tokens=self.input_tokens, output_tokens=self.output_tokens)


@dataclass(frozen=True)
class OneOffInputs:
    """What distilling costs once. Teacher data generation is billed by tokens (an API teacher), by device time
    (a teacher run in our own jobs), or both; training compute is every job that produced the candidates.
    Device time is priced by `usd_per_device_hour[device_kind]`, which must price every kind used."""

    usd_per_device_hour: Mapping[str, float] = field(default_factory=dict)
    teacher_generation_tokens: TeacherTokens | None = None
    teacher_generation_compute: tuple[DeviceUsage, ...] = ()
    training_compute: tuple[DeviceUsage, ...] = ()
    filtering_labelling_usd: float = 0.0
    engineering_hours: float = 0.0
    engineering_usd_per_hour: float = 0.0

    def __post_init__(self) -> None:
        for kind, price in self.usd_per_device_hour.items():
            check_non_negative(f"usd_per_device_hour[{kind}]", price)
        for usage in (*self.teacher_generation_compute, *self.training_compute):
            if usage.device_kind not in self.usd_per_device_hour:
                raise EconomicsInputError(
                    f"usd_per_device_hour[{usage.device_kind}]", "no price per hour for this device kind."
                )
        check_non_negative("filtering_labelling_usd", self.filtering_labelling_usd)
        check_non_negative("engineering_hours", self.engineering_hours)
        check_non_negative("engineering_usd_per_hour", self.engineering_usd_per_hour)

    def device_usd(self, usages: tuple[DeviceUsage, ...]) -> float:
        """sum(device-seconds / 3600 * $/hour of its device kind)."""
        return sum(u.device_seconds / SECONDS_PER_HOUR * self.usd_per_device_hour[u.device_kind] for u in usages)


@dataclass(frozen=True)
class OneOffCost:
    """The one-off cost, itemised for the report."""

    teacher_generation_usd: float
    training_compute_usd: float
    filtering_labelling_usd: float
    engineering_usd: float

    @property
    def total_usd(self) -> float:
        return (
            self.teacher_generation_usd
            + self.training_compute_usd
            + self.filtering_labelling_usd
            + self.engineering_usd
        )


def one_off_cost(inputs: OneOffInputs) -> OneOffCost:
    tokens = inputs.teacher_generation_tokens
    return OneOffCost(
        teacher_generation_usd=(tokens.usd if tokens else 0.0) + inputs.device_usd(inputs.teacher_generation_compute),
        training_compute_usd=inputs.device_usd(inputs.training_compute),
        filtering_labelling_usd=inputs.filtering_labelling_usd,
        engineering_usd=inputs.engineering_hours * inputs.engineering_usd_per_hour,
    )


# --- breakeven and verdict ----------------------------------------------------------------------------------


class Verdict(StrEnum):
    PAYS_OFF = "pays_off"  # breakeven <= 6 months
    THINK_CAREFULLY = "think_carefully"  # 6 < breakeven <= 12
    WRONG_TOOL = "wrong_tool"  # breakeven > 12
    NEVER = "never"  # no monthly savings to pay the one-off back


def _otherwise(alternatives: tuple[str, ...]) -> str:
    return f"{', '.join(alternatives[:-1])} or {alternatives[-1]}"


def verdict_advice(verdict: Verdict, *, teacher_self_hosted: bool = False) -> str:
    """What the verdict means and, when distilling does not pay, what to try first: ways to cut a self-hosted
    teacher's host-hours, or an API teacher's token bill."""
    otherwise = _otherwise(SELF_HOSTED_ALTERNATIVES if teacher_self_hosted else ALTERNATIVES)
    if verdict is Verdict.PAYS_OFF:
        return f"Pays off: the one-off cost is back within {PAYS_OFF_WITHIN_MONTHS:g} months."
    if verdict is Verdict.THINK_CAREFULLY:
        return (
            f"Think carefully: breaking even takes {PAYS_OFF_WITHIN_MONTHS:g} to {THINK_CAREFULLY_WITHIN_MONTHS:g} "
            "months, long enough for prices, traffic or the task to change first."
        )
    if verdict is Verdict.WRONG_TOOL:
        return (
            f"Wrong tool: breaking even takes more than {THINK_CAREFULLY_WITHIN_MONTHS:g} months; "
            f"try {otherwise} first."
        )
    return (
        "Never pays off: serving with the student costs at least as much each month as keeping the teacher; "
        f"try {otherwise} instead."
    )


VERDICT_ADVICE: Mapping[Verdict, str] = {verdict: verdict_advice(verdict) for verdict in Verdict}


def verdict_for(breakeven_months: float | None) -> Verdict:
    """None means never. Band edges belong to the better band (6 pays off, 12 is think carefully)."""
    if breakeven_months is None:
        return Verdict.NEVER
    if breakeven_months <= PAYS_OFF_WITHIN_MONTHS:
        return Verdict.PAYS_OFF
    if breakeven_months <= THINK_CAREFULLY_WITHIN_MONTHS:
        return Verdict.THINK_CAREFULLY
    return Verdict.WRONG_TOOL


@dataclass(frozen=True)
class Breakeven:
    """`months` is None when it never breaks even (savings <= 0); never a silent infinity or zero."""

    months: float | None
    verdict: Verdict

    @property
    def never(self) -> bool:
        return self.months is None

    @property
    def advice(self) -> str:
        return VERDICT_ADVICE[self.verdict]


def breakeven(*, one_off_usd: float, monthly_savings_usd: float) -> Breakeven:
    """months = one-off / monthly savings; never when savings <= 0 (even with no one-off cost: nothing to gain)."""
    check_non_negative("one_off_usd", one_off_usd)
    _finite("monthly_savings_usd", monthly_savings_usd)
    months = one_off_usd / monthly_savings_usd if monthly_savings_usd > 0 else None
    return Breakeven(months=months, verdict=verdict_for(months))
