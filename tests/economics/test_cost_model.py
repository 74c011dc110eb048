"""The cost model against examples worked by hand (the arithmetic is in the comments)."""

import math
from collections.abc import Callable

import pytest

from tests.economics.examples import TEACHER_PRICES, serving
from webapp.economics.cost_model import (
    ALTERNATIVES,
    ApiPrices,
    DeviceUsage,
    EconomicsInputError,
    Mode,
    OneOffInputs,
    SelfHosting,
    TeacherTokens,
    Verdict,
    all_modes,
    breakeven,
    mode_cost,
    one_off_cost,
    usd_per_request,
)


def test_an_api_request_costs_its_tokens_at_the_price_per_million() -> None:
    # (400 * 2.50 + 20 * 10.00) / 1e6 = (1000 + 200) / 1e6
    cost = usd_per_request(TEACHER_PRICES, input_tokens_per_request=400, output_tokens_per_request=20)
    assert cost == pytest.approx(0.0012)


def test_a_self_hosted_request_costs_the_gpu_hours_over_the_requests_served_in_them() -> None:
    # 250 rows/s * 3600 * 0.4 utilisation = 360,000 requests an hour; 2 GPUs at $3.60 = $7.20 an hour
    hosting = SelfHosting(usd_per_gpu_hour=3.6, gpus=2, throughput_requests_per_second=250, utilisation=0.4)
    assert hosting.requests_per_hour == pytest.approx(360_000)
    assert usd_per_request(hosting, input_tokens_per_request=400, output_tokens_per_request=20) == pytest.approx(
        0.00002
    )


def test_keeping_the_teacher_costs_every_request_at_the_teacher_price() -> None:
    keep = mode_cost(serving(0.9), Mode.KEEP_TEACHER)
    assert keep.monthly_usd == pytest.approx(1200)  # 1e6 * 0.0012
    assert keep.monthly_savings_usd == 0
    assert keep.cost_reduction == pytest.approx(1)
    assert keep.mean_latency_ms == 800


@pytest.mark.parametrize(
    ("share", "monthly_usd", "latency_ms"),
    [
        # 1e6 * (0.00001 + (1 - s) * 0.0012) + 100;  20 + (1 - s) * 800
        (0.0, 1310, 820),
        (0.5, 710, 420),
        (0.9, 230, 100),
        (1.0, 110, 20),
    ],
)
def test_the_cascade_pays_the_student_on_every_request_and_the_teacher_on_the_escalated_ones(
    share: float, monthly_usd: float, latency_ms: float
) -> None:
    cascade = mode_cost(serving(share), Mode.CASCADE)
    assert cascade.monthly_usd == pytest.approx(monthly_usd)
    assert cascade.monthly_savings_usd == pytest.approx(1200 - monthly_usd)
    assert cascade.cost_reduction == pytest.approx(1200 / monthly_usd)
    assert cascade.mean_latency_ms == pytest.approx(latency_ms)


@pytest.mark.parametrize(
    ("share", "monthly_usd", "latency_ms"),
    [
        # 1e6 * (s * 0.00001 + (1 - s) * 0.0012 + 0.00002) + 100;  5 + s * 20 + (1 - s) * 800
        (0.0, 1320, 805),
        (0.5, 725, 415),
        (0.9, 249, 103),
        (1.0, 130, 25),
    ],
)
def test_upfront_routing_pays_the_router_on_every_request_and_one_model_each(
    share: float, monthly_usd: float, latency_ms: float
) -> None:
    routed = mode_cost(serving(share), Mode.UPFRONT_ROUTING)
    assert routed.monthly_usd == pytest.approx(monthly_usd)
    assert routed.monthly_savings_usd == pytest.approx(1200 - monthly_usd)
    assert routed.cost_reduction == pytest.approx(1200 / monthly_usd)
    assert routed.mean_latency_ms == pytest.approx(latency_ms)


