"""Benchmark: what the serving process (`python -m serving`) delivers on BANKING77 — requests/second and p50/p95
latency at 1, 8 and 32 concurrent clients on loopback, for the student alone, the cascade and the teacher
alone, with micro-batching and one request at a time, all measured side by side in one run.

    .venv/bin/python bench/serve_cascade.py                  # needs the test instance's PostgreSQL running
    make bench                                               # starts it, then runs this with the others

Steps:
1. Models (kept in --models-dir; a later run reuses them): the teacher is the offline all-MiniLM-L6-v2 preset
   fine-tuned briefly on a seeded subset of BANKING77's training set (--train-rows, --teacher-epochs, lr 2e-4,
   batch 32, max_length 64: minutes on 2 CPU cores, so it is a weaker teacher than the distillation
   benchmark's), the student its bottom 2 layers trained with KD on the teacher's cached logits
   (--student-epochs), both saved and fingerprinted as the distil job saves them (`save_model_artifact`).
   Serving speed does not depend on how well they were trained; the coverage τ gives does.
2. T and τ on VALIDATION, through the product's code: T and the cascade's τ by `workers/ml/evidence.
   fit_calibration` (the evaluate job's rule: the τ keeping --coverage, 95%, of validation traffic); the
   quality-bar τ of the Routing & ROI page (`webapp/economics/routing.tau_for_quality_bar`: the most coverage
   whose cascade accuracy is ≥ --min-retention of the teacher's) is served too, as a fourth mode. The coverage
   each gives on validation and test, and the share of requests the student answered while served.
3. A scratch database (`distillery_bench`, dropped and migrated each run) with three deployments, written the
   way `deployment_create` writes them (the approval path itself is tested in tests/approvals): student alone
   (τ = 0, no fallback), the cascade (T and τ from step 2, the teacher as fallback; and the quality-bar one),
   teacher alone (the teacher as the only model, τ = 0).
4. Two serving processes: micro-batching (max batch 32, max wait 2 ms, the defaults) and one-at-a-time
   (max batch 1, no wait; student, cascade and teacher). For each number of clients, --rounds rounds; each
   round runs every (server, mode) for --seconds, in turn, so slow phases of this shared machine hit every
   cell alike. Each request carries one
   BANKING77 test text (the clients cycle through the test set from different offsets) over keep-alive
   connections; the client is an asyncio loop in this process (bench/loadgen.py).
5. Per cell: rps (all rounds pooled), p50/p95 latency, errors; ratios per round (cascade ÷ teacher, batched
   ÷ one-at-a-time), reported as medians. The cascade's served coverage is read from its answers' tiers.

Targets (issue 10): at 32 clients the cascade serves ≥ 2× the teacher-only rate; micro-batching beats
one-request-at-a-time. Every decision the servers make is also logged (ServedDecision rows), as in production.
"""

import argparse
import datetime as dt
import json
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.config.settings.test")
os.environ["DISTILLERY_DB_NAME"] = os.environ.get("DISTILLERY_BENCH_DB_NAME", "distillery_bench")

from bench.loadgen import LoadResult, run_load  # noqa: E402
from domain.model_refs import PRESETS  # noqa: E402
from domain.stats import percentile  # noqa: E402
from webapp.economics.routing import (  # noqa: E402
    apply_tau,
    prediction_set_from_rows,
    routing_curve,
    tau_for_quality_bar,
)
from workers.ml.artifacts import save_model_artifact  # noqa: E402
from workers.ml.data import EncodedDataset, encode  # noqa: E402
from workers.ml.device import describe_device, pick_device  # noqa: E402
from workers.ml.evidence import fit_calibration, prediction_rows  # noqa: E402
from workers.ml.inference import predict_logits  # noqa: E402
from workers.ml.reporting import ListReporter  # noqa: E402
from workers.ml.students import count_parameters, layer_plan, load_classifier, truncated_student  # noqa: E402
from workers.ml.teacher_outputs import compute_logits  # noqa: E402
from workers.ml.tokenizer_profile import load_tokenizer  # noqa: E402
from workers.ml.train import TrainConfig, train_classifier  # noqa: E402

