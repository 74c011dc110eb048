"""Is production traffic still the traffic the approval was judged on? Pure statistics (no Django) over a
deployment's logged decisions, compared with what its approval expected and with the validation set its τ was
chosen on.

Every signal answers with a value, the band it should sit in, a status ("ok", "alert", or "not_enough_data"
with the minimum sample stated) and one sentence a reader can act on:

- **coverage**: the share the student kept, against the coverage validation predicted at τ. A two-sided
  binomial test (scipy's `binomtest`) of the kept count against the approved coverage, not an eyeballed line;
  the escalation rate is its complement, so one test serves both.
- **psi** and **ks**: the shift of the student's confidence distribution from validation's. PSI over bins cut
  at the validation quantiles (empty bins floored, so one empty bin does not make it infinite); the two-sample
  Kolmogorov-Smirnov test (scipy's `ks_2samp`) as a distribution-free second opinion.
- **estimated_accuracy**: without any labels, the mean temperature-scaled top-class probability of the kept
  traffic. For a calibrated model that is its expected accuracy; it is compared with the same estimate on
  validation's kept rows, so a calibration error that was already there cancels out.
- **teacher_agreement**: on the shadow sample (kept rows the teacher also answered), with a binomial
  confidence interval.
- **accuracy** and **ece**: where decisions carry their true label.

Why an alert needs both a significant test and a practical gap: with a million decisions a day any difference
is significant; an alert should mean money or quality moved enough to act on. The thresholds are the module's
constants, each with its reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binom, binomtest, ks_2samp
from scipy.stats import t as student_t

Status = Literal["ok", "alert", "not_enough_data"]
STATUS_LABELS: dict[str, str] = {"ok": "OK", "alert": "Alert", "not_enough_data": "Not enough data"}

# Significance level of every test here: 1% keeps false alarms rare when a page is looked at many times a day.
ALPHA = 0.01
# Coverage: a move smaller than 3 points is not worth an alert even when significant (it moves the monthly bill
# by 3% of the teacher's share at most).
COVERAGE_TOLERANCE = 0.03
# Accuracy and agreement with the teacher: 2 points below what validation measured on the kept traffic.
QUALITY_TOLERANCE = 0.02
# The expected figures are themselves measured on a finite validation set: a gap within its own sampling error
# (this many standard errors, two-sided 99%) is no evidence of drift, so each tolerance widens to it.
VALIDATION_Z = 2.576
# The label-free accuracy estimate: 3 points below validation's own estimate.
ESTIMATE_TOLERANCE = 0.03
# PSI rule of thumb (Siddiqi, "Credit Risk Scorecards"): < 0.1 stable, 0.1-0.25 moderate, >= 0.25 a real shift.
# With 100 decisions and 10 bins, 0.25 is also about where sampling noise alone stays 99% of the time.
PSI_ALERT = 0.25
PSI_MODERATE = 0.1
PSI_BINS = 10
# An empty bin's share is taken as this (PSI has ln(p/q): an empty bin would make it infinite).
PSI_FLOOR = 1e-4
# KS: the largest gap between the two cumulative distributions must also be at least 0.1 to alert.
KS_MIN_DISTANCE = 0.1
# ECE: equal-width bins; an alert when production's is this much above validation's (ECE is biased upwards on
# small samples, so the margin is generous and the minimum sample larger).
ECE_BINS = 10
ECE_MARGIN = 0.05
# The fewest observations each signal is judged on; below them the status is "not_enough_data".
MIN_DECISIONS = 50
MIN_FOR_SHIFT = 100
MIN_KEPT = 30
MIN_SHADOW = 30
MIN_LABELLED = 30
MIN_LABELLED_FOR_ECE = 100
# A time series gets at most this many windows; the width is the smallest of WINDOW_WIDTHS that fits.
MAX_WINDOWS = 48
WINDOW_WIDTHS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(weeks=1),
    timedelta(days=28),
)


class DriftInputError(ValueError):
    """Columns that can't be compared (different lengths, a confidence outside [0, 1])."""


