"""The numbers shown on a dataset page, computed from parsed rows. Plain Python (no Django).

Two texts count as "the same" (for duplicates and for overlap between datasets) when they match
after normalize_text: case and whitespace differences rarely change what a text means, and
ignoring them catches the near-copies that inflate test scores.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from domain.stats import percentile
from webapp.registry.parsing import ParsedRow

HISTOGRAM_BINS = 20


def normalize_text(text: str) -> str:
    """Casefold, collapse runs of whitespace to one space, and strip."""
    return " ".join(text.casefold().split())


def text_fingerprint(text: str) -> str:
    """A short stable hash of the normalized text: 64 bits is plenty to tell millions of texts apart."""
    return hashlib.sha1(normalize_text(text).encode("utf-8")).hexdigest()[:16]


def text_fingerprints(texts: Iterable[str]) -> set[str]:
    return {text_fingerprint(text) for text in texts}


def overlap_count(a: set[str], b: set[str]) -> int:
    """How many distinct (normalized) texts two fingerprint sets share."""
    return len(a & b)


def compute_stats(rows: Sequence[ParsedRow]) -> dict[str, Any]:
    """Row and label counts, length distributions and duplicates, as a JSON-serialisable dict."""
    label_counter = Counter(row.label for row in rows if row.label is not None)
    # Most common label first; ties in a stable, alphabetical order.
    label_counts = [[label, count] for label, count in sorted(label_counter.items(), key=lambda lc: (-lc[1], lc[0]))]

    char_lengths = sorted(len(row.text) for row in rows)
    word_lengths = sorted(len(row.text.split()) for row in rows)

    # Fingerprints rather than the normalized texts themselves: a fixed 16 characters per row
    # keeps memory flat however long the texts are.
    seen: set[str] = set()
    labels_by_text: defaultdict[str, set[str]] = defaultdict(set)
    duplicate_rows = 0
    for row in rows:
        fingerprint = text_fingerprint(row.text)
        if fingerprint in seen:
            duplicate_rows += 1
        seen.add(fingerprint)
        if row.label is not None:
            labels_by_text[fingerprint].add(row.label)
    conflicting = sum(1 for labels in labels_by_text.values() if len(labels) > 1)

    return {
        "row_count": len(rows),
        "label_counts": label_counts,
        "label_count": len(label_counter),
        "text_length": {
            "min": char_lengths[0] if char_lengths else 0,
            "max": char_lengths[-1] if char_lengths else 0,
            **_summary(char_lengths),
            "histogram": _histogram(char_lengths),
        },
        "word_length": _summary(word_lengths),
        "duplicate_rows": duplicate_rows,
        "conflicting_duplicates": conflicting,
    }


def _summary(sorted_values: list[int]) -> dict[str, Any]:
    if not sorted_values:
        return {"mean": 0.0, "median": 0.0, "p95": 0}
    return {
        "mean": statistics.fmean(sorted_values),
        "median": float(statistics.median(sorted_values)),
        "p95": percentile(sorted_values, 0.95),
    }


def _histogram(sorted_values: list[int]) -> dict[str, list[int]]:
    """About HISTOGRAM_BINS equal-width bins; bin i counts values v with edges[i] <= v < edges[i + 1].

    Widths are whole numbers because lengths are, so a bin never straddles half a character.
    """
    if not sorted_values:
        return {"edges": [], "counts": []}
    low, high = sorted_values[0], sorted_values[-1]
    width = max(1, math.ceil((high - low + 1) / HISTOGRAM_BINS))
    bins = math.ceil((high - low + 1) / width)
    counts = [0] * bins
    for value in sorted_values:
        counts[(value - low) // width] += 1
    return {"edges": [low + i * width for i in range(bins + 1)], "counts": counts}
