"""The certified τ: hand-checked fixed-sequence tests, refusals, the guarantee holding on fresh samples of a
seeded synthetic distribution, and agreement with MAPIE 1.6's Learn-then-Test on the same data."""

import math
import warnings

import numpy as np
import pytest
from mapie.risk_control import BinaryClassificationController, precision
from mapie.risk_control._base_controller import ltt_procedure
from mapie.risk_control.methods import compute_hoeffding_bentkus_p_value
from numpy.typing import NDArray
from scipy.stats import beta

from webapp.economics.certify import (
    CertifiedTau,
    certification_candidates,
    certified_tau,
    coverage_lower_bound,
    guarantee_at,
    min_kept_to_certify,
    risk_p_value,
)
from webapp.economics.routing import PredictionSet, RoutingInputError


def agreement_set(confidence: NDArray[np.float64], agrees: NDArray[np.bool_]) -> PredictionSet:
    """Unlabelled rows whose student agrees with the teacher where `agrees` says."""
    n = len(confidence)
    return PredictionSet(
        row_ids=tuple(range(n)),
        confidence=tuple(float(c) for c in confidence),
        prediction=("a",) * n,
        teacher_prediction=tuple("a" if a else "b" for a in agrees),
        label=(None,) * n,
        in_scope=(False,) * n,
    )


def descending(n: int) -> NDArray[np.float64]:
    """n distinct confidences, 1.0 first, 0.001 apart."""
    return 1.0 - np.arange(n) / 1000


# --- the procedure by hand ------------------------------------------------------------------------------------


def test_a_99_percent_target_at_delta_5_percent_needs_299_kept_rows() -> None:
    # ln 0.05 / ln 0.99 = 298.07: 0.99^299 = 0.0495 ≤ 0.05 < 0.99^298 = 0.0500
    assert min_kept_to_certify(target=0.99, delta=0.05) == 299
    assert 0.99**299 <= 0.05 < 0.99**298
    assert min_kept_to_certify(target=0.9, delta=0.1) == 22  # 0.9^22 = 0.098, 0.9^21 = 0.109


def test_the_p_value_is_the_binomial_tail() -> None:
    # P(Bin(351, 0.01) ≤ 1) = 0.99^351 + 351 · 0.01 · 0.99^350
    got = risk_p_value(np.array([0, 1]), np.array([350, 351]), max_risk=0.01)

    assert got == pytest.approx([0.99**350, 0.99**351 + 351 * 0.01 * 0.99**350])


def test_fixed_sequence_stops_at_the_first_threshold_it_cannot_certify() -> None:
    # 400 rows, most confident first: the first 350 agree with the teacher, the last 50 don't. Testing starts at
    # 299 kept rows; up to 350 kept (0 disagreements) p = 0.99^350 = 0.030 ≤ 0.05: certified; at 351 kept with one
    # disagreement p = 0.134 > 0.05: stop. So τ keeps the first 350 rows, after 52 rejections and one failure.
    confidence = descending(400)
    result = certified_tau(agreement_set(confidence, np.arange(400) < 350))

    assert result.found and result.risk == "agreement"
    assert result.tau == pytest.approx(confidence[349])
    assert (result.kept_scored, result.kept_failures, result.kept_quality) == (350, 0, 1.0)
    assert result.p_value == pytest.approx(0.99**350)
    assert result.tested == 350 - 299 + 1 + 1
    assert result.point is not None and result.point.coverage == pytest.approx(350 / 400)
    assert result.coverage_lower_bound == pytest.approx(beta.ppf(0.05, 350, 51))
    assert "with probability ≥ 95%" in result.reason and "≥ 99.0%" in result.reason


def test_a_large_clean_sample_certifies_all_of_its_traffic() -> None:
    result = certified_tau(agreement_set(descending(1000), np.ones(1000, dtype=bool)))

    assert result.found and result.point is not None and result.point.coverage == 1.0
    assert result.p_value == pytest.approx(0.99**1000)
    # Clopper-Pearson with every row kept: P(Bin(n, c) ≥ n) = c^n = δ, so the bound is δ^(1/n).
    assert result.coverage_lower_bound == pytest.approx(0.05 ** (1 / 1000))


