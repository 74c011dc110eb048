"""Evaluate one model (a teacher, a student or a quantized variant) on datasets of its task: quality,
out-of-scope behaviour, calibration with a temperature fitted on validation, per-example predictions (on
the validation set too: routing thresholds are tuned there, never on test), and speed and size measured on
this worker's device. It returns the evidence; the webapp records it."""

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from domain.digests import file_sha256, folder_sha256
from domain.results import Calibration, DatasetEvidence, DeviceInfo, ModelEvaluated
from domain.specs import EvaluateSpec
from webapp.registry.models import Dataset, Student, Task, Teacher
from workers.errors import JobFailed
from workers.handlers.base import JobContext, load_dataset, load_student, load_teacher_row, teacher_model
from workers.handlers.teacher_outputs import teacher_logits_for, uploaded_logits_for, uploaded_usage
from workers.reporter import JobReporter

if TYPE_CHECKING:
    import torch


@dataclass
class LoadedModel:
    """What is evaluated: weights to run (None for uploaded outputs) and how they read text."""

    row: Teacher | Student
    labels: list[str]
    sha256: str  # of the artifact folder measured (or of the uploaded outputs)
    model: Any = None
    tokenizer: Any = None
    max_length: int = 128
    folder: Path | None = None


def evaluate_model(spec: EvaluateSpec, ctx: JobContext) -> ModelEvaluated:
    import torch

    from workers.ml.device import device_info, pick_device
    from workers.ml.evidence import dataset_evidence, fit_calibration, prediction_rows

    job, reporter = ctx.job, ctx.reporter
    device = pick_device()
    ctx.ledger.device = device_info(device)
    loaded = _load(spec, job.task_id, device)
    if loaded.labels != list(job.task.labels):
        raise JobFailed(
            f"'{loaded.row}' predicts {len(loaded.labels)} labels but the task now has {len(job.task.labels)} "
            "(or in another order): its scores would not mean what the task's labels say."
        )
    datasets = [load_dataset(pk, task_id=job.task_id) for pk in spec.dataset_ids]
    validation = _validation_set(job.task, spec.validation_dataset_id)
    progress = _Progress(
        reporter, total=sum(d.row_count for d in datasets) + (validation.row_count if validation else 0)
    )

    # Temperature and τ from the validation set only.
    val_logits = _validation_logits(ctx, loaded, validation, device, progress)
    if validation is not None and val_logits is not None:
        fitted = fit_calibration(val_logits, _targets(validation, loaded.labels), coverage=spec.coverage)
        reporter.log(
            f"fitted on '{validation}': temperature {fitted.temperature:.3f}, τ {fitted.threshold:.3f} "
            f"keeps {fitted.coverage:.0%} of validation rows"
        )
    else:
        fitted = fit_calibration(torch.empty(0, len(loaded.labels)), torch.empty(0, dtype=torch.long))
        reporter.log("no validation outputs: temperature 1 (not fitted), τ 0.5")
    calibrated_on = validation if val_logits is not None else None
    calibration = Calibration(
        temperature=fitted.temperature,
        threshold=fitted.threshold,
        coverage=fitted.coverage,
        validation_dataset_id=calibrated_on.pk if calibrated_on else None,
        validation_sha256=calibrated_on.sha256 if calibrated_on else "",
        details=fitted.as_dict(),
    )

    # Every chosen set, and the validation set itself: its predictions are what routing is tuned on.
    scored = list(datasets)
    if calibrated_on is not None and calibrated_on.pk not in {d.pk for d in datasets}:
        scored.append(calibrated_on)
    results = []
    for dataset in scored:
        is_validation = calibrated_on is not None and dataset.pk == calibrated_on.pk
        logits = (
            val_logits if is_validation and val_logits is not None else _logits(ctx, loaded, dataset, device, progress)
        )
        teacher_logits = _teacher_logits(ctx, loaded, dataset, device)
        evidence = dataset_evidence(
            logits, _targets(dataset, loaded.labels), loaded.labels, fitted, teacher_logits=teacher_logits
        )
        rows = prediction_rows(logits, fitted.temperature, teacher_logits, with_probabilities=spec.save_probabilities)
        if spec.save_probabilities:  # which probability is which label, next to the evidence that reads them
            evidence["probability_labels"] = list(loaded.labels)
        path, sha256 = save_predictions(job.pk, job.task_id, dataset, loaded.labels, rows)
        results.append(
            DatasetEvidence(
                dataset_id=dataset.pk,
                dataset_name=str(dataset),
                dataset_role=dataset.role,
                dataset_sha256=dataset.sha256,
                evidence=evidence,
                predictions_path=path,
                predictions_sha256=sha256,
            )
        )
        accuracy = evidence["accuracy"]
        reporter.log(
            f"'{dataset}': "
            + (f"accuracy {accuracy:.1%}" if accuracy is not None else f"{evidence['examples']} out-of-scope rows")
        )

    speed = _speed(loaded, datasets, device, ctx.ledger.device, reporter) if loaded.model is not None else None
    reporter.report(progress.total, progress.total, message="done")
    return ModelEvaluated(
        message=f"Evaluated '{loaded.row}' on {len(results)} dataset(s).",
        summary={"evaluations": len(results), "temperature": calibration.temperature, "speed": speed},
        teacher_id=loaded.row.pk if isinstance(loaded.row, Teacher) else None,
        student_id=loaded.row.pk if isinstance(loaded.row, Student) else None,
        artifact_sha256=loaded.sha256,
        calibration=calibration,
        datasets=results,
        speed=speed,
        device=ctx.ledger.device,
    )


