"""Calibration metrics against numbers worked out by hand, and temperature scaling on synthetic logits."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torchmetrics.functional.classification import multiclass_calibration_error

from workers.ml.calibration import (
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    ReliabilityBin,
    brier_score,
    calibration_summary,
    confidence_histogram,
    expected_calibration_error,
    fit_temperature,
    max_calibration_error,
    negative_log_likelihood,
    probabilities,
    reliability_bins,
    risk_coverage,
    threshold_for_coverage,
)

# Four rows, five bins (0, .2], (.2, .4], (.4, .6], (.6, .8], (.8, 1]:
#   row 0: conf 0.5, right  -> bin 2
#   row 1: conf 0.6, wrong  -> bin 2 (0.6 is the bin's closed upper edge)
#   row 2: conf 1.0, right  -> bin 4 (1.0 belongs to the last bin)
#   row 3: conf 0.9, wrong  -> bin 4
# bin 2: conf (0.5 + 0.6) / 2 = 0.55, acc 1/2 -> |0.5 - 0.55| = 0.05, weight 2/4
# bin 4: conf (1.0 + 0.9) / 2 = 0.95, acc 1/2 -> |0.5 - 0.95| = 0.45, weight 2/4
# ECE = 0.5 * 0.05 + 0.5 * 0.45 = 0.25; MCE = 0.45.
# (torchmetrics' [lo, hi) bins put 0.6 and 1.0 in bins of their own and give (0.5 + 0.6 + 0.9 + 0) / 4 = 0.5.)
EDGE_PROBS = [[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.0, 0.0, 1.0], [0.9, 0.05, 0.05]]
EDGE_TARGETS = [0, 2, 2, 1]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ece_and_mce_of_a_four_row_case_with_confidences_on_bin_edges(dtype: torch.dtype) -> None:
    probs, targets = torch.tensor(EDGE_PROBS, dtype=dtype), torch.tensor(EDGE_TARGETS)
    assert expected_calibration_error(probs, targets, bins=5) == pytest.approx(0.25, abs=1e-6)
    assert max_calibration_error(probs, targets, bins=5) == pytest.approx(0.45, abs=1e-6)


def test_reliability_bins_of_the_four_row_case() -> None:
    bins = reliability_bins(torch.tensor(EDGE_PROBS), torch.tensor(EDGE_TARGETS), bins=5)
    assert [(b.lower, b.upper, b.count) for b in bins] == [
        (0.0, 0.2, 0),
        (0.2, 0.4, 0),
        (0.4, 0.6, 2),
        (0.6, 0.8, 0),
        (0.8, 1.0, 2),
    ]
    assert [b.confidence for b in bins] == pytest.approx([0.0, 0.0, 0.55, 0.0, 0.95], abs=1e-6)
    assert [b.accuracy for b in bins] == pytest.approx([0.0, 0.0, 0.5, 0.0, 0.5], abs=1e-6)


def test_confidence_histogram_splits_right_and_wrong_rows_per_bin() -> None:
    histogram = confidence_histogram(torch.tensor(EDGE_PROBS), torch.tensor(EDGE_TARGETS), bins=5)
    assert histogram["edges"] == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert histogram["correct"] == [0, 0, 1, 0, 1]  # rows 0 (0.5) and 2 (1.0)
    assert histogram["wrong"] == [0, 0, 1, 0, 1]  # rows 1 (0.6) and 3 (0.9)


def test_ece_agrees_with_torchmetrics_when_no_confidence_sits_on_an_edge() -> None:
    generator = torch.Generator().manual_seed(0)
    probs = torch.softmax(3 * torch.randn(500, 5, generator=generator), dim=1)
    targets = torch.randint(0, 5, (500,), generator=generator)
    ece = multiclass_calibration_error(probs, targets, num_classes=5, n_bins=15, norm="l1")
    mce = multiclass_calibration_error(probs, targets, num_classes=5, n_bins=15, norm="max")
    assert expected_calibration_error(probs, targets) == pytest.approx(float(ece), abs=1e-5)
    assert max_calibration_error(probs, targets) == pytest.approx(float(mce), abs=1e-5)
    assert float(ece) > 0.01  # a case with something to measure


def test_a_perfectly_calibrated_bin_has_zero_error() -> None:
    # Four rows at 0.75 confidence, three right: acc 0.75 = conf 0.75.
    probs = torch.tensor([[0.75, 0.25]] * 4)
    assert expected_calibration_error(probs, torch.tensor([0, 0, 0, 1])) == pytest.approx(0.0, abs=1e-7)


def test_rows_with_target_minus_one_are_left_out() -> None:
    probs = torch.tensor([*EDGE_PROBS, [0.99, 0.005, 0.005]])
    targets = torch.tensor([*EDGE_TARGETS, -1])
    assert expected_calibration_error(probs, targets, bins=5) == pytest.approx(0.25, abs=1e-6)
    assert sum(b.count for b in reliability_bins(probs, targets, bins=5)) == 4


def test_bad_targets_and_empty_input_are_refused() -> None:
    with pytest.raises(ValueError, match="Targets"):
        expected_calibration_error(torch.tensor(EDGE_PROBS), torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="No rows"):
        brier_score(torch.tensor([[0.5, 0.5]]), torch.tensor([-1]))


def test_brier_score_of_a_two_row_case() -> None:
    # row 0: [0.7, 0.2, 0.1], target 0 -> 0.3^2 + 0.2^2 + 0.1^2 = 0.09 + 0.04 + 0.01 = 0.14
    # row 1: [0.5, 0.25, 0.25], target 1 -> 0.5^2 + 0.75^2 + 0.25^2 = 0.25 + 0.5625 + 0.0625 = 0.875
    # mean = (0.14 + 0.875) / 2 = 0.5075
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.5, 0.25, 0.25]])
    assert brier_score(probs, torch.tensor([0, 1])) == pytest.approx(0.5075, abs=1e-6)


def test_negative_log_likelihood_by_hand_and_with_a_temperature() -> None:
    # row 0: logits [2, 0], target 0 -> log(1 + e^-2) = 0.126928011; row 1: [0, 0] -> log 2 = 0.693147181
    # T = 2: row 0 becomes [1, 0] -> log(1 + e^-1) = 0.313261687
    logits, targets = torch.tensor([[2.0, 0.0], [0.0, 0.0]]), torch.tensor([0, 1])
    assert negative_log_likelihood(logits, targets) == pytest.approx((0.126928011 + 0.693147181) / 2, abs=1e-8)
    assert negative_log_likelihood(logits, targets, 2.0) == pytest.approx((0.313261687 + 0.693147181) / 2, abs=1e-8)


def test_probabilities_divide_by_the_temperature() -> None:
    # [0, ln 3] -> [1/4, 3/4]; at T = 2, [0, ln 3 / 2] -> [1 / (1 + sqrt 3), sqrt 3 / (1 + sqrt 3)]
    logits = torch.tensor([[0.0, math.log(3.0)]], dtype=torch.float64)
    assert probabilities(logits).tolist()[0] == pytest.approx([0.25, 0.75])
    assert probabilities(logits, 2.0).tolist()[0] == pytest.approx([0.3660254038, 0.6339745962])
    with pytest.raises(ValueError, match="positive"):
        probabilities(logits, 0.0)


def calibrated_logits(n: int = 3000, classes: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits whose softmax is the true label distribution (targets are drawn from it): calibrated at T = 1."""
    generator = torch.Generator().manual_seed(1)
    logits = 1.5 * torch.randn(n, classes, generator=generator)
    targets = torch.multinomial(torch.softmax(logits, dim=1), 1, generator=generator).squeeze(1)
    return logits, targets


