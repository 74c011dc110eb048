"""Benchmark: does distillation pay on BANKING77 (77 intents)? Teacher vs KD students vs the same students
trained on hard labels only, all measured in one run on this machine.

    .venv/bin/python bench/distill_banking77.py                 # full run (CPU: tens of minutes)
    .venv/bin/python bench/distill_banking77.py --quick         # a smoke run on a subset, minutes

Steps: fine-tune the offline MiniLM-L6 teacher to convergence (early stopping on validation), cache its
logits on the training set once, distil layer-truncated students (initialised from the teacher's bottom
layers) with soft-label KD, train the same students from the same initialisation on hard labels only,
then time every model interleaved (A B A B ...) and report medians of per-round ratios.
Targets (issue 3): a student keeps >= 97% of the teacher's test accuracy at >= 5x lower batch-1 latency;
KD beats hard-label training of the same student; a KD epoch costs <= 1.1x a plain epoch.
"""

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from domain.model_refs import PRESETS  # noqa: E402
from workers.ml.artifacts import save_model_artifact  # noqa: E402
from workers.ml.data import EncodedDataset, encode  # noqa: E402
from workers.ml.device import describe_device, pick_device  # noqa: E402
from workers.ml.reporting import ListReporter  # noqa: E402
from workers.ml.speed import SpeedConfig, measure_interleaved, median_ratio  # noqa: E402
from workers.ml.students import count_parameters, layer_plan, load_classifier, truncated_student  # noqa: E402
from workers.ml.teacher_outputs import compute_logits  # noqa: E402
from workers.ml.tokenizer_profile import load_tokenizer  # noqa: E402
from workers.ml.train import TrainConfig, evaluate, train_classifier  # noqa: E402


def read_jsonl(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r["text"] for r in rows], [r["label"] for r in rows]


def subset(texts: list[str], labels: list[str], n: int) -> tuple[list[str], list[str]]:
    picked = sorted(random.Random(0).sample(range(len(texts)), min(n, len(texts))))
    return [texts[i] for i in picked], [labels[i] for i in picked]


