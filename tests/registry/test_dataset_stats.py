import json

from webapp.registry.dataset_stats import (
    compute_stats,
    normalize_text,
    overlap_count,
    text_fingerprints,
)
from webapp.registry.parsing import ParsedRow


def rows(*pairs: tuple[str, str | None]) -> list[ParsedRow]:
    return [ParsedRow(text=text, label=label, line=i + 2) for i, (text, label) in enumerate(pairs)]


def test_it_normalizes_case_and_whitespace() -> None:
    assert normalize_text("  Hello\t\tWORLD \n again ") == "hello world again"
    assert normalize_text("Straße") == normalize_text("STRASSE")


def test_fingerprints_are_short_stable_and_ignore_case_and_spacing() -> None:
    (first,) = text_fingerprints(["Hello  World"])
    assert len(first) == 16
    assert text_fingerprints(["hello world", " HELLO WORLD "]) == {first}
    assert text_fingerprints(["hello", "world"]) != {first}


def test_it_counts_the_overlap_between_datasets() -> None:
    train = text_fingerprints(["book a flight", "cancel my order", "hi"])
    test = text_fingerprints(["Book a  flight", "HI", "something new"])
    assert overlap_count(train, test) == 2
    assert overlap_count(train, set()) == 0


def test_it_counts_rows_and_labels_most_common_first() -> None:
    stats = compute_stats(rows(("a", "b"), ("b", "a"), ("c", "c"), ("d", "c"), ("e", "b")))
    assert stats["row_count"] == 5
    assert stats["label_counts"] == [["b", 2], ["c", 2], ["a", 1]]
    assert stats["label_count"] == 3


def test_it_has_no_label_counts_when_unlabeled() -> None:
    stats = compute_stats(rows(("a", None), ("b", None)))
    assert stats["label_counts"] == []
    assert stats["label_count"] == 0
    assert stats["conflicting_duplicates"] == 0


def test_it_summarizes_text_lengths_in_characters() -> None:
    stats = compute_stats(rows(("a", "x"), ("abc", "x"), ("abcdef", "x"), ("ab cd", "x")))
    lengths = stats["text_length"]
    assert (lengths["min"], lengths["max"]) == (1, 6)
    assert lengths["mean"] == 3.75
    assert lengths["median"] == 4.0
    assert lengths["p95"] == 6


def test_it_summarizes_word_lengths() -> None:
    stats = compute_stats(rows(("one", "x"), ("one two", "x"), ("one  two three", "x")))
    assert stats["word_length"] == {"mean": 2.0, "median": 2.0, "p95": 3}


def test_the_p95_is_an_actual_value_by_nearest_rank() -> None:
    stats = compute_stats(rows(*[("x" * n, "a") for n in range(1, 101)]))
    assert stats["text_length"]["p95"] == 95


def test_the_p95_rounds_the_rank_up() -> None:
    # 30 rows of 1..30 characters: ceil(0.95 * 30) = 29 -> 29 characters; 10 rows: ceil(9.5) = 10 -> the longest.
    assert compute_stats(rows(*[("x" * n, "a") for n in range(1, 31)]))["text_length"]["p95"] == 29
    assert compute_stats(rows(*[("x" * n, "a") for n in range(1, 11)]))["text_length"]["p95"] == 10


def test_the_histogram_has_about_twenty_integer_bins_covering_every_row() -> None:
    stats = compute_stats(rows(*[("x" * n, "a") for n in range(1, 101)]))
    histogram = stats["text_length"]["histogram"]
    assert histogram["edges"] == list(range(1, 102, 5))
    assert histogram["counts"] == [5] * 20


def test_the_histogram_puts_the_longest_text_in_the_last_bin() -> None:
    stats = compute_stats(rows(("x" * 10, "a"), ("x" * 50, "a"), ("x" * 50, "a")))
    histogram = stats["text_length"]["histogram"]
    assert len(histogram["edges"]) == len(histogram["counts"]) + 1
    assert histogram["edges"][0] == 10
    assert histogram["edges"][-2] <= 50 < histogram["edges"][-1]
    assert histogram["counts"][0] == 1
    assert histogram["counts"][-1] == 2
    assert sum(histogram["counts"]) == 3
    assert len(histogram["counts"]) <= 20


def test_the_histogram_has_one_bin_when_all_texts_are_the_same_length() -> None:
    stats = compute_stats(rows(("abc", "a"), ("def", "b")))
    assert stats["text_length"]["histogram"] == {"edges": [3, 4], "counts": [2]}


def test_it_counts_duplicates_case_insensitively() -> None:
    stats = compute_stats(rows(("Hello there", "a"), ("hello  THERE", "a"), ("HELLO there ", "a"), ("bye", "a")))
    assert stats["duplicate_rows"] == 2
    assert stats["conflicting_duplicates"] == 0


def test_it_counts_texts_that_appear_with_more_than_one_label() -> None:
    stats = compute_stats(
        rows(("hi", "greet"), ("Hi", "farewell"), ("HI", "greet"), ("bye", "farewell"), ("bye", "farewell"))
    )
    assert stats["duplicate_rows"] == 3
    assert stats["conflicting_duplicates"] == 1


def test_it_handles_an_empty_dataset() -> None:
    stats = compute_stats([])
    assert stats["row_count"] == 0
    assert stats["text_length"]["histogram"] == {"edges": [], "counts": []}
    assert stats["word_length"] == {"mean": 0.0, "median": 0.0, "p95": 0}


def test_the_stats_are_json_serialisable() -> None:
    stats = compute_stats(rows(("hello world", "a"), ("bye", "b"), ("Bye", "c")))
    assert json.loads(json.dumps(stats)) == stats
