"""Properties of the cost model that hold for every valid input, checked by hypothesis.

The exact conditions, from the formulas (d/ds of the monthly cost):
- cascade:          d/ds = -R * c_T < 0, so more coverage always lowers the cost (c_T > 0 is required);
- upfront routing:  d/ds = R * (c_S - c_T), so more coverage never costs more exactly when c_S <= c_T
                    (and costs more when c_S > c_T);
- savings are R * s * c_T minus terms without c_T: non-decreasing in the teacher's price in both modes;
- savings are R * k - fixed_S, with k the per-request saving: if positive at R they are positive and larger at
  any higher R, so the breakeven can only get shorter."""

import math
from dataclasses import replace

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from webapp.economics.cost_model import Mode, Serving, breakeven, mode_cost, monthly_savings_usd, monthly_usd
from webapp.economics.sensitivity import teacher_price_kill_point
from webapp.economics.tco import Lifetime, total_cost_of_ownership

DISTILLING = st.sampled_from([Mode.UPFRONT_ROUTING, Mode.CASCADE])
SHARES = st.floats(min_value=0, max_value=1)
USD_PER_REQUEST = st.floats(min_value=1e-7, max_value=1.0)
VOLUMES = st.floats(min_value=1, max_value=1e9)
TOLERANCE = 1e-9  # relative: float rounding, nothing more


@st.composite
def servings(draw: st.DrawFn) -> Serving:
    values = {
        "requests_per_month": VOLUMES,
        "teacher_usd_per_request": USD_PER_REQUEST,
        "student_usd_per_request": st.floats(min_value=0, max_value=1.0),
        "student_share": SHARES,
        "teacher_latency_ms": st.floats(min_value=0, max_value=1e4),
        "student_latency_ms": st.floats(min_value=0, max_value=1e4),
        "student_fixed_usd_per_month": st.floats(min_value=0, max_value=1e6),
        "router_usd_per_request": st.floats(min_value=0, max_value=0.01),
        "router_latency_ms": st.floats(min_value=0, max_value=100),
    }
    return Serving(**{name: draw(strategy) for name, strategy in values.items()})


@st.composite
def profitable_servings(draw: st.DrawFn) -> Serving:
    """Servings that save money in both modes, drawn directly (filtering random ones throws most away):
    c_S < s·c_T, and the router's cost and the fixed hosting each take at most half of what is left."""
    teacher, share = draw(USD_PER_REQUEST), draw(st.floats(min_value=0.2, max_value=1))
    student = draw(st.floats(min_value=0, max_value=0.9)) * share * teacher
    margin = share * teacher - student  # per request, before the router and fixed costs: > 0
    volume = draw(VOLUMES)
    return Serving(
        requests_per_month=volume,
        teacher_usd_per_request=teacher,
        student_usd_per_request=student,
        student_share=share,
        teacher_latency_ms=10.0,
        student_latency_ms=1.0,
        router_usd_per_request=draw(st.floats(min_value=0, max_value=0.5)) * margin / 2,
        student_fixed_usd_per_month=draw(st.floats(min_value=0, max_value=0.5)) * volume * margin / 2,
    )


def at_most(a: float, b: float) -> bool:
    return a <= b + TOLERANCE * max(abs(a), abs(b), 1.0)


@given(servings(), SHARES, SHARES)
def test_in_the_cascade_more_coverage_never_costs_more(serving: Serving, share_a: float, share_b: float) -> None:
    low, high = sorted((share_a, share_b))
    cost = {s: monthly_usd(replace(serving, student_share=s), Mode.CASCADE) for s in (low, high)}
    assert at_most(cost[high], cost[low])


@given(servings(), st.floats(min_value=0, max_value=0.95))
def test_in_the_cascade_more_coverage_always_lowers_the_cost(serving: Serving, share: float) -> None:
    more = share + 0.05  # a real step: one too small to change the bill in floating point proves nothing
    lower = monthly_usd(replace(serving, student_share=share), Mode.CASCADE)
    higher = monthly_usd(replace(serving, student_share=more), Mode.CASCADE)
    assert higher < lower


@given(servings(), SHARES, SHARES)
def test_in_upfront_routing_more_coverage_never_costs_more_when_the_student_is_no_dearer(
    serving: Serving, share_a: float, share_b: float
) -> None:
    assume(serving.student_usd_per_request <= serving.teacher_usd_per_request)
    low, high = sorted((share_a, share_b))
    cost = {s: monthly_usd(replace(serving, student_share=s), Mode.UPFRONT_ROUTING) for s in (low, high)}
    assert at_most(cost[high], cost[low])


@given(servings(), st.floats(min_value=0, max_value=0.95))
def test_in_upfront_routing_more_coverage_costs_more_when_the_student_is_dearer(serving: Serving, share: float) -> None:
    dearer = replace(serving, student_usd_per_request=serving.teacher_usd_per_request * 2)
    more = share + 0.05
    lower = monthly_usd(replace(dearer, student_share=share), Mode.UPFRONT_ROUTING)
    higher = monthly_usd(replace(dearer, student_share=more), Mode.UPFRONT_ROUTING)
    assert higher > lower


