"""A deterministic robustness probe: the kind of noise real traffic carries (a typo, odd casing, a message cut
short, stray whitespace), so a student can be checked on text that is not as clean as its training set.

The noise depends only on (text, seed), so a probe set can be rebuilt at any time and two models are always
compared on the same perturbed rows.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable

TYPO = "typo"
CASE = "case"
TRUNCATE = "truncate"
WHITESPACE = "whitespace"
KINDS = (TRUNCATE, TYPO, CASE, WHITESPACE)  # the order they are applied in: cut first, so a typo survives it
NONE = "none"  # the kinds string for text that had nothing to perturb (blank)

_SPACE = re.compile(r"(\s+)")


def perturb_text(text: str, *, seed: int = 0) -> str:
    """`text` with one or two perturbations, chosen and placed by (text, seed) alone.

    Never returns `text` unchanged when it has a word longer than 3 characters with a letter between its
    first and last character (any word of 4+ letters does): a typo is the fallback. Blank text comes back
    unchanged, since there is nothing to perturb.
    """
    return _perturb(text, seed)[0]


def perturb_rows(rows: Iterable[tuple[str, str | None]], seed: int = 0) -> list[tuple[str, str | None, str]]:
    """(perturbed text, label unchanged, kinds applied joined by "+") for each (text, label) row."""
    result = []
    for text, label in rows:
        perturbed, kinds = _perturb(text, seed)
        result.append((perturbed, label, "+".join(kinds) if kinds else NONE))
    return result


def _perturb(text: str, seed: int) -> tuple[str, list[str]]:
    if not text.strip():
        return text, []
    # random.Random seeded with a str hashes it with SHA-512 (seed version 2), not with hash(): the stream is
    # the same in every process whatever PYTHONHASHSEED is (a test checks this in two subprocesses).
    rng = random.Random(f"{seed}:{text}")
    candidates = [kind for kind in KINDS if _APPLY[kind](text, random.Random(0)) is not None]
    chosen = set(rng.sample(candidates, min(len(candidates), rng.choice((1, 2)))))
    current, applied = text, []
    for kind in KINDS:
        if kind in chosen:
            changed = _APPLY[kind](current, rng)
            if changed is not None:  # a cut can take away the only word a typo could go in
                current = changed
                applied.append(kind)
    if current == text:
        fallback = _typo(text, rng)
        if fallback is not None:
            return fallback, [TYPO]
    return current, applied


def _typo(text: str, rng: random.Random) -> str | None:
    """Swap two adjacent, different letters inside a word longer than 3 characters, or drop one of its inner
    letters; None when no word allows either."""
    parts = _SPACE.split(text)
    swaps = [
        (w, i)
        for w in range(0, len(parts), 2)
        if len(parts[w]) > 3
        for i in range(1, len(parts[w]) - 2)
        if parts[w][i].isalpha() and parts[w][i + 1].isalpha() and parts[w][i].lower() != parts[w][i + 1].lower()
    ]
    drops = [
        (w, i)
        for w in range(0, len(parts), 2)
        if len(parts[w]) > 3
        for i in range(1, len(parts[w]) - 1)
        if parts[w][i].isalpha()
    ]
    options = [("swap", spot) for spot in swaps] + [("drop", spot) for spot in drops]
    if not options:
        return None
    how, (w, i) = rng.choice(options)
    word = parts[w]
    parts[w] = word[:i] + word[i + 1] + word[i] + word[i + 2 :] if how == "swap" else word[:i] + word[i + 1 :]
    return "".join(parts)


def _case(text: str, rng: random.Random) -> str | None:
    """All lower, all upper or title case (first letter of each word up), whichever changes the text."""
    parts = _SPACE.split(text)
    title = "".join(p[:1].upper() + p[1:].lower() if k % 2 == 0 else p for k, p in enumerate(parts))
    variants = [v for v in (text.lower(), text.upper(), title) if v != text]
    return rng.choice(variants) if variants else None


def _truncate(text: str, rng: random.Random) -> str | None:
    """The first 60-80% of the words (at least 2, never all); None for 2 words or fewer."""
    parts = _SPACE.split(text.strip())
    words = (len(parts) + 1) // 2
    if words <= 2:
        return None
    keep = min(words - 1, max(2, round(words * rng.uniform(0.6, 0.8))))
    lead = text[: len(text) - len(text.lstrip())]
    return lead + "".join(parts[: 2 * keep - 1])


def _whitespace(text: str, rng: random.Random) -> str | None:
    """Double some of the spaces between words, or pad the text with spaces at the start and end."""
    parts = _SPACE.split(text.strip())
    gaps = list(range(1, len(parts), 2))
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    if gaps and rng.random() < 0.5:
        for gap in rng.sample(gaps, max(1, len(gaps) // 3)):
            parts[gap] += " "
        return lead + "".join(parts) + trail
    return " " * rng.randint(1, 2) + text + " " * rng.randint(1, 2)


_APPLY: dict[str, Callable[[str, random.Random], str | None]] = {
    TYPO: _typo,
    CASE: _case,
    TRUNCATE: _truncate,
    WHITESPACE: _whitespace,
}
