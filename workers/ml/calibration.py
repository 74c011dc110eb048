"""How far a classifier's confidence can be trusted: calibration error, Brier score, NLL, reliability bins,
temperature scaling and risk-coverage curves over logits [N, C] and integer targets [N].

Rows whose target is -1 (unlabeled, or a label outside the task's label set) are dropped everywhere here:
they have no right answer to be calibrated against, and the caller reports them separately.

ECE and MCE are computed by hand rather than with torchmetrics' `multiclass_calibration_error`. Both use
equal-width bins on the top-label confidence, but torchmetrics (1.9) buckets with `bucketize(right=True)`,
i.e. bins [lo, hi), which sends a confidence of exactly 1.0 to an extra bin of its own and one on an edge to
the bin above; it also casts to float32. A saturated softmax gives exactly 1.0 often, so the difference is
not academic (one row at 1.0 wrong and one at 0.95 right: 0.475 by Guo et al. 2017, 0.525 by torchmetrics).
Here bins are (lo, hi] with the first one closed at 0, as in Guo et al.; tests pin agreement with
torchmetrics on data that has no confidence on an edge.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F

OUT_OF_SCOPE = -1
# The temperature search range. Wide on purpose: a barely trained model's logits can be tiny (best T well
# under 0.05), and an end of the range is reported as such ("at_bound") rather than passed off as a fit.
MIN_TEMPERATURE = 0.01
MAX_TEMPERATURE = 100.0
MIN_NLL_GAIN = 1e-4  # nats of validation NLL; a smaller gain is no reason to rescale (T = 1 is kept)
BOUND_TOLERANCE = 1e-6  # in log T: a fitted T this close to an end of the range sits on it
GRID_POINTS = 41  # log-spaced T over the range (about 0.23 apart in log T) to bracket the minimum
GOLDEN_TOLERANCE = 1e-9  # in log T
RISK_COVERAGE_POINTS = 100


# "ok": T lowers the validation NLL; "no_improvement": it does not (T = 1 kept); "at_bound": the best T is an
# end of the search range; "not_fitted": there were no validation rows (T = 1).
TemperatureStatus = Literal["ok", "no_improvement", "at_bound", "not_fitted"]


@dataclass(frozen=True)
class TemperatureFit:
    temperature: float
    status: TemperatureStatus
    nll_before: float  # validation NLL at T = 1
    nll_after: float  # validation NLL at `temperature`
    note: str  # one sentence for the pages, saying what the fit did


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    count: int
    confidence: float  # mean top-label probability in the bin; 0 when empty
    accuracy: float  # share of the bin's rows predicted right; 0 when empty


@dataclass(frozen=True)
class CalibrationSummary:
    temperature: float
    count: int  # rows measured (targets of -1 dropped)
    ece: float
    mce: float
    brier: float
    nll: float
    reliability: list[ReliabilityBin]
    histogram: dict[str, list[float] | list[int]]

    def as_dict(self) -> dict[str, Any]:
        """Plain floats, ints, lists and dicts, ready for a JSONField."""
        return {
            "temperature": self.temperature,
            "count": self.count,
            "ece": self.ece,
            "mce": self.mce,
            "brier": self.brier,
            "nll": self.nll,
            "reliability": [asdict(b) for b in self.reliability],
            "histogram": {key: list(values) for key, values in self.histogram.items()},
        }


def probabilities(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """softmax(logits / T) over the last dimension."""
    _check_temperature(temperature)
    return torch.softmax(logits.detach() / temperature, dim=-1)


def expected_calibration_error(probs: torch.Tensor, targets: torch.Tensor, bins: int = 15) -> float:
    """Top-label ECE: sum over equal-width confidence bins of |bin|/N * |accuracy(bin) - confidence(bin)|."""
    rows = reliability_bins(probs, targets, bins)
    total = sum(b.count for b in rows)
    return sum(b.count / total * abs(b.accuracy - b.confidence) for b in rows)


def max_calibration_error(probs: torch.Tensor, targets: torch.Tensor, bins: int = 15) -> float:
    """MCE: the largest |accuracy(bin) - confidence(bin)| over the non-empty bins."""
    return max(abs(b.accuracy - b.confidence) for b in reliability_bins(probs, targets, bins) if b.count)


def brier_score(probs: torch.Tensor, targets: torch.Tensor) -> float:
    """Multiclass Brier score: mean over rows of sum_c (p_c - onehot_c)^2; 0 is perfect, 2 the worst."""
    probs, targets = _in_scope(probs, targets)
    onehot = F.one_hot(targets, probs.shape[1]).to(torch.float64)
    return float(((probs.to(torch.float64) - onehot) ** 2).sum(dim=1).mean())


def negative_log_likelihood(logits: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0) -> float:
    """Mean cross-entropy of softmax(logits / T), computed in float64."""
    _check_temperature(temperature)
    logits, targets = _in_scope(logits, targets)
    return float(F.cross_entropy(logits.to(torch.float64) / temperature, targets))


def reliability_bins(probs: torch.Tensor, targets: torch.Tensor, bins: int = 15) -> list[ReliabilityBin]:
    """Equal-width bins (lo, hi] on the top-label confidence (the first closed at 0), for reliability diagrams."""
    confidence, correct = _top_label(probs, targets)
    index = _bin_index(confidence, bins)
    count = torch.bincount(index, minlength=bins)
    conf_sum = torch.zeros(bins, dtype=torch.float64).index_add_(0, index, confidence.to(torch.float64))
    hits = torch.zeros(bins, dtype=torch.float64).index_add_(0, index, correct.to(torch.float64))
    result = []
    for i in range(bins):
        n = int(count[i])
        result.append(
            ReliabilityBin(
                lower=i / bins,
                upper=(i + 1) / bins,
                count=n,
                confidence=float(conf_sum[i]) / n if n else 0.0,
                accuracy=float(hits[i]) / n if n else 0.0,
            )
        )
    return result


def confidence_histogram(
    probs: torch.Tensor, targets: torch.Tensor, bins: int = 20
) -> dict[str, list[float] | list[int]]:
    """Counts of right and wrong predictions per top-label confidence bin, binned as in reliability_bins."""
    confidence, correct = _top_label(probs, targets)
    index = _bin_index(confidence, bins)
    return {
        "edges": [i / bins for i in range(bins + 1)],
        "correct": [int(n) for n in torch.bincount(index[correct], minlength=bins)],
        "wrong": [int(n) for n in torch.bincount(index[~correct], minlength=bins)],
    }


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, *, max_iter: int = 100) -> TemperatureFit:
    """Temperature scaling (Guo et al., 2017): the T in [MIN_TEMPERATURE, MAX_TEMPERATURE] that minimises the
    NLL of softmax(logits / T), and an honest account of how that went.

    Two searches over u = log T, in float64 on the CPU, nothing random (the same inputs give the same T):
    L-BFGS with a strong-Wolfe line search from T = 1 on the *unconstrained* u (a clamp inside the objective
    would make the gradient zero past the bound, and L-BFGS would stop there, short of the optimum), and a
    grid bracket refined by golden-section search over the whole range. The NLL is convex in 1/T, hence
    unimodal in u, so the second search finds the range's minimum even where L-BFGS wanders off; the better
    NLL of the two (and of T = 1) wins.

    The status says what the pages must say: "ok"; "no_improvement" when no T lowers the NLL by
    MIN_NLL_GAIN (T = 1 is then kept, so "after T" equals "before"); "at_bound" when the best T is an end of
    the range, i.e. the NLL was still falling there.
    """
    logits, targets = _in_scope(logits, targets)
    logits = logits.detach().to(device="cpu", dtype=torch.float64)
    targets = targets.to("cpu")
    low, high = math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)

    def nll(log_t: float) -> float:
        return float(F.cross_entropy(logits / math.exp(log_t), targets))

    candidates = [0.0, _golden_section_minimum(nll, low, high)]
    from_lbfgs = _lbfgs_log_temperature(logits, targets, max_iter)
    if math.isfinite(from_lbfgs):
        candidates.append(min(high, max(low, from_lbfgs)))
    best = min(candidates, key=nll)  # min keeps the first of equals: T = 1 wins a tie
    before, after = nll(0.0), nll(best)
    temperature = math.exp(best)

    if before - after < MIN_NLL_GAIN:
        note = (
            f"Temperature scaling does not lower the validation NLL ({before:.4f} at T = 1, {after:.4f} at the "
            f"best T = {temperature:.3g}): T = 1 is kept, so the figures after T equal those before."
        )
        return TemperatureFit(1.0, "no_improvement", before, before, note)
    if best - low < BOUND_TOLERANCE or high - best < BOUND_TOLERANCE:
        lower = best - low < BOUND_TOLERANCE
        temperature = MIN_TEMPERATURE if lower else MAX_TEMPERATURE  # exactly, not exp(log(0.01))
        why = (
            "its logits are far too close together, or it is right on (nearly) every validation row"
            if lower
            else "its confidence is far too high for how often it is right"
        )
        note = (
            f"T = {temperature:g} is the {'lower' if lower else 'upper'} end of the search range "
            f"[{MIN_TEMPERATURE:g}, {MAX_TEMPERATURE:g}]: the validation NLL ({before:.4f} at T = 1, {after:.4f} "
            f"here) was still falling, so the best T lies beyond it ({why}). Treat the figures after T with care."
        )
        return TemperatureFit(temperature, "at_bound", before, after, note)
    note = f"T = {temperature:.3g} lowers the validation NLL from {before:.4f} to {after:.4f}."
    return TemperatureFit(temperature, "ok", before, after, note)


def _lbfgs_log_temperature(logits: torch.Tensor, targets: torch.Tensor, max_iter: int) -> float:
    """log T from L-BFGS on the unconstrained log T, started at T = 1; may be far out of range or NaN."""
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), targets)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    return float(log_t.detach())


def _golden_section_minimum(f: Callable[[float], float], low: float, high: float) -> float:
    """The minimiser of a unimodal f on [low, high]: the best of a coarse grid brackets it, golden-section
    search narrows the bracket to GOLDEN_TOLERANCE, and the bracket's ends compete too (so an optimum on a
    bound is returned exactly). Grid ties go to the first point, so the result is deterministic."""
    grid = [low + (high - low) * i / (GRID_POINTS - 1) for i in range(GRID_POINTS)]
    values = [f(u) for u in grid]
    i = values.index(min(values))
    a, b = grid[max(0, i - 1)], grid[min(GRID_POINTS - 1, i + 1)]
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    while b - a > GOLDEN_TOLERANCE:
        if fc <= fd:  # the minimum is in [a, d]
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:  # the minimum is in [c, b]
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    ends = (grid[max(0, i - 1)], (a + b) / 2, grid[min(GRID_POINTS - 1, i + 1)])
    return min(ends, key=f)


def risk_coverage(
    probs: torch.Tensor, targets: torch.Tensor, points: int | None = None
) -> list[tuple[float, float, float]]:
    """Selective prediction: keep the k most confident rows and see how accurate they are.

    Returns (coverage k/N, accuracy of the kept rows, threshold = confidence of the k-th kept row) for every
    k = 1..N, or for about `points` (default 100) evenly spaced k when N is larger, always ending at k = N.
    Ties in confidence keep their input order (stable sort), so the curve is deterministic.
    """
    confidence, correct = _top_label(probs, targets)
    n = confidence.numel()
    limit = RISK_COVERAGE_POINTS if points is None else points
    if limit < 1:
        raise ValueError(f"points must be at least 1, got {limit}.")
    order = torch.sort(confidence, descending=True, stable=True).indices
    ranked_conf = confidence[order]
    hits = torch.cumsum(correct[order].to(torch.int64), dim=0)
    ks = range(1, n + 1) if n <= limit else sorted({math.ceil(i * n / limit) for i in range(1, limit + 1)})
    return [(k / n, int(hits[k - 1]) / k, float(ranked_conf[k - 1])) for k in ks]


def threshold_for_coverage(confidences: torch.Tensor, coverage: float) -> float:
    """The largest tau such that at least `coverage` (0 < coverage <= 1) of the rows have confidence >= tau."""
    if not 0.0 < coverage <= 1.0:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}.")
    n = confidences.numel()
    if n == 0:
        raise ValueError("No confidences to pick a threshold from.")
    # The small slack keeps 0.7 * 10 = 7.000000000000001 from asking for 8 rows.
    k = min(n, max(1, math.ceil(coverage * n - 1e-9)))
    ranked = torch.sort(confidences.detach().flatten(), descending=True).values
    return float(ranked[k - 1])


def calibration_summary(
    logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float,
    *,
    bins: int = 15,
    histogram_bins: int = 20,
) -> CalibrationSummary:
    """ECE, MCE, Brier, NLL, reliability bins and a confidence histogram, all at one temperature."""
    logits, targets = _in_scope(logits, targets)
    probs = probabilities(logits.to(torch.float64), temperature)
    reliability = reliability_bins(probs, targets, bins)
    count = sum(b.count for b in reliability)
    return CalibrationSummary(
        temperature=float(temperature),
        count=count,
        ece=sum(b.count / count * abs(b.accuracy - b.confidence) for b in reliability),
        mce=max(abs(b.accuracy - b.confidence) for b in reliability if b.count),
        brier=brier_score(probs, targets),
        nll=negative_log_likelihood(logits, targets, temperature),
        reliability=reliability,
        histogram=confidence_histogram(probs, targets, histogram_bins),
    )


def _check_temperature(temperature: float) -> None:
    if not temperature > 0.0:
        raise ValueError(f"temperature must be positive, got {temperature}.")


def _in_scope(scores: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows with a target in the label set; raises on bad shapes, bad targets or no rows at all."""
    if scores.ndim != 2 or targets.ndim != 1 or scores.shape[0] != targets.shape[0]:
        raise ValueError(
            f"Expected scores [N, C] and targets [N], got {tuple(scores.shape)} and {tuple(targets.shape)}."
        )
    targets = targets.to(device=scores.device, dtype=torch.int64)
    keep = targets != OUT_OF_SCOPE
    scores, targets = scores[keep], targets[keep]
    if targets.numel() == 0:
        raise ValueError("No rows with a target in the label set to measure.")
    if bool(((targets < 0) | (targets >= scores.shape[1])).any()):
        raise ValueError(f"Targets must be -1 or class ids in [0, {scores.shape[1]}).")
    return scores, targets


def _top_label(probs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(top-label confidence, whether the top label is right) per in-scope row, on the CPU."""
    probs, targets = _in_scope(probs.detach(), targets)
    confidence, predicted = probs.max(dim=1)
    return confidence.cpu(), (predicted == targets).cpu()


def _bin_index(confidence: torch.Tensor, bins: int) -> torch.Tensor:
    """Bin i holds confidences in (i/bins, (i+1)/bins]; the first bin also holds 0 and the last one 1.0.

    The inner edges are i/bins rounded once to the confidences' dtype, so a float32 0.6 sits on the edge
    0.6 (and goes to the bin below) rather than just above a float64 0.6.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}.")
    edges = torch.tensor([i / bins for i in range(1, bins)], dtype=torch.float64).to(confidence.dtype)
    return torch.bucketize(confidence, edges, right=False)
