"""Total cost of ownership against a worked example: $3,000 one-off, keep-teacher $1,000 a month, the
distilled path $400 a month (savings $600), valid for 12 months."""

from collections.abc import Callable

import pytest

from webapp.economics.cost_model import EconomicsInputError
from webapp.economics.tco import Lifetime, Tco, total_cost_of_ownership


def tco(lifetime: Lifetime, one_off_usd: float = 3000, distilled_monthly_usd: float = 400) -> Tco:
    return total_cost_of_ownership(
        one_off_usd=one_off_usd,
        keep_teacher_monthly_usd=1000,
        distilled_monthly_usd=distilled_monthly_usd,
        lifetime=lifetime,
    )


def test_without_retraining_the_paths_cross_at_the_plain_breakeven() -> None:
    result = tco(Lifetime(valid_months=12))
    assert result.retrainings == 0
    assert result.keep_teacher_usd == 12_000
    assert result.distilled_usd == 3000 + 12 * 400
    assert result.savings_usd == 12_000 - 7800
    assert result.crossing_month == 5  # 3000 / 600


def test_the_cumulative_series_start_at_month_0_and_end_at_the_totals() -> None:
    result = tco(Lifetime(valid_months=12))
    assert len(result.keep_teacher_cumulative_usd) == len(result.distilled_cumulative_usd) == 13
    assert result.keep_teacher_cumulative_usd[:3] == (0, 1000, 2000)
    assert result.distilled_cumulative_usd[:3] == (3000, 3400, 3800)
    assert result.keep_teacher_cumulative_usd[-1] == result.keep_teacher_usd
    assert result.distilled_cumulative_usd[-1] == result.distilled_usd


def test_retraining_every_4_months_at_half_the_one_off_costs_two_retrainings_in_12_months() -> None:
    # Retrained at the end of months 4 and 8 (not 12: the period ends there), $1,500 each.
    result = tco(Lifetime(valid_months=12, retrain_every_months=4, retraining_share_of_one_off=0.5))
    assert result.retrainings == 2
    assert result.retraining_usd == 1500
    assert result.distilled_usd == 3000 + 12 * 400 + 2 * 1500
    assert result.savings_usd == 1200
    assert result.distilled_cumulative_usd[3:6] == (4200, 4600 + 1500, 5000 + 1500)
    assert result.distilled_cumulative_usd[8] == 3000 + 8 * 400 + 2 * 1500
    # The gap: 3000, after 4 months 3000 - 2400 + 1500 = 2100, closed 3.5 months later (7.5), but the retraining
    # at month 8 reopens it: 2100 - 2400 + 1500 = 1200, closed 2 months later, for good.
    assert result.crossing_month == pytest.approx(10)
    assert result.distilled_cumulative_usd[10] == result.keep_teacher_cumulative_usd[10] == 10_000
    assert result.distilled_cumulative_usd[9] > result.keep_teacher_cumulative_usd[9]


def test_a_retraining_cadence_as_long_as_the_period_never_retrains() -> None:
    result = tco(Lifetime(valid_months=12, retrain_every_months=12, retraining_share_of_one_off=0.5))
    assert result.retrainings == 0
    assert result.distilled_usd == 7800


def test_retraining_that_costs_more_than_it_saves_in_between_keeps_the_paths_from_crossing() -> None:
    # Each 4 months save 2400 but a retraining costs 3000: the gap only grows after the first segment.
    result = tco(Lifetime(valid_months=24, retrain_every_months=4, retraining_share_of_one_off=1.0))
    assert result.crossing_month is None
    assert result.savings_usd < 0


def test_a_period_shorter_than_the_breakeven_has_no_crossing() -> None:
    result = tco(Lifetime(valid_months=4))
    assert result.crossing_month is None
    assert result.savings_usd == 4000 - (3000 + 1600)


def test_no_savings_means_no_crossing() -> None:
    assert tco(Lifetime(valid_months=12), distilled_monthly_usd=1000).crossing_month is None
    assert tco(Lifetime(valid_months=12), one_off_usd=0, distilled_monthly_usd=1200).crossing_month is None


def test_no_one_off_and_some_savings_is_ahead_from_the_start() -> None:
    assert tco(Lifetime(valid_months=12), one_off_usd=0).crossing_month == 0


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Lifetime(valid_months=0), "valid_months"),
        (lambda: Lifetime(valid_months=1.5), "valid_months"),  # type: ignore[arg-type]
        (lambda: Lifetime(valid_months=12, retrain_every_months=0), "retrain_every_months"),
        (lambda: Lifetime(valid_months=12, retraining_share_of_one_off=-0.1), "retraining_share_of_one_off"),
        (lambda: tco(Lifetime(valid_months=12), one_off_usd=-1), "one_off_usd"),
        (lambda: tco(Lifetime(valid_months=12), distilled_monthly_usd=-1), "distilled_monthly_usd"),
    ],
)
def test_bad_lifetimes_are_refused_naming_the_field(build: Callable[[], object], field: str) -> None:
    with pytest.raises(EconomicsInputError) as refused:
        build()
    assert refused.value.field == field
