"""A certified τ: the most traffic the student can keep such that, with probability ≥ 1 − δ over the draw of the
validation set, its quality on the traffic it keeps is ≥ a target. Learn-then-Test risk control (Angelopoulos,
Bates, Candès, Jordan & Lei, "Learn then Test", 2021) with fixed-sequence testing, the procedure of MAPIE 1.6's
`mapie.risk_control` (`ltt_procedure` with `fwer_method="fixed_sequence"` and its binary Hoeffding-Bentkus
p-value), implemented here in a few lines rather than imported: the web app then needs only scipy, and the
tests check this procedure against MAPIE's on the same data (`tests/economics/test_certify.py`).

The quality is either
- `"agreement"`: the student's prediction equals the teacher's, on every kept row (labels not needed); or
- `"accuracy"`: the student handles the row, on every kept *labelled* row (an out-of-scope row kept is an
  error: the student can only answer with the task's labels).

Write ℓ_i ∈ {0, 1} for a row's loss (1 − its quality) and, for a threshold τ, R(τ) = E[ℓ | confidence ≥ τ], the
risk on kept traffic; α = 1 − target. For each candidate τ the null hypothesis is H0(τ): R(τ) > α. Given the n(τ)
kept (scored) rows, their losses are i.i.d. Bernoulli(R(τ)), so with k(τ) failures among them

    p(τ) = P(Binomial(n(τ), α) ≤ k(τ))

is a valid p-value for H0(τ) (it is ≤ u with probability ≤ u when R(τ) ≥ α). MAPIE's binary Hoeffding-Bentkus
p-value is min(exp(−n·KL(k/n ‖ α)), this tail); the first term is the Chernoff bound on this same tail, so the
minimum is always the tail itself.

Fixed-sequence testing: candidates are the distinct validation confidences, ordered from the most conservative
(highest τ, least kept) to the least; each is tested at level δ and testing stops at the first non-rejection. The
certified τ is the last rejected one, the most coverage certified. Family-wise error ≤ δ because a wrong
certification needs the first true null in the sequence to be rejected, which has probability ≤ δ. Like MAPIE's
fixed sequence, it relies on the risk not growing as τ rises (higher confidence, fewer mistakes), so the true
nulls are the low-τ end of the sequence.

Where the sequence starts: a τ keeping n rows can't be rejected by any outcome when even zero failures give
p = (1 − α)^n > δ, i.e. when n < n_min = ⌈ln δ / ln(1 − α)⌉ (299 rows for a 99% target at δ = 0.05). Testing it
would end the sequence at once, so testing starts at the most conservative τ that keeps at least n_min scored
rows; that choice depends on how many rows are kept, never on whether they are right. Fewer scored rows than
n_min in the whole set, or a first test that fails, is a refusal with its reason. The tests check on seeded
simulations that the target holds on fresh data in at least 1 − δ of the draws.

The certified τ assumes production traffic looks like validation: monitoring watches that assumption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.stats import beta, binom

from webapp.economics.routing import (
    PredictionSet,
    RoutingInputError,
    RoutingPoint,
    check_unit_interval,
    routing_point,
    row_outcomes,
)

CertifiedRisk = Literal["agreement", "accuracy"]
CERTIFIED_RISKS: tuple[CertifiedRisk, ...] = ("agreement", "accuracy")
DEFAULT_TARGET = 0.99
DEFAULT_DELTA = 0.05


@dataclass(frozen=True)
class CertifiedTau:
    """The certified τ (or a refusal: `tau` None and the reason in `reason`).

    At τ: `point` is the validation cascade; `kept_scored` rows were scored for the risk and `kept_failures` of
    them failed (disagreed with the teacher, or were wrong), so `kept_quality` = 1 − failures/scored; `p_value`
    is the binomial p-value that certified it; `coverage_lower_bound` is a one-sided Clopper-Pearson bound at
    level 1 − δ on the coverage at τ, for the sensitivity analysis (it is a separate statement from the quality
    guarantee, not part of it). `min_kept_to_certify` is n_min; `tested` how many thresholds were tested."""

    risk: CertifiedRisk
    target: float
    delta: float
    tau: float | None
    point: RoutingPoint | None
    kept_scored: int
    kept_failures: int
    kept_quality: float | None
    p_value: float | None
    coverage_lower_bound: float | None
    min_kept_to_certify: int
    tested: int
    reason: str

    @property
    def found(self) -> bool:
        return self.tau is not None


def min_kept_to_certify(*, target: float, delta: float) -> int:
    """n_min: the fewest kept rows at which zero failures certify, the least n with (1 − α)^n ≤ δ."""
    _check_target_and_delta(target, delta)
    alpha = 1.0 - target
    n = max(1, math.ceil(math.log(delta) / math.log1p(-alpha)))
    # The logarithms round: settle the boundary exactly on the inequality itself.
    while (1.0 - alpha) ** n > delta:
        n += 1
    while n > 1 and (1.0 - alpha) ** (n - 1) <= delta:
        n -= 1
    return n


def risk_p_value(failures: NDArray[np.int64], kept: NDArray[np.int64], *, max_risk: float) -> NDArray[np.float64]:
    """p-values for H0: R > `max_risk`, given `failures` among `kept` i.i.d. binary losses: P(Bin(kept, α) ≤
    failures). Element-wise over arrays."""
    return np.asarray(binom.cdf(failures, kept, max_risk), dtype=np.float64)


def coverage_lower_bound(kept: int, rows: int, *, delta: float) -> float:
    """One-sided Clopper-Pearson lower bound at level 1 − δ on a share observed as `kept` of `rows`: the δ
    quantile of Beta(kept, rows − kept + 1) (0 when nothing is kept)."""
    if kept <= 0:
        return 0.0
    return float(beta.ppf(delta, kept, rows - kept + 1))


def certified_tau(
    validation: PredictionSet,
    *,
    target: float = DEFAULT_TARGET,
    delta: float = DEFAULT_DELTA,
    risk: CertifiedRisk = "agreement",
) -> CertifiedTau:
    """The most coverage whose kept-traffic `risk` quality is ≥ `target` with probability ≥ 1 − `delta`
    (module docstring for the procedure and its assumptions)."""
    _check_target_and_delta(target, delta)
    if risk not in CERTIFIED_RISKS:
        raise RoutingInputError(f"The certified quality must be one of {', '.join(CERTIFIED_RISKS)}, not {risk!r}.")
    n_min = min_kept_to_certify(target=target, delta=delta)
    candidates = certification_candidates(validation, risk)
    request = _Request(risk, target, delta, n_min)
    scored_rows = int(candidates.scored[-1])
    startable = np.flatnonzero(candidates.scored >= n_min)
    if startable.size == 0:
        return request.refused(
            f"Too few rows to certify: a kept-traffic {risk} ≥ {target:.1%} at δ = {delta:g} needs at least "
            f"{n_min} kept {_scored_rows(risk)} (even if every one {_passes(risk)}), and validation has "
            f"{scored_rows}."
        )
    start = int(startable[0])
    p_values = risk_p_value(candidates.failures[start:], candidates.scored[start:], max_risk=1.0 - target)
    # Fixed sequence: reject while p ≤ δ, stop at the first p > δ (tested too, so it counts).
    not_rejected = np.flatnonzero(p_values > delta)
    rejected = int(not_rejected[0]) if not_rejected.size else len(p_values)
    tested = min(rejected + 1, len(p_values))
    if rejected == 0:
        return request.refused(
            f"Even the most conservative τ with enough rows, τ = {candidates.tau[start]:.4g}, can't certify "
            f"{risk} ≥ {target:.1%} at δ = {delta:g}: {candidates.failures[start]} of its "
            f"{candidates.scored[start]} kept {_scored_rows(risk)} {_fail(risk)} (p = {p_values[0]:.3g}).",
            tested=tested,
        )
    last_rejected = rejected - 1
    return _certified(validation, candidates, start + last_rejected, float(p_values[last_rejected]), request, tested)


def _certified(
    validation: PredictionSet,
    candidates: CertificationCandidates,
    chosen: int,
    p_value: float,
    request: _Request,
    tested: int,
) -> CertifiedTau:
    tau = float(candidates.tau[chosen])
    point = routing_point(validation, tau)
    scored, failures = int(candidates.scored[chosen]), int(candidates.failures[chosen])
    return CertifiedTau(
        risk=request.risk,
        target=request.target,
        delta=request.delta,
        tau=tau,
        point=point,
        kept_scored=scored,
        kept_failures=failures,
        kept_quality=1.0 - failures / scored,
        p_value=p_value,
        coverage_lower_bound=coverage_lower_bound(point.kept, len(validation), delta=request.delta),
        min_kept_to_certify=request.n_min,
        tested=tested,
        reason=(
            f"Certified: with probability ≥ {_percent(1 - request.delta)}, the student's {request.risk} on the "
            f"traffic it keeps at τ = {tau:.4g} is ≥ {request.target:.1%} ({scored - failures} of {scored} kept "
            f"{_scored_rows(request.risk)} on validation, p = {p_value:.3g}); it keeps {point.coverage:.1%} of "
            "validation traffic, assuming production looks like validation."
        ),
    )


@dataclass(frozen=True)
class GuaranteeCheck:
    """One fixed τ re-tested on (new) data: does its kept-traffic quality still clear the target at level δ?
    A single hypothesis, so the binomial p-value alone decides (`holds` when p ≤ δ)."""

    tau: float
    kept_scored: int
    kept_failures: int
    p_value: float | None
    holds: bool
    reason: str


def guarantee_at(
    data: PredictionSet,
    tau: float,
    *,
    target: float = DEFAULT_TARGET,
    delta: float = DEFAULT_DELTA,
    risk: CertifiedRisk = "agreement",
) -> GuaranteeCheck:
    """Re-test the guarantee of a τ chosen earlier on `data` (e.g. the current validation set, or labelled
    production samples): approval gates and monitoring ask this, not for a new τ."""
    _check_target_and_delta(target, delta)
    outcomes = row_outcomes(data)
    kept = outcomes.confidence >= tau
    if risk == "agreement":
        scored, failed = kept, kept & ~outcomes.agrees
    else:
        scored, failed = kept & outcomes.scorable, kept & outcomes.scorable & ~outcomes.student_handles
    n, k = int(scored.sum()), int(failed.sum())
    if n == 0:
        return GuaranteeCheck(tau, 0, 0, None, False, f"Nothing is kept at τ = {tau:.4g}: there is nothing to test.")
    p_value = float(risk_p_value(np.array([k]), np.array([n]), max_risk=1.0 - target)[0])
    holds = p_value <= delta
    verdict = "holds" if holds else "does not hold"
    passed = "agree with the teacher" if risk == "agreement" else "are right"
    return GuaranteeCheck(
        tau=tau,
        kept_scored=n,
        kept_failures=k,
        p_value=p_value,
        holds=holds,
        reason=(
            f"The guarantee {verdict}: {n - k} of {n} kept {_scored_rows(risk)} {passed} at τ = {tau:.4g} "
            f"({1 - k / n:.2%}; target {target:.1%} at δ = {delta:g}, p = {p_value:.3g})."
        ),
    )


@dataclass(frozen=True)
class CertificationCandidates:
    """The hypotheses the certified τ tests, one per distinct validation confidence, most conservative (highest
    τ) first: τ, the kept rows scored for the risk n(τ), and the failures among them k(τ). Also what a
    risk-coverage chart of the certified quality plots."""

    tau: NDArray[np.float64]
    scored: NDArray[np.int64]
    failures: NDArray[np.int64]


def certification_candidates(validation: PredictionSet, risk: CertifiedRisk) -> CertificationCandidates:
    """Sort once by confidence (descending); n(τ) and k(τ) are prefix sums read at the end of each run of equal
    confidences (as in `routing.routing_curve`)."""
    outcomes = row_outcomes(validation)
    if risk == "agreement":
        scored, failed = np.ones_like(outcomes.agrees), ~outcomes.agrees
    else:
        scored, failed = outcomes.scorable, outcomes.scorable & ~outcomes.student_handles
    order = np.argsort(-outcomes.confidence, kind="stable")
    confidence = outcomes.confidence[order]
    run_ends = np.flatnonzero(np.append(confidence[1:] != confidence[:-1], True))
    return CertificationCandidates(
        tau=confidence[run_ends],
        scored=np.cumsum(scored[order], dtype=np.int64)[run_ends],
        failures=np.cumsum(failed[order], dtype=np.int64)[run_ends],
    )


@dataclass(frozen=True)
class _Request:
    risk: CertifiedRisk
    target: float
    delta: float
    n_min: int

    def refused(self, reason: str, *, tested: int = 0) -> CertifiedTau:
        return CertifiedTau(
            risk=self.risk,
            target=self.target,
            delta=self.delta,
            tau=None,
            point=None,
            kept_scored=0,
            kept_failures=0,
            kept_quality=None,
            p_value=None,
            coverage_lower_bound=None,
            min_kept_to_certify=self.n_min,
            tested=tested,
            reason=f"No certified τ. {reason}",
        )


def _check_target_and_delta(target: float, delta: float) -> None:
    check_unit_interval(target, name="The certified target", open_interval=True)
    check_unit_interval(delta, name="δ", open_interval=True)


def _scored_rows(risk: CertifiedRisk) -> str:
    return "rows" if risk == "agreement" else "labelled rows"


def _passes(risk: CertifiedRisk) -> str:
    return "agrees with the teacher" if risk == "agreement" else "is right"


def _fail(risk: CertifiedRisk) -> str:
    return "disagree with the teacher" if risk == "agreement" else "are wrong"


def _percent(share: float) -> str:
    return f"{share * 100:g}%"
