"""Benchmark: what does KD on cached teacher logits add to a training step? Measured interleaved.

    .venv/bin/python bench/kd_step_cost.py --teacher-dir var/bench/teacher

Per-epoch wall times in distill_banking77.py are only comparable when nothing else runs on the machine: a
KD epoch and a plain epoch run minutes apart. Here the same student (a layer-truncated copy of the teacher)
takes the same batches with the KD loss and with plain cross-entropy in alternating rounds (KD, plain, KD,
plain, ...), and the ratio is the median of per-round ratios, so load on a shared machine hits both alike.
A step includes what the training loop does: gather the batch's teacher logits by row index, forward,
loss, backward, AdamW step. Target (issue 3): KD <= 1.1x plain.
"""

import argparse
import copy
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from workers.ml.data import collate, encode  # noqa: E402
from workers.ml.device import describe_device, pick_device  # noqa: E402
from workers.ml.inference import to_device  # noqa: E402
from workers.ml.kd import kd_loss, masked_cross_entropy  # noqa: E402
from workers.ml.reporting import ListReporter  # noqa: E402
from workers.ml.students import layer_plan, load_classifier, truncated_student  # noqa: E402
from workers.ml.teacher_outputs import compute_logits  # noqa: E402
from workers.ml.tokenizer_profile import load_tokenizer  # noqa: E402


def timed_steps(model: torch.nn.Module, batches: list[dict[str, torch.Tensor]], logits: torch.Tensor | None) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    start = time.perf_counter()
    for batch in batches:
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        if logits is None:
            loss = masked_cross_entropy(out, batch["labels"])
        else:
            loss, _ = kd_loss(out, logits[batch["index"]], batch["labels"], temperature=2.0, alpha=0.5)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "banking77")
    parser.add_argument("--teacher-dir", type=Path, default=ROOT / "var" / "bench" / "teacher")
    parser.add_argument("--layers", default="1,2,3")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="training steps per model per round")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "kd_step_cost.json")
    args = parser.parse_args()
    device = pick_device()
    rows = [json.loads(line) for line in (args.data / "train.jsonl").read_text().splitlines() if line.strip()]
    labels = sorted({r["label"] for r in rows})
    index = {label: i for i, label in enumerate(labels)}
    tokenizer = load_tokenizer(args.teacher_dir)
    data = encode(tokenizer, [r["text"] for r in rows], [index[r["label"]] for r in rows], max_length=64)
    teacher = load_classifier(args.teacher_dir).to(device)
    pad = int(tokenizer.pad_token_id or 0)
    logits = compute_logits(teacher, data, device=device, pad_token_id=pad, batch_size=128, reporter=ListReporter())
    teacher_logits = logits.logits.to(device)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0)).tolist()
    batches = [
        to_device(collate([data[i] for i in order[s : s + args.batch_size]], pad_token_id=pad), device)
        for s in range(0, args.steps * args.batch_size, args.batch_size)
    ]
    results = []
    for k in [int(x) for x in args.layers.split(",")]:
        student = truncated_student(teacher, layer_plan(teacher.config.num_hidden_layers, k, "bottom")).to(device)
        timed_steps(copy.deepcopy(student), batches[:5], None)  # warm-up
        ratios, kd_times, plain_times = [], [], []
        for _ in range(args.rounds):
            kd = timed_steps(copy.deepcopy(student), batches, teacher_logits)
            plain = timed_steps(copy.deepcopy(student), batches, None)
            ratios.append(kd / plain)
            kd_times.append(kd)
            plain_times.append(plain)
        results.append(
            {
                "layers": k,
                "kd_over_plain_step": statistics.median(ratios),
                "kd_seconds_per_step": statistics.median(kd_times) / args.steps,
                "plain_seconds_per_step": statistics.median(plain_times) / args.steps,
            }
        )
        print(f"{k}-layer student: KD step / plain step = {results[-1]['kd_over_plain_step']:.3f}", flush=True)
    report = {
        "benchmark": "kd_step_cost",
        "students": results,
        "kd_epoch_over_plain_epoch": statistics.median(r["kd_over_plain_step"] for r in results),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "device": describe_device(device),
        "threads": torch.get_num_threads(),
        "date": dt.date.today().isoformat(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"median KD/plain: {report['kd_epoch_over_plain_epoch']:.3f}; wrote {args.out}")


if __name__ == "__main__":
    main()
