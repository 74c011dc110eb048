"""Fine-tune a sequence classifier, or distil one from cached teacher logits. One loop, read top to bottom.

Modelled on nanoGPT's train.py: commented phases, small pure helpers, throttled progress, and checkpoints
that let a re-delivered job resume exactly (same weights, same data order) instead of starting over.

Glossary: a *step* is one optimizer update on one batch; an *evaluation* runs the model on the validation
set, `evals_per_epoch` times per epoch; early stopping counts evaluations without improvement.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from workers.ml.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint
from workers.ml.data import UNLABELED, Batch, EncodedDataset, make_loader
from workers.ml.device import autocast, describe_device
from workers.ml.inference import forward_logits, predict_logits, to_device
from workers.ml.kd import kd_loss, masked_cross_entropy
from workers.ml.reporting import Reporter, StopRequested

if TYPE_CHECKING:
    from transformers import PreTrainedModel

REPORT_EVERY_STEPS = 20  # progress reports are throttled; evaluations always report
# ...but a slow step (a big model on a CPU: seconds each) must not leave the page still for a minute.
REPORT_AT_LEAST_EVERY_SECONDS = 5.0
# The live `train_loss` point at step s is the mean loss of steps s-19..s (fewer at the very start): one
# quantity along the whole curve, never reset at an epoch boundary and never a second point at one step.
TRAIN_LOSS_WINDOW = REPORT_EVERY_STEPS


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite: a user-fixable problem (usually a learning rate that is too high)."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    patience: int = 3  # early stopping on validation accuracy, in evaluations
    evals_per_epoch: int = 1
    seed: int = 0
    temperature: float = 2.0  # only used when teacher logits are given
    alpha: float = 0.5  # weight of the distillation term; 1 - alpha goes to the hard labels
    checkpoint_every_steps: int = 200

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "patience", "evals_per_epoch", "checkpoint_every_steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1.")
        if not self.learning_rate > 0:
            raise ValueError("learning_rate must be positive.")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError("warmup_ratio must be in [0, 1).")
        if self.weight_decay < 0 or self.max_grad_norm <= 0:
            raise ValueError("weight_decay must be >= 0 and max_grad_norm > 0.")
        if self.temperature <= 0 or not 0 <= self.alpha <= 1:
            raise ValueError("temperature must be positive and alpha between 0 and 1.")


@dataclass(frozen=True)
class TrainResult:
    best_val_accuracy: float
    best_val_loss: float
    best_step: int
    steps: int
    epochs_completed: float
    stopped_early: bool
    train_seconds: float  # wall time of this call, evaluations included
    seconds_per_epoch: float  # training steps only (no evaluation), scaled to a full epoch
    # One record per evaluation: step, epoch, train_loss (mean since the previous evaluation), val_loss,
    # val_accuracy.
    history: list[dict[str, float]]
    resumed_from_step: int  # 0 for a fresh run


@dataclass
class _Progress:
    """Everything about the run's position and bookkeeping that a checkpoint must carry."""

    step: int = 0
    best_val_accuracy: float = -1.0
    best_val_loss: float = math.inf
    best_step: int = 0
    evals_without_improvement: int = 0
    recent_losses: list[float] = field(default_factory=list)  # the last TRAIN_LOSS_WINDOW step losses
    eval_loss_sum: float = 0.0  # train loss since the last evaluation (for history)
    eval_loss_count: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_weights: dict[str, torch.Tensor] | None = None  # on the CPU

    def add_loss(self, loss: float) -> None:
        self.recent_losses = [*self.recent_losses, loss][-TRAIN_LOSS_WINDOW:]
        self.eval_loss_sum += loss
        self.eval_loss_count += 1

    def train_loss(self) -> float:
        """The live curve's value: mean loss over the last TRAIN_LOSS_WINDOW steps."""
        return sum(self.recent_losses) / len(self.recent_losses)

    def to_state(self) -> dict[str, Any]:
        # Shallow on purpose: asdict() would deep-copy the best weights at every checkpoint.
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> _Progress:
        # A field missing from an older checkpoint takes its default (an empty loss window, say).
        return cls(**{name: state[name] for name in cls.__dataclass_fields__ if name in state})


