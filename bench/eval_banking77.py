"""Benchmark: honest evaluation on BANKING77, with the code the evaluate job runs (workers/ml/evidence.py).

    .venv/bin/python bench/distill_banking77.py --teacher-dir var/bench/teacher --models-dir var/bench/students ...
    .venv/bin/python bench/eval_banking77.py --teacher-dir var/bench/teacher --models-dir var/bench/students

(a) The teacher and students of the distillation benchmark (77 intents): in-distribution test accuracy,
    accuracy on the robustness probe (the test set with deterministic typos, casing, truncation, spaces),
    ECE (15 bins) before/after temperature scaling fitted on validation, batch-1 latency ratio vs the teacher
    (interleaved timing, median of per-round ratios).
(b) The oos/ variant: a teacher fine-tuned on oos/train (50 intents) and a 1-layer KD student of it, scored on
    oos/test (in scope) and oos/oos_test (27 held-out intents): in-scope accuracy and the out-of-scope
    rejection recall at the τ the validation set picks (τ maximising accuracy on oos/val + oos/oos_val, where
    a held-out query counts as right when rejected; the coverage rule the product uses is reported too).
Target (issue 4): ECE after temperature scaling <= 0.02 for the teacher and the best student in distribution.
"""

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from domain.model_refs import PRESETS  # noqa: E402
from domain.perturb import perturb_rows  # noqa: E402
from workers.ml.calibration import probabilities  # noqa: E402
from workers.ml.data import EncodedDataset, encode  # noqa: E402
from workers.ml.device import describe_device, pick_device  # noqa: E402
from workers.ml.evidence import DEFAULT_COVERAGE, dataset_evidence, fit_calibration  # noqa: E402
from workers.ml.inference import predict_logits  # noqa: E402
from workers.ml.quantize import QuantizeConfig, quantize_classifier  # noqa: E402
from workers.ml.reporting import ListReporter  # noqa: E402
from workers.ml.speed import SpeedConfig, measure_interleaved, median_ratio  # noqa: E402
from workers.ml.students import layer_plan, load_classifier, truncated_student  # noqa: E402
from workers.ml.teacher_outputs import compute_logits  # noqa: E402
from workers.ml.tokenizer_profile import load_tokenizer  # noqa: E402
from workers.ml.train import TrainConfig, train_classifier  # noqa: E402


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def read_jsonl(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r["text"] for r in rows], [r["label"] for r in rows]


class Scorer:
    """Tokenize once per text set and score any model on it."""

    def __init__(self, tokenizer: Any, labels: list[str], max_length: int, device: torch.device) -> None:
        self.tokenizer, self.labels, self.max_length, self.device = tokenizer, labels, max_length, device
        self.index = {label: i for i, label in enumerate(labels)}
        self.pad = int(tokenizer.pad_token_id or 0)

    def encode(self, texts: list[str], names: list[str], *, training: bool = False) -> EncodedDataset:
        targets = [self.index.get(n, -1) for n in names]
        return encode(self.tokenizer, texts, targets, max_length=self.max_length)

    def logits(self, model: torch.nn.Module, data: EncodedDataset) -> torch.Tensor:
        return predict_logits(model, data, device=self.device, pad_token_id=self.pad, batch_size=128)[0]  # type: ignore[arg-type]

    def targets(self, data: EncodedDataset) -> torch.Tensor:
        return torch.tensor(data.labels, dtype=torch.long)


def pick_tau_on_validation(
    in_logits: torch.Tensor, in_targets: torch.Tensor, oos_logits: torch.Tensor, t: float
) -> float:
    """The τ with the best accuracy on validation in-scope + held-out queries (a rejected held-out query is
    right; a rejected in-scope query is wrong)."""
    in_conf, in_pred = probabilities(in_logits, t).max(dim=1)
    oos_conf = probabilities(oos_logits, t).max(dim=1).values
    best_tau, best_acc = 0.0, -1.0
    for tau in sorted(set(in_conf.tolist()) | set(oos_conf.tolist())):
        right = int(((in_conf >= tau) & (in_pred == in_targets)).sum()) + int((oos_conf < tau).sum())
        accuracy = right / (len(in_conf) + len(oos_conf))
        if accuracy > best_acc:
            best_tau, best_acc = tau, accuracy
    return best_tau


