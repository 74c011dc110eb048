"""The one percentile definition (nearest rank) used for every p95 in Distillery, on hand-counted cases."""

from __future__ import annotations

import pytest

from domain.stats import percentile

ONE_TO_TWENTY = list(range(20, 0, -1))  # 20, 19, ..., 1: order must not matter


def test_p95_of_twenty_values_is_the_19th_smallest() -> None:
    # ceil(0.95 * 20) = 19: 19 of the 20 values (95%) are at or below 19.
    assert percentile(ONE_TO_TWENTY, 0.95) == 19


def test_p95_of_ten_values_rounds_the_rank_up_to_the_largest() -> None:
    # 0.95 * 10 = 9.5 rows: the 9th smallest (9) has only 90% at or below it, so the answer is the 10th.
    assert percentile(range(1, 11), 0.95) == 10


def test_it_is_an_observed_value_not_an_interpolation() -> None:
    # Linear interpolation would give 27.5 for the median of [10, 20, 35, 40]; nearest rank gives 20.
    assert percentile([40, 10, 35, 20], 0.5) == 20
    assert percentile([0.25, 0.5, 1.0], 0.95) == 1.0


def test_a_whole_number_of_rows_is_not_pushed_up_by_float_error() -> None:
    # 0.7 * 10 is 7.000000000000001 in floating point; the 7th smallest is still the answer.
    assert percentile(range(1, 11), 0.7) == 7


@pytest.mark.parametrize(("q", "expected"), [(0.0, 1), (0.05, 1), (0.5, 10), (1.0, 20)])
def test_the_ends_and_the_median(q: float, expected: int) -> None:
    assert percentile(ONE_TO_TWENTY, q) == expected


def test_a_single_value_is_every_percentile() -> None:
    assert percentile([7], 0.95) == 7


def test_it_refuses_no_values_and_a_q_outside_0_to_1() -> None:
    with pytest.raises(ValueError, match="No values"):
        percentile([], 0.95)
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1, 2], 95)