def test_it_refuses_a_sample_too_small_to_certify_and_says_why() -> None:
    result = certified_tau(agreement_set(descending(200), np.ones(200, dtype=bool)))

    assert not result.found and result.tau is None and result.point is None
    assert result.tested == 0 and result.min_kept_to_certify == 299
    assert "Too few rows to certify" in result.reason and "at least 299 kept rows (even if" in result.reason
    assert "validation has 200" in result.reason


def test_it_refuses_when_even_the_most_conservative_testable_tau_fails() -> None:
    # One disagreement among the 299 most confident rows: p = P(Bin(299, 0.01) ≤ 1) = 0.20 > 0.05.
    agrees = np.ones(1000, dtype=bool)
    agrees[10] = False

    result = certified_tau(agreement_set(descending(1000), agrees))

    assert not result.found and result.tested == 1
    assert "Even the most conservative τ" in result.reason and "1 of its 299 kept rows disagree" in result.reason


def test_a_looser_target_certifies_more_traffic() -> None:
    rng = np.random.default_rng(7)
    confidence, agrees = synthetic(rng, 3000)
    predictions = agreement_set(confidence, agrees)

    strict, loose = certified_tau(predictions, target=0.99), certified_tau(predictions, target=0.95)

    assert strict.point is not None and loose.point is not None
    assert loose.point.coverage > strict.point.coverage


def test_the_accuracy_risk_scores_labelled_rows_and_a_kept_out_of_scope_row_is_a_mistake() -> None:
    # Most confident first: 100 unlabelled rows, 320 in-scope rows the student gets right, one out-of-scope row
    # (on which student and teacher agree), then 10 more right rows.
    kinds = ["unlabelled"] * 100 + ["right"] * 320 + ["oos"] + ["right"] * 10
    n = len(kinds)
    predictions = PredictionSet(
        row_ids=tuple(range(n)),
        confidence=tuple(float(c) for c in descending(n)),
        prediction=("a",) * n,
        teacher_prediction=("a",) * n,
        label=tuple({"unlabelled": None, "right": "a", "oos": "oos"}[k] for k in kinds),
        in_scope=tuple(k == "right" for k in kinds),
    )

    accuracy = certified_tau(predictions, risk="accuracy")
    agreement = certified_tau(predictions, risk="agreement")

    # 320 labelled rows, none wrong: p = 0.99^320 = 0.040; the oos row makes it 1 mistake in 321: p = 0.17.
    assert accuracy.tau == pytest.approx(descending(n)[419])
    assert (accuracy.kept_scored, accuracy.kept_failures) == (320, 0)
    assert accuracy.point is not None and accuracy.point.kept == 420  # the unlabelled rows are kept too
    assert agreement.point is not None and agreement.point.coverage == 1.0  # agreement ignores labels


def test_the_accuracy_risk_without_labels_is_refused() -> None:
    result = certified_tau(agreement_set(descending(500), np.ones(500, dtype=bool)), risk="accuracy")

    assert not result.found and "labelled rows" in result.reason and "validation has 0" in result.reason


@pytest.mark.parametrize(
    ("target", "delta", "message"),
    [
        (1.0, 0.05, "certified target"),
        (0.0, 0.05, "certified target"),
        (math.nan, 0.05, "certified target"),
        (0.99, 0.0, "δ"),
        (0.99, 1.0, "δ"),
        (0.99, -0.5, "δ"),
    ],
)
def test_a_target_or_delta_outside_the_open_unit_interval_is_refused(target: float, delta: float, message: str) -> None:
    with pytest.raises(RoutingInputError, match=rf"{message} must be in \(0, 1\)"):
        certified_tau(agreement_set(descending(10), np.ones(10, dtype=bool)), target=target, delta=delta)


def test_an_unknown_risk_is_refused() -> None:
    with pytest.raises(RoutingInputError, match="agreement, accuracy"):
        certified_tau(agreement_set(descending(10), np.ones(10, dtype=bool)), risk="f1")  # type: ignore[arg-type]