CLIENTS = (1, 8, 32)
MODES = ("student", "cascade", "cascade_quality_bar", "teacher")
UNBATCHED_MODES = ("student", "cascade", "teacher")  # the one-at-a-time server: the three
SERVERS = {"batched": {"DISTILLERY_SERVING_MAX_BATCH": "32", "DISTILLERY_SERVING_MAX_WAIT_MS": "2"},
           "one_at_a_time": {"DISTILLERY_SERVING_MAX_BATCH": "1", "DISTILLERY_SERVING_MAX_WAIT_MS": "0"}}  # fmt: skip
TARGET_CASCADE_OVER_TEACHER = 2.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class PrintReporter(ListReporter):
    """Prints each evaluation, to follow the training (as bench/distill_banking77.py does)."""

    def report(self, step: int, total: int, metrics: Mapping[str, float] | None = None, message: str = "") -> None:
        super().report(step, total, metrics, message)
        if metrics and "val_accuracy" in metrics:
            log(f"  step {step}/{total}: val_accuracy {metrics['val_accuracy']:.4f}")


def read_jsonl(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r["text"] for r in rows], [r["label"] for r in rows]


# --- 1. models -----------------------------------------------------------------------------------------------


def train_models(args: argparse.Namespace, labels: list[str], data: dict[str, EncodedDataset], pad: int) -> None:
    """Fine-tune the teacher briefly and distil the 2-layer student, each saved under --models-dir (and reused
    from there: delete a folder to train it again)."""
    device = pick_device()
    preset = PRESETS["minilm-l6-offline"].folder()
    tokenizer = load_tokenizer(preset)
    teacher_dir, student_dir = args.models_dir / "teacher", args.models_dir / "student"
    if (teacher_dir / "config.json").exists():
        teacher = load_classifier(teacher_dir).to(device)
        log(f"teacher reused from {teacher_dir}")
    else:
        log(f"training the teacher into {teacher_dir} ({describe_device(device)})")
        teacher = load_classifier(preset, labels=labels).to(device)
        config = TrainConfig(epochs=args.teacher_epochs, learning_rate=2e-4, batch_size=32, patience=2)
        result = train_classifier(
            teacher, data["train"], data["val"], config, PrintReporter(), device=device, pad_token_id=pad
        )
        log(f"teacher: val {result.best_val_accuracy:.4f} after {result.epochs_completed:.1f} epochs")
        save_model_artifact(teacher, tokenizer, teacher_dir, {"kind": "serving bench teacher"})
    if (student_dir / "config.json").exists():
        log(f"student reused from {student_dir}")
        return
    logits = compute_logits(
        teacher, data["train"], device=device, pad_token_id=pad, batch_size=128, reporter=ListReporter()
    ).logits
    student = truncated_student(teacher, layer_plan(teacher.config.num_hidden_layers, args.layers, "bottom")).to(device)
    config = TrainConfig(epochs=args.student_epochs, learning_rate=3e-4, batch_size=64, patience=2, alpha=0.5)
    result = train_classifier(
        student, data["train"], data["val"], config, PrintReporter(), device=device, pad_token_id=pad,
        teacher_logits=logits,
    )  # fmt: skip
    log(f"{args.layers}-layer student: val {result.best_val_accuracy:.4f} after {result.epochs_completed:.1f} epochs")
    save_model_artifact(student, tokenizer, student_dir, {"kind": "serving bench student"})


# --- 2. T and τ on validation ----------------------------------------------------------------------------------