def test_without_fixed_costs_the_cascade_at_90_percent_is_about_9_times_cheaper() -> None:
    # 1e6 * (0.00001 + 0.1 * 0.0012) = 130; 1200 / 130
    cascade = mode_cost(serving(0.9, student_fixed_usd_per_month=0), Mode.CASCADE)
    assert cascade.monthly_usd == pytest.approx(130)
    assert cascade.cost_reduction == pytest.approx(9.2308, rel=1e-4)


def test_a_free_student_taking_everything_is_an_infinite_cost_reduction_not_a_division_error() -> None:
    free = serving(1.0, student_usd_per_request=0, student_fixed_usd_per_month=0)
    assert mode_cost(free, Mode.CASCADE).cost_reduction == math.inf


def test_all_modes_lists_keep_teacher_first() -> None:
    modes = all_modes(serving(0.9))
    assert list(modes) == [Mode.KEEP_TEACHER, Mode.UPFRONT_ROUTING, Mode.CASCADE]
    assert modes[Mode.CASCADE].monthly_usd == pytest.approx(230)


def test_the_one_off_cost_adds_teacher_data_measured_compute_labelling_and_labour() -> None:
    inputs = OneOffInputs(
        usd_per_device_hour={"cuda:H200": 4.0, "cpu": 0.1},
        # 10,000 examples of 400 tokens in, 20 out: 4M * 2.50 / 1M + 0.2M * 10 / 1M = 10 + 2
        teacher_generation_tokens=TeacherTokens(input_tokens=4_000_000, output_tokens=200_000, prices=TEACHER_PRICES),
        teacher_generation_compute=(DeviceUsage("cuda:H200", 1800),),  # half an hour at $4
        # 2 h + 1 h at $4, 10 h of CPU at $0.10
        training_compute=(DeviceUsage("cuda:H200", 7200), DeviceUsage("cuda:H200", 3600), DeviceUsage("cpu", 36_000)),
        filtering_labelling_usd=500,
        engineering_hours=40,
        engineering_usd_per_hour=100,
    )
    cost = one_off_cost(inputs)
    assert cost.teacher_generation_usd == pytest.approx(14)
    assert cost.training_compute_usd == pytest.approx(13)
    assert cost.filtering_labelling_usd == 500
    assert cost.engineering_usd == 4000
    assert cost.total_usd == pytest.approx(4527)


def test_a_one_off_with_nothing_entered_costs_nothing() -> None:
    assert one_off_cost(OneOffInputs()).total_usd == 0


def test_the_worked_cascade_pays_off_in_under_five_months() -> None:
    savings = mode_cost(serving(0.9), Mode.CASCADE).monthly_savings_usd  # 1200 - 230 = 970
    result = breakeven(one_off_usd=4527, monthly_savings_usd=savings)
    assert result.months == pytest.approx(4527 / 970)
    assert result.verdict is Verdict.PAYS_OFF


@pytest.mark.parametrize(
    ("one_off_usd", "months", "verdict"),
    [
        (0, 0.0, Verdict.PAYS_OFF),
        (3_000, 3.0, Verdict.PAYS_OFF),
        (6_000, 6.0, Verdict.PAYS_OFF),  # the edge belongs to the better band
        (6_500, 6.5, Verdict.THINK_CAREFULLY),
        (12_000, 12.0, Verdict.THINK_CAREFULLY),  # likewise
        (12_500, 12.5, Verdict.WRONG_TOOL),
        (36_000, 36.0, Verdict.WRONG_TOOL),
    ],
)
def test_breakeven_is_the_one_off_over_the_monthly_savings_and_falls_in_a_band(
    one_off_usd: float, months: float, verdict: Verdict
) -> None:
    result = breakeven(one_off_usd=one_off_usd, monthly_savings_usd=1000)
    assert result.months == months
    assert result.verdict is verdict
    assert not result.never


@pytest.mark.parametrize("savings", [0.0, -110.0])
def test_no_savings_never_break_even_even_without_a_one_off_cost(savings: float) -> None:
    for one_off in (0, 4527):
        result = breakeven(one_off_usd=one_off, monthly_savings_usd=savings)
        assert result.never
        assert result.months is None
        assert result.verdict is Verdict.NEVER


