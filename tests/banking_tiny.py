"""A small student and teacher really trained on BANKING77's out-of-scope split (50 intents; 27 more held out
as out-of-scope queries), once per test session, in seconds on a CPU: a word-level BertTokenizer built from the
training texts, a 2-layer BERT teacher with hidden size 64, and its 1-layer truncation fine-tuned as the
student. Both are saved under MODEL_ROOT and loaded back from disk, so the logits the tests use come from the
saved artifacts, as a serving process would compute them.

The data is not part of the product: it is read from /work/shared/datasets/banking77 (or
$DISTILLERY_BANKING77_DIR), and the fixture skips, saying so, when it is absent."""

from __future__ import annotations

import copy
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig, BertTokenizer

from domain.digests import folder_sha256

ROOT = Path(__file__).resolve().parents[1]
BANKING77 = Path(os.environ.get("DISTILLERY_BANKING77_DIR", ROOT.parent / "shared" / "datasets" / "banking77"))
SPLIT = BANKING77 / "oos"
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_TOKENS = 32  # p99 of the training texts is about 50 word pieces; the median 13
MIN_WORD_COUNT = 2  # rarer words are [UNK]: a word seen once can't be learnt anyway
BATCH = 64
# The teacher: 2 layers, trained on the labels (AdamW, one-cycle). The student: the teacher's first layer (a
# layer-truncated copy, as the product distils), fine-tuned briefly. About 78% and 76% on validation.
TEACHER = {"layers": 2, "hidden": 64, "heads": 2, "intermediate": 128, "epochs": 7, "learning_rate": 4e-3, "seed": 0}
# The scenario's τ keeps this share of validation traffic.
KEPT_ON_VALIDATION = 0.7
STUDENT = {"layers": 1, "epochs": 2, "learning_rate": 2e-3, "seed": 1}


@dataclass(frozen=True)
class TinyModel:
    folder: str  # relative to MODEL_ROOT
    sha256: str
    parameters: int


@dataclass(frozen=True)
class SetOutputs:
    """One file of the split: its rows, and each model's logits on them (row order kept)."""

    rows: list[dict[str, Any]]
    student: torch.Tensor
    teacher: torch.Tensor


@dataclass(frozen=True)
class TinyBanking:
    labels: list[str]
    student: TinyModel
    teacher: TinyModel
    temperature: float  # fitted on the student's validation logits
    sets: dict[str, SetOutputs]  # "val", "test" (in-distribution), "oos_test" (held-out intents)
    seconds: float  # how long building all of this took (wall clock)
    cpu_seconds: float  # and the CPU time it used (one thread): what it takes on an idle core

    def path(self, name: str) -> Path:
        return SPLIT / f"{name}.jsonl"