def part_a(args: argparse.Namespace, device: torch.device) -> tuple[list[dict[str, Any]], dict[str, torch.nn.Module]]:
    data = args.data
    train_texts, train_labels = read_jsonl(data / "train.jsonl")
    labels = sorted(set(train_labels))
    teacher = load_classifier(args.teacher_dir, labels=labels).to(device)
    scorer = Scorer(load_tokenizer(args.teacher_dir), labels, args.max_length, device)
    val = scorer.encode(*read_jsonl(data / "val.jsonl"))
    test_texts, test_labels = read_jsonl(data / "test.jsonl")
    test = scorer.encode(test_texts, test_labels)
    probe_rows = perturb_rows(zip(test_texts, test_labels, strict=True), seed=0)
    probe = scorer.encode([r[0] for r in probe_rows], [str(r[1]) for r in probe_rows])
    models: dict[str, torch.nn.Module] = {"teacher": teacher}
    for folder in sorted(args.models_dir.glob("student-*L")):
        models[folder.name] = load_classifier(folder).to(device)
    if args.quantize:
        # The int8 variant the Quantize job makes (torchao weight-only), scored and timed like the rest.
        sample = scorer.tokenizer(
            test_texts[:256], padding=True, truncation=True, max_length=args.max_length, return_tensors="pt"
        )
        for name in [n for n in models if n.startswith("student-")]:
            quantized, result = quantize_classifier(
                models[name], QuantizeConfig(method="int8_weight_only"), example_inputs=dict(sample)
            )
            models[f"{name}-int8"] = quantized
            log(f"{name}-int8: memory {result.size_ratio:.2f}x of fp32, argmax agreement {result.agreement:.3f}")
    records = []
    for name, model in models.items():
        calibration = fit_calibration(scorer.logits(model, val), scorer.targets(val))
        on_test = dataset_evidence(scorer.logits(model, test), scorer.targets(test), labels, calibration)
        on_probe = dataset_evidence(scorer.logits(model, probe), scorer.targets(probe), labels, calibration)
        records.append(
            {
                "name": name,
                "role": "teacher" if name == "teacher" else ("quantized" if name.endswith("-int8") else "student"),
                "accuracy": on_test["accuracy"],
                "ood_accuracy": on_probe["accuracy"],
                "ood_split": "robustness probe of test (seed 0)",
                "ece_before": on_test["before_scaling"]["ece"],
                "ece_after": on_test["after_scaling"]["ece"],
                "nll_before": on_test["before_scaling"]["nll"],
                "nll_after": on_test["after_scaling"]["nll"],
                "temperature": calibration.temperature,
                "macro_f1": on_test["macro_f1"],
            }
        )
        log(
            f"{name}: test {on_test['accuracy']:.4f}, probe {on_probe['accuracy']:.4f}, "
            f"ECE {on_test['before_scaling']['ece']:.4f} -> {on_test['after_scaling']['ece']:.4f} "
            f"(T {calibration.temperature:.3f})"
        )
    speed = measure_interleaved(models, test, device=device, pad_token_id=scorer.pad, config=SpeedConfig())  # type: ignore[arg-type]
    for record in records:
        record["latency_p50_ms_b1"] = speed[record["name"]].latency_p50_ms
        record["latency_speedup_b1"] = median_ratio(
            speed["teacher"].round_latency_ms, speed[record["name"]].round_latency_ms
        )
    return records, models


