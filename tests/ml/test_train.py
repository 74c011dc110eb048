"""train_classifier on a tiny BERT and a separable toy task: learning, distillation, early stopping, failures."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from tests.ml.tiny import (
    one_torch_thread,  # noqa: F401 (a fixture, used by name below)
    tiny_model,
    toy_data,
)
from workers.ml.data import EncodedDataset
from workers.ml.reporting import ListReporter
from workers.ml.train import TrainConfig, TrainingDiverged, evaluate, train_classifier

CPU = torch.device("cpu")
TRAIN = toy_data(128, seed=1)
VAL = toy_data(32, seed=2)
FAST = TrainConfig(epochs=6, batch_size=16, learning_rate=3e-3, warmup_ratio=0.1, patience=10, evals_per_epoch=1)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_training_reduces_the_loss_and_learns_a_separable_toy_task() -> None:
    model = tiny_model()
    before_loss, before_accuracy, _ = evaluate(model, VAL, device=CPU, pad_token_id=0)
    result = train_classifier(model, TRAIN, VAL, FAST, ListReporter(), device=CPU, pad_token_id=0)

    assert result.steps == 6 * 8 and result.epochs_completed == 6.0 and not result.stopped_early
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.best_val_loss < before_loss
    assert result.best_val_accuracy >= 0.9 > before_accuracy
    assert [record["step"] for record in result.history] == [8.0, 16.0, 24.0, 32.0, 40.0, 48.0]
    assert result.seconds_per_epoch > 0 and result.train_seconds > 0 and result.resumed_from_step == 0


def test_the_log_counts_epochs_and_steps_in_words() -> None:
    reporter = ListReporter()
    one_epoch = replace(FAST, epochs=1, batch_size=len(TRAIN.labels))  # 1 epoch of 1 step
    train_classifier(tiny_model(), TRAIN, VAL, one_epoch, reporter, device=CPU, pad_token_id=0)
    assert "128 train rows, 32 validation rows, 1 epoch of 1 step." in reporter.lines[0]


def test_the_model_ends_with_the_best_evaluated_weights() -> None:
    model = tiny_model()
    result = train_classifier(model, TRAIN, VAL, FAST, ListReporter(), device=CPU, pad_token_id=0)
    loss, accuracy, _ = evaluate(model, VAL, device=CPU, pad_token_id=0)
    assert (accuracy, loss) == pytest.approx((result.best_val_accuracy, result.best_val_loss), abs=1e-6)
    best = max(result.history, key=lambda r: (r["val_accuracy"], -r["val_loss"]))
    assert result.best_step == best["step"]


def test_distillation_follows_the_teachers_logits_rather_than_the_labels() -> None:
    # A "teacher" that confidently predicts the opposite of every training label; with alpha=1 the labels
    # carry no weight, so the student should learn the flipped task, measured on flipped validation labels.
    teacher_logits = torch.tensor([[3.0, -3.0] if label == 1 else [-3.0, 3.0] for label in TRAIN.labels])
    flipped_val = EncodedDataset(input_ids=VAL.input_ids, labels=[1 - label for label in VAL.labels], index=VAL.index)
    config = replace(FAST, alpha=1.0, temperature=2.0)
    result = train_classifier(
        tiny_model(),
        TRAIN,
        flipped_val,
        config,
        ListReporter(),
        device=CPU,
        pad_token_id=0,
        teacher_logits=teacher_logits,
    )
    assert result.best_val_accuracy >= 0.9


def test_distillation_uses_unlabeled_rows_through_the_teacher() -> None:
    unlabeled = EncodedDataset(input_ids=TRAIN.input_ids, labels=[-1] * len(TRAIN), index=TRAIN.index)
    teacher_logits = torch.tensor([[-3.0, 3.0] if label == 1 else [3.0, -3.0] for label in TRAIN.labels])
    config = replace(FAST, alpha=0.5)
    result = train_classifier(
        tiny_model(), unlabeled, VAL, config, ListReporter(), device=CPU, pad_token_id=0, teacher_logits=teacher_logits
    )
    assert result.best_val_accuracy >= 0.9  # learnt from the teacher alone: no training row has a label


def test_early_stopping_after_patience_evaluations_without_improvement() -> None:
    # A learning rate so small the weights cannot change in float32: no evaluation can improve on the first.
    config = TrainConfig(epochs=5, batch_size=16, learning_rate=1e-30, evals_per_epoch=2, patience=2)
    result = train_classifier(tiny_model(), TRAIN, VAL, config, ListReporter(), device=CPU, pad_token_id=0)
    assert result.stopped_early
    assert len(result.history) == 3  # the first sets the best, two more without improvement
    assert result.steps == 12 and result.best_step == 4
    assert result.epochs_completed == 1.5


def test_progress_is_throttled_and_evaluations_report_validation_metrics() -> None:
    reporter = ListReporter()
    config = TrainConfig(epochs=3, batch_size=8, learning_rate=1e-3, evals_per_epoch=1, patience=100)
    train_classifier(tiny_model(), TRAIN, VAL, config, reporter, device=CPU, pad_token_id=0)
    progress = [r for r in reporter.reports if "train_loss" in r.metrics and "val_loss" not in r.metrics]
    evaluations = [r for r in reporter.reports if "val_accuracy" in r.metrics]
    assert [r.step for r in progress] == [1, 20, 40, 48]
    assert progress[1].message == "epoch 2/3 step 20/48" and all(r.total == 48 for r in reporter.reports)
    assert [r.step for r in evaluations] == [16, 32, 48] and {"val_loss", "val_accuracy"} <= evaluations[
        0
    ].metrics.keys()
    assert any("Best validation accuracy" in line for line in reporter.lines)


# The scripted step below never calls optimizer.step(), which the LR scheduler warns about.
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)`:UserWarning")
def test_the_live_train_loss_is_one_trailing_mean_with_one_point_per_step(monkeypatch: pytest.MonkeyPatch) -> None:
    # Step k "has" loss k, so every point can be worked out by hand. 128 rows in batches of 8: 16 steps per
    # epoch, 48 in all; progress reports at steps 1, 20, 40 and 48, evaluations at 16, 32 and 48.
    # The point at step s is the mean of steps max(1, s - 19)..s:
    #   1 -> 1;  20 -> mean(1..20) = 10.5;  40 -> mean(21..40) = 30.5;  48 -> mean(29..48) = 38.5.
    # (It used to be the mean since the last report plus, at each evaluation, the mean since the previous
    # evaluation under the same name: 8.5 at 16, 24.5 at 32, and 44.5 *and* 40.5 at step 48.)
    monkeypatch.setattr("workers.ml.train._train_step", lambda *args: float(args[-1]))
    reporter = ListReporter()
    config = TrainConfig(epochs=3, batch_size=8, learning_rate=1e-3, evals_per_epoch=1, patience=100)
    result = train_classifier(tiny_model(), TRAIN, VAL, config, reporter, device=CPU, pad_token_id=0)

    points = [(r.step, r.metrics["train_loss"]) for r in reporter.reports if "train_loss" in r.metrics]
    assert points == [(1, 1.0), (20, 10.5), (40, 30.5), (48, 38.5)]
    assert [r.step for r in reporter.reports if "val_loss" in r.metrics] == [16, 32, 48]
    # The history keeps its own per-evaluation mean: steps 1..16, 17..32, 33..48.
    assert [record["train_loss"] for record in result.history] == [8.5, 24.5, 40.5]


def test_a_nan_loss_raises_training_diverged_with_advice() -> None:
    model = tiny_model()
    calls = 0

    def poison(module: torch.nn.Module, inputs: object, output: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        return output * math.inf if calls >= 3 else output

    model.classifier.register_forward_hook(poison)
    with pytest.raises(TrainingDiverged, match=r"at step 3.*Lower the learning rate"):
        train_classifier(model, TRAIN, VAL, FAST, ListReporter(), device=CPU, pad_token_id=0)


def test_a_huge_learning_rate_diverges_instead_of_training_on_garbage() -> None:
    config = TrainConfig(epochs=20, batch_size=16, learning_rate=1e12, warmup_ratio=0.0, max_grad_norm=1e30)
    with pytest.raises(TrainingDiverged, match="NaN or infinite"):
        train_classifier(tiny_model(), TRAIN, VAL, config, ListReporter(), device=CPU, pad_token_id=0)


def test_unlabeled_training_rows_need_teacher_logits() -> None:
    unlabeled = EncodedDataset(input_ids=TRAIN.input_ids, labels=[-1] * len(TRAIN), index=TRAIN.index)
    with pytest.raises(ValueError, match="only be used with teacher logits"):
        train_classifier(tiny_model(), unlabeled, VAL, FAST, ListReporter(), device=CPU, pad_token_id=0)


@pytest.mark.parametrize(
    ("logits", "message"),
    [
        (torch.zeros(128, 3), "expected \\[rows, 2\\]"),
        (torch.zeros(10, 2), "cover 10 rows"),
        (torch.full((128, 2), math.nan), "NaN"),
    ],
)
def test_teacher_logits_that_do_not_fit_are_rejected(logits: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train_classifier(
            tiny_model(), TRAIN, VAL, FAST, ListReporter(), device=CPU, pad_token_id=0, teacher_logits=logits
        )


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="patience"):
        TrainConfig(patience=0)
    with pytest.raises(ValueError, match="alpha"):
        TrainConfig(alpha=2.0)