def test_the_coverage_bound_of_nothing_kept_is_zero() -> None:
    assert coverage_lower_bound(0, 100, delta=0.05) == 0.0


# --- the guarantee on fresh data ------------------------------------------------------------------------------


def synthetic(rng: np.random.Generator, n: int) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Confidence c ~ U(0, 1); the student disagrees with the teacher with probability 0.2·(1 − c)². The kept
    risk R(τ) = 0.2·(1 − τ)²/3 is ≤ 1% for τ ≥ 0.613: the oracle keeps 38.7%."""
    confidence = rng.uniform(size=n)
    return confidence, rng.uniform(size=n) >= 0.2 * (1 - confidence) ** 2


def kept_agreement_on(fresh: tuple[NDArray[np.float64], NDArray[np.bool_]], tau: float) -> float:
    confidence, agrees = fresh
    kept = confidence >= tau
    return float(agrees[kept].mean())


def test_the_certified_target_holds_on_fresh_samples_in_at_least_1_minus_delta_of_draws() -> None:
    rng = np.random.default_rng(2024)
    fresh = synthetic(rng, 400_000)  # stands for production traffic from the same distribution
    draws, target, delta = 300, 0.99, 0.05

    results: list[CertifiedTau] = [
        certified_tau(agreement_set(*synthetic(rng, 3000)), target=target, delta=delta) for _ in range(draws)
    ]

    certified = [r for r in results if r.tau is not None]
    holding = sum(kept_agreement_on(fresh, r.tau) >= target for r in certified if r.tau is not None)
    # A refusal keeps nothing on the student, so it can't break the promise; most draws must certify something.
    assert len(certified) >= 0.8 * draws
    assert (holding + draws - len(certified)) / draws >= 1 - delta
    # ... and it is not vacuous: the certified share is a useful fraction of the oracle's 38.7%.
    assert np.mean([r.point.coverage for r in certified if r.point is not None]) > 0.15


# --- agreement with MAPIE 1.6 ---------------------------------------------------------------------------------


def mapie_risk(failures: NDArray[np.int64], kept: NDArray[np.int64]) -> NDArray[np.float64]:
    """The empirical risk k/n as MAPIE should see it. MAPIE recovers the failure count as ceil(n · r̂) in floats,
    which is k + 1 when n · (k/n) rounds just above k; this steps such an r̂ down by ulps until it gives k back,
    so both sides test the same count (the next test shows what MAPIE's own rounding does)."""
    risk = failures / kept
    for i in np.flatnonzero(np.ceil(kept * risk) != failures):
        while math.ceil(kept[i] * risk[i]) > failures[i]:
            risk[i] = np.nextafter(risk[i], 0.0)
    return risk


def test_the_p_value_equals_mapies_binary_hoeffding_bentkus_p_value() -> None:
    pairs = [(k, n) for n in (1, 7, 50, 299, 300, 1000, 4321) for k in range(0, n + 1, max(1, n // 40))]
    failures, kept = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    for alpha in (0.01, 0.05, 0.2):
        theirs = compute_hoeffding_bentkus_p_value(mapie_risk(failures, kept), kept, alpha, binary=True)[:, 0]

        assert risk_p_value(failures, kept, max_risk=alpha) == pytest.approx(theirs, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("rows", [2000, 4000])  # at 2000 rows about half the draws are refused
def test_the_certified_tau_equals_mapies_ltt_with_fixed_sequence_testing(seed: int, rows: int) -> None:
    rng = np.random.default_rng(seed)
    predictions = agreement_set(*synthetic(rng, rows))
    ours = certified_tau(predictions)

    # The same hypotheses handed to MAPIE's LTT: the thresholds from where ours starts, lowest τ first, so that
    # MAPIE sees the risk decrease along them and runs the fixed sequence from the highest τ down, as ours does.
    candidates = certification_candidates(predictions, "agreement")
    start = int(np.flatnonzero(candidates.scored >= ours.min_kept_to_certify)[0])
    tau, n, k = (a[start:][::-1] for a in (candidates.tau, candidates.scored, candidates.failures))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "risk not monotonic": empirical risks wiggle
        valid, p_values = ltt_procedure(
            mapie_risk(k, n)[None, :], np.array([[0.01]]), 0.05, n[None, :], True, "fixed_sequence"
        )

    assert p_values[:, 0] == pytest.approx(risk_p_value(k, n, max_risk=0.01), rel=1e-9, abs=1e-300)

    certified_by_mapie = tau[valid[0]]
    if ours.tau is None:
        assert certified_by_mapie.size == 0
    else:
        assert certified_by_mapie.min() == ours.tau  # MAPIE's best λ for precision: the most coverage
        assert certified_by_mapie.size == ours.tested - (0 if ours.tested == len(tau) else 1)


def test_mapies_controller_is_never_less_conservative_and_agrees_where_its_rounding_does() -> None:
    # MAPIE's BinaryClassificationController with its "precision" risk on kept = (confidence ≥ λ) and y = agrees is
    # the same certification. It computes the failure count as ceil(n · (1 − precision)) in floats, which can round
    # one failure up: its p-values are then larger, never smaller, so its τ is never below ours.
    same_tau = 0
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        confidence, agrees = synthetic(rng, 3000)
        confidence = np.round(confidence, 4)  # ties, as real confidences have
        ours, theirs = certified_tau(agreement_set(confidence, agrees)), mapie_controller_tau(confidence, agrees)

        if ours.tau is None:
            assert theirs is None
        else:
            assert theirs is not None and theirs >= ours.tau
            same_tau += theirs == ours.tau
    assert same_tau >= 2  # seeds 102 and 103: MAPIE's rounding doesn't reach the deciding tests


def mapie_controller_tau(confidence: NDArray[np.float64], agrees: NDArray[np.bool_]) -> float | None:
    """MAPIE's certified λ over the same thresholds ours tests, from the first with 299 kept rows down."""
    candidates = certification_candidates(agreement_set(confidence, agrees), "agreement")
    start = int(np.flatnonzero(candidates.scored >= min_kept_to_certify(target=0.99, delta=0.05))[0])
    controller = BinaryClassificationController(
        predict_function=lambda x: np.column_stack([1 - x, x]),
        risk=precision,
        target_level=0.99,
        confidence_level=0.95,
        list_predict_params=np.sort(candidates.tau[start:]),
        fwer_method="fixed_sequence",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "risk not monotonic": empirical risks wiggle
        controller.calibrate(confidence, agrees.astype(int))
    assert controller.p_values is not None
    our_p = risk_p_value(candidates.failures[start:], candidates.scored[start:], max_risk=0.01)
    assert np.all(controller.p_values[::-1, 0] >= our_p - 1e-12)
    return None if controller.best_predict_param is None else float(controller.best_predict_param)


# --- re-testing a chosen τ on new data ------------------------------------------------------------------------


def test_a_certified_tau_re_tested_on_its_own_data_holds_with_its_p_value() -> None:
    data = agreement_set(descending(1000), np.ones(1000, dtype=bool))
    certified = certified_tau(data)
    assert certified.tau is not None
    check = guarantee_at(data, certified.tau)
    assert check.holds and check.kept_scored == certified.kept_scored and check.p_value == certified.p_value


def test_a_tau_re_tested_on_drifted_data_fails_and_says_how_many_disagree() -> None:
    agrees = np.ones(1000, dtype=bool)
    agrees[::20] = False  # 5% disagreement on kept traffic against a 99% target
    check = guarantee_at(agreement_set(descending(1000), agrees), 0.0)  # keeps every row
    assert not check.holds and check.kept_failures == 50 and check.kept_scored == 1000
    assert "does not hold" in check.reason and "950 of 1000" in check.reason


def test_nothing_kept_is_nothing_to_test() -> None:
    check = guarantee_at(agreement_set(descending(400), np.ones(400, dtype=bool)), 1.0 + 1e-9)
    assert not check.holds and check.p_value is None and "Nothing is kept" in check.reason