def part_b(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Train on the 50 in-scope intents; score in scope and on the 27 held-out intents."""
    oos = args.data / "oos"
    train_texts, train_labels = read_jsonl(oos / "train.jsonl")
    labels = sorted(set(train_labels))
    preset = PRESETS["minilm-l6-offline"].folder()
    scorer = Scorer(load_tokenizer(preset), labels, args.max_length, device)
    train = scorer.encode(train_texts, train_labels)
    val, test = scorer.encode(*read_jsonl(oos / "val.jsonl")), scorer.encode(*read_jsonl(oos / "test.jsonl"))
    oos_val, oos_test = (
        scorer.encode(*read_jsonl(oos / "oos_val.jsonl")),
        scorer.encode(*read_jsonl(oos / "oos_test.jsonl")),
    )
    log(f"oos: {len(train)} train rows over {len(labels)} intents; {len(oos_test)} held-out test queries")

    teacher = load_classifier(preset, labels=labels).to(device)
    config = TrainConfig(epochs=args.oos_teacher_epochs, learning_rate=1e-4, patience=2, batch_size=32)
    run = train_classifier(teacher, train, val, config, ListReporter(), device=device, pad_token_id=scorer.pad)
    log(f"oos teacher: val {run.best_val_accuracy:.4f} after {run.epochs_completed:.1f} epochs")
    logits = compute_logits(
        teacher, train, device=device, pad_token_id=scorer.pad, batch_size=128, reporter=ListReporter()
    ).logits
    student = truncated_student(teacher, layer_plan(teacher.config.num_hidden_layers, 1, "bottom")).to(device)
    student_config = TrainConfig(
        epochs=args.student_epochs, learning_rate=3e-4, patience=2, batch_size=64, temperature=2.0, alpha=0.5
    )
    train_classifier(
        student,
        train,
        val,
        student_config,
        ListReporter(),
        device=device,
        pad_token_id=scorer.pad,
        teacher_logits=logits,
    )

    results = {}
    for name, model in (("teacher", teacher), ("student-1L", student)):
        val_logits, val_targets = scorer.logits(model, val), scorer.targets(val)
        calibration = fit_calibration(val_logits, val_targets, coverage=DEFAULT_COVERAGE)
        tau = pick_tau_on_validation(val_logits, val_targets, scorer.logits(model, oos_val), calibration.temperature)
        picked = dataclasses.replace(calibration, threshold=tau)
        in_scope = dataset_evidence(scorer.logits(model, test), scorer.targets(test), labels, picked)
        held_out = dataset_evidence(scorer.logits(model, oos_test), scorer.targets(oos_test), labels, picked)
        at_coverage = dataset_evidence(scorer.logits(model, oos_test), scorer.targets(oos_test), labels, calibration)
        results[name] = {
            "in_scope_accuracy": in_scope["accuracy"],
            "tau": tau,
            "oos_recall_at_tau": held_out["out_of_scope"]["rejection_recall"],
            "oos_confidently_wrong_at_tau": held_out["out_of_scope"]["confidently_wrong"],
            "in_scope_kept_at_tau": in_scope["at_threshold"]["coverage"],
            "in_scope_accuracy_kept_at_tau": in_scope["at_threshold"]["accuracy_kept"],
            "tau_at_95_coverage": calibration.threshold,
            "oos_recall_at_95_coverage": at_coverage["out_of_scope"]["rejection_recall"],
            "temperature": calibration.temperature,
        }
        summary = results[name]
        log(
            f"oos {name}: in-scope {in_scope['accuracy']:.4f}, held-out rejected {summary['oos_recall_at_tau']:.3f} "
            f"at τ {tau:.3f} (keeps {summary['in_scope_kept_at_tau']:.3f} of in-scope)"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "banking77")
    parser.add_argument("--teacher-dir", type=Path, default=ROOT / "var" / "bench" / "teacher")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "var" / "bench" / "students")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--oos-teacher-epochs", type=int, default=8)
    parser.add_argument("--student-epochs", type=int, default=8)
    parser.add_argument("--skip-oos", action="store_true", help="part (a) only")
    parser.add_argument("--no-quantize", dest="quantize", action="store_false", help="skip the students' int8 variants")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "eval_banking77.json")
    args = parser.parse_args()
    if not (args.teacher_dir / "config.json").exists():
        sys.exit(
            f"No teacher in {args.teacher_dir}: run bench/distill_banking77.py with --teacher-dir and --models-dir."
        )
    device = pick_device()
    records, _ = part_a(args, device)
    oos = {} if args.skip_oos else part_b(args, device)
    best_student = max((r for r in records if r["role"] == "student"), key=lambda r: r["accuracy"], default=None)
    for record in records:
        counterpart = (
            "teacher" if record["role"] == "teacher" else ("student-1L" if record["name"] == "student-1L" else None)
        )
        record["oos_recall_at_tau"] = oos.get(counterpart, {}).get("oos_recall_at_tau") if counterpart else None
    report = {
        "benchmark": "eval_banking77",
        "models": records,
        "oos_variant": oos,
        "best_student": best_student["name"] if best_student else None,
        "targets_met": {
            "ece_after_le_0_02_teacher_and_best_student": all(
                r["ece_after"] <= 0.02 for r in records if r["role"] == "teacher" or r is best_student
            )
        },
        "device": describe_device(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "date": dt.date.today().isoformat(),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{'model':<12}{'acc':>8}{'probe':>8}{'ECE':>8}{'ECE(T)':>8}{'T':>7}{'b1 x':>7}{'oos@τ':>8}")
    for r in records:
        oos_recall = "" if r["oos_recall_at_tau"] is None else f"{r['oos_recall_at_tau']:.3f}"
        print(
            f"{r['name']:<12}{r['accuracy']:>8.4f}{r['ood_accuracy']:>8.4f}{r['ece_before']:>8.4f}{r['ece_after']:>8.4f}"
            f"{r['temperature']:>7.3f}{r['latency_speedup_b1']:>7.2f}{oos_recall:>8}"
        )
    log(f"wrote {args.out}; targets: {report['targets_met']}")


if __name__ == "__main__":
    main()