def train_classifier(
    model: PreTrainedModel,
    train: EncodedDataset,
    val: EncodedDataset,
    config: TrainConfig,
    reporter: Reporter,
    *,
    device: torch.device,
    pad_token_id: int,
    teacher_logits: torch.Tensor | None = None,
    checkpoint_path: Path | None = None,
) -> TrainResult:
    """Train `model` in place and leave the best evaluated weights in it.

    With `teacher_logits` ([rows of the source dataset, classes], looked up by each row's `index`) the loss
    is kd_loss(...); otherwise cross-entropy on the labels. With `checkpoint_path`, an existing checkpoint
    written for the same config and data is resumed, and the file is deleted once training finishes.
    """
    started = time.perf_counter()
    _check_inputs(model, train, val, teacher_logits)

    # -- seed everything: dropout draws from the global RNG; the data order has its own seeded generators
    seed_everything(config.seed)

    # -- sizes and schedule
    batches_per_epoch = math.ceil(len(train) / config.batch_size)
    total_steps = batches_per_epoch * config.epochs
    eval_points = _eval_points(batches_per_epoch, config.evals_per_epoch)
    warmup_steps = round(config.warmup_ratio * total_steps)
    fingerprint = _fingerprint(train, val, teacher_logits)

    # -- model, optimizer (no weight decay on biases and LayerNorm), linear warmup then linear decay
    # Module.to, not model.to: transformers wraps .to() in a way that hides its signature from type checkers.
    torch.nn.Module.to(model, device)
    model.train()
    optimizer = torch.optim.AdamW(_parameter_groups(model, config.weight_decay), lr=config.learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, partial(_lr_factor, warmup_steps=warmup_steps, total_steps=total_steps)
    )
    if teacher_logits is not None:
        teacher_logits = teacher_logits.to(device, torch.float32)

    # -- resume from a checkpoint written for this same run, if there is one
    progress = _Progress()
    if checkpoint_path is not None and checkpoint_path.exists():
        resumed = _resume(checkpoint_path, model, optimizer, scheduler, config, fingerprint, reporter)
        if resumed is not None:
            progress = resumed
    resumed_from_step = progress.step

    def checkpoint() -> None:
        if checkpoint_path is not None:
            state = progress.to_state() | {
                "epoch": progress.step // batches_per_epoch,
                "batch_in_epoch": progress.step % batches_per_epoch,  # the data-order position
                "batches_per_epoch": batches_per_epoch,
                "total_steps": total_steps,
                "config": asdict(config),
                "fingerprint": fingerprint,
                "rng": capture_rng(),
            }
            save_checkpoint(checkpoint_path, model=model, optimizer=optimizer, scheduler=scheduler, state=state)

    mode = f"distilling (T={config.temperature}, alpha={config.alpha})" if teacher_logits is not None else "fine-tuning"
    reporter.log(
        f"{mode.capitalize()} on {describe_device(device)}: {len(train)} train rows, {len(val)} validation rows, "
        f"{_count(config.epochs, 'epoch')} of {_count(batches_per_epoch, 'step')}"
        + (f"; resumed at step {resumed_from_step}." if resumed_from_step else ".")
    )

    # -- the loop: epochs of batches in a seeded order; a resumed run skips the batches it already did
    step_seconds = 0.0
    steps_this_run = 0
    # True straight away if the checkpoint was written by an evaluation that ended the run.
    stopped_early = progress.evals_without_improvement >= config.patience
    start_epoch, start_batch = divmod(progress.step, batches_per_epoch)
    for epoch in range(start_epoch, config.epochs):
        if stopped_early:
            break
        skip = start_batch if epoch == start_epoch else 0
        loader = make_loader(
            train,
            batch_size=config.batch_size,
            shuffle=True,
            seed=config.seed,
            pad_token_id=pad_token_id,
            device=device,
            epoch=epoch,
            skip_batches=skip,
        )
        clock = time.perf_counter()  # training time runs from here, batch loading included
        last_report = time.monotonic()
        for batches_done, batch in enumerate(loader, start=skip + 1):
            # one optimisation step
            loss = _train_step(model, to_device(batch, device), optimizer, config, teacher_logits, progress.step + 1)
            scheduler.step()
            step_seconds += time.perf_counter() - clock
            steps_this_run += 1
            progress.step += 1
            progress.add_loss(loss)

            # throttled progress: every REPORT_EVERY_STEPS steps, or sooner when steps are slow
            due = time.monotonic() - last_report >= REPORT_AT_LEAST_EVERY_SECONDS
            if due or progress.step % REPORT_EVERY_STEPS == 0 or progress.step in (1, total_steps):
                last_report = time.monotonic()
                reporter.report(
                    progress.step,
                    total_steps,
                    {
                        "train_loss": progress.train_loss(),
                        "learning_rate": float(scheduler.get_last_lr()[0]),
                    },
                    f"epoch {epoch + 1}/{config.epochs} step {progress.step}/{total_steps}",
                )

            # evaluation: keep the best weights, count evaluations without improvement, checkpoint
            if batches_done in eval_points:
                _evaluate_and_track(model, val, config, progress, reporter, device, pad_token_id, batches_per_epoch)
                checkpoint()
                if progress.evals_without_improvement >= config.patience:
                    stopped_early = True
                    reporter.log(
                        f"Early stop at step {progress.step}: no improvement in {config.patience} evaluations."
                    )
                    break
            elif progress.step % config.checkpoint_every_steps == 0:
                checkpoint()

            # cancellation, checked every step; the checkpoint lets a later run pick up from here
            if reporter.should_stop():
                checkpoint()
                raise StopRequested(f"Training stopped at step {progress.step}/{total_steps}.")
            clock = time.perf_counter()  # evaluation, checkpoints and reporting are not training time

    # -- finish: the best evaluated weights go back into the model; the checkpoint has served its purpose
    if progress.best_weights is not None:
        model.load_state_dict(progress.best_weights)
    if checkpoint_path is not None:
        checkpoint_path.unlink(missing_ok=True)
    reporter.log(
        f"Best validation accuracy {progress.best_val_accuracy:.4f} (loss {progress.best_val_loss:.4f}) "
        f"at step {progress.best_step}."
    )
    return TrainResult(
        best_val_accuracy=progress.best_val_accuracy,
        best_val_loss=progress.best_val_loss,
        best_step=progress.best_step,
        steps=progress.step,
        epochs_completed=progress.step / batches_per_epoch,
        stopped_early=stopped_early,
        train_seconds=time.perf_counter() - started,
        seconds_per_epoch=step_seconds / steps_this_run * batches_per_epoch if steps_this_run else 0.0,
        history=progress.history,
        resumed_from_step=resumed_from_step,
    )