def choose_tau(
    args: argparse.Namespace, labels: list[str], texts: dict[str, tuple[list[str], list[str]]], data: dict, pad: int
) -> dict[str, Any]:
    device = pick_device()
    logits: dict[str, dict[str, torch.Tensor]] = {}
    facts: dict[str, Any] = {}
    for name in ("teacher", "student"):
        model = load_classifier(args.models_dir / name).to(device)
        logits[name] = {
            split: predict_logits(model, data[split], device=device, pad_token_id=pad, batch_size=128)[0]
            for split in ("val", "test")
        }
        targets = {split: torch.tensor(data[split].labels) for split in ("val", "test")}
        facts[name] = {
            "layers": model.config.num_hidden_layers,
            "parameters": count_parameters(model),
            **{f"accuracy_{s}": float((logits[name][s].argmax(1) == targets[s]).float().mean()) for s in targets},
        }
    calibration = fit_calibration(logits["student"]["val"], torch.tensor(data["val"].labels), coverage=args.coverage)
    sets = {}
    for split in ("val", "test"):
        rows = prediction_rows(logits["student"][split], calibration.temperature, logits["teacher"][split])
        split_texts, names = texts[split]
        stored = [
            {"row": i, "text": text, "label": name, "prediction": labels[row["prediction"]],
             "confidence": row["confidence"], "teacher_prediction": labels[row["teacher_prediction"]],
             "p_teacher_label": row["p_teacher_label"]}
            for i, (text, name, row) in enumerate(zip(split_texts, names, rows, strict=True))
        ]  # fmt: skip
        sets[split] = prediction_set_from_rows(stored, labels=labels)
    # The cascade's τ: the evaluate job's own rule, the τ that keeps --coverage of validation traffic
    # (fit_calibration's threshold). The quality-bar rule of the Routing & ROI page is measured too.
    choice = tau_for_quality_bar(routing_curve(sets["val"]), min_quality=0.0, min_retention=args.min_retention)
    if choice.tau is None:
        sys.exit(f"No τ meets the quality bar on validation: {choice.reason}")

    def at(tau: float, rule: str) -> dict[str, Any]:
        applied = apply_tau(tau, validation=sets["val"], other=sets["test"])
        return {
            "tau": tau,
            "rule": rule,
            "coverage_val": applied.predicted.coverage,
            "coverage_test": applied.realised.coverage,
            "cascade_accuracy_val": applied.predicted.cascade_quality,
            "cascade_accuracy_test": applied.realised.cascade_quality,
        }

    return {
        "temperature": calibration.temperature,
        **at(
            calibration.threshold,
            f"the τ keeping {args.coverage:.0%} of validation traffic (workers.ml.evidence.fit_calibration, the "
            "evaluate job's default)",
        ),
        "quality_bar": at(
            choice.tau,
            f"quality bar: the most validation coverage with cascade accuracy >= {args.min_retention:.0%} of the "
            "teacher's (webapp.economics.routing.tau_for_quality_bar)",
        ),
        "models": facts,
    }


# --- 3. deployments in a scratch database ----------------------------------------------------------------------


def fresh_database() -> None:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"], dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
        connection.execute(f'CREATE DATABASE "{db["NAME"]}"')


