"""The robustness probe: deterministic, label-preserving, and each kind of noise does what its name says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from domain.perturb import CASE, KINDS, TRUNCATE, TYPO, WHITESPACE, perturb_rows, perturb_text

WORDS = (
    "please cancel my order i want a refund for the broken phone where is package "
    "can you help me reset password account locked what time does store open tomorrow "
    "book flight to paris next friday morning transfer money savings checking balance"
).split()


def corpus(n: int = 200) -> list[str]:
    """n varied texts: 1 to 14 words, some capitalised, some with punctuation."""
    texts = []
    for i in range(n):
        length = 1 + (i * 7) % 14
        words = [WORDS[(i * 5 + j * 3) % len(WORDS)] for j in range(length)]
        text = " ".join(words)
        if i % 3 == 0:
            text = text.capitalize() + "?"
        elif i % 5 == 0:
            text = text.upper()
        texts.append(text)
    return texts


def is_typo_of(changed: str, original: str) -> bool:
    """Two adjacent letters swapped, or one letter dropped."""
    if len(changed) == len(original) - 1:
        return any(original[:i] + original[i + 1 :] == changed for i in range(len(original)))
    if len(changed) == len(original):
        diff = [i for i in range(len(original)) if changed[i] != original[i]]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and changed[diff[0]] == original[diff[1]]
    return False


def test_same_input_gives_the_same_output() -> None:
    for text in corpus(50):
        assert perturb_text(text, seed=3) == perturb_text(text, seed=3)
    assert perturb_rows([("hello there friend", "greet")]) == perturb_rows([("hello there friend", "greet")])


def test_the_output_does_not_depend_on_the_process_hash_seed() -> None:
    script = "from domain.perturb import perturb_text; print(perturb_text('please cancel my order now', seed=7))"
    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert outputs == {perturb_text("please cancel my order now", seed=7) + "\n"}


def test_different_seeds_give_different_output_for_most_texts() -> None:
    texts = corpus(50)
    differing = sum(perturb_text(text, seed=0) != perturb_text(text, seed=1) for text in texts)
    assert differing >= 40


def test_labels_are_kept_and_kinds_are_reported() -> None:
    rows = [(text, f"label{i % 4}" if i % 7 else None) for i, text in enumerate(corpus())]
    result = perturb_rows(rows, seed=0)
    assert [label for _, label, _ in result] == [label for _, label in rows]
    for (_, _, kinds), (text, _) in zip(result, rows, strict=True):
        parts = kinds.split("+")
        assert 1 <= len(parts) <= 2 and set(parts) <= set(KINDS), (text, kinds)
        assert parts == sorted(parts, key=KINDS.index)


def test_each_kind_appears_over_a_varied_corpus() -> None:
    seen = {kind for _, _, kinds in perturb_rows([(t, None) for t in corpus()]) for kind in kinds.split("+")}
    assert seen == set(KINDS)


def test_each_kind_does_what_it_says() -> None:
    checked = dict.fromkeys(KINDS, 0)
    for seed in (0, 1):
        texts = corpus()
        for (changed, _, kinds), original in zip(perturb_rows([(t, None) for t in texts], seed), texts, strict=True):
            if kinds == CASE:
                assert changed != original and changed.lower() == original.lower()
                assert changed in (original.lower(), original.upper()) or changed.split()[0][0].isupper()
            elif kinds == WHITESPACE:
                assert changed != original and changed.split() == original.split()
            elif kinds == TRUNCATE:
                words, kept = original.split(), changed.split()
                assert 2 <= len(kept) < len(words) and kept == words[: len(kept)]
                assert len(kept) >= min(round(0.6 * len(words)), len(words) - 1)
            elif kinds == TYPO:
                words, typed = original.split(), changed.split()
                assert len(words) == len(typed)
                diff = [(w, t) for w, t in zip(words, typed, strict=True) if w != t]
                assert len(diff) == 1 and len(diff[0][0]) > 3 and is_typo_of(diff[0][1], diff[0][0])
            else:
                continue
            checked[kinds] += 1
    assert all(count > 0 for count in checked.values()), checked


def test_text_with_a_long_word_never_comes_back_unchanged() -> None:
    for seed in range(5):
        for text in [*corpus(), "Hello", "aaaa", "HELLO WORLD", "Book It", "look", "ok thanks"]:
            assert perturb_text(text, seed=seed) != text


@pytest.mark.parametrize("text", ["a", "ok", "I", "42", "no!", " hi "])
def test_tiny_texts_come_back_non_empty(text: str) -> None:
    for seed in range(10):
        out = perturb_text(text, seed=seed)
        assert out.strip(), (text, seed, out)


def test_blank_text_is_left_alone() -> None:
    assert perturb_rows([("", "x"), ("   ", None)]) == [("", "x", "none"), ("   ", None, "none")]