def test_fit_temperature_cools_an_overconfident_model() -> None:
    logits, targets = calibrated_logits()
    overconfident = 4 * logits
    fit = fit_temperature(overconfident, targets)
    assert 3.0 < fit.temperature < 5.0 and fit.status == "ok"  # ~4 undoes the scaling
    assert fit.nll_after == pytest.approx(negative_log_likelihood(overconfident, targets, fit.temperature))
    assert fit.nll_after < fit.nll_before == pytest.approx(negative_log_likelihood(overconfident, targets))
    assert fit_temperature(overconfident, targets) == fit  # deterministic


def test_fit_temperature_sharpens_an_underconfident_model() -> None:
    logits, targets = calibrated_logits()
    underconfident = logits / 4
    fit = fit_temperature(underconfident, targets)
    assert 0.15 < fit.temperature < 0.4 and fit.status == "ok"  # ~1/4
    assert fit.nll_after < fit.nll_before
    assert "lowers the validation NLL" in fit.note


def test_fit_temperature_finds_a_low_best_t_instead_of_stopping_at_the_old_bound() -> None:
    # The case: 77 classes, logits 12 times too small (a 1-epoch model). The best T is about 1/12;
    # with log T clamped inside the objective, L-BFGS stepped past 0.05, met a zero gradient and stopped
    # there (NLL 3.65 instead of 3.34).
    logits, targets = calibrated_logits(n=2000, classes=77)
    low_scale = logits / 12
    fit = fit_temperature(low_scale, targets)
    assert 0.075 < fit.temperature < 0.095 and fit.status == "ok"
    assert fit.nll_after < negative_log_likelihood(low_scale, targets, 0.05) - 0.1
    # No T in a fine grid around it does better: this is the minimum, not a stopping point.
    grid = [0.05 + 0.001 * i for i in range(60)]
    assert fit.nll_after <= min(negative_log_likelihood(low_scale, targets, t) for t in grid) + 1e-9


