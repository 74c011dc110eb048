"""Evaluate one model (a teacher, a student or a quantized variant) on datasets of its task: quality,
out-of-scope behaviour, calibration with a temperature fitted on validation, per-example predictions,
and speed and size measured on this worker's device."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

from webapp.evaluation.models import Evaluation
from webapp.jobs.models import Job
from webapp.registry.models import Dataset, Student, Task, Teacher
from webapp.registry.selectors import dataset_rows
from workers.errors import JobFailed
from workers.handlers.base import Outcome, load_dataset, load_teacher_row, teacher_model
from workers.handlers.teacher_outputs import teacher_logits_for, uploaded_logits_for
from workers.ml.model_source import ModelSourceError, resolve_model_ref
from workers.reporter import JobReporter

if TYPE_CHECKING:
    import torch


@dataclass
class LoadedModel:
    """What is evaluated: weights to run (None for uploaded outputs) and how they read text."""

    row: Teacher | Student
    labels: list[str]
    model: Any = None
    tokenizer: Any = None
    max_length: int = 128
    folder: Path | None = None


def evaluate_model(job: Job, reporter: JobReporter) -> Outcome:
    import torch

    from workers.ml.device import describe_device, pick_device
    from workers.ml.evidence import DEFAULT_COVERAGE, dataset_evidence, fit_calibration, prediction_rows

    params = job.params
    device = pick_device()
    loaded = _load(job, device)
    if loaded.labels != list(job.task.labels):
        raise JobFailed(
            f"'{loaded.row}' predicts {len(loaded.labels)} labels but the task now has {len(job.task.labels)} "
            "(or in another order): its scores would not mean what the task's labels say."
        )
    datasets = [load_dataset(pk, task_id=job.task_id) for pk in params["dataset_ids"]]
    validation = _validation_set(job.task, params.get("validation_dataset_id"))
    progress = _Progress(
        reporter, total=sum(d.row_count for d in datasets) + (validation.row_count if validation else 0)
    )

    # Temperature and τ from the validation set only.
    val_logits = _validation_logits(job, loaded, validation, device, progress)
    if validation is not None and val_logits is not None:
        calibration = fit_calibration(
            val_logits, _targets(validation, loaded.labels), coverage=float(params.get("coverage", DEFAULT_COVERAGE))
        )
        reporter.log(
            f"fitted on '{validation}': temperature {calibration.temperature:.3f}, τ {calibration.threshold:.3f} "
            f"keeps {calibration.coverage:.0%} of validation rows"
        )
    else:
        calibration = fit_calibration(torch.empty(0, len(loaded.labels)), torch.empty(0, dtype=torch.long))
        reporter.log("no validation outputs: temperature 1 (not fitted), τ 0.5")

    results = []
    for dataset in datasets:
        logits = _logits(job, loaded, dataset, device, progress)
        teacher_logits = _teacher_logits(job, loaded, dataset, device, reporter)
        evidence = dataset_evidence(
            logits, _targets(dataset, loaded.labels), loaded.labels, calibration, teacher_logits=teacher_logits
        )
        path = _save_predictions(
            job, dataset, loaded.labels, prediction_rows(logits, calibration.temperature, teacher_logits)
        )
        results.append((dataset, evidence, path))
        accuracy = evidence["accuracy"]
        reporter.log(
            f"'{dataset}': "
            + (f"accuracy {accuracy:.1%}" if accuracy is not None else f"{evidence['examples']} out-of-scope rows")
        )

    speed = _speed(loaded, datasets, device, reporter) if loaded.model is not None else None
    with transaction.atomic():
        for dataset, evidence, path in results:
            _store(job, loaded.row, dataset, evidence, path)
        row = type(loaded.row).objects.select_for_update().get(pk=loaded.row.pk)
        row.metrics = row.metrics | {"temperature": calibration.temperature, "threshold": calibration.threshold}
        if speed is not None:
            row.metrics["speed"] = speed
        row.save(update_fields=["metrics"])
    reporter.report(progress.total, progress.total, message="done")
    return Outcome(
        result={"evaluations": len(results), "temperature": calibration.temperature, "speed": speed},
        message=f"Evaluated '{loaded.row}' on {len(results)} dataset(s).",
        device_kind=describe_device(device),
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


def _load(job: Job, device: "torch.device") -> LoadedModel:
    from workers.ml.quantize import load_quantized
    from workers.ml.students import load_classifier
    from workers.ml.tokenizer_profile import load_tokenizer

    params = job.params
    if params.get("teacher_id"):
        teacher = load_teacher_row(params["teacher_id"], task_id=job.task_id)
        if teacher.is_precomputed:
            return LoadedModel(row=teacher, labels=list(teacher.labels))
        folder = teacher_model(teacher).path
        return LoadedModel(
            row=teacher,
            labels=list(teacher.labels),
            model=load_classifier(folder).to(device),
            tokenizer=load_tokenizer(folder),
            max_length=teacher.max_length,
            folder=folder,
        )
    student = Student.objects.filter(pk=params.get("student_id"), task_id=job.task_id).first()
    if student is None:
        raise JobFailed(f"Student #{params.get('student_id')} no longer exists (deleted after the job was queued).")
    try:
        folder = resolve_model_ref(student.artifact, model_root=Path(settings.MODEL_ROOT)).path
    except ModelSourceError as exc:
        raise JobFailed(str(exc)) from exc
    quantized = student.construction == Student.Construction.QUANTIZED
    model = load_quantized(folder, device=device) if quantized else load_classifier(folder).to(device)
    return LoadedModel(
        row=student,
        labels=list(student.labels),
        model=model,
        tokenizer=load_tokenizer(folder),
        max_length=int(student.config.get("max_length") or 128),
        folder=folder,
    )


def _validation_set(task: Task, dataset_id: int | None) -> Dataset | None:
    if dataset_id:
        return load_dataset(dataset_id, task_id=task.pk)
    return task.datasets.filter(role=Dataset.Role.VALIDATION).order_by("-created_at").first()


def _validation_logits(
    job: Job, loaded: LoadedModel, validation: Dataset | None, device: "torch.device", progress: "_Progress"
) -> "torch.Tensor | None":
    if validation is None:
        progress.reporter.log("the task has no validation set")
        return None
    try:
        return _logits(job, loaded, validation, device, progress)
    except JobFailed as exc:  # uploaded outputs that don't cover the validation set: evaluate uncalibrated
        if loaded.model is not None:
            raise
        progress.reporter.log(f"not calibrated: {exc}")
        return None


def _targets(dataset: Dataset, labels: list[str]) -> "torch.Tensor":
    import torch

    index = {label: i for i, label in enumerate(labels)}
    return torch.tensor([index.get(row.get("label"), -1) for row in dataset_rows(dataset)], dtype=torch.long)


def _logits(
    job: Job, loaded: LoadedModel, dataset: Dataset, device: "torch.device", progress: _Progress
) -> "torch.Tensor":
    from workers.ml.data import encode
    from workers.ml.inference import predict_logits

    if loaded.model is None:  # uploaded outputs: matched by text, or the job says which rows are missing
        assert isinstance(loaded.row, Teacher)
        logits = uploaded_logits_for(loaded.row, dataset, reporter=progress.reporter)
        progress.done += dataset.row_count
        return logits
    texts = [row["text"] for row in dataset_rows(dataset)]
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
    job: Job, loaded: LoadedModel, dataset: Dataset, device: "torch.device", reporter: JobReporter
) -> "torch.Tensor | None":
    """The student's teacher on the same rows (cached after the first time), for agreement and p(teacher label)."""
    from workers.ml.tokenizer_profile import load_tokenizer

    if isinstance(loaded.row, Teacher):
        return None
    student = loaded.row
    teacher = student.teacher or (student.parent.teacher if student.parent else None)
    if teacher is None or list(teacher.labels) != loaded.labels:
        reporter.log("no teacher with the same labels to compare with")
        return None
    try:
        path = None if teacher.is_precomputed else teacher_model(teacher).path
        return teacher_logits_for(
            job,
            teacher,
            path,
            dataset,
            tokenizer=load_tokenizer(path) if path else None,
            max_length=teacher.max_length,
            device=device,
            reporter=_LogsOnly(reporter),  # type: ignore[arg-type]
        )
    except JobFailed as exc:  # e.g. the upload does not cover this set: the evaluation stands without it
        reporter.log(f"no teacher comparison on '{dataset}': {exc}")
        return None


