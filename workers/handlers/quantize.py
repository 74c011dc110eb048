"""Post-training int8 quantization of a student, registered as a variant of it."""

import json
import shutil
from pathlib import Path

from django.conf import settings

from webapp.jobs.models import Job
from webapp.registry.models import Dataset, Student
from webapp.registry.selectors import dataset_rows
from workers.errors import JobFailed
from workers.handlers.base import Outcome
from workers.handlers.training import model_folder
from workers.ml.model_source import ModelSourceError, resolve_model_ref
from workers.reporter import JobReporter

CALIBRATION_ROWS = 256


def quantize_student(job: Job, reporter: JobReporter) -> Outcome:
    from workers.ml.device import describe_device, pick_device
    from workers.ml.quantize import QuantizeConfig, quantize_classifier, save_quantized
    from workers.ml.students import load_classifier
    from workers.ml.tokenizer_profile import load_tokenizer

    # Inputs: the student, and some of the task's own texts to measure how far int8 drifts from fp32.
    student = Student.objects.filter(pk=job.params["student_id"], task_id=job.task_id).first()
    if student is None:
        raise JobFailed(f"Student #{job.params['student_id']} no longer exists.")
    try:
        source = resolve_model_ref(student.artifact, model_root=Path(settings.MODEL_ROOT)).path
    except ModelSourceError as exc:
        raise JobFailed(str(exc)) from exc
    texts = _calibration_texts(job)
    device = pick_device()
    reporter.report(0, 3, message="loading the student")
    model = load_classifier(source).to(device)
    tokenizer = load_tokenizer(source)
    max_length = int(student.config.get("max_length") or 128)
    inputs = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(device)

    # Quantize and compare with fp32 on those texts.
    reporter.report(1, 3, message="quantizing")
    method = job.params.get("method", "int8_weight_only")
    quantized, result = quantize_classifier(model, QuantizeConfig(method=method), example_inputs=dict(inputs))
    reporter.log(
        f"{result.backend}: {result.fp32_bytes:,} -> {result.quantized_bytes:,} bytes in memory "
        f"({result.size_ratio:.2f}x); argmax agreement with fp32 {result.agreement:.1%}, "
        f"max |logit diff| {result.max_abs_logit_diff:.3f}"
    )

    # Keep it: config + safetensors from torchao's transformers integration, plus tokenizer and metadata.
    reporter.report(2, 3, message="saving")
    folder, ref = model_folder(job.task, f"student-job{job.pk}-int8")
    metrics = {
        "agreement_with_fp32": result.agreement,
        "max_abs_logit_diff": result.max_abs_logit_diff,
        "memory_bytes": result.quantized_bytes,
        "fp32_memory_bytes": result.fp32_bytes,
        "size_ratio": result.size_ratio,
        "backend": result.backend,
        "calibration_rows": len(texts),
    }
    try:
        save_quantized(quantized, folder)
        tokenizer.save_pretrained(str(folder))
        (folder / "distillery.json").write_text(
            json.dumps(
                {
                    "kind": "student",
                    "quantized_from": student.artifact,
                    "method": method,
                    "metrics": metrics,
                    "job": job.pk,
                }
            )
        )
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise JobFailed(f"Could not save the quantized model to {folder}: {exc}. Is the disk full?") from exc
    variant = Student.objects.create(
        task=job.task,
        teacher=student.teacher,
        parent=student,
        name=f"{student.name} · int8"[:160],
        construction=Student.Construction.QUANTIZED,
        layers=student.layers,
        parameters=student.parameters,
        size_bytes=sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()),
        labels=student.labels,
        artifact=ref,
        config=student.config | {"quantization": method},
        metrics=student.metrics | metrics,
        source_job=job,
    )
    return Outcome(
        result={"student_id": variant.pk} | metrics,
        message=f"Int8 variant '{variant}' ready: {result.agreement:.1%} argmax agreement with fp32.",
        device_kind=describe_device(device),
    )


def _calibration_texts(job: Job) -> list[str]:
    """Texts of the task's newest validation (else train) set: the traffic the student will see."""
    for role in (Dataset.Role.VALIDATION, Dataset.Role.TRAIN):
        dataset = Dataset.objects.filter(task_id=job.task_id, role=role).order_by("-created_at").first()
        if dataset is not None and dataset.rows_path.exists():
            texts = []
            for row in dataset_rows(dataset):
                texts.append(row["text"])
                if len(texts) == CALIBRATION_ROWS:
                    break
            return texts
    raise JobFailed("The task has no validation or training data to compare the quantized model with.")
