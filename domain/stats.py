"""Summary statistics shared by the workers' ML code and the web app, so both report alike.

Part of the neutral domain package: plain Python, importing neither Django nor torch nor anything under webapp/
or workers/, so workers/ml (which must not import Django) and webapp (which should not import workers) can both
use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypeVar

Number = TypeVar("Number", int, float)

# q * n in floating point can land a hair above a whole number (0.7 * 10 = 7.000000000000001), which would
# ask for one rank too many; this much slack absorbs that without ever skipping a real fraction of a row.
_RANK_SLACK = 1e-9


def percentile(values: Iterable[Number], q: float) -> Number:
    """The nearest-rank q-quantile (0 <= q <= 1): the smallest value with at least a share q of the values at
    or below it, i.e. the ceil(q * n)-th smallest (the smallest one for q = 0).

    Nearest-rank, not linear interpolation, on purpose: the answer is always an observed value, so a p95 of
    token or character lengths stays a whole number and a p95 latency is a call that really took that long.
    For p95: 20 values -> the 19th smallest; 10 values -> the 10th (9.5 rounds up); 1 value -> that value.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be between 0 and 1, got {q}.")
    ordered = sorted(values)
    if not ordered:
        raise ValueError("No values to take a percentile of.")
    rank = max(1, math.ceil(q * len(ordered) - _RANK_SLACK))
    return ordered[rank - 1]