@given(
    profitable_servings(), DISTILLING, st.floats(min_value=1.0, max_value=100.0), st.floats(min_value=0, max_value=1e7)
)
def test_higher_volume_never_lengthens_a_positive_savings_breakeven(
    serving: Serving, mode: Mode, multiplier: float, one_off_usd: float
) -> None:
    savings = monthly_savings_usd(serving, mode)
    assume(savings > 0)
    busier = replace(serving, requests_per_month=serving.requests_per_month * multiplier)
    busier_savings = monthly_savings_usd(busier, mode)
    assert busier_savings > 0
    before = breakeven(one_off_usd=one_off_usd, monthly_savings_usd=savings).months
    after = breakeven(one_off_usd=one_off_usd, monthly_savings_usd=busier_savings).months
    assert before is not None and after is not None
    assert at_most(after, before)


@given(servings(), DISTILLING, USD_PER_REQUEST, USD_PER_REQUEST)
def test_savings_never_fall_as_the_teacher_gets_dearer(
    serving: Serving, mode: Mode, price_a: float, price_b: float
) -> None:
    cheap, dear = sorted((price_a, price_b))
    at_cheap = monthly_savings_usd(serving, mode, teacher_usd_per_request=cheap)
    at_dear = monthly_savings_usd(serving, mode, teacher_usd_per_request=dear)
    assert at_most(at_cheap, at_dear)


@given(servings(), st.sampled_from(list(Mode)))
def test_savings_and_cost_reduction_agree_with_the_monthly_costs(serving: Serving, mode: Mode) -> None:
    figures = mode_cost(serving, mode)
    keep = monthly_usd(serving, Mode.KEEP_TEACHER)
    # Up to the rounding of the bills: savings are computed directly, not as a difference of two large numbers.
    bill = max(keep, figures.monthly_usd, 1.0)
    assert figures.monthly_savings_usd == pytest.approx(keep - figures.monthly_usd, abs=TOLERANCE * bill)
    if figures.monthly_usd > 0:
        assert figures.cost_reduction == pytest.approx(keep / figures.monthly_usd)
    else:
        assert figures.cost_reduction == math.inf


@given(servings(), DISTILLING, st.floats(min_value=1, max_value=1e6), st.floats(min_value=0.5, max_value=60))
def test_at_the_kill_point_breakeven_sits_on_the_horizon(
    serving: Serving, mode: Mode, one_off_usd: float, horizon_months: float
) -> None:
    kill = teacher_price_kill_point(serving, mode=mode, one_off_usd=one_off_usd, horizon_months=horizon_months)
    # A free teacher leaves nothing to save, so some cut up to 100% always gets there.
    assert kill.teacher_price_cut is not None and 0 <= kill.teacher_price_cut <= 1
    assume(not kill.already_beyond_horizon and kill.teacher_price_cut < 1)
    price = serving.teacher_usd_per_request * (1 - kill.teacher_price_cut)
    savings = monthly_savings_usd(serving, mode, teacher_usd_per_request=price)
    assert savings == pytest.approx(one_off_usd / horizon_months, rel=1e-6, abs=1e-6 * serving.requests_per_month)


@given(
    st.floats(min_value=0, max_value=1e6),
    st.floats(min_value=1, max_value=1e5),
    st.floats(min_value=0, max_value=1e5),
    st.integers(min_value=1, max_value=60),
    st.none() | st.integers(min_value=1, max_value=24),
    st.floats(min_value=0, max_value=1),
)
def test_tco_totals_match_the_series_and_a_crossing_stays_crossed(
    one_off: float, keep_monthly: float, distilled_monthly: float, months: int, every: int | None, share: float
) -> None:
    result = total_cost_of_ownership(
        one_off_usd=one_off,
        keep_teacher_monthly_usd=keep_monthly,
        distilled_monthly_usd=distilled_monthly,
        lifetime=Lifetime(valid_months=months, retrain_every_months=every, retraining_share_of_one_off=share),
    )
    assert result.keep_teacher_usd == result.keep_teacher_cumulative_usd[-1] == pytest.approx(months * keep_monthly)
    assert result.distilled_usd == result.distilled_cumulative_usd[-1]
    if result.crossing_month is not None:
        assert 0 <= result.crossing_month <= months
        for month in range(math.ceil(result.crossing_month), months + 1):
            assert at_most(result.distilled_cumulative_usd[month], result.keep_teacher_cumulative_usd[month])
    if every is None and keep_monthly > distilled_monthly:
        plain = breakeven(one_off_usd=one_off, monthly_savings_usd=keep_monthly - distilled_monthly).months
        assert plain is not None
        if plain <= months:
            assert result.crossing_month == pytest.approx(plain)