def evaluate(
    model: PreTrainedModel, data: EncodedDataset, *, device: torch.device, pad_token_id: int, batch_size: int = 64
) -> tuple[float, float, torch.Tensor]:
    """(mean cross-entropy, accuracy) over the labeled rows, and logits [rows, classes] (float32, CPU, data order)."""
    logits, _ = predict_logits(model, data, device=device, pad_token_id=pad_token_id, batch_size=batch_size)
    labels = torch.tensor(data.labels, dtype=torch.long)
    labeled = labels != UNLABELED
    if not bool(labeled.any()):
        return math.nan, math.nan, logits
    loss = F.cross_entropy(logits[labeled], labels[labeled]).item()
    accuracy = (logits[labeled].argmax(dim=-1) == labels[labeled]).float().mean().item()
    return loss, accuracy, logits


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)  # CPU and every CUDA device


# -- helpers of the loop, in the order it uses them


def _check_inputs(
    model: PreTrainedModel, train: EncodedDataset, val: EncodedDataset, teacher_logits: torch.Tensor | None
) -> None:
    if len(train) == 0:
        raise ValueError("The training set is empty.")
    if val.labeled_rows == 0:
        raise ValueError("The validation set has no labeled rows, so the student cannot be evaluated.")
    num_labels = len(model.config.id2label or {})
    out_of_range = {label for label in train.labels + val.labels if label != UNLABELED and not 0 <= label < num_labels}
    if out_of_range:
        raise ValueError(f"Label ids {sorted(out_of_range)} are outside the model's {num_labels} classes.")
    if teacher_logits is None:
        if train.labeled_rows < len(train):
            raise ValueError("The training set has unlabeled rows; they can only be used with teacher logits.")
        return
    if teacher_logits.ndim != 2 or teacher_logits.shape[1] != num_labels:
        raise ValueError(
            f"Teacher logits have shape {tuple(teacher_logits.shape)}; expected [rows, {num_labels}] to match "
            "the student's classes."
        )
    if max(train.index) >= teacher_logits.shape[0] or min(train.index) < 0:
        raise ValueError(
            f"Teacher logits cover {teacher_logits.shape[0]} rows, but the training set refers to row "
            f"{max(train.index)}; compute the logits on the same dataset."
        )
    if not bool(torch.isfinite(teacher_logits).all()):
        raise ValueError("Teacher logits contain NaN or infinite values.")


def _eval_points(batches_per_epoch: int, evals_per_epoch: int) -> set[int]:
    """After which batch of an epoch (1-based) to evaluate: evenly spaced, always including the last."""
    return {math.ceil(batches_per_epoch * (k + 1) / evals_per_epoch) for k in range(evals_per_epoch)}