def test_a_student_keeping_nothing_in_a_cascade_never_pays_off() -> None:
    savings = mode_cost(serving(0.0), Mode.CASCADE).monthly_savings_usd  # 1200 - 1310
    assert savings == pytest.approx(-110)
    assert breakeven(one_off_usd=4527, monthly_savings_usd=savings).verdict is Verdict.NEVER


def test_the_wrong_tool_and_never_verdicts_name_the_alternatives() -> None:
    for verdict_of in (
        breakeven(one_off_usd=13_000, monthly_savings_usd=1000),
        breakeven(one_off_usd=1, monthly_savings_usd=0),
    ):
        assert all(alternative in verdict_of.advice for alternative in ALTERNATIVES)
    assert "6" in breakeven(one_off_usd=1, monthly_savings_usd=1).advice


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: serving(0.9, requests_per_month=0), "requests_per_month"),
        (lambda: serving(0.9, requests_per_month=-5), "requests_per_month"),
        (lambda: serving(0.9, teacher_usd_per_request=0), "teacher_usd_per_request"),
        (lambda: serving(0.9, student_usd_per_request=-0.001), "student_usd_per_request"),
        (lambda: serving(1.2), "student_share"),
        (lambda: serving(-0.1), "student_share"),
        (lambda: serving(math.nan), "student_share"),
        (lambda: serving(0.9, student_fixed_usd_per_month=-1), "student_fixed_usd_per_month"),
        (lambda: serving(0.9, router_usd_per_request=-1), "router_usd_per_request"),
        (lambda: serving(0.9, teacher_latency_ms=-1), "teacher_latency_ms"),
        (lambda: serving(0.9, requests_per_month=math.inf), "requests_per_month"),
        (lambda: ApiPrices(0, 10), "usd_per_million_input_tokens"),
        (lambda: ApiPrices(2.5, -10), "usd_per_million_output_tokens"),
        (lambda: SelfHosting(0, 1, 100, 0.5), "usd_per_gpu_hour"),
        (lambda: SelfHosting(2, 0, 100, 0.5), "gpus"),
        (lambda: SelfHosting(2, 1.5, 100, 0.5), "gpus"),  # type: ignore[arg-type]
        (lambda: SelfHosting(2, 1, 0, 0.5), "throughput_requests_per_second"),
        (lambda: SelfHosting(2, 1, 100, 0), "utilisation"),
        (lambda: SelfHosting(2, 1, 100, 1.01), "utilisation"),
        (lambda: TEACHER_PRICES.tokens_usd(input_tokens=-1, output_tokens=0), "input_tokens"),
        (lambda: DeviceUsage("cpu", -1), "device_seconds"),
        (lambda: DeviceUsage("", 1), "device_kind"),
        (lambda: OneOffInputs(engineering_hours=-2), "engineering_hours"),
        (lambda: OneOffInputs(engineering_usd_per_hour=-2), "engineering_usd_per_hour"),
        (lambda: OneOffInputs(filtering_labelling_usd=-2), "filtering_labelling_usd"),
        (lambda: OneOffInputs(usd_per_device_hour={"cpu": -1}), "usd_per_device_hour[cpu]"),
        (lambda: OneOffInputs(training_compute=(DeviceUsage("tpu", 60),)), "usd_per_device_hour[tpu]"),
        (lambda: breakeven(one_off_usd=-1, monthly_savings_usd=10), "one_off_usd"),
        (lambda: breakeven(one_off_usd=1, monthly_savings_usd=math.nan), "monthly_savings_usd"),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_the_field(build: Callable[[], object], field: str) -> None:
    with pytest.raises(EconomicsInputError) as refused:
        build()
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")
    assert isinstance(refused.value, ValueError)  # so a caller catching ValueError answers 400 too


def test_the_message_says_what_was_wrong_and_what_was_given() -> None:
    with pytest.raises(EconomicsInputError, match=r"utilisation: must be more than 0 and at most 1 \(got 1.5\)"):
        SelfHosting(usd_per_gpu_hour=2, gpus=1, throughput_requests_per_second=100, utilisation=1.5)
