"""How the answer moves when the assumptions do: a tornado of monthly savings and breakeven, and the
teacher-price kill point.

A teacher price cut is a future cut: it lowers c_T (per token or per GPU-hour alike, c_T scales with the
price) but not the one-off cost, whose teacher data was already generated at today's price. The question it
answers: "if the teacher's provider cuts prices after we distilled, does the investment still pay back?"

Kill point, in closed form. Every mode's monthly cost is linear in c_T, so with p = 1 - cut the monthly
savings are linear in p:
    savings(p) = a*p + b,   b = savings with a free teacher (<= 0: nothing to save from a free teacher),
                            a = savings(1) - b = R*s*c_T (>= 0, in both modes)
Breakeven passes the horizon H when savings < one_off / H (or savings <= 0 when the one-off is 0, since
then breakeven is 0 months or never). Solving savings(p) = one_off / H for p gives
    cut = 1 - (one_off/H - b) / a
clamped at 0 when breakeven is already beyond H; "none" (None) when even a 100% cut keeps breakeven within H,
which needs b > 0 and so cannot happen while the student's own costs are non-negative; it is kept so a caller
never has to assume that."""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from webapp.economics.cost_model import (
    Breakeven,
    EconomicsInputError,
    Mode,
    Serving,
    breakeven,
    check_non_negative,
    check_positive,
    check_share,
    monthly_savings_usd,
)

TEACHER_PRICE_CUTS = (0.2, 0.5, 0.8)
VOLUME_MULTIPLIERS = (0.1, 0.3, 1.0, 3.0, 10.0)


@dataclass(frozen=True)
class Outcome:
    """The result at one setting of one factor, e.g. "teacher price -50%"."""

    setting: str
    monthly_savings_usd: float
    breakeven: Breakeven


@dataclass(frozen=True)
class TornadoBar:
    """One factor's bar: `low` and `high` are the settings giving the least and the most monthly savings;
    `outcomes` are every setting tried, the base one included, in the order given."""

    factor: str
    low: Outcome
    high: Outcome
    outcomes: tuple[Outcome, ...]

    @property
    def swing_usd(self) -> float:
        return self.high.monthly_savings_usd - self.low.monthly_savings_usd


@dataclass(frozen=True)
class Sensitivity:
    """The base case and one bar per factor, widest swing first (the order a tornado chart draws them)."""

    mode: Mode
    base: Outcome
    bars: tuple[TornadoBar, ...]


def _check_distilling(mode: Mode) -> None:
    if mode is Mode.KEEP_TEACHER:
        raise EconomicsInputError("mode", "keeping the teacher saves nothing: choose upfront routing or cascade.")


def _outcome(setting: str, serving: Serving, mode: Mode, one_off_usd: float) -> Outcome:
    savings = monthly_savings_usd(serving, mode)
    return Outcome(setting, savings, breakeven(one_off_usd=one_off_usd, monthly_savings_usd=savings))


def _bar(factor: str, outcomes: Sequence[Outcome]) -> TornadoBar:
    def by_savings(outcome: Outcome) -> float:
        return outcome.monthly_savings_usd

    return TornadoBar(
        factor, low=min(outcomes, key=by_savings), high=max(outcomes, key=by_savings), outcomes=tuple(outcomes)
    )


def sensitivity(
    serving: Serving,
    *,
    mode: Mode,
    one_off_usd: float,
    coverage_lower_bound: float | None = None,
    teacher_price_cuts: Sequence[float] = TEACHER_PRICE_CUTS,
    volume_multipliers: Sequence[float] = VOLUME_MULTIPLIERS,
) -> Sensitivity:
    """Monthly savings and breakeven as the teacher price drops, the volume changes, and (when given) the
    student keeps only `coverage_lower_bound` of the traffic, e.g. the certified lower bound of its coverage."""
    _check_distilling(mode)
    check_non_negative("one_off_usd", one_off_usd)
    for cut in teacher_price_cuts:
        check_share("teacher_price_cut", cut)
        if cut == 1:
            raise EconomicsInputError("teacher_price_cut", "a 100% cut makes the teacher free: use the kill point.")
    for multiplier in volume_multipliers:
        check_positive("volume_multiplier", multiplier)

    def at(setting: str, changed: Serving) -> Outcome:
        return _outcome(setting, changed, mode, one_off_usd)

    base = at("as entered", serving)
    c_t, volume = serving.teacher_usd_per_request, serving.requests_per_month
    bars = [
        _bar(
            "teacher price",
            [base]
            + [
                at(f"teacher price -{cut:.0%}", replace(serving, teacher_usd_per_request=c_t * (1 - cut)))
                for cut in teacher_price_cuts
            ],
        ),
        _bar(
            "volume",
            [at(f"volume x{m:g}", replace(serving, requests_per_month=volume * m)) for m in volume_multipliers],
        ),
    ]
    if coverage_lower_bound is not None:
        check_share("coverage_lower_bound", coverage_lower_bound)
        at_bound = at(f"coverage {coverage_lower_bound:.1%}", replace(serving, student_share=coverage_lower_bound))
        bars.append(_bar("coverage", [base, at_bound]))
    return Sensitivity(mode=mode, base=base, bars=tuple(sorted(bars, key=lambda bar: -bar.swing_usd)))


@dataclass(frozen=True)
class KillPoint:
    """The teacher price cut (a fraction, 0-1) at which breakeven reaches the horizon; any deeper cut pushes it
    beyond. 0 with `already_beyond_horizon` when it is beyond today; None when no cut up to 100% gets there."""

    horizon_months: float
    teacher_price_cut: float | None
    already_beyond_horizon: bool


def teacher_price_kill_point(serving: Serving, *, mode: Mode, one_off_usd: float, horizon_months: float) -> KillPoint:
    """The closed form in the module docstring."""
    _check_distilling(mode)
    check_non_negative("one_off_usd", one_off_usd)
    check_positive("horizon_months", horizon_months)
    savings_free_teacher = monthly_savings_usd(serving, mode, teacher_usd_per_request=0.0)  # b
    slope = monthly_savings_usd(serving, mode) - savings_free_teacher  # a
    needed = one_off_usd / horizon_months  # the savings that break even exactly at the horizon

    today = savings_free_teacher + slope
    beyond_today = today < needed if needed > 0 else today <= 0
    if beyond_today:
        return KillPoint(horizon_months, teacher_price_cut=0.0, already_beyond_horizon=True)
    if slope <= 0:  # savings don't depend on the teacher's price, and are within the horizon
        return KillPoint(horizon_months, teacher_price_cut=None, already_beyond_horizon=False)
    cut = 1 - (needed - savings_free_teacher) / slope
    # max(): when today's breakeven sits exactly on the horizon, rounding may leave a cut of -1e-16
    return KillPoint(
        horizon_months, teacher_price_cut=max(cut, 0.0) if cut <= 1 else None, already_beyond_horizon=False
    )