def _speed(
    loaded: LoadedModel, datasets: list[Dataset], device: "torch.device", reporter: JobReporter
) -> dict[str, Any]:
    import torch

    from workers.ml.data import encode
    from workers.ml.device import describe_device
    from workers.ml.quantize import model_bytes
    from workers.ml.speed import SpeedConfig, measure_interleaved
    from workers.ml.students import count_parameters

    texts = [row["text"] for d in datasets for row in dataset_rows(d)][:512]
    config = SpeedConfig(rounds=5)
    needed = max(config.batch1_calls, config.batch_size)  # a small set is cycled: timing needs enough rows
    if len(texts) < needed:
        texts = (texts * needed)[:needed] if texts else ["hello"] * needed
    data = encode(loaded.tokenizer, texts, None, max_length=loaded.max_length)
    reporter.log("timing: batch-1 latency and batch-32 throughput, warm-up excluded")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    result = measure_interleaved(
        {"model": loaded.model},
        data,
        device=device,
        pad_token_id=int(loaded.tokenizer.pad_token_id or 0),
        config=config,
    )["model"]
    folder_bytes = sum(f.stat().st_size for f in loaded.folder.rglob("*") if f.is_file()) if loaded.folder else 0
    return {
        "latency_p50_ms": result.latency_p50_ms,
        "latency_p95_ms": result.latency_p95_ms,
        "throughput_b32": result.throughput_rows_per_s,
        # On CUDA the allocator's peak; on a CPU the weights' bytes (activations at these sizes are small).
        "peak_memory_bytes": int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else None,
        "weights_bytes": model_bytes(loaded.model),
        "parameters": count_parameters(loaded.model),
        "artifact_bytes": folder_bytes,
        "device": describe_device(device),
        "threads": torch.get_num_threads(),
    }