def create_deployments(models_dir: Path, labels: list[str], routing: dict[str, Any]) -> dict[str, tuple[int, str]]:
    """Three deployments (student alone, cascade, teacher alone) → (id, serving key) by mode."""
    import django
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from domain.digests import folder_sha256
    from webapp.accounts.models import Team
    from webapp.approvals.evidence import canonical_sha256
    from webapp.approvals.models import ApprovalRequest, Deployment
    from webapp.approvals.services import KEY_PREFIX, serving_key_digest
    from webapp.economics.models import Scenario
    from webapp.registry.models import Student, Task, Teacher

    user = get_user_model().objects.create_user(username="bench")
    team = Team.objects.create(name="Serving bench")
    sha = {name: folder_sha256(models_dir / name) for name in ("teacher", "student")}
    ref = {name: f"./{name}" for name in ("teacher", "student")}  # relative to MODEL_ROOT = models_dir
    plan = {  # mode: (served folder, τ, T, with the teacher as fallback)
        "student": ("student", 0.0, routing["temperature"], False),
        "cascade": ("student", routing["tau"], routing["temperature"], True),
        "cascade_quality_bar": ("student", routing["quality_bar"]["tau"], routing["temperature"], True),
        "teacher": ("teacher", 0.0, 1.0, False),
    }
    deployments = {}
    for mode, (served, tau, temperature, fallback) in plan.items():
        task = Task.objects.create(team=team, name=f"BANKING77 ({mode})", labels=labels, created_by=user)
        teacher = Teacher.objects.create(
            task=task, name="MiniLM-L6 fine-tuned", model_ref=ref["teacher"], max_length=64, labels=labels,
            origin=Teacher.Origin.FINE_TUNED, artifact_sha256=sha["teacher"],
        )  # fmt: skip
        student = Student.objects.create(
            task=task, teacher=teacher, name=f"served: {served}", construction=Student.Construction.TRUNCATED,
            labels=labels, artifact=ref[served], artifact_sha256=sha[served], config={"max_length": 64},
        )  # fmt: skip
        scenario = Scenario.objects.create(
            task=task, name="bench", student=student, student_name=student.name, assumptions={}, evidence={},
            figures={}, verdict="bench", monthly_savings_usd=0.0,
        )  # fmt: skip
        request = ApprovalRequest.objects.create(
            task=task, scenario=scenario, student=student, student_name=student.name, tau=tau,
            temperature=temperature, snapshot={}, snapshot_sha256="", gates=[],
            state=ApprovalRequest.State.APPROVED, requested_by=user,
        )  # fmt: skip
        manifest = {
            "format": "distillery.deployment/1",
            "task": {"id": task.pk, "name": task.name, "labels": labels},
            "student": {"artifact": ref[served], "sha256": sha[served], "construction": "truncated"},
            "temperature": temperature,
            "tau": tau,
            "fallback_teacher": {"model_ref": ref["teacher"], "sha256": sha["teacher"], "precomputed": False}
            if fallback
            else {},
        }
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        deployment = Deployment.objects.create(
            task=task, request=request, student=student, teacher=teacher, tau=tau, temperature=temperature,
            manifest=manifest, manifest_sha256=canonical_sha256(manifest), model_card="", created_by=user,
            key_sha256=serving_key_digest(key),
        )  # fmt: skip
        deployments[mode] = (deployment.pk, key)
    return deployments


# --- 4. servers and load ---------------------------------------------------------------------------------------