# --- inputs ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Approved:
    """What the approval expected at its τ, measured on validation (the request's frozen snapshot)."""

    tau: float
    coverage: float
    kept_accuracy: float | None
    kept_agreement: float | None
    validation_rows: int | None = None  # how many rows the coverage was measured on
    validation_kept: int | None = None  # how many of them were kept: what the kept quality was measured on

    def coverage_tolerance(self) -> float:
        return max(COVERAGE_TOLERANCE, _sampling_margin(self.coverage, self.validation_rows))

    def quality_tolerance(self, expected: float) -> float:
        return max(QUALITY_TOLERANCE, _sampling_margin(expected, self.validation_kept))


def _sampling_margin(share: float, rows: int | None) -> float:
    """VALIDATION_Z standard errors of a share measured on `rows` rows (0 when the count is unknown)."""
    return VALIDATION_Z * math.sqrt(share * (1 - share) / rows) if rows else 0.0


@dataclass(frozen=True)
class Reference:
    """The validation set the τ was chosen on: the student's confidences (after temperature scaling) and, per
    row, whether its label is known and the student got it right."""

    confidence: NDArray[np.float64]
    labelled: NDArray[np.bool_]
    correct: NDArray[np.bool_]

    def __post_init__(self) -> None:
        _same_lengths(self.confidence, self.labelled, self.correct)
        _check_confidences(self.confidence)


@dataclass(frozen=True)
class Traffic:
    """Production decisions as columns, one entry per decision. `kept`: the student answered; `shadowed`: it
    answered and the teacher was asked too; `agrees`: the two labels are equal (meaningful where shadowed);
    `labelled`/`correct`: the true label is known, and the student's label is it."""

    confidence: NDArray[np.float64]
    kept: NDArray[np.bool_]
    shadowed: NDArray[np.bool_]
    agrees: NDArray[np.bool_]
    labelled: NDArray[np.bool_]
    correct: NDArray[np.bool_]

    def __post_init__(self) -> None:
        _same_lengths(self.confidence, self.kept, self.shadowed, self.agrees, self.labelled, self.correct)
        _check_confidences(self.confidence)

    def __len__(self) -> int:
        return len(self.confidence)

    def select(self, mask: NDArray[np.bool_]) -> Traffic:
        return Traffic(
            confidence=self.confidence[mask],
            kept=self.kept[mask],
            shadowed=self.shadowed[mask],
            agrees=self.agrees[mask],
            labelled=self.labelled[mask],
            correct=self.correct[mask],
        )


def reference_from(confidence: Sequence[float], prediction: Sequence[str], label: Sequence[str | None]) -> Reference:
    return Reference(
        confidence=np.asarray(confidence, dtype=np.float64),
        labelled=np.array([y is not None for y in label], dtype=bool),
        correct=np.array([y is not None and p == y for p, y in zip(prediction, label, strict=True)], dtype=bool),
    )


def traffic_from(
    *,
    confidence: Sequence[float],
    kept: Sequence[bool],
    student_label: Sequence[str],
    teacher_label: Sequence[str | None],
    shadow: Sequence[bool],
    label: Sequence[str | None],
) -> Traffic:
    """Columns as the decision log has them (an unknown teacher or true label is None or "")."""
    kept_ = np.asarray(kept, dtype=bool)
    _same_lengths(np.asarray(confidence), kept_, np.asarray(student_label), np.asarray(shadow))
    teacher = [t or None for t in teacher_label]
    truth = [y or None for y in label]
    return Traffic(
        confidence=np.asarray(confidence, dtype=np.float64),
        kept=kept_,
        shadowed=kept_
        & np.array([bool(s) and t is not None for s, t in zip(shadow, teacher, strict=True)], dtype=bool),
        agrees=np.array([s == t for s, t in zip(student_label, teacher, strict=True)], dtype=bool),
        labelled=np.array([y is not None for y in truth], dtype=bool),
        correct=np.array([s == y for s, y in zip(student_label, truth, strict=True)], dtype=bool),
    )


def _same_lengths(*columns: NDArray[np.generic]) -> None:
    sizes = {len(column) for column in columns}
    if len(sizes) > 1:
        raise DriftInputError(f"The columns have different lengths: {sorted(sizes)}.")