def _save_predictions(job: Job, dataset: Dataset, labels: list[str], rows: list[dict[str, Any]]) -> str:
    relative = Path("evaluations") / f"task-{job.task_id}" / f"job-{job.pk}-dataset-{dataset.pk}.jsonl"
    target = Path(settings.DATA_DIR) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for source, row in zip(dataset_rows(dataset), rows, strict=True):
            named = {"text": source["text"], "label": source.get("label"), "prediction": labels[row["prediction"]]}
            named["confidence"] = row["confidence"]
            if "teacher_prediction" in row:
                named["teacher_prediction"] = labels[row["teacher_prediction"]]
                named["p_teacher_label"] = row["p_teacher_label"]
            out.write(json.dumps(named, ensure_ascii=False) + "\n")
    return str(relative)


def _store(job: Job, model: Teacher | Student, dataset: Dataset, evidence: dict[str, Any], path: str) -> Evaluation:
    before, after = evidence.get("before_scaling") or {}, evidence.get("after_scaling") or {}
    return Evaluation.objects.create(
        task=job.task,
        teacher=model if isinstance(model, Teacher) else None,
        student=model if isinstance(model, Student) else None,
        dataset=dataset,
        dataset_name=str(dataset),
        dataset_role=dataset.role,
        dataset_sha256=dataset.sha256,
        job=job,
        examples=evidence["examples"],
        in_scope_examples=evidence["in_scope_examples"],
        accuracy=evidence["accuracy"],
        macro_f1=evidence["macro_f1"],
        ece_before=before.get("ece"),
        ece_after=after.get("ece"),
        temperature=evidence["calibration"]["temperature"],
        threshold=evidence["calibration"]["threshold"],
        agreement_with_teacher=evidence.get("agreement_with_teacher"),
        metrics=evidence,
        predictions_path=path,
    )
