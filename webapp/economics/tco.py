"""Total cost of ownership over the months the student stays valid, retraining included.

Month by month, cumulative cost after month m (m = 0 is the start, before any traffic):
    keep-teacher:  m * keep_teacher_monthly
    distilled:     one_off + m * distilled_monthly + retraining_cost * (retrainings done by month m)
    retraining_cost = retraining_share_of_one_off * one_off

A retraining happens at the end of every `retrain_every_months`-th month that is not the last one (a
student retrained on the last day would serve nobody within the period): months N, 2N, ... < valid_months.
Between those lumps the two paths grow linearly, so the crossing (the moment from which the distilled path
has cost no more than keeping the teacher, to the end of the period) is found exactly, segment by segment; a
retraining can put the distilled path behind again, so it is the last crossing, not the first. With no
retraining after it, it is the plain breakeven one-off / savings."""

from dataclasses import dataclass

from webapp.economics.cost_model import check_non_negative, check_whole


@dataclass(frozen=True)
class Lifetime:
    """How long the student stays valid (the TCO period, in whole months) and how often it is retrained, each
    retraining costing a share of the one-off cost (0.3: a retraining costs 30% of the first distillation)."""

    valid_months: int
    retrain_every_months: int | None = None
    retraining_share_of_one_off: float = 0.0

    def __post_init__(self) -> None:
        check_whole("valid_months", self.valid_months, minimum=1)
        if self.retrain_every_months is not None:
            check_whole("retrain_every_months", self.retrain_every_months, minimum=1)
        check_non_negative("retraining_share_of_one_off", self.retraining_share_of_one_off)

    @property
    def retraining_months(self) -> tuple[int, ...]:
        """The months at whose end the student is retrained: N, 2N, ... before the last month."""
        if self.retrain_every_months is None:
            return ()
        return tuple(range(self.retrain_every_months, self.valid_months, self.retrain_every_months))


@dataclass(frozen=True)
class Tco:
    """Totals over the period and the cumulative series for a chart (index m = after month m, 0..valid_months).

    `crossing_month` (fractional months) is when the distilled path's cumulative cost drops to keep-teacher's
    for good, i.e. stays no higher to the end of the period; None if it is higher at the end."""

    valid_months: int
    retrainings: int
    retraining_usd: float
    keep_teacher_usd: float
    distilled_usd: float
    keep_teacher_cumulative_usd: tuple[float, ...]
    distilled_cumulative_usd: tuple[float, ...]
    crossing_month: float | None

    @property
    def savings_usd(self) -> float:
        """What the distilled path saves over the whole period (negative: it costs more)."""
        return self.keep_teacher_usd - self.distilled_usd


def total_cost_of_ownership(
    *, one_off_usd: float, keep_teacher_monthly_usd: float, distilled_monthly_usd: float, lifetime: Lifetime
) -> Tco:
    check_non_negative("one_off_usd", one_off_usd)
    check_non_negative("keep_teacher_monthly_usd", keep_teacher_monthly_usd)
    check_non_negative("distilled_monthly_usd", distilled_monthly_usd)
    retraining_usd = lifetime.retraining_share_of_one_off * one_off_usd
    retrained_at = lifetime.retraining_months

    months = range(lifetime.valid_months + 1)
    keep = tuple(m * keep_teacher_monthly_usd for m in months)
    distilled = tuple(
        one_off_usd + m * distilled_monthly_usd + retraining_usd * sum(1 for r in retrained_at if r <= m)
        for m in months
    )
    return Tco(
        valid_months=lifetime.valid_months,
        retrainings=len(retrained_at),
        retraining_usd=retraining_usd,
        keep_teacher_usd=keep[-1],
        distilled_usd=distilled[-1],
        keep_teacher_cumulative_usd=keep,
        distilled_cumulative_usd=distilled,
        crossing_month=_crossing_month(
            one_off_usd=one_off_usd,
            monthly_savings_usd=keep_teacher_monthly_usd - distilled_monthly_usd,
            retraining_usd=retraining_usd,
            retraining_months=retrained_at,
            valid_months=lifetime.valid_months,
        ),
    )


def _crossing_month(
    *,
    one_off_usd: float,
    monthly_savings_usd: float,
    retraining_usd: float,
    retraining_months: tuple[int, ...],
    valid_months: int,
) -> float | None:
    """Walk the segments between retrainings: the gap (distilled - keep-teacher, cumulative) starts at the
    one-off, shrinks by the monthly savings, and grows by a retraining's cost at each retraining. A retraining
    that puts the distilled path behind again cancels an earlier crossing."""
    if monthly_savings_usd <= 0:
        return None  # the gap never shrinks
    gap, start = one_off_usd, 0
    crossing: float | None = 0.0  # no one-off: ahead from the start
    segments = [(end, retraining_usd) for end in retraining_months] + [(valid_months, 0.0)]
    for end, retraining_at_end in segments:
        if gap > 0:
            close_at = start + gap / monthly_savings_usd
            crossing = close_at if close_at <= end else None
        gap -= monthly_savings_usd * (end - start)
        if crossing is not None:
            gap = min(gap, 0.0)  # closed within this segment: rounding must not reopen it
        gap += retraining_at_end
        if gap > 0:
            crossing = None
        start = end
    return crossing
