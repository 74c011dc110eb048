"""Benchmark: how much BANKING77 traffic each distilled student can keep, does the promise made on validation
hold on test, and what does it save? Everything goes through the product's own code, so the benchmark and the
Routing & ROI page can't disagree:

- per-example prediction sets exactly as the evaluate job stores them (`workers/ml/evidence.py`:
  `fit_calibration` on validation, `prediction_rows` with the teacher's logits; named like
  `workers/handlers/evaluate.py: save_predictions`), read back with `routing.prediction_set_from_rows`;
- τ picked on VALIDATION by each rule (`webapp/economics/routing.py`, `certify.py`):
  (a) quality bar: the most coverage whose cascade quality is ≥ `--min-retention` × the teacher's;
  (b) certified τ: kept-traffic agreement with the teacher ≥ `--target` with probability ≥ 1 − `--delta`
      (Learn-then-Test, fixed sequence);
  (c) a fixed user τ (`--user-tau`);
  then applied to TEST (`routing.apply_tau`): predicted vs realised coverage and cascade quality ÷ teacher;
- cost reduction of the student-first cascade (`webapp/economics/cost_model.py`, `Mode.CASCADE`) with c_S/c_T
  from batch-32 throughput measured side by side (`workers/ml/speed.measure_interleaved`, teacher and students
  interleaved on this machine, both self-hosted at the same $/hour and utilisation, so only the ratio matters),
  and at c_S = c_T / 12.3 (`--reference-cost-ratio`).

    .venv/bin/python bench/distill_banking77.py --teacher-dir var/bench/teacher --models-dir var/bench/students ...
    .venv/bin/python bench/routing_banking77.py --teacher-dir var/bench/teacher --models-dir var/bench/students

Targets (issue 9): some student keeps >= 90% of test traffic with cascade quality >= 99% of the teacher's;
predicted (validation) vs realised (test) within 1 point of quality and 3 points of coverage; the certified τ's
target holds on test (kept-traffic agreement with the teacher >= the target).
"""

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from domain.perturb import perturb_rows  # noqa: E402
from webapp.economics.certify import certified_tau  # noqa: E402
from webapp.economics.cost_model import Mode, SelfHosting, Serving, mode_cost, usd_per_request  # noqa: E402
from webapp.economics.routing import (  # noqa: E402
    PredictionSet,
    RoutingPoint,
    TauChoice,
    apply_tau,
    prediction_set_from_rows,
    routing_curve,
    routing_point,
    tau_for_quality_bar,
    user_tau,
)
from workers.ml.data import EncodedDataset, encode  # noqa: E402
from workers.ml.device import describe_device, pick_device  # noqa: E402
from workers.ml.evidence import fit_calibration, prediction_rows  # noqa: E402
from workers.ml.inference import predict_logits  # noqa: E402
from workers.ml.speed import SpeedConfig, measure_interleaved, median_ratio  # noqa: E402
from workers.ml.students import load_classifier  # noqa: E402
from workers.ml.tokenizer_profile import load_tokenizer  # noqa: E402

# The targets.
TARGET_COVERAGE = 0.90
TARGET_QUALITY_RATIO = 0.99
MAX_QUALITY_GAP = 0.01  # 1 point
MAX_COVERAGE_GAP = 0.03  # 3 points
RULES = ("quality_bar", "certified", "user")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def read_jsonl(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r["text"] for r in rows], [r["label"] for r in rows]


def stored_rows(
    logits: torch.Tensor,
    temperature: float,
    teacher_logits: torch.Tensor,
    texts: list[str],
    names: list[str],
    labels: list[str],
) -> list[dict[str, Any]]:
    """The per-example rows the evaluate job writes for a student evaluated with its teacher (prediction_rows,
    then save_predictions' naming: row id = position in the dataset, label names instead of indices)."""
    rows = []
    for index, (text, label, row) in enumerate(
        zip(texts, names, prediction_rows(logits, temperature, teacher_logits), strict=True)
    ):
        rows.append(
            {
                "row": index,
                "text": text,
                "label": label,
                "prediction": labels[row["prediction"]],
                "confidence": row["confidence"],
                "teacher_prediction": labels[row["teacher_prediction"]],
                "p_teacher_label": row["p_teacher_label"],
            }
        )
    return rows