def start_server(name: str, settings: dict[str, str], models_dir: Path, log_dir: Path) -> tuple[subprocess.Popen, int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = os.environ | settings | {"DISTILLERY_MODEL_ROOT": str(models_dir.resolve()), "PYTHONUNBUFFERED": "1"}
    log_file = (log_dir / f"serving-{name}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "serving", "--port", str(port)], cwd=ROOT, env=env, stdout=log_file,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    for _ in range(300):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).status == 200:
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit(f"The {name} serving process did not start; see {log_dir}/serving-{name}.log")


def cell_figures(results: list[LoadResult]) -> dict[str, Any]:
    latencies = sorted(x for r in results for x in r.latencies_ms)
    seconds = sum(r.seconds for r in results)
    tiers: dict[str, int] = {}
    for r in results:
        for tier, n in r.tiers.items():
            tiers[tier] = tiers.get(tier, 0) + n
    answered = sum(tiers.values())
    return {
        "rps": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 0.50) if latencies else None,
        "p95_ms": percentile(latencies, 0.95) if latencies else None,
        "requests": len(latencies),
        "errors": sum(r.errors for r in results),
        "student_share": tiers.get("student", 0) / answered if answered else None,
        "rps_per_round": [r.requests / r.seconds for r in results],
    }


def median_ratio(top: list[float], bottom: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(top, bottom, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "banking77")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "var" / "bench" / "serving")
    parser.add_argument("--train-rows", type=int, default=3000, help="a seeded subset of train.jsonl (9,000 rows)")
    parser.add_argument("--teacher-epochs", type=int, default=3)
    parser.add_argument("--student-epochs", type=int, default=8)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--coverage", type=float, default=0.95, help="the cascade's τ keeps this much of validation")
    parser.add_argument("--min-retention", type=float, default=0.99, help="the quality-bar τ (measured too)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per cell and round")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serve_cascade.json")
    args = parser.parse_args()

    train_texts, train_labels = read_jsonl(args.data / "train.jsonl")
    labels = sorted(set(train_labels))  # from the full training set, before taking the subset
    picked = sorted(random.Random(0).sample(range(len(train_texts)), min(args.train_rows, len(train_texts))))
    train_texts, train_labels = [train_texts[i] for i in picked], [train_labels[i] for i in picked]
    index = {label: i for i, label in enumerate(labels)}
    texts = {"train": (train_texts, train_labels)} | {
        split: read_jsonl(args.data / f"{split}.jsonl") for split in ("val", "test")
    }
    tokenizer = load_tokenizer(PRESETS["minilm-l6-offline"].folder())
    pad = int(tokenizer.pad_token_id or 0)
    data = {
        split: encode(tokenizer, t, [index[n] for n in names], max_length=args.max_length)
        for split, (t, names) in texts.items()
    }
    train_models(args, labels, data, pad)
    routing = choose_tau(args, labels, texts, data, pad)
    log(
        f"T {routing['temperature']:.3f}, τ {routing['tau']:.4f}: coverage val {routing['coverage_val']:.3f}, "
        f"test {routing['coverage_test']:.3f}"
    )

    fresh_database()
    deployments = create_deployments(args.models_dir, labels, routing)
    log_dir = args.models_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    servers = {name: start_server(name, settings, args.models_dir, log_dir) for name, settings in SERVERS.items()}
    test_texts = texts["test"][0][:]
    random.Random(0).shuffle(test_texts)
    load_before = os.getloadavg()
    results: dict[tuple[str, str, int], list[LoadResult]] = {}
    try:
        cells_run = [
            (server, mode) for server in servers for mode in (MODES if server == "batched" else UNBATCHED_MODES)
        ]
        for server, mode in cells_run:  # load the models, warm up
            port = servers[server][1]
            deployment_id, key = deployments[mode]
            run_load(port=port, path=f"/v1/deployments/{deployment_id}/predict", key=key, texts=test_texts,
                     clients=8, seconds=2.0)  # fmt: skip
        for clients in CLIENTS:
            for round_ in range(args.rounds):
                for server, mode in cells_run:
                    deployment_id, key = deployments[mode]
                    result = run_load(
                        port=servers[server][1], path=f"/v1/deployments/{deployment_id}/predict", key=key,
                        texts=test_texts, clients=clients, seconds=args.seconds,
                    )  # fmt: skip
                    results.setdefault((server, mode, clients), []).append(result)
                    log(
                        f"{clients:>2} clients, round {round_ + 1}, {server:<13} {mode:<19} "
                        f"{result.requests / result.seconds:8.1f} rps, errors {result.errors}"
                    )
    finally:
        for process, _ in servers.values():
            process.terminate()
        for process, _ in servers.values():
            process.wait(timeout=60)

    cells = {key: cell_figures(value) for key, value in results.items()}
    modes = {mode: {str(c): cells[("batched", mode, c)] for c in CLIENTS} for mode in MODES}
    batching = {
        server: {mode: {str(c): cells[(server, mode, c)] for c in CLIENTS} for mode in UNBATCHED_MODES}
        for server in SERVERS
    }
    ratios = {
        str(c): {
            "cascade_over_teacher": median_ratio(
                cells[("batched", "cascade", c)]["rps_per_round"], cells[("batched", "teacher", c)]["rps_per_round"]
            ),
            "cascade_quality_bar_over_teacher": median_ratio(
                cells[("batched", "cascade_quality_bar", c)]["rps_per_round"],
                cells[("batched", "teacher", c)]["rps_per_round"],
            ),
            "student_over_teacher": median_ratio(
                cells[("batched", "student", c)]["rps_per_round"], cells[("batched", "teacher", c)]["rps_per_round"]
            ),
            **{
                f"batched_over_one_at_a_time_{mode}": median_ratio(
                    cells[("batched", mode, c)]["rps_per_round"], cells[("one_at_a_time", mode, c)]["rps_per_round"]
                )
                for mode in UNBATCHED_MODES
            },
        }
        for c in CLIENTS
    }
    served_coverage = cells[("batched", "cascade", 32)]["student_share"]
    served_coverage_quality_bar = cells[("batched", "cascade_quality_bar", 32)]["student_share"]
    device = pick_device()
    report = {
        "benchmark": "serve_cascade",
        "modes": modes,
        "batching": {
            "servers": {
                "batched": "max batch 32 rows, max wait 2 ms (the defaults)",
                "one_at_a_time": "max batch 1 row, no wait: every request its own forward pass",
            },
            **batching,
        },
        "ratios": ratios,
        "targets_met": {
            "cascade_ge_2x_teacher_at_32": ratios["32"]["cascade_over_teacher"] >= TARGET_CASCADE_OVER_TEACHER,
            "batching_beats_one_at_a_time": all(
                ratios[str(c)][f"batched_over_one_at_a_time_{mode}"] > 1 for c in (8, 32) for mode in UNBATCHED_MODES
            ),
        },
        "facts": {
            "routing": routing,
            "coverage_served_at_32_clients": served_coverage,
            "coverage_served_at_32_clients_quality_bar": served_coverage_quality_bar,
            "requests": "one BANKING77 test text each (3,080 texts, shuffled with seed 0), keep-alive, loopback",
            "rounds": args.rounds,
            "seconds_per_cell_and_round": args.seconds,
            "device": describe_device(device),
            "threads": torch.get_num_threads(),
            "cpu": _cpu_name(),
            "cores": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "server": "python -m serving (uvicorn + httptools, one process per server setting)",
            "client": "bench/loadgen.py: asyncio, one connection per client, in the benchmark's own process",
            "torch": torch.__version__,
            "date": dt.date.today().isoformat(),
        },
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    log(f"wrote {args.out}")


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def print_table(report: dict[str, Any]) -> None:
    facts = report["facts"]
    routing = facts["routing"]
    print(
        f"\nτ {routing['tau']:.4f} (T {routing['temperature']:.3f}): coverage val {routing['coverage_val']:.1%}, "
        f"test {routing['coverage_test']:.1%}, served {facts['coverage_served_at_32_clients']:.1%}  "
        f"({facts['device']}, {facts['cores']} cores)"
    )
    print(f"{'server':<14}{'mode':<21}" + "".join(f"{f'{c} cl rps':>11}{'p50':>7}{'p95':>7}" for c in CLIENTS))
    rows = [("batched", mode, report["modes"][mode]) for mode in MODES]
    rows += [("one_at_a_time", mode, report["batching"]["one_at_a_time"][mode]) for mode in UNBATCHED_MODES]
    for server, mode, row in rows:
        figures = "".join(f"{row[str(c)]['rps']:>11.1f}{row[str(c)]['p50_ms']:>7.1f}{row[str(c)]['p95_ms']:>7.1f}"
                          for c in CLIENTS)  # fmt: skip
        print(f"{server:<14}{mode:<21}{figures}")
    for c, ratio in report["ratios"].items():
        print(f"{c:>2} clients: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratio.items()))
    print(f"targets: {report['targets_met']}")


if __name__ == "__main__":
    main()