def _check_confidences(confidence: NDArray[np.float64]) -> None:
    if confidence.size and not (np.all(confidence >= 0.0) and np.all(confidence <= 1.0)):  # NaN fails too
        raise DriftInputError("A confidence is not a probability in [0, 1].")


# --- one signal ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    """One monitored quantity: its value on the traffic, the band it should sit in (either end may be open),
    the status, how many observations it stands on and the fewest it needs, the test's p-value and a
    confidence interval where there is one, and one sentence saying what it means."""

    key: str
    name: str
    value: float | None
    expected: float | None
    low: float | None
    high: float | None
    status: Status
    sample: int
    min_sample: int
    explanation: str
    p_value: float | None = None
    interval: tuple[float, float] | None = None
    unit: Literal["share", "score"] = "share"

    @property
    def is_alert(self) -> bool:
        return self.status == "alert"


def _not_enough(key: str, name: str, sample: int, minimum: int, what: str, **known: float | None) -> Signal:
    return Signal(
        key=key,
        name=name,
        value=None,
        expected=known.get("expected"),
        low=known.get("low"),
        high=known.get("high"),
        status="not_enough_data",
        sample=sample,
        min_sample=minimum,
        explanation=f"Not enough data: {_count(sample)} {what} so far; this signal needs at least {minimum}.",
    )


def coverage_band(total: int, expected: float, *, tolerance: float, alpha: float = ALPHA) -> tuple[float, float]:
    """The coverage a sample of `total` decisions shows with probability 1 - α when the true coverage is the
    expected one (equal tails of Binomial(total, expected)), widened to the tolerance."""
    low = float(binom.ppf(alpha / 2, total, expected)) / total
    high = float(binom.isf(alpha / 2, total, expected)) / total
    return max(0.0, min(low, expected - tolerance)), min(1.0, max(high, expected + tolerance))


def coverage_signal(kept: int, total: int, *, approved: Approved, min_sample: int = MIN_DECISIONS) -> Signal:
    """The kept count against the approved coverage: binomial test, two-sided (a rise is drift too: the student
    keeps rows validation says it should not)."""
    key, name, expected = "coverage", "Coverage (kept by the student)", approved.coverage
    if total < min_sample:
        return _not_enough(key, name, total, min_sample, "decisions", expected=expected)
    realised = kept / total
    p_value = float(binomtest(kept, total, expected).pvalue)
    tolerance = approved.coverage_tolerance()
    low, high = coverage_band(total, expected, tolerance=tolerance)
    gap = realised - expected
    alert = p_value < ALPHA and abs(gap) >= tolerance
    head = (
        f"The student kept {_count(kept)} of {_count(total)} decisions ({realised:.1%}; escalation rate "
        f"{1 - realised:.1%}) against {expected:.1%} expected at τ = {approved.tau:.3g} ({_points(gap)}, binomial "
        f"test {_p(p_value)})"
    )
    if alert:
        direction = (
            "more traffic escalates to the teacher than the approval paid for"
            if gap < 0
            else "the student keeps traffic validation says it should not"
        )
        explanation = f"{head}: {direction}."
    elif p_value < ALPHA:
        explanation = (
            f"{head}: a real but small move, within {tolerance * 100:.1f} pts of the approved coverage (the "
            "tolerance, or validation's own sampling error if larger)."
        )
    else:
        explanation = f"{head}: within what chance alone gives for {_count(total)} decisions."
    return Signal(
        key=key,
        name=name,
        value=realised,
        expected=expected,
        low=low,
        high=high,
        status="alert" if alert else "ok",
        sample=total,
        min_sample=min_sample,
        explanation=explanation,
        p_value=p_value,
    )


# --- confidence distribution shift ---------------------------------------------------------------------------


def psi_edges(reference: NDArray[np.float64], bins: int = PSI_BINS) -> NDArray[np.float64]:
    """The inner bin edges: the reference's quantiles (equal-count bins on validation), repeated ones merged
    (a saturated softmax puts many confidences at exactly 1.0)."""
    quantiles = np.quantile(reference, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    return np.unique(quantiles)


def bin_shares(values: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.float64]:
    """The share of `values` in each bin (-inf, e1], (e1, e2], ..., (ek, inf)."""
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    return counts.astype(np.float64) / max(1, len(values))


def population_stability_index(
    reference: NDArray[np.float64], sample: NDArray[np.float64], *, bins: int = PSI_BINS, floor: float = PSI_FLOOR
) -> float:
    """PSI = Σ (s - r) ln(s / r) over bins cut at the reference's quantiles, each share floored at `floor`.
    0 for identical distributions; symmetric in the two shares, always ≥ 0."""
    if len(reference) == 0 or len(sample) == 0:
        raise DriftInputError("PSI needs a non-empty reference and sample.")
    edges = psi_edges(reference, bins)
    r = np.maximum(bin_shares(reference, edges), floor)
    s = np.maximum(bin_shares(sample, edges), floor)
    return float(np.sum((s - r) * np.log(s / r)))


def psi_signal(reference: Reference, traffic: Traffic) -> Signal:
    key, name = "psi", "Confidence shift (PSI)"
    n = len(traffic)
    if n < MIN_FOR_SHIFT or len(reference.confidence) < MIN_FOR_SHIFT:
        return _shift_not_enough(key, name, n, len(reference.confidence), high=PSI_ALERT)
    value = population_stability_index(reference.confidence, traffic.confidence)
    lower = float(np.mean(traffic.confidence)) < float(np.mean(reference.confidence))
    direction = "lower" if lower else "higher"
    if value >= PSI_ALERT:
        status: Status = "alert"
        verdict = f"a real shift (≥ {PSI_ALERT:g}): production confidences are {direction} than on validation"
    elif value >= PSI_MODERATE:
        status = "ok"
        verdict = f"a moderate shift ({PSI_MODERATE:g}-{PSI_ALERT:g}) worth watching; confidences run {direction}"
    else:
        status = "ok"
        verdict = f"stable (< {PSI_MODERATE:g})"
    return Signal(
        key=key,
        name=name,
        value=value,
        expected=0.0,
        low=None,
        high=PSI_ALERT,
        status=status,
        sample=n,
        min_sample=MIN_FOR_SHIFT,
        unit="score",
        explanation=(
            f"PSI {value:.3f} between the confidences of {_count(n)} decisions and {_count(len(reference.confidence))}"
            f" validation rows ({PSI_BINS} bins at validation's quantiles): {verdict}."
        ),
    )


def ks_signal(reference: Reference, traffic: Traffic) -> Signal:
    key, name = "ks", "Confidence shift (KS)"
    n = len(traffic)
    if n < MIN_FOR_SHIFT or len(reference.confidence) < MIN_FOR_SHIFT:
        return _shift_not_enough(key, name, n, len(reference.confidence), high=KS_MIN_DISTANCE)
    result = ks_2samp(reference.confidence, traffic.confidence)
    distance, p_value = float(result.statistic), float(result.pvalue)
    alert = p_value < ALPHA and distance >= KS_MIN_DISTANCE
    if alert:
        verdict = "the two distributions differ"
    elif p_value < ALPHA:
        verdict = f"a real but small difference (the gap is under {KS_MIN_DISTANCE:g})"
    else:
        verdict = "no evidence the distribution moved"
    return Signal(
        key=key,
        name=name,
        value=distance,
        expected=0.0,
        low=None,
        high=KS_MIN_DISTANCE,
        status="alert" if alert else "ok",
        sample=n,
        min_sample=MIN_FOR_SHIFT,
        unit="score",
        p_value=p_value,
        explanation=(
            f"The largest gap between the cumulative confidence distributions of production and validation is "
            f"{distance:.3f} (two-sample Kolmogorov-Smirnov, {_p(p_value)}): {verdict}."
        ),
    )


def _shift_not_enough(key: str, name: str, n: int, reference_rows: int, *, high: float) -> Signal:
    if reference_rows < MIN_FOR_SHIFT:
        return Signal(
            key=key,
            name=name,
            value=None,
            expected=0.0,
            low=None,
            high=high,
            status="not_enough_data",
            sample=n,
            min_sample=MIN_FOR_SHIFT,
            unit="score",
            explanation=(
                f"Not enough data: the validation set has {_count(reference_rows)} rows with stored confidences; a "
                f"shift is measured against at least {MIN_FOR_SHIFT}."
            ),
        )
    return replace(_not_enough(key, name, n, MIN_FOR_SHIFT, "decisions", expected=0.0, high=high), unit="score")


# --- quality -------------------------------------------------------------------------------------------------


def estimated_accuracy(confidence: NDArray[np.float64], tau: float) -> float | None:
    """The label-free estimate: the mean confidence of the rows kept at τ (None when none is kept)."""
    kept = confidence[confidence >= tau]
    return float(np.mean(kept)) if kept.size else None


def estimated_accuracy_signal(reference: Reference, traffic: Traffic, *, approved: Approved) -> Signal:
    key, name = "estimated_accuracy", "Estimated accuracy (no labels)"
    kept = traffic.confidence[traffic.kept]
    expected = estimated_accuracy(reference.confidence, approved.tau)
    if expected is None:
        return _not_enough(key, name, 0, MIN_KEPT, "validation rows above τ")
    low = expected - ESTIMATE_TOLERANCE
    if kept.size < MIN_KEPT:
        return _not_enough(key, name, int(kept.size), MIN_KEPT, "kept decisions", expected=expected, low=low)
    value = float(np.mean(kept))
    reference_kept = reference.confidence[reference.confidence >= approved.tau]
    p_value = _mean_lower_p(kept, reference_kept)
    alert = value < low and p_value < ALPHA
    measured = f" (validation measured {approved.kept_accuracy:.1%})" if approved.kept_accuracy is not None else ""
    head = (
        f"The mean calibrated confidence of {_count(kept.size)} kept decisions estimates the student's accuracy "
        f"on them at {value:.1%}, against {expected:.1%} on validation's kept rows{measured}"
    )
    if alert:
        explanation = f"{head}: {_points(value - expected)} (Welch's t-test {_p(p_value)}), without a single label."
    else:
        explanation = f"{head}: no drop beyond {ESTIMATE_TOLERANCE:.0%} that chance can't explain."
    return Signal(
        key=key,
        name=name,
        value=value,
        expected=expected,
        low=low,
        high=None,
        status="alert" if alert else "ok",
        sample=int(kept.size),
        min_sample=MIN_KEPT,
        explanation=explanation,
        p_value=p_value,
    )


def _mean_lower_p(sample: NDArray[np.float64], reference: NDArray[np.float64]) -> float:
    """One-sided Welch t-test p-value that `sample`'s mean is below `reference`'s. Written out rather than
    scipy's `ttest_ind`, which warns about precision on a sample of identical values (a saturated softmax
    gives many) where the statistic itself is fine. Fewer than two values on a side can't be tested (1)."""
    n1, n2 = sample.size, reference.size
    if n1 < 2 or n2 < 2:
        return 1.0
    difference = float(np.mean(sample)) - float(np.mean(reference))
    a, b = float(np.var(sample, ddof=1)) / n1, float(np.var(reference, ddof=1)) / n2
    if a + b == 0.0:  # both constant: the means simply differ, or they don't
        return 0.0 if difference < 0 else 1.0
    degrees = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
    return float(student_t.cdf(difference / math.sqrt(a + b), degrees))