def test_fit_temperature_on_a_calibrated_model_keeps_t_1_and_says_it_did_not_help() -> None:
    # Four rows with logits (ln 3, 0): softmax gives 0.75 to class 0, and 3 of the 4 rows are class 0, so
    # confidence equals accuracy. d NLL / d(1/T) at T = 1 is mean(E_p[z] - z_y)
    # = (3 * (0.75 ln 3 - ln 3) + (0.75 ln 3 - 0)) / 4 = 0: T = 1 is the exact optimum,
    # with NLL -(0.75 ln 0.75 + 0.25 ln 0.25) = 0.5623.
    logits, targets = torch.tensor([[math.log(3.0), 0.0]] * 4), torch.tensor([0, 0, 0, 1])
    fit = fit_temperature(logits, targets)
    assert fit.temperature == 1.0 and fit.status == "no_improvement"
    assert fit.nll_before == fit.nll_after == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert "T = 1 is kept" in fit.note


def test_fit_temperature_leaves_sampled_calibrated_logits_near_t_1() -> None:
    # Calibrated by construction, so the best T differs from 1 only by sampling noise: on 1000 rows the
    # gain is under MIN_NLL_GAIN (T = 1 kept); on 3000 rows T = 1.05 gains 0.0006 nats, a real if tiny fit.
    fit = fit_temperature(*calibrated_logits(n=1000))
    assert fit.status == "no_improvement" and fit.temperature == 1.0
    fit = fit_temperature(*calibrated_logits(n=3000))
    assert fit.status == "ok" and 1.0 < fit.temperature < 1.1
    assert 0 < fit.nll_before - fit.nll_after < 0.001


@pytest.mark.parametrize(
    ("scale", "bound", "end"), [(1 / 1000, MIN_TEMPERATURE, "lower"), (1000.0, MAX_TEMPERATURE, "upper")]
)
def test_a_best_t_beyond_the_search_range_is_flagged_at_bound(scale: float, bound: float, end: str) -> None:
    logits, targets = calibrated_logits(n=1000)
    scaled = scale * logits  # the best T is ~scale: 0.001 or 1000, both outside [0.01, 100]
    fit = fit_temperature(scaled, targets)
    assert fit.temperature == bound and fit.status == "at_bound"
    assert f"the {end} end of the search range" in fit.note
    assert fit.nll_after < fit.nll_before  # still the best T in range, just not the best T


def test_fit_temperature_stays_finite_and_flags_the_bound_when_every_row_is_right() -> None:
    # The NLL keeps falling as T -> 0; the fit must stop somewhere sane rather than overflow, and say so.
    logits, targets = torch.tensor([[5.0, 0.0], [0.0, 5.0], [3.0, 1.0]]), torch.tensor([0, 1, 0])
    fit = fit_temperature(logits, targets)
    assert fit.temperature == MIN_TEMPERATURE and fit.status == "at_bound"
    assert math.isfinite(fit.nll_after) and fit.nll_after < fit.nll_before


# Five rows, two classes (confidence, right?): 0.9 R, 0.8 W, 0.7 R, 0.6 R, 0.55 W, given out of order.
# Kept k most confident: k=1: 1/1; k=2: 1/2; k=3: 2/3; k=4: 3/4; k=5: 3/5; threshold = k-th confidence.
RISK_PROBS = [[0.4, 0.6], [0.9, 0.1], [0.45, 0.55], [0.3, 0.7], [0.2, 0.8]]
RISK_TARGETS = [1, 0, 0, 1, 0]  # row 0: 0.6 R; row 1: 0.9 R; row 2: 0.55 W; row 3: 0.7 R; row 4: 0.8 W


