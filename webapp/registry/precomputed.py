"""Read uploaded teacher outputs (JSON Lines: text, optional label, and probs or logits over the task's
labels) into a logits matrix, or a DatasetFormatError that names the line and the problem.

A team whose teacher is an API model (or any model Distillery can't run) uploads what the teacher said
about each text; students are then distilled from it exactly as from cached logits. Plain Python and
numpy (no Django, no torch), like parsing.py, so it runs in a request, a worker or a script.

Probabilities become log-probabilities: softmax(log p / T) is p^(1/T) renormalised, the usual way to
soften a teacher that only exposes probabilities, so KD at any temperature treats both kinds alike.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file, save_file

from webapp.registry.parsing import DatasetFormatError

PROBS = "probs"
LOGITS = "logits"
# Probabilities printed with a few decimals don't sum to exactly 1; more than this is a different mistake.
_PROB_SUM_TOLERANCE = 0.01
_PROB_FLOOR = 1e-8  # log(0) is -inf; a floor keeps "impossible" finite and tiny after softening


@dataclass(frozen=True)
class PrecomputedOutputs:
    texts: list[str]  # unique, in file order
    logits: npt.NDArray[np.float32]  # [len(texts), len(labels)], in the task's label order
    kind: str  # PROBS or LOGITS: what the file gave
    labels: list[str | None]  # the file's label for each text, when it gave one

    def agreement_with_labels(self, label_order: list[str]) -> float | None:
        """How often the teacher's top class is the file's label, over rows that have a label."""
        pairs = [(i, label) for i, label in enumerate(self.labels) if label is not None]
        if not pairs:
            return None
        top = self.logits.argmax(axis=1)
        return sum(label_order[int(top[i])] == label for i, label in pairs) / len(pairs)


def parse_teacher_outputs(data: bytes, *, filename: str, labels: list[str]) -> PrecomputedOutputs:
    """Parse a JSONL file of teacher outputs over `labels` (the task's label order)."""
    if not labels:
        raise DatasetFormatError("The task has no label set yet: upload a labelled training set first.")
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetFormatError(f"{filename} is not UTF-8 text (line {line}).", line=line) from exc
    known = set(labels)
    kind: str | None = None
    rows: dict[str, int] = {}
    texts: list[str] = []
    given: list[str | None] = []
    vectors: list[list[float]] = []
    for number, raw in enumerate(content.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{filename}, line {number}"
        record = _json_object(raw, where, number)
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise DatasetFormatError(f"{where}: 'text' is missing or empty.", line=number, column="text")
        label = record.get("label")
        if label is not None and (not isinstance(label, str) or label not in known):
            raise DatasetFormatError(
                f"{where}: label {json.dumps(label)} is not one of the task's labels.", line=number, column="label"
            )
        line_kind = _kind_of(record, where, number)
        if kind is None:
            kind = line_kind
        elif line_kind != kind:
            raise DatasetFormatError(
                f"{where} gives '{line_kind}' but earlier lines give '{kind}': use one kind for the whole file.",
                line=number,
            )
        vector = _vector(record[line_kind], line_kind, labels, where, number)
        key = text.strip()
        if key in rows:
            earlier = vectors[rows[key]]
            if max(abs(a - b) for a, b in zip(earlier, vector, strict=True)) > 1e-4:
                raise DatasetFormatError(
                    f"{where}: this text already appeared with different outputs; keep one line per text.",
                    line=number,
                )
            continue
        rows[key] = len(texts)
        texts.append(key)
        given.append(label)
        vectors.append(vector)
    if kind is None:
        raise DatasetFormatError(f"{filename} holds no teacher outputs (the file is empty).")
    matrix = np.asarray(vectors, dtype=np.float64)
    if kind == PROBS:
        matrix = np.log(np.clip(matrix, _PROB_FLOOR, None))
    return PrecomputedOutputs(texts=texts, logits=matrix.astype(np.float32), kind=kind, labels=given)


def _json_object(raw: str, where: str, number: int) -> dict[str, Any]:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(f"{where} is not valid JSON ({exc.msg}).", line=number) from exc
    if not isinstance(record, dict):
        raise DatasetFormatError(f"{where} is not a JSON object.", line=number)
    return record


def _kind_of(record: dict[str, Any], where: str, number: int) -> str:
    present = [k for k in (PROBS, LOGITS) if k in record]
    if len(present) != 1:
        raise DatasetFormatError(
            f"{where}: give exactly one of 'probs' or 'logits' (found {', '.join(present) or 'neither'}).",
            line=number,
        )
    return present[0]


def _vector(value: Any, kind: str, labels: list[str], where: str, number: int) -> list[float]:
    """Scores in the task's label order, from a list (already in that order) or a {label: score} object."""
    if isinstance(value, dict):
        missing = [label for label in labels if label not in value]
        extra = [str(key) for key in value if key not in set(labels)]
        if extra:
            shown = ", ".join(f"'{k}'" for k in extra[:5])
            raise DatasetFormatError(f"{where}: '{kind}' names labels the task does not have: {shown}.", line=number)
        if missing:
            shown = ", ".join(f"'{k}'" for k in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise DatasetFormatError(f"{where}: '{kind}' has no score for {shown}{more}.", line=number)
        value = [value[label] for label in labels]
    if not isinstance(value, list):
        raise DatasetFormatError(f"{where}: '{kind}' must be a list or an object of label: score.", line=number)
    if len(value) != len(labels):
        raise DatasetFormatError(
            f"{where}: '{kind}' has {len(value)} values but the task has {len(labels)} labels "
            "(a list must follow the order on the task's label page; or give an object of label: score).",
            line=number,
        )
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        raise DatasetFormatError(f"{where}: '{kind}' must hold finite numbers only.", line=number)
    vector = [float(v) for v in value]
    if kind == PROBS:
        if min(vector) < 0 or abs(sum(vector) - 1) > _PROB_SUM_TOLERANCE:
            raise DatasetFormatError(
                f"{where}: 'probs' must be non-negative and sum to 1 (they sum to {sum(vector):.4f}); "
                "if these are raw scores, name the field 'logits'.",
                line=number,
            )
    return vector


# --- storage: a safetensors matrix (no pickle) and the texts it belongs to, side by side -------------

_LOGITS_FILE = "logits.safetensors"
_TEXTS_FILE = "texts.json"


def save_outputs(folder: Path, outputs: PrecomputedOutputs, *, labels: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=False)
    save_file(
        {"logits": np.ascontiguousarray(outputs.logits)},
        str(folder / _LOGITS_FILE),
        metadata={"labels": "\t".join(labels), "kind": outputs.kind},
    )
    (folder / _TEXTS_FILE).write_text(json.dumps(outputs.texts, ensure_ascii=False), encoding="utf-8")


def logits_for_texts(folder: Path, texts: list[str]) -> tuple[npt.NDArray[np.float32], list[int]]:
    """The stored logits for each of `texts` (matched by text, surrounding whitespace ignored), in that
    order, and the positions of texts the upload has no outputs for (their rows are left as zeros)."""
    stored_texts: list[str] = json.loads((folder / _TEXTS_FILE).read_text(encoding="utf-8"))
    stored = load_file(str(folder / _LOGITS_FILE))["logits"]
    index = {text: i for i, text in enumerate(stored_texts)}
    picked = np.zeros((len(texts), stored.shape[1]), dtype=np.float32)
    missing = []
    for position, text in enumerate(texts):
        row = index.get(text.strip())
        if row is None:
            missing.append(position)
        else:
            picked[position] = stored[row]
    return picked, missing
