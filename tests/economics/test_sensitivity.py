"""Sensitivity and the teacher-price kill point on the worked cascade: 1M requests a month, teacher $0.0012,
student $0.00001 + $100/month, the student keeps 90%. Monthly savings are linear in the price factor p = 1 - cut:
    savings = 1e6 * 0.9 * 0.0012 * p - 1e6 * 0.00001 - 100 = 1080 p - 110   (970 as entered)."""

from collections.abc import Callable

import pytest

from tests.economics.examples import serving
from webapp.economics.cost_model import EconomicsInputError, Mode, Verdict, breakeven, monthly_savings_usd
from webapp.economics.sensitivity import TornadoBar, sensitivity, teacher_price_kill_point

ONE_OFF_USD = 4527


def savings_by_setting(bar: TornadoBar) -> dict[str, float]:
    return {outcome.setting: outcome.monthly_savings_usd for outcome in bar.outcomes}


def test_each_teacher_price_cut_shrinks_the_savings_linearly() -> None:
    result = sensitivity(serving(0.9), mode=Mode.CASCADE, one_off_usd=ONE_OFF_USD)
    bars = {bar.factor: bar for bar in result.bars}
    assert savings_by_setting(bars["teacher price"]) == pytest.approx(
        {"as entered": 970, "teacher price -20%": 754, "teacher price -50%": 430, "teacher price -80%": 106}
    )
    price = bars["teacher price"]
    assert (price.low.setting, price.high.setting) == ("teacher price -80%", "as entered")
    assert price.low.breakeven.months == pytest.approx(4527 / 106)
    assert price.low.breakeven.verdict is Verdict.WRONG_TOOL


def test_volume_scales_the_per_request_savings_but_not_the_fixed_cost() -> None:
    # savings = R * (0.9 * 0.0012 - 0.00001) - 100 = R * 0.00107 - 100
    result = sensitivity(serving(0.9), mode=Mode.CASCADE, one_off_usd=ONE_OFF_USD)
    volume = next(bar for bar in result.bars if bar.factor == "volume")
    assert savings_by_setting(volume) == pytest.approx(
        {"volume x0.1": 7, "volume x0.3": 221, "volume x1": 970, "volume x3": 3110, "volume x10": 10_600}
    )
    assert volume.low.breakeven.months == pytest.approx(4527 / 7)
    assert volume.high.breakeven.verdict is Verdict.PAYS_OFF


def test_coverage_at_its_lower_bound_is_a_bar_of_its_own_and_bars_come_widest_first() -> None:
    # At 80%: 1e6 * (0.8 * 0.0012 - 0.00001) - 100 = 850. Swings: volume 10,593, price 864, coverage 120.
    result = sensitivity(serving(0.9), mode=Mode.CASCADE, one_off_usd=ONE_OFF_USD, coverage_lower_bound=0.8)
    assert [bar.factor for bar in result.bars] == ["volume", "teacher price", "coverage"]
    coverage = result.bars[2]
    assert coverage.low.setting == "coverage 80.0%"
    assert coverage.low.monthly_savings_usd == pytest.approx(850)
    assert coverage.swing_usd == pytest.approx(120)
    assert result.base.breakeven.months == pytest.approx(4527 / 970)


def test_without_a_coverage_bound_there_is_no_coverage_bar() -> None:
    result = sensitivity(serving(0.9), mode=Mode.UPFRONT_ROUTING, one_off_usd=ONE_OFF_USD)
    assert [bar.factor for bar in result.bars] == ["volume", "teacher price"]
    assert result.base.monthly_savings_usd == pytest.approx(951)  # 1200 - 249


def test_the_cascade_kill_point_is_where_breakeven_reaches_the_horizon() -> None:
    # One-off 5400 over 12 months needs 450/month: 1080 p - 110 = 450, p = 560/1080, cut = 520/1080.
    kill = teacher_price_kill_point(serving(0.9), mode=Mode.CASCADE, one_off_usd=5400, horizon_months=12)
    assert kill.teacher_price_cut == pytest.approx(520 / 1080)
    assert not kill.already_beyond_horizon

    def breakeven_after(cut: float) -> float:
        price = 0.0012 * (1 - cut)
        savings = monthly_savings_usd(serving(0.9), Mode.CASCADE, teacher_usd_per_request=price)
        months = breakeven(one_off_usd=5400, monthly_savings_usd=savings).months
        assert months is not None
        return months

    assert breakeven_after(520 / 1080) == pytest.approx(12)
    assert breakeven_after(0.47) < 12
    assert breakeven_after(0.49) > 12


def test_the_upfront_kill_point_counts_the_router() -> None:
    # savings = 1080 p - 9 - 20 - 100 = 1080 p - 129; = 450 at p = 579/1080
    kill = teacher_price_kill_point(serving(0.9), mode=Mode.UPFRONT_ROUTING, one_off_usd=5400, horizon_months=12)
    assert kill.teacher_price_cut == pytest.approx(501 / 1080)


def test_a_breakeven_already_beyond_the_horizon_is_killed_by_no_cut_at_all() -> None:
    # 5400 over 3 months needs 1800 a month; the cascade saves 970.
    kill = teacher_price_kill_point(serving(0.9), mode=Mode.CASCADE, one_off_usd=5400, horizon_months=3)
    assert kill.teacher_price_cut == 0
    assert kill.already_beyond_horizon
    never = teacher_price_kill_point(serving(0.0), mode=Mode.CASCADE, one_off_usd=5400, horizon_months=12)
    assert (never.teacher_price_cut, never.already_beyond_horizon) == (0, True)


def test_with_no_one_off_the_kill_point_is_where_savings_reach_zero() -> None:
    # 1080 p - 110 = 0 at p = 110/1080
    kill = teacher_price_kill_point(serving(0.9), mode=Mode.CASCADE, one_off_usd=0, horizon_months=12)
    assert kill.teacher_price_cut == pytest.approx(970 / 1080)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: sensitivity(serving(0.9), mode=Mode.KEEP_TEACHER, one_off_usd=1), "mode"),
        (lambda: sensitivity(serving(0.9), mode=Mode.CASCADE, one_off_usd=-1), "one_off_usd"),
        (
            lambda: sensitivity(serving(0.9), mode=Mode.CASCADE, one_off_usd=1, coverage_lower_bound=1.5),
            "coverage_lower_bound",
        ),
        (
            lambda: sensitivity(serving(0.9), mode=Mode.CASCADE, one_off_usd=1, teacher_price_cuts=(1.0,)),
            "teacher_price_cut",
        ),
        (
            lambda: sensitivity(serving(0.9), mode=Mode.CASCADE, one_off_usd=1, volume_multipliers=(0,)),
            "volume_multiplier",
        ),
        (
            lambda: teacher_price_kill_point(serving(0.9), mode=Mode.CASCADE, one_off_usd=1, horizon_months=0),
            "horizon_months",
        ),
        (
            lambda: teacher_price_kill_point(serving(0.9), mode=Mode.KEEP_TEACHER, one_off_usd=1, horizon_months=6),
            "mode",
        ),
    ],
)
def test_bad_sensitivity_input_is_refused_naming_the_field(build: Callable[[], object], field: str) -> None:
    with pytest.raises(EconomicsInputError) as refused:
        build()
    assert refused.value.field == field