def test_risk_coverage_of_five_rows() -> None:
    curve = risk_coverage(torch.tensor(RISK_PROBS, dtype=torch.float64), torch.tensor(RISK_TARGETS))
    expected = [(0.2, 1.0, 0.9), (0.4, 0.5, 0.8), (0.6, 2 / 3, 0.7), (0.8, 0.75, 0.6), (1.0, 0.6, 0.55)]
    assert len(curve) == 5
    for got, want in zip(curve, expected, strict=True):
        assert got == pytest.approx(want)


def test_risk_coverage_thins_to_the_asked_number_of_points_and_keeps_full_coverage() -> None:
    probs, targets = torch.tensor(RISK_PROBS, dtype=torch.float64), torch.tensor(RISK_TARGETS)
    # points=2 of 5 rows: k = ceil(2.5) = 3 and 5.
    thinned = risk_coverage(probs, targets, points=2)
    assert len(thinned) == 2
    assert thinned[0] == pytest.approx((0.6, 2 / 3, 0.7)) and thinned[1] == pytest.approx((1.0, 0.6, 0.55))
    generator = torch.Generator().manual_seed(2)
    big = torch.softmax(torch.randn(250, 3, generator=generator), dim=1)
    curve = risk_coverage(big, torch.randint(0, 3, (250,), generator=generator))
    assert 90 <= len(curve) <= 100
    assert curve[-1][0] == 1.0
    coverages = [c for c, _, _ in curve]
    assert coverages == sorted(coverages) and len(set(coverages)) == len(coverages)
    thresholds = [t for _, _, t in curve]
    assert thresholds == sorted(thresholds, reverse=True)


def test_threshold_for_coverage() -> None:
    confidences = torch.tensor([0.5, 0.1, 0.9, 0.3, 1.0, 0.7, 0.2, 0.8, 0.4, 0.6], dtype=torch.float64)
    # 8 of 10 rows must stay: the 8th highest confidence is 0.3 (1.0 .9 .8 .7 .6 .5 .4 .3).
    assert threshold_for_coverage(confidences, 0.8) == pytest.approx(0.3)
    assert threshold_for_coverage(confidences, 0.75) == pytest.approx(0.3)  # 7.5 rows -> 8
    assert threshold_for_coverage(confidences, 0.7) == pytest.approx(0.4)  # 0.7 * 10 is 7, not 8
    assert threshold_for_coverage(confidences, 1.0) == pytest.approx(0.1)
    assert threshold_for_coverage(confidences, 0.01) == pytest.approx(1.0)
    assert threshold_for_coverage(torch.tensor([0.9, 0.9, 0.5]), 0.5) == pytest.approx(0.9)  # ties
    with pytest.raises(ValueError, match="coverage"):
        threshold_for_coverage(confidences, 0.0)


def test_calibration_summary_is_json_and_measured_at_the_given_temperature() -> None:
    logits, targets = calibrated_logits(n=400)
    logits = 3 * logits
    cold = calibration_summary(logits, targets, 1.0)
    warm = calibration_summary(logits, targets, 3.0)
    assert cold.temperature == 1.0 and warm.temperature == 3.0
    assert cold.count == 400
    assert warm.ece < cold.ece and warm.nll < cold.nll  # 3x overconfident logits are better at T = 3
    assert warm.nll == pytest.approx(negative_log_likelihood(logits, targets, 3.0))
    assert warm.brier == pytest.approx(brier_score(probabilities(logits, 3.0), targets), abs=1e-6)
    assert warm.ece == pytest.approx(expected_calibration_error(probabilities(logits, 3.0).double(), targets))
    assert len(warm.reliability) == 15 and isinstance(warm.reliability[0], ReliabilityBin)
    data = json.loads(json.dumps(warm.as_dict(), allow_nan=False))
    assert set(data) == {"temperature", "count", "ece", "mce", "brier", "nll", "reliability", "histogram"}
    assert sum(b["count"] for b in data["reliability"]) == 400
    assert sum(data["histogram"]["correct"]) + sum(data["histogram"]["wrong"]) == 400
    assert len(data["histogram"]["edges"]) == 21