class _Progress:
    def __init__(self, reporter: JobReporter, *, total: int) -> None:
        self.reporter, self.total, self.done = reporter, max(total, 1), 0

    def on_batch(self, name: str, offset: int) -> Any:
        from workers.ml.reporting import StopRequested

        def report(rows_done: int, _tokens: int) -> None:
            self.done = offset + rows_done
            self.reporter.report(min(self.done, self.total - 1), self.total, message=f"scoring '{name}'")
            if self.reporter.should_stop():
                raise StopRequested(f"Stopped while scoring '{name}'.")

        return report


class _LogsOnly:
    """Passes a side computation's log lines and stop checks through, but not its progress: the job's bar
    counts the evaluated model's rows, and must not jump back while the teacher runs for comparison."""

    def __init__(self, reporter: JobReporter) -> None:
        self.reporter = reporter

    def report(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log(self, line: str) -> None:
        self.reporter.log(line)

    def should_stop(self) -> bool:
        return self.reporter.should_stop()


def _load(spec: EvaluateSpec, task_id: int, device: "torch.device") -> LoadedModel:
    from workers.ml.quantize import load_quantized
    from workers.ml.students import load_classifier
    from workers.ml.tokenizer_profile import load_tokenizer

    if spec.teacher_id is not None:
        teacher = load_teacher_row(spec.teacher_id, task_id=task_id)
        if teacher.is_precomputed:
            outputs = Path(settings.DATA_DIR) / teacher.outputs_dir
            return LoadedModel(row=teacher, labels=list(teacher.labels), sha256=_verified_digest(teacher, outputs))
        return _teacher_with_weights(teacher, device)
    assert spec.student_id is not None  # the spec holds exactly one model
    student, folder = load_student(spec.student_id, task_id=task_id)
    quantized = student.construction == Student.Construction.QUANTIZED
    model = load_quantized(folder, device=device) if quantized else load_classifier(folder).to(device)
    return LoadedModel(
        row=student,
        labels=list(student.labels),
        sha256=_verified_digest(student, folder),
        model=model,
        tokenizer=load_tokenizer(folder),
        max_length=int(student.config.get("max_length") or 128),
        folder=folder,
    )


def _teacher_with_weights(teacher: Teacher, device: "torch.device") -> LoadedModel:
    """A teacher that runs here (not uploaded outputs), its files checked against their recorded sha256."""
    from workers.ml.students import load_classifier
    from workers.ml.tokenizer_profile import load_tokenizer

    folder = teacher_model(teacher).path
    return LoadedModel(
        row=teacher,
        labels=list(teacher.labels),
        sha256=_verified_digest(teacher, folder),
        model=load_classifier(folder).to(device),
        tokenizer=load_tokenizer(folder),
        max_length=teacher.max_length,
        folder=folder,
    )


def _verified_digest(row: Teacher | Student, folder: Path) -> str:
    """The digest of what is about to be measured; a folder changed since it was produced is refused."""
    if not folder.is_dir():
        raise JobFailed(f"The files of '{row}' are missing from {folder}.")
    digest = folder_sha256(folder)
    if row.artifact_sha256 and digest != row.artifact_sha256:
        raise JobFailed(
            f"The files of '{row}' in {folder} changed since they were produced (sha256 {digest[:12]}…, "
            f"recorded {row.artifact_sha256[:12]}…): evidence measured on them would not be about this model."
        )
    return digest


def _validation_set(task: Task, dataset_id: int | None) -> Dataset | None:
    if dataset_id:
        return load_dataset(dataset_id, task_id=task.pk)
    return task.datasets.active().filter(role=Dataset.Role.VALIDATION).order_by("-created_at").first()


def _validation_logits(
    ctx: JobContext, loaded: LoadedModel, validation: Dataset | None, device: "torch.device", progress: "_Progress"
) -> "torch.Tensor | None":
    if validation is None:
        progress.reporter.log("the task has no validation set")
        return None
    try:
        return _logits(ctx, loaded, validation, device, progress)
    except JobFailed as exc:  # uploaded outputs that don't cover the validation set: evaluate uncalibrated
        if loaded.model is not None:
            raise
        progress.reporter.log(f"not calibrated: {exc}")
        return None


def _targets(dataset: Dataset, labels: list[str]) -> "torch.Tensor":
    import torch

    index = {label: i for i, label in enumerate(labels)}
    return torch.tensor([index.get(row.get("label"), -1) for row in dataset.rows()], dtype=torch.long)


def _logits(
    ctx: JobContext, loaded: LoadedModel, dataset: Dataset, device: "torch.device", progress: _Progress
) -> "torch.Tensor":
    from workers.ml.data import encode
    from workers.ml.inference import predict_logits

    if loaded.model is None:  # uploaded outputs: matched by text, or the job says which rows are missing
        assert isinstance(loaded.row, Teacher)
        logits = uploaded_logits_for(loaded.row, dataset, ctx=ctx)
        ctx.ledger.add_usage(uploaded_usage(dataset, output_tokens_per_row=ctx.job.task.mean_output_tokens))
        progress.done += dataset.row_count
        return logits
    texts = [row["text"] for row in dataset.rows()]
    data = encode(loaded.tokenizer, texts, None, max_length=loaded.max_length)
    logits, _ = predict_logits(
        loaded.model,
        data,
        device=device,
        pad_token_id=int(loaded.tokenizer.pad_token_id or 0),
        batch_size=64,
        on_batch=progress.on_batch(str(dataset), progress.done),
    )
    return logits


def _teacher_logits(
    ctx: JobContext, loaded: LoadedModel, dataset: Dataset, device: "torch.device"
) -> "torch.Tensor | None":
    """The student's teacher on the same rows (cached after the first time), for agreement and p(teacher label)."""
    from workers.ml.tokenizer_profile import load_tokenizer

    if isinstance(loaded.row, Teacher):
        return None
    student = loaded.row
    teacher = student.teacher or (student.parent.teacher if student.parent else None)
    if teacher is None or list(teacher.labels) != loaded.labels:
        ctx.reporter.log("no teacher with the same labels to compare with")
        return None
    # The teacher's progress must not move this job's bar: only its log lines and stop checks pass.
    quiet = dataclasses.replace(ctx, reporter=_LogsOnly(ctx.reporter))
    try:
        path = None if teacher.is_precomputed else teacher_model(teacher).path
        return teacher_logits_for(
            quiet,
            teacher,
            path,
            dataset,
            tokenizer=load_tokenizer(path) if path else None,
            max_length=teacher.max_length,
            device=device,
        )
    except JobFailed as exc:  # e.g. the upload does not cover this set: the evaluation stands without it
        ctx.reporter.log(f"no teacher comparison on '{dataset}': {exc}")
        return None


def _timing_teacher(loaded: LoadedModel, device: "torch.device", reporter: JobReporter) -> LoadedModel | None:
    """The student's teacher, loaded to be timed beside it; None (and a log line saying why) when it can't be:
    the student is timed alone then, and the ROI falls back on the teacher's own evaluation."""
    if not isinstance(loaded.row, Student):
        return None
    student = loaded.row
    teacher = student.teacher or (student.parent.teacher if student.parent else None)
    if teacher is None:
        reporter.log("timing the student alone: it has no teacher any more")
        return None
    if teacher.is_precomputed:
        reporter.log(f"timing the student alone: teacher '{teacher}' is uploaded outputs only, nothing to run")
        return None
    try:
        return _teacher_with_weights(teacher, device)
    except JobFailed as exc:  # the student's own evidence stands; only the side-by-side ratio is lost
        reporter.log(f"timing the student alone: teacher '{teacher}' could not be loaded ({exc})")
        return None


def _speed(
    loaded: LoadedModel, datasets: list[Dataset], device: "torch.device", info: DeviceInfo, reporter: JobReporter
) -> dict[str, Any]:
    """The model's latency and throughput; a student's are taken side by side with its teacher's (same device,
    texts and rounds, interleaved), so that the speed-up is a ratio per round rather than of two jobs' figures
    taken hours apart, and its spread over rounds says how steady the machine was."""
    import torch

    from workers.ml.data import collate, encode
    from workers.ml.inference import forward_logits, to_device
    from workers.ml.quantize import model_bytes
    from workers.ml.speed import SpeedConfig, measure_interleaved, ratio_spread
    from workers.ml.students import count_parameters

    texts = [row["text"] for d in datasets for row in d.rows()][:512]
    # Five rounds: enough for a median and a range, and the teacher (often several times slower) timed in
    # each of them is what this job pays for the fair ratio.
    config = SpeedConfig(rounds=5)
    needed = max(config.batch1_calls, config.batch_size)  # a small set is cycled: timing needs enough rows
    if len(texts) < needed:
        texts = (texts * needed)[:needed] if texts else ["hello"] * needed
    data = encode(loaded.tokenizer, texts, None, max_length=loaded.max_length)
    pad = int(loaded.tokenizer.pad_token_id or 0)
    peak_memory = None
    if device.type == "cuda":  # the model's own peak at batch 32, before a teacher shares the device
        torch.cuda.reset_peak_memory_stats(device)
        batch = collate([data[i] for i in range(config.batch_size)], pad_token_id=pad)
        with torch.inference_mode():
            forward_logits(loaded.model, to_device(batch, device))
        torch.cuda.synchronize(device)
        peak_memory = int(torch.cuda.max_memory_allocated(device))
    teacher = _timing_teacher(loaded, device, reporter)
    models, encoded, pads = {"model": loaded.model}, {"model": data}, {"model": pad}
    if teacher is not None:
        models["teacher"] = teacher.model
        encoded["teacher"] = encode(teacher.tokenizer, texts, None, max_length=teacher.max_length)
        pads["teacher"] = int(teacher.tokenizer.pad_token_id or 0)
        reporter.log(
            f"timing student and teacher side by side ('{teacher.row}'): {config.rounds} interleaved rounds of "
            f"{config.batch1_calls} batch-1 calls and {config.throughput_batches} batch-{config.batch_size} "
            "forwards each, warm-up excluded (the teacher's turns add to this job's time)"
        )
    else:
        reporter.log("timing: batch-1 latency and batch-32 throughput, warm-up excluded")
    results = measure_interleaved(models, encoded, device=device, pad_token_id=pads, config=config)
    result = results["model"]
    folder_bytes = sum(f.stat().st_size for f in loaded.folder.rglob("*") if f.is_file()) if loaded.folder else 0
    speed: dict[str, Any] = {
        "latency_p50_ms": result.latency_p50_ms,
        "latency_p95_ms": result.latency_p95_ms,
        "throughput_b32": result.throughput_rows_per_s,
        "batch_sizes": [1, config.batch_size],
        "rounds": config.rounds,
        "round_latency_ms": result.round_latency_ms,
        "round_throughput": result.round_throughput,
        # On CUDA the allocator's peak; on a CPU the weights' bytes (activations at these sizes are small).
        "peak_memory_bytes": peak_memory,
        "weights_bytes": model_bytes(loaded.model),
        "parameters": count_parameters(loaded.model),
        "artifact_bytes": folder_bytes,
        # Where it was timed: a CPU timing must never price a GPU (and the other way round).
        "device": dataclasses.asdict(info),
    }
    if teacher is not None:
        timed = results["teacher"]
        latency = ratio_spread(timed.round_latency_ms, result.round_latency_ms)  # teacher ms / student ms
        throughput = ratio_spread(result.round_throughput, timed.round_throughput)  # student rows/s / teacher's
        speed["side_by_side"] = {
            "teacher_id": teacher.row.pk,
            "teacher_name": str(teacher.row),
            "teacher_sha256": teacher.sha256,
            "rounds": config.rounds,
            "teacher": {
                "latency_p50_ms": timed.latency_p50_ms,
                "latency_p95_ms": timed.latency_p95_ms,
                "throughput_b32": timed.throughput_rows_per_s,
                "round_latency_ms": timed.round_latency_ms,
                "round_throughput": timed.round_throughput,
                "parameters": count_parameters(teacher.model),
                "weights_bytes": model_bytes(teacher.model),
            },
            "latency_speedup": latency.as_dict(),
            "throughput_speedup": throughput.as_dict(),
        }
        reporter.log(
            f"side by side: {latency.median:.2f}× lower latency (rounds {latency.low:.2f}–{latency.high:.2f}×), "
            f"{throughput.median:.2f}× the throughput (rounds {throughput.low:.2f}–{throughput.high:.2f}×)"
        )
        models.clear()  # the teacher's weights go now, not when the job ends
        teacher.model = None
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return speed


def save_predictions(
    job_id: int, task_id: int, dataset: Dataset, labels: list[str], rows: list[dict[str, Any]]
) -> tuple[str, str]:
    """Per-example predictions as JSONL, each with a stable row id (its position in the immutable dataset) and,
    when the job was asked to keep them, every label's probability ("probs", in `labels` order);
    returns the path (relative to DATA_DIR) and the file's sha256."""
    relative = Path("evaluations") / f"task-{task_id}" / f"job-{job_id}-dataset-{dataset.pk}.jsonl"
    target = Path(settings.DATA_DIR) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for index, (source, row) in enumerate(zip(dataset.rows(), rows, strict=True)):
            named = {
                "row": index,
                "text": source["text"],
                "label": source.get("label"),
                "prediction": labels[row["prediction"]],
                "confidence": row["confidence"],
            }
            if "teacher_prediction" in row:
                named["teacher_prediction"] = labels[row["teacher_prediction"]]
                named["p_teacher_label"] = row["p_teacher_label"]
            if "probs" in row:
                named["probs"] = row["probs"]
            out.write(json.dumps(named, ensure_ascii=False) + "\n")
    return str(relative), file_sha256(target)
