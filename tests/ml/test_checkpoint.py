"""Checkpoints: a stopped run resumes to exactly what an uninterrupted run produces; files are safe to load."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from tests.ml.tiny import (
    StopAtStep,
    one_torch_thread,  # noqa: F401 (a fixture, used by name below)
    tiny_model,
    toy_data,
)
from workers.ml.checkpoint import load_checkpoint, save_checkpoint
from workers.ml.reporting import ListReporter, StopRequested
from workers.ml.train import TrainConfig, TrainResult, train_classifier

CPU = torch.device("cpu")
TRAIN = toy_data(40, seed=1)  # 5 batches of 8 per epoch
VAL = toy_data(16, seed=2)
# Dropout on, two evaluations per epoch and a checkpoint every 3 steps, so resuming has to restore the RNG,
# the data position and the early-stopping bookkeeping, not just the weights.
CONFIG = TrainConfig(epochs=3, batch_size=8, learning_rate=2e-3, evals_per_epoch=2, checkpoint_every_steps=3, seed=7)
TEACHER = torch.randn(40, 2, generator=torch.Generator().manual_seed(0)) * 3

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(
    reporter: ListReporter, path: Path | None, *, teacher: bool = False, config: TrainConfig = CONFIG
) -> tuple[torch.nn.Module, TrainResult]:
    model = tiny_model(seed=3, dropout=0.1)
    result = train_classifier(
        model,
        TRAIN,
        VAL,
        config,
        reporter,
        device=CPU,
        pad_token_id=0,
        teacher_logits=TEACHER if teacher else None,
        checkpoint_path=path,
    )
    return model, result


def live_train_loss(reporter: ListReporter) -> list[tuple[int, float]]:
    return [(r.step, r.metrics["train_loss"]) for r in reporter.reports if "train_loss" in r.metrics]


@pytest.mark.parametrize(
    ("stop_at", "teacher"),
    [(4, False), (5, False), (7, False), (3, False), (6, True)],
    # With the random TEACHER the distilling run stops early at step 10, after resuming.
    ids=["mid-epoch", "at-an-epoch-end", "after-an-evaluation", "at-a-periodic-checkpoint", "distilling-early-stop"],
)
def test_a_stopped_and_resumed_run_ends_exactly_like_an_uninterrupted_one(
    tmp_path: Path, stop_at: int, teacher: bool
) -> None:
    uninterrupted, resumed_reporter = ListReporter(), ListReporter()
    expected_model, expected = run(uninterrupted, None, teacher=teacher)

    path = tmp_path / "run.pt"
    with pytest.raises(StopRequested, match=f"step {stop_at}/15"):
        run(StopAtStep(step=stop_at), path, teacher=teacher)
    assert path.exists()
    resumed_model, resumed = run(resumed_reporter, path, teacher=teacher)

    assert resumed.resumed_from_step == stop_at
    assert resumed.history == expected.history
    # The live train_loss window comes back too: the point at step 15 is the mean of steps 1..15 either way
    # (the early-stopping run ends at step 10, before any point after the one at step 1).
    assert live_train_loss(resumed_reporter) == [p for p in live_train_loss(uninterrupted) if p[0] > stop_at]
    assert (resumed.best_step, resumed.best_val_loss, resumed.steps, resumed.stopped_early) == (
        expected.best_step,
        expected.best_val_loss,
        expected.steps,
        expected.stopped_early,
    )
    assert expected.stopped_early == teacher
    expected_weights = expected_model.state_dict()
    for name, tensor in resumed_model.state_dict().items():
        assert torch.equal(tensor, expected_weights[name]), name
    assert not path.exists()  # a finished run cleans up its checkpoint


def test_a_run_stopped_twice_still_ends_like_an_uninterrupted_one(tmp_path: Path) -> None:
    expected_model, expected = run(ListReporter(), None)
    path = tmp_path / "run.pt"
    with pytest.raises(StopRequested):
        run(StopAtStep(step=2), path)
    with pytest.raises(StopRequested):
        run(StopAtStep(step=6), path)  # resumes at 2, stops at 8
    resumed_model, resumed = run(ListReporter(), path)
    assert resumed.resumed_from_step == 8
    assert resumed.history == expected.history
    assert all(torch.equal(t, expected_model.state_dict()[n]) for n, t in resumed_model.state_dict().items())


def test_the_checkpoint_loads_with_weights_only_and_describes_itself(tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    with pytest.raises(StopRequested):
        run(StopAtStep(step=4), path)
    payload = torch.load(path, weights_only=True, map_location="cpu")
    state = payload["state"]
    assert payload["format"] == "distillery.train_checkpoint"
    assert {"model", "optimizer", "scheduler"} <= payload.keys()
    assert (state["step"], state["epoch"], state["batch_in_epoch"], state["total_steps"]) == (4, 0, 4, 15)
    assert state["config"] == asdict(CONFIG)
    assert isinstance(state["rng"]["torch"], torch.Tensor)
    assert state["best_step"] == 3 and len(state["history"]) == 1  # evaluated after batch 3 of 5
    assert set(state["best_weights"]) == set(payload["model"])
    assert load_checkpoint(path)["state"]["step"] == 4


def test_a_checkpoint_written_for_another_config_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    with pytest.raises(StopRequested):
        run(StopAtStep(step=4), path)
    reporter = ListReporter()
    other = TrainConfig(**(asdict(CONFIG) | {"learning_rate": 1e-3}))
    _, result = run(reporter, path, config=other)
    assert result.resumed_from_step == 0 and result.steps == 15
    assert any("Ignoring checkpoint run.pt" in line for line in reporter.lines)


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tiny_model()
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    path = tmp_path / "run.pt"
    save_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler, state={"step": 1})

    def disk_full(obj: object, f: Path) -> None:
        Path(f).write_bytes(b"partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler, state={"step": 2})
    assert load_checkpoint(path)["state"] == {"step": 1}
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_loading_refuses_a_file_that_is_not_a_training_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="not a Distillery training checkpoint"):
        load_checkpoint(path)


def test_a_checkpoint_left_by_the_evaluation_that_ended_a_run_resumes_to_the_same_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if the worker died between the final checkpoint and its deletion.
    path = tmp_path / "run.pt"
    with monkeypatch.context() as patch:
        patch.setattr(Path, "unlink", lambda self, missing_ok=False: None)
        first_model, first = run(ListReporter(), path, teacher=True)
    assert first.stopped_early and path.exists()
    model, result = run(ListReporter(), path, teacher=True)
    assert (result.resumed_from_step, result.steps, result.stopped_early) == (first.steps, first.steps, True)
    assert result.history == first.history
    assert all(torch.equal(t, first_model.state_dict()[n]) for n, t in model.state_dict().items())
