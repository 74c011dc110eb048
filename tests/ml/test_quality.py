"""Quality reports against confusion matrices worked out by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from torchmetrics.functional.classification import multiclass_f1_score

from workers.ml.quality import agreement, in_scope_at_threshold, out_of_scope_report, quality_report

# Three classes a, b, c (plus d, never seen) and one out-of-scope row (-1) that must be ignored.
#   targets     a a a b b c  -
#   predictions a a b b c c  a
# Confusion (true -> predicted): a->a 2, a->b 1, b->b 1, b->c 1, c->c 1.
#   a: tp 2, predicted 2, support 3 -> P = 1,   R = 2/3, F1 = 2 * 1 * 2/3 / (5/3) = 0.8
#   b: tp 1, predicted 2, support 2 -> P = 1/2, R = 1/2, F1 = 0.5
#   c: tp 1, predicted 2, support 1 -> P = 1/2, R = 1,   F1 = 2 * 1/2 * 1 / (3/2) = 2/3
#   d: never a target nor a prediction -> left out of the macro average
# accuracy = 4/6; macro-F1 = (0.8 + 0.5 + 2/3) / 3 = 0.6555...
LABELS = ["a", "b", "c", "d"]
TARGETS = [0, 0, 0, 1, 1, 2, -1]
PREDICTIONS = [0, 0, 1, 1, 2, 2, 0]


def report(**kwargs: int) -> dict[str, Any]:
    return quality_report(torch.tensor(PREDICTIONS), torch.tensor(TARGETS), LABELS, **kwargs).as_dict()


def test_accuracy_and_macro_f1_of_a_three_class_case_with_confusions() -> None:
    result = report()
    assert result["count"] == 6
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert result["macro_f1"] == pytest.approx(0.655555556, abs=1e-8)


def test_per_class_precision_recall_f1_and_support() -> None:
    rows = {row["label"]: row for row in report()["per_class"]}
    assert list(rows) == LABELS
    assert rows["a"] == pytest.approx({"label": "a", "precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert rows["b"] == pytest.approx({"label": "b", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert rows["c"] == pytest.approx({"label": "c", "precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert rows["d"] == {"label": "d", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_worst_classes_skip_unsupported_ones_and_confusions_are_ranked() -> None:
    result = report()
    assert [row["label"] for row in result["worst_classes"]] == ["b", "c", "a"]
    assert result["confused_pairs"] == [
        {"true": "a", "predicted": "b", "count": 1},  # ties on count go by name
        {"true": "b", "predicted": "c", "count": 1},
    ]
    limited = report(worst=1, confusions=1)
    assert [row["label"] for row in limited["worst_classes"]] == ["b"]
    assert limited["confused_pairs"] == [{"true": "a", "predicted": "b", "count": 1}]


def test_confusions_are_sorted_by_count_first_and_f1_ties_by_label() -> None:
    # targets y y x x x ; predictions x x x y x -> y->x 2, x->x 2, x->y 1: the larger count first, although
    # "x" sorts before "y". x: P = 2/4, R = 2/3 -> F1 = 2 * 1/2 * 2/3 / (7/6) = 4/7; y: tp 0 -> F1 0.
    result = quality_report(torch.tensor([0, 0, 0, 1, 0]), torch.tensor([1, 1, 0, 0, 0]), ["x", "y"]).as_dict()
    assert result["confused_pairs"] == [
        {"true": "y", "predicted": "x", "count": 2},
        {"true": "x", "predicted": "y", "count": 1},
    ]
    assert result["per_class"][0]["f1"] == pytest.approx(4 / 7)
    assert [row["label"] for row in result["worst_classes"]] == ["y", "x"]
    # Two classes with the same F1 (0): by label name.
    tied = quality_report(torch.tensor([1, 0]), torch.tensor([0, 1]), ["zeta", "alpha"]).as_dict()
    assert [row["label"] for row in tied["worst_classes"]] == ["alpha", "zeta"]


def test_a_class_only_ever_predicted_counts_in_macro_f1_as_zero() -> None:
    # targets x x ; predictions x y. x: P = 1, R = 1/2 -> F1 2/3; y: predicted once, never right -> F1 0.
    result = quality_report(torch.tensor([0, 1]), torch.tensor([0, 0]), ["x", "y", "z"])
    assert result.macro_f1 == pytest.approx((2 / 3 + 0) / 2)  # z is absent from both and left out
    assert [row["label"] for row in result.worst_classes] == ["x"]  # y has no support


def test_macro_f1_matches_torchmetrics_on_random_predictions() -> None:
    generator = torch.Generator().manual_seed(0)
    targets = torch.randint(0, 6, (300,), generator=generator)  # classes 6 and 7 never occur
    predictions = torch.where(
        torch.rand(300, generator=generator) < 0.6, targets, torch.randint(0, 7, (300,), generator=generator)
    )
    ours = quality_report(predictions, targets, [f"l{i}" for i in range(8)])
    theirs = multiclass_f1_score(predictions, targets, num_classes=8, average="macro")
    assert ours.macro_f1 == pytest.approx(float(theirs), abs=1e-6)
    assert ours.accuracy == pytest.approx(float((predictions == targets).float().mean()))


def test_bad_ids_and_all_out_of_scope_input_are_refused() -> None:
    with pytest.raises(ValueError, match="Predictions"):
        quality_report(torch.tensor([0, 5]), torch.tensor([0, 1]), ["a", "b"])
    with pytest.raises(ValueError, match="No rows"):
        quality_report(torch.tensor([0]), torch.tensor([-1]), ["a", "b"])
    with pytest.raises(ValueError, match="paired"):
        quality_report(torch.tensor([0, 1]), torch.tensor([0]), ["a", "b"])


def test_report_is_json() -> None:
    result = report()
    assert json.loads(json.dumps(result, allow_nan=False)) == result


def test_agreement() -> None:
    assert agreement(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 0, 3])) == pytest.approx(0.75)
    with pytest.raises(ValueError):
        agreement(torch.tensor([0, 1]), torch.tensor([0]))


def test_out_of_scope_report() -> None:
    # Confidences 0.2, 0.5, 0.9, 0.5 at threshold 0.5: 0.5 counts as kept (>=), so 3 kept, 1 rejected.
    result = out_of_scope_report(torch.tensor([0.2, 0.5, 0.9, 0.5]), 0.5)
    assert result == pytest.approx({"count": 4, "rejection_recall": 0.25, "confidently_wrong": 0.75, "threshold": 0.5})
    empty = out_of_scope_report(torch.tensor([]), 0.5)
    assert empty == {"count": 0, "rejection_recall": None, "confidently_wrong": None, "threshold": 0.5}


def test_in_scope_at_threshold() -> None:
    # Row 3 (target -1) is dropped; left: (0.9, right), (0.8, wrong), (0.4, right), (0.7, right).
    # Threshold 0.5 keeps 0.9, 0.8, 0.7 -> coverage 3/4, accuracy kept 2/3, accuracy over all 3/4.
    result = in_scope_at_threshold(
        torch.tensor([0.9, 0.8, 0.4, 0.3, 0.7]), torch.tensor([0, 1, 1, 0, 2]), torch.tensor([0, 0, 1, -1, 2]), 0.5
    )
    assert result == pytest.approx({"coverage": 0.75, "accuracy_kept": 2 / 3, "accuracy_all": 0.75})
    nothing = in_scope_at_threshold(torch.tensor([0.1, 0.2]), torch.tensor([0, 1]), torch.tensor([0, 0]), 0.5)
    assert nothing == {"coverage": 0.0, "accuracy_kept": None, "accuracy_all": 0.5}
