"""What the training handlers share: labelled rows, validation splits, where models and checkpoints go."""

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.digests import folder_bytes
from domain.results import Artifact
from webapp.registry.models import Dataset, Task
from workers.errors import JobFailed
from workers.handlers.base import load_dataset
from workers.paths import model_folder

MIN_ROWS_PER_SPLIT = 10


@dataclass
class LabelledRows:
    texts: list[str]
    label_ids: list[int]  # -1 for unlabeled rows
    positions: list[int]  # each row's position in its dataset file (to look up cached teacher logits)


def labelled_rows(dataset: Dataset, labels: Sequence[str]) -> LabelledRows:
    """Rows with label ids in the task's label order; a label outside it is the user's to fix."""
    index = {label: i for i, label in enumerate(labels)}
    texts, ids = [], []
    for line, row in enumerate(dataset.rows(), start=1):
        texts.append(row["text"])
        if row["label"] is None:
            ids.append(-1)
        elif row["label"] in index:
            ids.append(index[row["label"]])
        else:
            raise JobFailed(
                f"Row {line} of '{dataset}' has the label '{row['label']}', which is not in the task's label set; "
                "add it on the labels page or remove the row."
            )
    return LabelledRows(texts, ids, list(range(len(texts))))


@dataclass
class TrainingData:
    train: LabelledRows
    val: LabelledRows
    note: str  # which validation rows, for the log
    train_set: Dataset  # where the training rows come from (teacher outputs are cached per dataset)


def train_and_validation(
    task_id: int, labels: Sequence[str], *, train_id: int, validation_id: int | None, seed: int
) -> TrainingData:
    """The training rows and the validation rows: the chosen validation set, or a stratified 10% of
    the training set when none was chosen."""
    train_set = load_dataset(train_id, task_id=task_id)
    train = labelled_rows(train_set, labels)
    if validation_id:
        val_set = load_dataset(validation_id, task_id=task_id)
        return TrainingData(train, labelled_rows(val_set, labels), f"validation on '{val_set}'", train_set)
    train, val = stratified_split(train, share=0.1, seed=seed)
    if len(val.texts) < MIN_ROWS_PER_SPLIT or len(train.texts) < MIN_ROWS_PER_SPLIT:
        raise JobFailed(
            f"'{train_set}' has {len(train.texts) + len(val.texts)} rows: too few to hold out a validation split "
            f"(at least {MIN_ROWS_PER_SPLIT} rows each). Upload more data or a validation set."
        )
    return TrainingData(
        train, val, f"validation on a stratified 10% of '{train_set}' ({len(val.texts)} rows)", train_set
    )


def stratified_split(rows: LabelledRows, *, share: float, seed: int) -> tuple[LabelledRows, LabelledRows]:
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(rows.label_ids):
        by_label[label].append(i)
    rng = random.Random(seed)
    held: set[int] = set()
    for members in by_label.values():
        rng.shuffle(members)
        held.update(members[: int(len(members) * share)])

    def pick(keep: bool) -> LabelledRows:
        chosen = [i for i in range(len(rows.texts)) if (i in held) != keep]
        return LabelledRows(
            [rows.texts[i] for i in chosen], [rows.label_ids[i] for i in chosen], [rows.positions[i] for i in chosen]
        )

    return pick(keep=True), pick(keep=False)


def task_labels(task: Task) -> list[str]:
    if not task.labels:
        raise JobFailed("The task has no label set yet: upload a labelled training set first.")
    return list(task.labels)


@contextmanager
def training_failures(checkpoint: Path) -> Iterator[None]:
    """Turn what training can run into that the user can act on into a failed job with a message."""
    from workers.ml.train import TrainingDiverged

    try:
        yield
    except TrainingDiverged as exc:
        checkpoint.unlink(missing_ok=True)  # resuming from it would diverge the same way
        raise JobFailed(str(exc)) from exc
    except MemoryError as exc:
        raise JobFailed("The worker ran out of memory: lower the batch size or max_length.") from exc


def save_artifact(model: Any, tokenizer: Any, task_id: int, name: str, metadata: dict[str, Any]) -> Artifact:
    """Save a model folder atomically and fingerprint it; a failure (a full disk) leaves nothing behind
    and fails the job cleanly."""
    from workers.ml.artifacts import save_model_artifact

    folder, ref = model_folder(task_id, name)
    try:
        sha256 = save_model_artifact(model, tokenizer, folder, metadata)
    except OSError as exc:
        raise JobFailed(f"Could not save the model to {folder}: {exc}. Is the disk full?") from exc
    return Artifact(ref=ref, sha256=sha256, size_bytes=folder_bytes(folder))