def read_rows(name: str) -> list[dict[str, Any]]:
    with (SPLIT / f"{name}.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def word_tokenizer(texts: list[str]) -> BertTokenizer:
    """Every word (lower-cased, punctuation split off as BERT's own pre-tokenizer does) seen at least twice."""
    counts = Counter(word for text in texts for word in re.findall(r"[a-z0-9]+|[^\sa-z0-9]", text.lower()))
    words = SPECIAL + sorted(word for word, count in counts.items() if count >= MIN_WORD_COUNT)
    # transformers 5: BertTokenizer is the tokenizers-backed class and takes the vocabulary directly.
    return BertTokenizer(vocab={word: i for i, word in enumerate(words)})


def encode(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    return tokenizer(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]


def batches(ids: list[list[int]], *, generator: torch.Generator | None) -> Iterator[tuple[list[int], Any, Any]]:
    """Batches padded to their own longest row. Training shuffles, then sorts within pools of 8 batches so a
    batch holds rows of similar length (about half the padding) while staying random; inference just sorts."""
    if generator is not None:
        order = torch.randperm(len(ids), generator=generator).tolist()
        pools = [sorted(order[i : i + BATCH * 8], key=lambda j: len(ids[j])) for i in range(0, len(order), BATCH * 8)]
        chunks = [pool[i : i + BATCH] for pool in pools for i in range(0, len(pool), BATCH)]
        chunks = [chunks[i] for i in torch.randperm(len(chunks), generator=generator).tolist()]
    else:
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        chunks = [order[i : i + BATCH * 4] for i in range(0, len(order), BATCH * 4)]
    for chunk in chunks:
        width = max(len(ids[i]) for i in chunk)
        input_ids = torch.zeros(len(chunk), width, dtype=torch.long)
        mask = torch.zeros(len(chunk), width, dtype=torch.long)
        for row, i in enumerate(chunk):
            input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
            mask[row, : len(ids[i])] = 1
        yield chunk, input_ids, mask


def new_classifier(spec: dict[str, Any], *, vocab_size: int, labels: list[str]) -> Any:
    from transformers import BertForSequenceClassification

    torch.manual_seed(spec["seed"])
    config = BertConfig(
        vocab_size=vocab_size, hidden_size=spec["hidden"], num_hidden_layers=spec["layers"],
        num_attention_heads=spec["heads"], intermediate_size=spec["intermediate"],
        max_position_embeddings=MAX_TOKENS, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        # No dropout: these models underfit, and dropout only slows them down.
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    return BertForSequenceClassification(config)


def truncated_copy(teacher: Any, layers: int) -> Any:
    """The teacher's embeddings, first `layers` layers, pooler and classifier, as a smaller model."""
    config = copy.deepcopy(teacher.config)
    config.num_hidden_layers = layers
    student = type(teacher)(config)
    kept = {k: v for k, v in teacher.state_dict().items() if not _deeper_layer(k, layers)}
    student.load_state_dict(kept, strict=True)
    return student


def _deeper_layer(key: str, layers: int) -> bool:
    match = re.search(r"encoder\.layer\.(\d+)\.", key)
    return match is not None and int(match.group(1)) >= layers


def train(model: Any, spec: dict[str, Any], *, ids: list[list[int]], targets: list[int]) -> Any:
    """Cross-entropy on the labels with AdamW and a one-cycle schedule; returns the model in eval mode."""
    optimiser = torch.optim.AdamW(model.parameters(), lr=spec["learning_rate"])
    steps = spec["epochs"] * -(-len(ids) // BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=spec["learning_rate"], total_steps=steps)
    generator = torch.Generator().manual_seed(spec["seed"])
    y = torch.tensor(targets)
    model.train()
    for _ in range(spec["epochs"]):
        for chunk, input_ids, mask in batches(ids, generator=generator):
            loss = model(input_ids=input_ids, attention_mask=mask, labels=y[chunk]).loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    return model.eval()


def saved_logits(folder: Path, texts: list[str]) -> torch.Tensor:
    """Load the saved model and tokenizer from disk (safetensors) and score `texts`, as serving would."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    ids = encode(tokenizer, texts)
    out = torch.zeros(len(ids), model.config.num_labels)
    with torch.no_grad():
        for chunk, input_ids, mask in batches(ids, generator=None):
            out[chunk] = model(input_ids=input_ids, attention_mask=mask).logits
    return out


def save(model: Any, tokenizer: BertTokenizer, model_root: Path, name: str) -> TinyModel:
    folder = model_root / "banking-tiny" / name
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return TinyModel(f"banking-tiny/{name}", folder_sha256(folder), sum(p.numel() for p in model.parameters()))


@pytest.fixture(scope="session")
def tiny_banking(storage_dirs: dict[str, Path]) -> Iterator[TinyBanking]:
    if not (SPLIT / "train.jsonl").is_file():
        pytest.skip(f"BANKING77's out-of-scope split is not at {SPLIT} (set DISTILLERY_BANKING77_DIR): not needed by "
                    "the product, only by this acceptance test.")  # fmt: skip
    from workers.ml.calibration import fit_temperature

    threads = torch.get_num_threads()
    # On models this small a second thread mostly waits on the first; under contention it is far slower.
    torch.set_num_threads(1)
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        train_rows = read_rows("train")
        labels = sorted({row["label"] for row in train_rows})
        tokenizer = word_tokenizer([row["text"] for row in train_rows])
        ids = encode(tokenizer, [row["text"] for row in train_rows])
        targets = [labels.index(row["label"]) for row in train_rows]
        teacher = train(
            new_classifier(TEACHER, vocab_size=len(tokenizer), labels=labels), TEACHER, ids=ids, targets=targets
        )
        student = train(truncated_copy(teacher, STUDENT["layers"]), STUDENT, ids=ids, targets=targets)
        models = {name: save(model, tokenizer, storage_dirs["models"], name) for name, model in
                  (("teacher", teacher), ("student", student))}  # fmt: skip
        sets = {}
        for name in ("val", "test", "oos_test"):
            rows = read_rows(name)
            texts = [row["text"] for row in rows]
            sets[name] = SetOutputs(
                rows=rows,
                student=saved_logits(storage_dirs["models"] / models["student"].folder, texts),
                teacher=saved_logits(storage_dirs["models"] / models["teacher"].folder, texts),
            )
        val_targets = torch.tensor([labels.index(row["label"]) for row in sets["val"].rows])
        temperature = fit_temperature(sets["val"].student, val_targets).temperature
    finally:
        torch.set_num_threads(threads)
    yield TinyBanking(
        labels=labels,
        student=models["student"],
        teacher=models["teacher"],
        temperature=temperature,
        sets=sets,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
    )


def banking_scenario(banking: TinyBanking, *, team: Any, member: Any) -> Any:
    """A BANKING77 task with the tiny student and teacher registered, evaluated on validation (their real
    logits, T fitted), and a saved scenario whose τ keeps 70% of validation traffic."""
    from tests.factories import evaluation_of
    from tests.roi import STUDENT_SPEED, TEACHER_SPEED
    from webapp.economics.services import assumptions_from, scenario_save
    from webapp.registry.models import Student
    from webapp.registry.services import dataset_upload, task_create, teacher_register

    task = task_create(team=team, user=member, name="Banking intents", description="BANKING77, 50 intents")
    datasets = {}
    for name, role in (("train", "train"), ("val", "validation")):
        with banking.path(name).open("rb") as file:
            datasets[name] = dataset_upload(task=task, user=member, file=file, filename=f"{name}.jsonl", role=role)
    task.refresh_from_db()
    assert sorted(task.labels) == banking.labels
    teacher = teacher_register(task=task, user=member, name="2-layer teacher", model_ref=banking.teacher.folder)
    teacher.labels = banking.labels
    teacher.artifact_sha256 = banking.teacher.sha256
    teacher.save(update_fields=["labels", "artifact_sha256"])
    student = Student.objects.create(
        task=task, teacher=teacher, name="1-layer truncation", construction=Student.Construction.TRUNCATED,
        layers=1, parameters=banking.student.parameters, labels=banking.labels, artifact=banking.student.folder,
        artifact_sha256=banking.student.sha256,
    )  # fmt: skip
    val = banking.sets["val"]
    targets = [banking.labels.index(row["label"]) for row in val.rows]
    evaluation_of(
        student, datasets["val"], logits=val.student.tolist(), targets=targets, temperature=banking.temperature,
        teacher_logits=val.teacher.tolist(), speed=STUDENT_SPEED,
    )  # fmt: skip
    evaluation_of(teacher, datasets["val"], logits=val.teacher.tolist(), targets=targets, speed=TEACHER_SPEED)
    confidence = torch.softmax(val.student / banking.temperature, dim=1).max(dim=1).values
    tau = round(float(torch.quantile(confidence, 1 - KEPT_ON_VALIDATION)), 6)
    return scenario_save(
        task=task, student=student, user=member, name="Banking cascade",
        assumptions=assumptions_from({"tau_rule": "manual", "manual_tau": tau}, task=task),
    )  # fmt: skip
