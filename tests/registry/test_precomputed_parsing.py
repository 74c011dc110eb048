"""Uploaded teacher outputs: probs or logits over the task's labels, as a list in label order or an object
keyed by label; every malformed line is refused with its line number and what is wrong."""

import json
import math

import numpy as np
import pytest

from webapp.registry.parsing import DatasetFormatError
from webapp.registry.precomputed import logits_for_texts, parse_teacher_outputs, save_outputs

LABELS = ["banking", "travel"]


def jsonl(*rows: object) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


def parse(*rows: object):
    return parse_teacher_outputs(jsonl(*rows), filename="outputs.jsonl", labels=LABELS)


def refused(*rows: object) -> str:
    with pytest.raises(DatasetFormatError) as exc:
        parse(*rows)
    return str(exc.value)


def test_probs_become_log_probs_so_softmax_gives_them_back():
    out = parse({"text": "a", "probs": [0.25, 0.75]}, {"text": "b", "probs": {"travel": 0.1, "banking": 0.9}})

    assert out.kind == "probs" and out.texts == ["a", "b"]
    probs = np.exp(out.logits) / np.exp(out.logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probs, [[0.25, 0.75], [0.9, 0.1]], rtol=1e-6)


def test_a_zero_probability_stays_finite():
    out = parse({"text": "a", "probs": [0.0, 1.0]})

    assert math.isfinite(float(out.logits[0, 0])) and out.logits[0, 0] < -15


def test_logits_are_kept_as_given_in_label_order():
    out = parse({"text": "a", "logits": {"travel": 2.0, "banking": -1.0}})

    assert out.kind == "logits"
    np.testing.assert_allclose(out.logits, [[-1.0, 2.0]])


def test_agreement_with_the_files_labels_counts_only_labelled_rows():
    out = parse(
        {"text": "a", "label": "travel", "probs": [0.2, 0.8]},
        {"text": "b", "label": "travel", "probs": [0.7, 0.3]},
        {"text": "c", "probs": [0.7, 0.3]},
    )

    assert out.agreement_with_labels(LABELS) == 0.5


def test_a_repeated_text_with_the_same_outputs_is_kept_once():
    out = parse({"text": "a", "logits": [1, 2]}, {"text": " a ", "logits": [1, 2]})

    assert out.texts == ["a"] and out.logits.shape == (1, 2)


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ([{"text": "a", "probs": [0.5, 0.5, 0.0]}], ["line 1", "3 values", "2 labels"]),
        ([{"text": "a", "probs": {"banking": 1.0, "weather": 0.0}}], ["line 1", "'weather'"]),
        ([{"text": "a", "logits": {"banking": 1.0}}], ["line 1", "no score for 'travel'"]),
        ([{"text": "a", "probs": [0.9, 0.9]}], ["line 1", "sum to 1", "1.8000"]),
        ([{"text": "a", "probs": [-0.1, 1.1]}], ["non-negative"]),
        ([{"text": "a", "logits": [1, "x"]}], ["finite numbers"]),
        ([{"text": "a", "logits": [1, True]}], ["finite numbers"]),
        ([{"text": "a"}], ["line 1", "exactly one of 'probs' or 'logits'", "neither"]),
        ([{"text": "a", "probs": [0.5, 0.5], "logits": [0, 0]}], ["exactly one", "probs, logits"]),
        ([{"text": "", "logits": [0, 0]}], ["line 1", "'text' is missing or empty"]),
        ([{"logits": [0, 0]}], ["'text' is missing"]),
        ([{"text": "a", "label": "weather", "logits": [0, 0]}], ["line 1", '"weather"', "not one of the task's"]),
        ([{"text": "a", "logits": [0, 0]}, {"text": "b", "probs": [0.5, 0.5]}], ["line 2", "one kind"]),
        ([{"text": "a", "logits": [0, 0]}, {"text": "a", "logits": [0, 5]}], ["line 2", "different outputs"]),
        ([["a", [0, 0]]], ["line 1", "not a JSON object"]),
    ],
)
def test_bad_lines_are_refused_naming_the_line_and_problem(rows, words):
    message = refused(*rows)

    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_invalid_json_empty_files_and_other_encodings_are_refused():
    with pytest.raises(DatasetFormatError, match=r"line 2 is not valid JSON"):
        parse_teacher_outputs(b'{"text": "a", "logits": [0, 0]}\n{oops\n', filename="o.jsonl", labels=LABELS)
    with pytest.raises(DatasetFormatError, match="empty"):
        parse_teacher_outputs(b"\n\n", filename="o.jsonl", labels=LABELS)
    with pytest.raises(DatasetFormatError, match="not UTF-8"):
        parse_teacher_outputs(b'{"text": "caf\xe9"}', filename="o.jsonl", labels=LABELS)
    with pytest.raises(DatasetFormatError, match="no label set"):
        parse_teacher_outputs(jsonl({"text": "a", "logits": [0]}), filename="o.jsonl", labels=[])


def test_stored_outputs_are_matched_to_rows_by_text(tmp_path):
    out = parse({"text": "book a flight", "logits": [0, 3]}, {"text": "my balance", "logits": [4, 0]})
    save_outputs(tmp_path / "t", out, labels=LABELS)

    logits, missing = logits_for_texts(tmp_path / "t", ["my balance ", "unknown text", "book a flight"])

    np.testing.assert_allclose(logits[[0, 2]], [[4, 0], [0, 3]])
    assert missing == [1]