def plain_args(args: argparse.Namespace) -> dict[str, object]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class PrintReporter(ListReporter):
    """Keeps the reports (like the tests' reporter) and prints each evaluation, to follow a long run."""

    def report(self, step: int, total: int, metrics: Mapping[str, float] | None = None, message: str = "") -> None:
        super().report(step, total, metrics, message)
        if metrics and "val_accuracy" in metrics:
            log(f"  step {step}/{total}: val_accuracy {metrics['val_accuracy']:.4f} val_loss {metrics['val_loss']:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "banking77")
    parser.add_argument("--layers", default="1,2,3")
    parser.add_argument("--teacher-epochs", type=int, default=10)
    parser.add_argument("--student-epochs", type=int, default=8)
    parser.add_argument("--teacher-lr", type=float, default=1e-4)
    parser.add_argument("--student-lr", type=float, default=3e-4)
    parser.add_argument("--student-batch", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument(
        "--teacher-dir",
        type=Path,
        default=None,
        help="reuse the fine-tuned teacher saved here by an earlier run (training is seeded, so it is the same)",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="save each KD student here (student-<k>L/), for bench/eval_banking77.py to evaluate the same models",
    )
    parser.add_argument("--quick", action="store_true", help="subset and few epochs: a smoke run, not a result")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "distill_banking77.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device()

    # Data: the official splits; labels in sorted order.
    train_texts, train_labels = read_jsonl(args.data / "train.jsonl")
    val_texts, val_labels = read_jsonl(args.data / "val.jsonl")
    test_texts, test_labels = read_jsonl(args.data / "test.jsonl")
    labels = sorted(set(train_labels))  # from the full training set, before any --quick subsetting
    if args.quick:  # a random (seeded) subset: the files are ordered by label
        train_texts, train_labels = subset(train_texts, train_labels, 1500)
        val_texts, val_labels = subset(val_texts, val_labels, 300)
        test_texts, test_labels = subset(test_texts, test_labels, 600)
        args.teacher_epochs, args.student_epochs = 2, 2
    index = {label: i for i, label in enumerate(labels)}
    preset = PRESETS["minilm-l6-offline"].folder()
    tokenizer = load_tokenizer(preset)
    pad = int(tokenizer.pad_token_id or 0)

    def encoded(texts: list[str], names: list[str]) -> EncodedDataset:
        return encode(tokenizer, texts, [index[n] for n in names], max_length=args.max_length)

    train, val, test = (
        encoded(train_texts, train_labels),
        encoded(val_texts, val_labels),
        encoded(test_texts, test_labels),
    )
    log(f"{len(train)} train / {len(val)} val / {len(test)} test rows, {len(labels)} labels, {describe_device(device)}")

    def test_accuracy(model: torch.nn.Module) -> float:
        return evaluate(model, test, device=device, pad_token_id=pad)[1]

    # Teacher: fine-tuned to convergence; a weak teacher makes retention look better than it is.
    if args.teacher_dir and (args.teacher_dir / "config.json").exists():
        teacher = load_classifier(args.teacher_dir, labels=labels).to(device)
        log(f"teacher loaded from {args.teacher_dir}")
    else:
        teacher = load_classifier(preset, labels=labels).to(device)
        teacher_config = TrainConfig(
            epochs=args.teacher_epochs, learning_rate=args.teacher_lr, patience=2, batch_size=32
        )
        result = train_classifier(teacher, train, val, teacher_config, PrintReporter(), device=device, pad_token_id=pad)
        log(f"teacher: val {result.best_val_accuracy:.4f} after {result.epochs_completed:.1f} epochs")
        if args.teacher_dir:
            save_model_artifact(
                teacher, tokenizer, args.teacher_dir, {"kind": "bench teacher", "config": plain_args(args)}
            )
    teacher_acc = test_accuracy(teacher)
    log(f"teacher: test {teacher_acc:.4f}")

    # Soft labels, computed once for every student.
    started = time.perf_counter()
    logits = compute_logits(
        teacher, train, device=device, pad_token_id=pad, batch_size=128, reporter=ListReporter()
    ).logits
    log(f"teacher logits cached in {time.perf_counter() - started:.1f}s")

    # Students: the same truncated initialisation, trained with KD and with hard labels only.
    models: dict[str, torch.nn.Module] = {"teacher": teacher}
    records = []
    kd_epoch, plain_epoch = [], []
    for k in [int(x) for x in args.layers.split(",")]:
        keep = layer_plan(teacher.config.num_hidden_layers, k, "bottom")
        row: dict[str, object] = {"layers": k, "kept_teacher_layers": keep}
        for mode in ("kd", "plain"):
            student = truncated_student(teacher, keep).to(device)
            config = TrainConfig(
                epochs=args.student_epochs,
                learning_rate=args.student_lr,
                patience=2,
                batch_size=args.student_batch,
                temperature=args.temperature,
                alpha=args.alpha,
            )
            run = train_classifier(
                student,
                train,
                val,
                config,
                PrintReporter(),
                device=device,
                pad_token_id=pad,
                teacher_logits=logits if mode == "kd" else None,
            )
            acc = test_accuracy(student)
            (kd_epoch if mode == "kd" else plain_epoch).append(run.seconds_per_epoch)
            row[f"{mode}_accuracy"], row[f"{mode}_epochs"] = acc, run.epochs_completed
            log(
                f"{k}-layer {mode}: test {acc:.4f} "
                f"({run.epochs_completed:.1f} epochs, {run.seconds_per_epoch:.1f}s/epoch)"
            )
            if mode == "kd":
                models[f"student-{k}L"] = student
                row["parameters"] = count_parameters(student)
                if args.models_dir:
                    save_model_artifact(
                        student, tokenizer, args.models_dir / f"student-{k}L", {"kind": "bench student", "layers": k}
                    )
        records.append(row)

    # Speed: every model timed in interleaved rounds on the same test rows.
    speed = measure_interleaved(models, test, device=device, pad_token_id=pad, config=SpeedConfig())
    t = speed["teacher"]
    teacher_params = count_parameters(teacher)
    students = []
    for row in records:
        s = speed[f"student-{row['layers']}L"]
        kd_acc, plain_acc = float(row["kd_accuracy"]), float(row["plain_accuracy"])  # type: ignore[arg-type]
        students.append(
            {
                "name": f"student-{row['layers']}L",
                "layers": row["layers"],
                "kept_teacher_layers": row["kept_teacher_layers"],
                "accuracy": kd_acc,
                "retention": kd_acc / teacher_acc,
                "plain_accuracy": plain_acc,
                "kd_minus_plain_accuracy": kd_acc - plain_acc,
                "latency_p50_ms_b1": s.latency_p50_ms,
                "latency_speedup_b1": median_ratio(t.round_latency_ms, s.round_latency_ms),
                "throughput_speedup_b32": median_ratio(s.round_throughput, t.round_throughput),
                "params_ratio": row["parameters"] / teacher_params,
                "parameters": row["parameters"],
            }
        )
    kd_over_plain = statistics.median(k / p for k, p in zip(kd_epoch, plain_epoch, strict=True))
    report = {
        "benchmark": "distill_banking77",
        "quick": args.quick,
        "teacher_accuracy": teacher_acc,
        "teacher_latency_p50_ms_b1": t.latency_p50_ms,
        "teacher_throughput_b32": t.throughput_rows_per_s,
        "teacher_parameters": teacher_params,
        "students": students,
        "kd_minus_plain_accuracy": statistics.mean(s["kd_minus_plain_accuracy"] for s in students),
        "kd_epoch_over_plain_epoch": kd_over_plain,
        "targets_met": {
            "retention_97_at_5x": any(s["retention"] >= 0.97 and s["latency_speedup_b1"] >= 5 for s in students),
            "kd_beats_plain": all(s["kd_minus_plain_accuracy"] > 0 for s in students),
            "kd_epoch_le_1_1x_plain": statistics.median(k / p for k, p in zip(kd_epoch, plain_epoch, strict=True))
            <= 1.1,
        },
        "config": plain_args(args),
        "device": describe_device(device),
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "date": dt.date.today().isoformat(),
    }
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    log(f"wrote {args.out}")


def print_table(report: dict) -> None:
    print(
        f"\nteacher test accuracy {report['teacher_accuracy']:.4f}  ({report['device']}, {report['threads']} threads)"
    )
    print(f"{'student':<12}{'acc':>8}{'retain':>8}{'plain':>8}{'KD-plain':>9}{'b1 x':>7}{'b32 x':>7}{'params':>8}")
    for s in report["students"]:
        print(
            f"{s['name']:<12}{s['accuracy']:>8.4f}{s['retention']:>8.3f}{s['plain_accuracy']:>8.4f}"
            f"{s['kd_minus_plain_accuracy']:>+9.4f}{s['latency_speedup_b1']:>7.2f}{s['throughput_speedup_b32']:>7.2f}"
            f"{s['params_ratio']:>8.3f}"
        )
    print(f"KD epoch / plain epoch: {report['kd_epoch_over_plain_epoch']:.3f}   targets: {report['targets_met']}")


if __name__ == "__main__":
    main()