def _fingerprint(train: EncodedDataset, val: EncodedDataset, teacher_logits: torch.Tensor | None) -> str:
    """Identifies the data a checkpoint was written for, so a checkpoint is never resumed on other data."""
    digest = hashlib.sha256()
    for data in (train, val):
        digest.update(repr((data.input_ids, data.labels, data.index)).encode())
    if teacher_logits is not None:
        digest.update(teacher_logits.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def _parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    # Decaying biases and LayerNorm gains only pulls them towards 0, which hurts rather than regularises.
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            skip = parameter.ndim < 2 or "layernorm" in name.lower() or "layer_norm" in name.lower()
            (no_decay if skip else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _lr_factor(step: int, *, warmup_steps: int, total_steps: int) -> float:
    """Linear warmup from 0 to the full learning rate, then linear decay to 0 at the last step."""
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def _resume(
    path: Path,
    model: PreTrainedModel,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    config: TrainConfig,
    fingerprint: str,
    reporter: Reporter,
) -> _Progress | None:
    """Restore everything from the checkpoint; None (start over) if it was written for another run."""
    payload = load_checkpoint(path)
    state: dict[str, Any] = payload["state"]
    if state["config"] != asdict(config) or state["fingerprint"] != fingerprint:
        reporter.log(f"Ignoring checkpoint {path.name}: it was written for a different config or data.")
        return None
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    restore_rng(state["rng"])  # last: loading the states above must not disturb it
    return _Progress.from_state(state)


def _train_step(
    model: PreTrainedModel,
    batch: Batch,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    teacher_logits: torch.Tensor | None,
    step: int,
) -> float:
    """Forward, loss, backward, clip, update. Returns the loss; raises TrainingDiverged on NaN/inf."""
    with autocast(device=batch["input_ids"].device):
        logits = forward_logits(model, batch)
    logits = logits.float()  # the loss in fp32, whatever autocast computed the logits in
    if teacher_logits is None:
        loss = masked_cross_entropy(logits, batch["labels"])
    else:
        loss, _ = kd_loss(
            logits,
            teacher_logits[batch["index"]],
            batch["labels"],
            temperature=config.temperature,
            alpha=config.alpha,
        )
    value = loss.item()
    if not math.isfinite(value):
        raise TrainingDiverged(
            f"The training loss became {value} (NaN or infinite) at step {step}; training diverged. "
            f"Lower the learning rate (now {config.learning_rate:g})."
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]
    torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
    optimizer.step()
    return value


def _evaluate_and_track(
    model: PreTrainedModel,
    val: EncodedDataset,
    config: TrainConfig,
    progress: _Progress,
    reporter: Reporter,
    device: torch.device,
    pad_token_id: int,
    batches_per_epoch: int,
) -> None:
    val_loss, val_accuracy, _ = evaluate(
        model, val, device=device, pad_token_id=pad_token_id, batch_size=2 * config.batch_size
    )
    train_loss = progress.eval_loss_sum / max(1, progress.eval_loss_count)
    progress.eval_loss_sum, progress.eval_loss_count = 0.0, 0
    record = {
        "step": float(progress.step),
        "epoch": progress.step / batches_per_epoch,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "val_accuracy": val_accuracy,
    }
    progress.history.append(record)
    if _improved(val_accuracy, val_loss, progress.best_val_accuracy, progress.best_val_loss):
        progress.best_val_accuracy, progress.best_val_loss, progress.best_step = val_accuracy, val_loss, progress.step
        progress.best_weights = {name: t.detach().to("cpu", copy=True) for name, t in model.state_dict().items()}
        progress.evals_without_improvement = 0
    else:
        progress.evals_without_improvement += 1
    # No train_loss here: the live curve's points come from the progress reports alone (this per-evaluation
    # mean, sent at the same step, once drew a jump at every epoch boundary). The history keeps it.
    reporter.report(
        progress.step,
        config.epochs * batches_per_epoch,
        {"val_loss": val_loss, "val_accuracy": val_accuracy},
        f"evaluation at epoch {record['epoch']:.2f}: accuracy {val_accuracy:.4f}",
    )


def _improved(accuracy: float, loss: float, best_accuracy: float, best_loss: float) -> bool:
    """Higher accuracy wins; equal accuracy with a lower loss also counts (small validation sets tie often)."""
    return accuracy > best_accuracy or (accuracy == best_accuracy and loss < best_loss)


def _count(number: int, noun: str) -> str:
    """A count and its noun, "1 epoch" or "3 epochs": the log reads as a sentence."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