def proportion_interval(successes: int, trials: int, *, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval of a binomial proportion."""
    interval = binomtest(successes, trials).proportion_ci(confidence_level=level, method="exact")
    return float(interval.low), float(interval.high)


def _proportion_below(
    *,
    key: str,
    name: str,
    successes: int,
    trials: int,
    expected: float | None,
    approved: Approved,
    minimum: int,
    what: str,
    sample_noun: str,
) -> Signal:
    """A share measured on a sample (agreement, accuracy) against the share validation measured: one-sided
    binomial test that it is lower, and a shortfall of at least the quality tolerance to alert."""
    tolerance = approved.quality_tolerance(expected) if expected is not None else QUALITY_TOLERANCE
    low = expected - tolerance if expected is not None else None
    if trials < minimum:
        return _not_enough(key, name, trials, minimum, sample_noun, expected=expected, low=low)
    value = successes / trials
    interval = proportion_interval(successes, trials)
    head = f"{_count(successes)} of {_count(trials)} {what}: {value:.1%} (95% CI {interval[0]:.1%}-{interval[1]:.1%})"
    if expected is None:
        return Signal(
            key=key,
            name=name,
            value=value,
            expected=None,
            low=None,
            high=None,
            status="ok",
            sample=trials,
            min_sample=minimum,
            interval=interval,
            explanation=f"{head}; validation has no figure to compare with.",
        )
    p_value = float(binomtest(successes, trials, min(max(expected, 1e-12), 1 - 1e-12), alternative="less").pvalue)
    alert = p_value < ALPHA and value <= expected - tolerance
    verdict = (
        f"below the {expected:.1%} validation measured ({_points(value - expected)}, binomial test {_p(p_value)})"
        if alert
        else f"consistent with the {expected:.1%} validation measured"
    )
    return Signal(
        key=key,
        name=name,
        value=value,
        expected=expected,
        low=low,
        high=None,
        status="alert" if alert else "ok",
        sample=trials,
        min_sample=minimum,
        p_value=p_value,
        interval=interval,
        explanation=f"{head}, {verdict}.",
    )


def teacher_agreement_signal(traffic: Traffic, *, approved: Approved) -> Signal:
    shadowed = traffic.shadowed
    return _proportion_below(
        key="teacher_agreement",
        name="Agreement with the teacher (shadow sample)",
        successes=int((traffic.agrees & shadowed).sum()),
        trials=int(shadowed.sum()),
        expected=approved.kept_agreement,
        approved=approved,
        minimum=MIN_SHADOW,
        what="kept decisions also sent to the teacher agree with it",
        sample_noun="kept decisions also sent to the teacher (raise the shadow rate to get some)",
    )


def accuracy_signal(traffic: Traffic, *, approved: Approved) -> Signal:
    scored = traffic.kept & traffic.labelled
    return _proportion_below(
        key="accuracy",
        name="Accuracy (labelled kept decisions)",
        successes=int((traffic.correct & scored).sum()),
        trials=int(scored.sum()),
        expected=approved.kept_accuracy,
        approved=approved,
        minimum=MIN_LABELLED,
        what="labelled kept decisions are right",
        sample_noun="kept decisions with a known label (upload labelled decisions to get some)",
    )


def expected_calibration_error(
    confidence: NDArray[np.float64], correct: NDArray[np.bool_], bins: int = ECE_BINS
) -> float:
    """ECE over equal-width bins (lo, hi] (the first closed at 0, as in Guo et al. 2017 and the evaluation
    pages): Σ |bin| / n · |accuracy(bin) − confidence(bin)|."""
    if confidence.size == 0:
        raise DriftInputError("ECE needs at least one labelled row.")
    index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            total += float(in_bin.sum()) * abs(float(correct[in_bin].mean()) - float(confidence[in_bin].mean()))
    return total / confidence.size


def ece_signal(reference: Reference, traffic: Traffic) -> Signal:
    key, name = "ece", "Calibration error (ECE, labelled decisions)"
    labelled = traffic.labelled
    n = int(labelled.sum())
    reference_n = int(reference.labelled.sum())
    expected = (
        expected_calibration_error(reference.confidence[reference.labelled], reference.correct[reference.labelled])
        if reference_n
        else None
    )
    high = expected + ECE_MARGIN if expected is not None else None
    if n < MIN_LABELLED_FOR_ECE:
        signal = _not_enough(key, name, n, MIN_LABELLED_FOR_ECE, "labelled decisions", expected=expected, high=high)
        return replace(signal, unit="score")
    value = expected_calibration_error(traffic.confidence[labelled], traffic.correct[labelled])
    if expected is None or high is None:
        status: Status = "ok"
        explanation = f"ECE {value:.3f} on {_count(n)} labelled decisions; validation has no labels to compare with."
    else:
        status = "alert" if value > high else "ok"
        verdict = (
            "the confidences no longer mean what they meant on validation: τ keeps a different quality"
            if status == "alert"
            else f"within {ECE_MARGIN:g} of validation's"
        )
        explanation = (
            f"ECE {value:.3f} on {_count(n)} labelled decisions against {expected:.3f} on validation "
            f"({ECE_BINS} equal-width bins): {verdict}."
        )
    return Signal(
        key=key,
        name=name,
        value=value,
        expected=expected,
        low=None,
        high=high,
        status=status,
        sample=n,
        min_sample=MIN_LABELLED_FOR_ECE,
        unit="score",
        explanation=explanation,
    )


# --- all signals, and over time ------------------------------------------------------------------------------


def all_signals(traffic: Traffic, reference: Reference, approved: Approved) -> tuple[Signal, ...]:
    """Every signal on one stretch of traffic, in the order a page lists them."""
    return (
        coverage_signal(int(traffic.kept.sum()), len(traffic), approved=approved),
        psi_signal(reference, traffic),
        ks_signal(reference, traffic),
        estimated_accuracy_signal(reference, traffic, approved=approved),
        teacher_agreement_signal(traffic, approved=approved),
        accuracy_signal(traffic, approved=approved),
        ece_signal(reference, traffic),
    )


@dataclass(frozen=True)
class Window:
    """One time bucket [start, end): its coverage verdict and its quality estimates."""

    start: datetime
    end: datetime
    decisions: int
    kept: int
    coverage: Signal
    estimated_accuracy: float | None
    labelled_kept: int
    kept_accuracy: float | None


def window_width(span: timedelta, *, max_windows: int = MAX_WINDOWS) -> timedelta:
    """The narrowest width of WINDOW_WIDTHS that cuts `span` into at most `max_windows` windows."""
    for width in WINDOW_WIDTHS:
        if span < width * max_windows:
            return width
    return WINDOW_WIDTHS[-1]


def window_starts(first: datetime, last: datetime, width: timedelta) -> list[datetime]:
    """Window starts aligned to whole multiples of `width` since the Unix epoch (so an hour starts on the hour),
    from the one holding `first` to the one holding `last`."""
    epoch = datetime(1970, 1, 1, tzinfo=first.tzinfo)
    start = epoch + width * ((first - epoch) // width)
    starts = []
    while start <= last:
        starts.append(start)
        start += width
    return starts


def windows(
    times: Sequence[datetime], traffic: Traffic, approved: Approved, *, width: timedelta | None = None
) -> tuple[Window, ...]:
    """The traffic cut into time windows (sorted `times`, one per decision), each with its own binomial verdict
    (a window with fewer than MIN_DECISIONS decisions is "not enough data")."""
    if len(times) != len(traffic):
        raise DriftInputError("One time per decision is needed.")
    if not times:
        return ()
    width = width or window_width(times[-1] - times[0])
    starts = window_starts(times[0], times[-1], width)
    epoch_seconds = np.array([t.timestamp() for t in times])
    index = np.floor((epoch_seconds - starts[0].timestamp()) / width.total_seconds()).astype(np.int64)
    result = []
    for i, start in enumerate(starts):
        part = traffic.select(index == i)
        kept_conf = part.confidence[part.kept]
        scored = part.kept & part.labelled
        result.append(
            Window(
                start=start,
                end=start + width,
                decisions=len(part),
                kept=int(part.kept.sum()),
                coverage=coverage_signal(int(part.kept.sum()), len(part), approved=approved),
                estimated_accuracy=float(np.mean(kept_conf)) if kept_conf.size else None,
                labelled_kept=int(scored.sum()),
                kept_accuracy=float(part.correct[scored].mean()) if scored.any() else None,
            )
        )
    return tuple(result)


# --- wording -------------------------------------------------------------------------------------------------


def _count(n: int) -> str:
    return f"{n:,}"


def _points(gap: float) -> str:
    return f"{gap * 100:+.1f} pts"


def _p(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3g}"