def teacher_quality(predictions: PredictionSet) -> float:
    quality = routing_curve(predictions).teacher_quality
    assert quality is not None  # every BANKING77 row is labelled
    return quality


def point_dict(point: RoutingPoint, teacher: float) -> dict[str, Any]:
    return {
        "coverage": point.coverage,
        "kept": point.kept,
        "kept_accuracy": point.kept_accuracy,
        "kept_agreement": point.kept_agreement,
        "cascade_quality": point.cascade_quality,
        "quality_ratio": None if point.cascade_quality is None else point.cascade_quality / teacher,
    }


def cascade_cost_reduction(share: float, c_t: float, c_s: float, l_t: float, l_s: float) -> tuple[float, float]:
    """Cost reduction and mean latency of the student-first cascade keeping `share`, from the product's cost
    model (the volume cancels out: no fixed cost here)."""
    serving = Serving(
        requests_per_month=1_000_000,
        teacher_usd_per_request=c_t,
        student_usd_per_request=c_s,
        student_share=share,
        teacher_latency_ms=l_t,
        student_latency_ms=l_s,
    )
    cost = mode_cost(serving, Mode.CASCADE)
    return cost.cost_reduction, cost.mean_latency_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "banking77")
    parser.add_argument("--teacher-dir", type=Path, default=ROOT / "var" / "bench" / "teacher")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "var" / "bench" / "students")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--min-retention", type=float, default=0.99, help="quality bar: share of the teacher's")
    parser.add_argument("--min-quality", type=float, default=0.0, help="quality bar: absolute minimum")
    parser.add_argument("--target", type=float, default=0.99, help="certified kept-traffic agreement")
    parser.add_argument("--delta", type=float, default=0.05)
    parser.add_argument("--user-tau", type=float, default=0.9)
    parser.add_argument("--reference-cost-ratio", type=float, default=12.3, help="c_T / c_S for the second figure")
    parser.add_argument("--usd-per-hour", type=float, default=1.0, help="same host price for both (cancels)")
    parser.add_argument("--utilisation", type=float, default=0.5, help="same for both (cancels)")
    parser.add_argument("--no-probe", dest="probe", action="store_false", help="skip the perturbed-test drift set")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "routing_banking77.json")
    args = parser.parse_args()
    if not (args.teacher_dir / "config.json").exists():
        sys.exit(
            f"No teacher in {args.teacher_dir}: run bench/distill_banking77.py with --teacher-dir and --models-dir."
        )
    device = pick_device()

    _, train_labels = read_jsonl(args.data / "train.jsonl")
    labels = sorted(set(train_labels))  # the order the distillation benchmark trained with
    index = {label: i for i, label in enumerate(labels)}
    tokenizer = load_tokenizer(args.teacher_dir)
    pad = int(tokenizer.pad_token_id or 0)
    texts = {"val": read_jsonl(args.data / "val.jsonl"), "test": read_jsonl(args.data / "test.jsonl")}
    if args.probe:  # the robustness probe of eval_banking77.py: test with typos, casing, truncation (seed 0)
        probe_rows = perturb_rows(zip(*texts["test"], strict=True), seed=0)
        texts["probe"] = ([str(r[0]) for r in probe_rows], [str(r[1]) for r in probe_rows])
    data: dict[str, EncodedDataset] = {
        split: encode(tokenizer, t, [index[n] for n in names], max_length=args.max_length)
        for split, (t, names) in texts.items()
    }
    targets = {split: torch.tensor(d.labels, dtype=torch.long) for split, d in data.items()}

    def logits_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
        model.train(False)
        return {
            split: predict_logits(model, d, device=device, pad_token_id=pad, batch_size=128)[0]  # type: ignore[arg-type]
            for split, d in data.items()
        }

    teacher = load_classifier(args.teacher_dir, labels=labels).to(device)
    models: dict[str, torch.nn.Module] = {"teacher": teacher}
    for folder in sorted(args.models_dir.glob("student-*L")):
        models[folder.name] = load_classifier(folder).to(device)
    if len(models) == 1:
        sys.exit(f"No students in {args.models_dir} (student-<k>L/): run bench/distill_banking77.py first.")
    teacher_logits = logits_of(teacher)
    teacher_calibration = fit_calibration(teacher_logits["val"], targets["val"])
    teacher_acc = {
        split: float((teacher_logits[split].argmax(dim=1) == targets[split]).float().mean()) for split in data
    }
    t_temperature = teacher_calibration.temperature
    log(f"teacher: val {teacher_acc['val']:.4f}, test {teacher_acc['test']:.4f} (T {t_temperature:.3f})")

    # Speed: teacher and every student interleaved on the same test rows; batch-32 throughput prices each.
    speed = measure_interleaved(models, data["test"], device=device, pad_token_id=pad, config=SpeedConfig())  # type: ignore[arg-type]
    t_speed = speed["teacher"]

    def hosted(throughput: float) -> float:
        return usd_per_request(
            SelfHosting(
                usd_per_gpu_hour=args.usd_per_hour,
                gpus=1,
                throughput_requests_per_second=throughput,
                utilisation=args.utilisation,
            ),
            input_tokens_per_request=0,
            output_tokens_per_request=0,
        )

    c_t = hosted(t_speed.throughput_rows_per_s)
    log(f"teacher: {t_speed.throughput_rows_per_s:.1f} rows/s at batch 32, {t_speed.latency_p50_ms:.2f} ms at batch 1")

    students = []
    for name in [n for n in models if n != "teacher"]:
        logits = logits_of(models[name])
        calibration = fit_calibration(logits["val"], targets["val"])
        sets = {
            split: prediction_set_from_rows(
                stored_rows(logits[split], calibration.temperature, teacher_logits[split], *texts[split], labels),
                labels=labels,
            )
            for split in data
        }
        teacher_q = {split: teacher_quality(s) for split, s in sets.items()}
        curve = routing_curve(sets["val"])
        certificate = certified_tau(sets["val"], target=args.target, delta=args.delta, risk="agreement")
        choices: dict[str, TauChoice] = {
            "quality_bar": tau_for_quality_bar(curve, min_quality=args.min_quality, min_retention=args.min_retention),
            "certified": TauChoice("certified", certificate.tau, certificate.point, certificate.reason),
            "user": user_tau(sets["val"], args.user_tau),
        }
        s_speed = speed[name]
        c_s = hosted(s_speed.throughput_rows_per_s)
        throughput_ratio = median_ratio(s_speed.round_throughput, t_speed.round_throughput)
        rules: dict[str, dict[str, Any]] = {}
        for rule, choice in choices.items():
            if choice.tau is None:
                rules[rule] = {"tau": None, "reason": choice.reason}
                log(f"{name} {rule}: {choice.reason}")
                continue
            applied = apply_tau(choice.tau, validation=sets["val"], other=sets["test"])
            predicted, realised = applied.predicted, applied.realised
            val_ratio = (predicted.cascade_quality or 0.0) / teacher_q["val"]
            test_ratio = (realised.cascade_quality or 0.0) / teacher_q["test"]
            reduction, latency = cascade_cost_reduction(
                realised.coverage, c_t, c_s, t_speed.latency_p50_ms, s_speed.latency_p50_ms
            )
            predicted_reduction, _ = cascade_cost_reduction(
                predicted.coverage, c_t, c_s, t_speed.latency_p50_ms, s_speed.latency_p50_ms
            )
            reduction_ref, _ = cascade_cost_reduction(
                realised.coverage, c_t, c_t / args.reference_cost_ratio, t_speed.latency_p50_ms, s_speed.latency_p50_ms
            )
            record: dict[str, Any] = {
                "tau": choice.tau,
                "val_coverage": predicted.coverage,
                "test_coverage": realised.coverage,
                "val_quality_ratio": val_ratio,
                "test_quality_ratio": test_ratio,
                "kept_agreement_val": predicted.kept_agreement,
                "kept_agreement_test": realised.kept_agreement,
                "cost_reduction": reduction,
                "cost_reduction_predicted": predicted_reduction,
                "cost_reduction_at_12_3x": reduction_ref,
                "cascade_latency_ms": latency,
                "coverage_gap_points": (realised.coverage - predicted.coverage) * 100,
                "quality_ratio_gap_points": (test_ratio - val_ratio) * 100,
                "cascade_quality_gap_points": (applied.cascade_quality_gap or 0.0) * 100,
                "val": point_dict(predicted, teacher_q["val"]),
                "test": point_dict(realised, teacher_q["test"]),
                "reason": choice.reason,
            }
            if "probe" in sets:
                record["probe"] = point_dict(routing_point(sets["probe"], choice.tau), teacher_q["probe"])
            if rule == "certified":
                record["certificate"] = {
                    "risk": certificate.risk,
                    "target": certificate.target,
                    "delta": certificate.delta,
                    "kept_scored": certificate.kept_scored,
                    "kept_failures": certificate.kept_failures,
                    "kept_quality_val": certificate.kept_quality,
                    "p_value": certificate.p_value,
                    "coverage_lower_bound": certificate.coverage_lower_bound,
                    "min_kept_to_certify": certificate.min_kept_to_certify,
                    "tested": certificate.tested,
                    "target_holds_on_test": (realised.kept_agreement or 0.0) >= certificate.target,
                }
            rules[rule] = record
        student_acc = {split: float((logits[split].argmax(dim=1) == targets[split]).float().mean()) for split in data}
        students.append(
            {
                "name": name,
                "rules": rules,
                "accuracy_val": student_acc["val"],
                "accuracy_test": student_acc["test"],
                "temperature": calibration.temperature,
                "temperature_status": calibration.temperature_status,
                "throughput_b32": s_speed.throughput_rows_per_s,
                "throughput_ratio_b32": throughput_ratio,
                "latency_p50_ms_b1": s_speed.latency_p50_ms,
                "c_t_over_c_s": c_t / c_s,
                "max_cost_reduction": cascade_cost_reduction(1.0, c_t, c_s, 0.0, 0.0)[0],
            }
        )
        log(f"{name}: test {student_acc['test']:.4f}, T {calibration.temperature:.3f}, c_T/c_S {c_t / c_s:.2f}")

    pairs = [(s, rule, r) for s in students for rule, r in s["rules"].items() if r["tau"] is not None]
    keeps_90 = [
        f"{s['name']}/{rule}"
        for s, rule, r in pairs
        if r["test_coverage"] >= TARGET_COVERAGE and r["test_quality_ratio"] >= TARGET_QUALITY_RATIO - 1e-12
    ]
    off = [
        f"{s['name']}/{rule}"
        for s, rule, r in pairs
        if abs(r["quality_ratio_gap_points"]) > MAX_QUALITY_GAP * 100
        or abs(r["coverage_gap_points"]) > MAX_COVERAGE_GAP * 100
    ]
    # The same check on absolute cascade accuracy (the teacher's accuracy differs between the two sets too).
    off_absolute = [
        f"{s['name']}/{rule}"
        for s, rule, r in pairs
        if abs(r["cascade_quality_gap_points"]) > MAX_QUALITY_GAP * 100
        or abs(r["coverage_gap_points"]) > MAX_COVERAGE_GAP * 100
    ]
    certified = [(s, r) for s, rule, r in pairs if rule == "certified"]
    report = {
        "benchmark": "routing_banking77",
        "teacher": {
            "accuracy_val": teacher_acc["val"],
            "accuracy_test": teacher_acc["test"],
            "accuracy_probe": teacher_acc.get("probe"),
            "temperature": teacher_calibration.temperature,
            "throughput_b32": t_speed.throughput_rows_per_s,
            "latency_p50_ms_b1": t_speed.latency_p50_ms,
        },
        "students": students,
        "targets": {
            "some_student_keeps_90_at_99_quality": bool(keeps_90),
            "keeps_90_at_99_quality_by": keeps_90,
            "predicted_vs_realised_within_1pt_quality_3pt_coverage": not off,
            "predicted_vs_realised_outside": off,
            "predicted_vs_realised_outside_on_absolute_cascade_quality": off_absolute,
            "certified_target_holds_on_test": bool(certified)
            and all(r["certificate"]["target_holds_on_test"] for _, r in certified),
            "certified_students": [s["name"] for s, _ in certified],
        },
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
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


def number(value: float | None) -> str:
    """A rate, or "-" where nothing was kept to measure it on."""
    return "-" if value is None else f"{value:.4f}"


def print_table(report: dict[str, Any]) -> None:
    teacher = report["teacher"]
    print(
        f"\nteacher accuracy: val {teacher['accuracy_val']:.4f}, test {teacher['accuracy_test']:.4f}  "
        f"({report['device']}, {report['threads']} threads)"
    )
    print(
        f"{'student':<12}{'rule':<13}{'tau':>8}{'cov val':>9}{'cov test':>9}{'q/T val':>9}{'q/T test':>9}"
        f"{'agr test':>9}{'cost x':>8}{'@12.3x':>8}"
    )
    for student in report["students"]:
        for rule, r in student["rules"].items():
            if r["tau"] is None:
                print(f"{student['name']:<12}{rule:<13}  no τ: {r['reason']}")
                continue
            print(
                f"{student['name']:<12}{rule:<13}{r['tau']:>8.4f}{r['val_coverage']:>9.3f}{r['test_coverage']:>9.3f}"
                f"{r['val_quality_ratio']:>9.4f}{r['test_quality_ratio']:>9.4f}{number(r['kept_agreement_test']):>9}"
                f"{r['cost_reduction']:>8.2f}{r['cost_reduction_at_12_3x']:>8.2f}"
            )
        print(
            f"{'':<12}c_T/c_S {student['c_t_over_c_s']:.2f} (batch-32 throughput, interleaved); "
            f"test accuracy {student['accuracy_test']:.4f}"
        )
    targets = report["targets"]
    keeps = (
        "MET by " + ", ".join(targets["keeps_90_at_99_quality_by"])
        if targets["some_student_keeps_90_at_99_quality"]
        else "MISSED"
    )
    gaps = (
        "MET"
        if targets["predicted_vs_realised_within_1pt_quality_3pt_coverage"]
        else "MISSED for " + ", ".join(targets["predicted_vs_realised_outside"])
    )
    absolute = ", ".join(targets["predicted_vs_realised_outside_on_absolute_cascade_quality"]) or "none"
    holds = "MET" if targets["certified_target_holds_on_test"] else "MISSED"
    print(f"target: keeps >= 90% of test traffic at >= 99% of the teacher's quality: {keeps}")
    print(f"target: predicted vs realised within 1 pt of quality and 3 pts of coverage: {gaps}")
    print(f"        (quality as cascade quality ÷ teacher's; on absolute cascade quality, outside: {absolute})")
    print(f"target: the certified τ's agreement target holds on test: {holds}")


if __name__ == "__main__":
    main()
