"""The drift statistics on crafted samples: each signal's verdict, band and minimum sample, and the properties
that make them trustworthy (PSI of a sample against itself is 0; shifting confidences down raises PSI and
lowers the label-free accuracy estimate)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.approvals import drift
from webapp.approvals.drift import Approved

APPROVED = Approved(tau=0.7, coverage=0.8, kept_accuracy=0.95, kept_agreement=0.97)


def beta_sample(n: int, a: float, b: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).beta(a, b, n)


def reference(confidence: np.ndarray, *, seed: int = 0) -> drift.Reference:
    """Validation rows of a calibrated student: each right with probability = its confidence."""
    correct = np.random.default_rng(seed).random(len(confidence)) < confidence
    return drift.Reference(confidence=confidence, labelled=np.ones(len(confidence), bool), correct=correct)


def traffic(
    confidence: np.ndarray,
    *,
    tau: float = APPROVED.tau,
    shadow_every: int = 0,
    agree_rate: float = 1.0,
    labelled: bool = False,
    correct_rate: float | None = None,
    seed: int = 0,
) -> drift.Traffic:
    """Decisions routed at τ; every `shadow_every`-th kept one shadowed; labels right with `correct_rate` (or
    with probability = confidence, i.e. calibrated, when None)."""
    rng = np.random.default_rng(seed)
    n = len(confidence)
    kept = confidence >= tau
    shadowed = kept & (np.arange(n) % shadow_every == 0) if shadow_every else np.zeros(n, bool)
    agrees = rng.random(n) < agree_rate
    correct = rng.random(n) < (confidence if correct_rate is None else correct_rate)
    return drift.Traffic(
        confidence=confidence,
        kept=kept,
        shadowed=shadowed,
        agrees=agrees,
        labelled=np.full(n, labelled),
        correct=correct,
    )


# --- coverage ------------------------------------------------------------------------------------------------


def test_coverage_at_the_approved_share_is_ok() -> None:
    signal = drift.coverage_signal(800, 1000, approved=APPROVED)
    assert signal.status == "ok"
    assert signal.value == pytest.approx(0.8)
    assert signal.low < 0.8 < signal.high
    assert "800 of 1,000" in signal.explanation and "escalation rate 20.0%" in signal.explanation


def test_a_coverage_drop_is_an_alert_by_a_binomial_test() -> None:
    signal = drift.coverage_signal(600, 1000, approved=APPROVED)
    assert signal.status == "alert"
    assert signal.p_value is not None and signal.p_value < 1e-6
    assert signal.value < signal.low
    assert "escalates to the teacher" in signal.explanation and "-20.0 pts" in signal.explanation


def test_a_coverage_rise_is_drift_too() -> None:
    signal = drift.coverage_signal(950, 1000, approved=APPROVED)
    assert signal.status == "alert"
    assert "keeps traffic validation says it should not" in signal.explanation


def test_a_significant_but_small_coverage_move_is_not_an_alert() -> None:
    signal = drift.coverage_signal(79_000, 100_000, approved=APPROVED)  # 1 point below, p far below 1%
    assert signal.p_value is not None and signal.p_value < drift.ALPHA
    assert signal.status == "ok"
    assert "small move" in signal.explanation


def test_a_few_decisions_are_not_enough_and_say_how_many_are_needed() -> None:
    signal = drift.coverage_signal(2, 20, approved=APPROVED)
    assert signal.status == "not_enough_data"
    assert signal.value is None and signal.min_sample == drift.MIN_DECISIONS
    assert "20 decisions" in signal.explanation and f"at least {drift.MIN_DECISIONS}" in signal.explanation


@settings(max_examples=60, deadline=None)
@given(n=st.integers(drift.MIN_DECISIONS, 50_000), expected=st.floats(0.05, 0.95))
def test_coverage_exactly_as_approved_is_always_ok(n: int, expected: float) -> None:
    approved = Approved(tau=0.5, coverage=expected, kept_accuracy=None, kept_agreement=None)
    signal = drift.coverage_signal(round(expected * n), n, approved=approved)
    assert signal.status == "ok"
    assert signal.low <= signal.value <= signal.high


# --- confidence shift ------------------------------------------------------------------------------------------

confidences = st.lists(st.floats(0.0, 1.0), min_size=20, max_size=300)


@settings(max_examples=80, deadline=None)
@given(values=confidences)
def test_psi_of_a_sample_against_itself_is_zero(values: list[float]) -> None:
    sample = np.array(values)
    assert drift.population_stability_index(sample, sample) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.floats(0.3, 1.0), min_size=20, max_size=300, unique=True),
    extra=st.floats(0.001, 0.2),
)
def test_shifting_confidences_down_raises_psi_and_lowers_the_estimate(values: list[float], extra: float) -> None:
    """Shift below the whole reference: every value lands in the lowest bin, and each kept row's confidence
    drops by the shift, so the mean does too."""
    sample = np.array(values)
    shift = float(sample.max() - sample.min()) + extra
    shifted = np.clip(sample - shift, 0.0, 1.0)
    assert drift.population_stability_index(sample, shifted) > drift.population_stability_index(sample, sample)
    tau = 0.0
    assert drift.estimated_accuracy(shifted, tau) < drift.estimated_accuracy(sample, tau)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(0.5, 1.0), min_size=20, max_size=200), shift=st.floats(0.01, 0.4))
def test_psi_is_never_negative_and_the_estimate_falls_by_the_shift_on_the_same_kept_rows(
    values: list[float], shift: float
) -> None:
    sample = np.array(values)
    assert drift.population_stability_index(sample, sample - shift) >= 0.0
    tau = 0.0  # everything stays kept, so the kept rows are the same rows
    assert drift.estimated_accuracy(sample - shift, tau) == pytest.approx(drift.estimated_accuracy(sample, tau) - shift)


def test_psi_grows_with_the_shift_on_a_realistic_sample() -> None:
    base = beta_sample(2000, 8, 2, seed=1)
    values = [drift.population_stability_index(base, np.clip(base - d, 0, 1)) for d in (0.0, 0.05, 0.1, 0.2)]
    assert values[0] == pytest.approx(0.0)
    assert values == sorted(values) and values[-1] > drift.PSI_ALERT


def test_an_empty_bin_is_floored_so_psi_stays_finite() -> None:
    ref = np.linspace(0.0, 1.0, 500)
    sample = np.full(200, 0.99)  # nine of ten bins are empty
    value = drift.population_stability_index(ref, sample)
    assert np.isfinite(value) and value > drift.PSI_ALERT


def test_repeated_quantiles_merge_into_one_edge() -> None:
    saturated = np.array([1.0] * 90 + list(np.linspace(0.5, 0.9, 10)))
    edges = drift.psi_edges(saturated)
    assert len(edges) == len(set(edges.tolist())) and edges[-1] == 1.0
    assert drift.population_stability_index(saturated, saturated) == 0.0


def test_the_same_distribution_raises_no_shift_alert() -> None:
    ref = reference(beta_sample(1500, 8, 2, seed=1))
    prod = traffic(beta_sample(1500, 8, 2, seed=2))
    psi, ks = drift.psi_signal(ref, prod), drift.ks_signal(ref, prod)
    assert (psi.status, ks.status) == ("ok", "ok")
    assert psi.value < drift.PSI_MODERATE
    assert "stable" in psi.explanation


def test_lower_confidences_raise_psi_and_ks_alerts() -> None:
    ref = reference(beta_sample(1500, 8, 2, seed=1))
    prod = traffic(beta_sample(1000, 3, 3, seed=2))
    psi, ks = drift.psi_signal(ref, prod), drift.ks_signal(ref, prod)
    assert (psi.status, ks.status) == ("alert", "alert")
    assert "lower than on validation" in psi.explanation
    assert ks.p_value is not None and ks.p_value < drift.ALPHA and ks.value >= drift.KS_MIN_DISTANCE


def test_a_shift_needs_enough_decisions_and_enough_reference_rows() -> None:
    few = drift.psi_signal(reference(beta_sample(1000, 8, 2, 1)), traffic(beta_sample(40, 8, 2, 2)))
    assert few.status == "not_enough_data" and f"at least {drift.MIN_FOR_SHIFT}" in few.explanation
    no_reference = drift.ks_signal(reference(beta_sample(20, 8, 2, 1)), traffic(beta_sample(500, 8, 2, 2)))
    assert no_reference.status == "not_enough_data" and "validation set has 20 rows" in no_reference.explanation


# --- quality -------------------------------------------------------------------------------------------------


def test_the_label_free_estimate_is_the_mean_confidence_of_kept_traffic() -> None:
    confidence = np.array([0.2, 0.75, 0.85, 0.95])
    assert drift.estimated_accuracy(confidence, 0.7) == pytest.approx((0.75 + 0.85 + 0.95) / 3)
    assert drift.estimated_accuracy(confidence, 0.99) is None


def test_a_lower_estimate_on_kept_traffic_is_an_alert_without_labels() -> None:
    ref = reference(beta_sample(2000, 12, 1.5, seed=1))
    same = drift.estimated_accuracy_signal(ref, traffic(beta_sample(800, 12, 1.5, seed=2)), approved=APPROVED)
    lower = drift.estimated_accuracy_signal(ref, traffic(beta_sample(800, 4, 2, seed=2)), approved=APPROVED)
    assert same.status == "ok" and same.expected == pytest.approx(drift.estimated_accuracy(ref.confidence, 0.7))
    assert lower.status == "alert" and lower.value < lower.low
    assert "without a single label" in lower.explanation


def test_agreement_on_the_shadow_sample_has_a_binomial_interval() -> None:
    conf = beta_sample(2000, 12, 1.5, seed=3)
    fine = drift.teacher_agreement_signal(traffic(conf, shadow_every=5, agree_rate=0.98), approved=APPROVED)
    worse = drift.teacher_agreement_signal(traffic(conf, shadow_every=5, agree_rate=0.85), approved=APPROVED)
    assert fine.status == "ok" and fine.interval[0] <= fine.value <= fine.interval[1]
    assert worse.status == "alert" and worse.interval[1] < APPROVED.kept_agreement
    assert "also sent to the teacher" in worse.explanation and "binomial test" in worse.explanation


def test_agreement_without_a_shadow_sample_is_not_enough_data() -> None:
    signal = drift.teacher_agreement_signal(traffic(beta_sample(500, 12, 1.5, 3)), approved=APPROVED)
    assert (
        signal.status == "not_enough_data" and "0 kept decisions also sent to the teacher (raise" in signal.explanation
    )


def test_accuracy_and_ece_where_labels_exist() -> None:
    ref = reference(beta_sample(2000, 12, 1.5, seed=1))
    conf = beta_sample(2000, 12, 1.5, seed=4)
    calibrated = traffic(conf, labelled=True)
    accuracy, ece = drift.accuracy_signal(calibrated, approved=APPROVED), drift.ece_signal(ref, calibrated)
    assert ece.status == "ok" and ece.value < ece.high
    overconfident = traffic(conf, labelled=True, correct_rate=0.6)
    accuracy, ece = drift.accuracy_signal(overconfident, approved=APPROVED), drift.ece_signal(ref, overconfident)
    assert accuracy.status == "alert" and accuracy.value == pytest.approx(0.6, abs=0.04)
    assert ece.status == "alert" and "no longer mean what they meant" in ece.explanation


def test_ece_matches_a_hand_computation() -> None:
    confidence = np.array([0.95, 0.95, 0.55, 0.55])
    correct = np.array([True, False, True, True])
    # bin (0.9, 1]: accuracy 0.5 vs 0.95; bin (0.5, 0.6]: accuracy 1 vs 0.55; each half the rows.
    assert drift.expected_calibration_error(confidence, correct) == pytest.approx(0.5 * 0.45 + 0.5 * 0.45)


def test_unlabelled_traffic_leaves_accuracy_and_ece_waiting_for_labels() -> None:
    ref = reference(beta_sample(500, 8, 2, 1))
    prod = traffic(beta_sample(500, 8, 2, 2))
    assert drift.accuracy_signal(prod, approved=APPROVED).status == "not_enough_data"
    assert drift.ece_signal(ref, prod).min_sample == drift.MIN_LABELLED_FOR_ECE


def test_all_signals_come_in_a_fixed_order() -> None:
    ref = reference(beta_sample(500, 8, 2, 1))
    keys = [s.key for s in drift.all_signals(traffic(beta_sample(500, 8, 2, 2)), ref, APPROVED)]
    assert keys == ["coverage", "psi", "ks", "estimated_accuracy", "teacher_agreement", "accuracy", "ece"]


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(drift.DriftInputError, match="different lengths"):
        drift.Reference(confidence=np.array([0.5, 0.6]), labelled=np.array([True]), correct=np.array([True]))
    with pytest.raises(drift.DriftInputError, match="probability"):
        traffic(np.array([0.5, 1.5]))


def test_traffic_from_log_columns() -> None:
    built = drift.traffic_from(
        confidence=[0.9, 0.8, 0.3],
        kept=[True, True, False],
        student_label=["a", "b", "a"],
        teacher_label=["a", "", "b"],
        shadow=[True, False, False],
        label=["a", None, "b"],
    )
    assert built.shadowed.tolist() == [True, False, False]  # escalated rows are never the shadow sample
    assert built.agrees.tolist() == [True, False, False]
    assert built.labelled.tolist() == [True, False, True] and built.correct.tolist() == [True, False, False]


# --- windows -------------------------------------------------------------------------------------------------


def test_the_window_width_follows_the_span() -> None:
    assert drift.window_width(timedelta(seconds=30)) == timedelta(minutes=1)
    assert drift.window_width(timedelta(hours=20)) == timedelta(hours=1)
    assert drift.window_width(timedelta(days=3)) == timedelta(hours=6)
    assert drift.window_width(timedelta(days=30)) == timedelta(days=1)
    assert drift.window_width(timedelta(days=3000)) == timedelta(days=28)


def test_windows_start_on_the_hour_and_each_gets_its_own_verdict() -> None:
    start = datetime(2026, 3, 1, 9, 20, tzinfo=UTC)
    rng = np.random.default_rng(0)
    # Two hours at the approved coverage, then one where most traffic escalates.
    confidence = np.concatenate([beta_sample(300, 8, 2, 1), beta_sample(300, 8, 2, 2), rng.uniform(0, 0.6, 300)])
    times = [start + timedelta(seconds=12 * i) for i in range(900)]  # 3 hours
    approved = Approved(tau=0.7, coverage=float((beta_sample(5000, 8, 2, 9) >= 0.7).mean()), kept_accuracy=None,
                        kept_agreement=None)  # fmt: skip
    assert len(drift.windows(times, traffic(confidence), approved)) == 36  # 5-minute windows: 3 hours fit 48
    result = drift.windows(times, traffic(confidence), approved, width=timedelta(hours=1))
    assert [w.start for w in result] == [start.replace(minute=0) + timedelta(hours=h) for h in range(4)]
    assert sum(w.decisions for w in result) == 900
    statuses = [w.coverage.status for w in result]
    assert statuses[0] == "ok" and "alert" in statuses[2:]
    assert result[-1].end - result[-1].start == timedelta(hours=1)


def test_no_decisions_no_windows() -> None:
    assert drift.windows([], traffic(np.array([])), APPROVED) == ()


def test_the_welch_test_matches_scipys() -> None:
    from scipy.stats import ttest_ind

    a, b = beta_sample(200, 5, 2, 1), beta_sample(300, 6, 2, 2)
    expected = ttest_ind(a, b, equal_var=False, alternative="less").pvalue
    assert drift._mean_lower_p(a, b) == pytest.approx(expected, rel=1e-9)
    assert drift._mean_lower_p(np.full(50, 0.5), b) < 1e-6  # a constant sample is fine
    assert drift._mean_lower_p(np.full(50, 0.95), b) > 0.99


def test_a_gap_within_validations_own_sampling_error_is_not_an_alert() -> None:
    """The approved coverage was itself measured on 400 validation rows (± about 5.9 pts at 99%)."""
    measured_exactly = Approved(tau=0.7, coverage=0.7, kept_accuracy=None, kept_agreement=None)
    measured_on_400 = Approved(tau=0.7, coverage=0.7, kept_accuracy=None, kept_agreement=None, validation_rows=400)
    assert drift.coverage_signal(650, 1000, approved=measured_exactly).status == "alert"
    signal = drift.coverage_signal(650, 1000, approved=measured_on_400)
    assert signal.status == "ok" and "within 5.9 pts" in signal.explanation
    assert signal.low == pytest.approx(0.7 - measured_on_400.coverage_tolerance())
