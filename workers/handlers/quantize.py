"""Post-training int8 quantization of a student, recorded (by the webapp) as a variant of it."""

from domain.digests import folder_bytes
from domain.naming import quantized_name
from domain.results import Artifact, StudentQuantized
from domain.specs import QuantizeSpec
from webapp.registry.models import Dataset
from workers.errors import JobFailed
from workers.handlers.base import JobContext, load_student
from workers.paths import model_folder

CALIBRATION_ROWS = 256


def quantize_student(spec: QuantizeSpec, ctx: JobContext) -> StudentQuantized:
    from workers.ml.device import device_info, pick_device
    from workers.ml.quantize import QuantizeConfig, quantize_classifier, save_quantized
    from workers.ml.students import load_classifier
    from workers.ml.tokenizer_profile import load_tokenizer

    job, reporter = ctx.job, ctx.reporter
    # Inputs: the student, and some of the task's own texts to measure how far int8 drifts from fp32.
    student, source = load_student(spec.student_id, task_id=job.task_id)
    texts = _calibration_texts(job.task_id)
    device = pick_device()
    ctx.ledger.device = device_info(device)
    reporter.report(0, 3, message="loading the student")
    model = load_classifier(source).to(device)
    tokenizer = load_tokenizer(source)
    max_length = int(student.config.get("max_length") or 128)
    inputs = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(device)

    # Quantize and compare with fp32 on those texts.
    reporter.report(1, 3, message="quantizing")
    quantized, result = quantize_classifier(model, QuantizeConfig(method=spec.method), example_inputs=dict(inputs))
    reporter.log(
        f"{result.backend}: {result.fp32_bytes:,} -> {result.quantized_bytes:,} bytes in memory "
        f"({result.size_ratio:.2f}x); argmax agreement with fp32 {result.agreement:.1%}, "
        f"max |logit diff| {result.max_abs_logit_diff:.3f}"
    )

    # Keep it: config + safetensors from torchao's transformers integration, tokenizer and metadata, written
    # as one folder that appears whole or not at all.
    reporter.report(2, 3, message="saving")
    folder, ref = model_folder(job.task_id, f"student-job{job.pk}-int8")
    metrics = {
        "agreement_with_fp32": result.agreement,
        "max_abs_logit_diff": result.max_abs_logit_diff,
        "memory_bytes": result.quantized_bytes,
        "fp32_memory_bytes": result.fp32_bytes,
        "size_ratio": result.size_ratio,
        "backend": result.backend,
        "calibration_rows": len(texts),
    }
    metadata = {
        "kind": "student",
        "quantized_from": student.artifact,
        "quantized_from_sha256": student.artifact_sha256,
        "method": spec.method,
        "metrics": metrics,
        "job": job.pk,
    }
    try:
        sha256 = save_quantized(quantized, folder, tokenizer=tokenizer, metadata=metadata)
    except OSError as exc:
        raise JobFailed(f"Could not save the quantized model to {folder}: {exc}. Is the disk full?") from exc
    return StudentQuantized(
        message=f"Int8 variant ready: {result.agreement:.1%} argmax agreement with fp32.",
        summary=metrics | {"sha256": sha256},
        parent_student_id=student.pk,
        name=quantized_name(student.name),
        artifact=Artifact(ref=ref, sha256=sha256, size_bytes=folder_bytes(folder)),
        method=spec.method,
        metrics=metrics,
    )


def _calibration_texts(task_id: int) -> list[str]:
    """Texts of the task's newest validation (else train) set: the traffic the student will see."""
    for role in (Dataset.Role.VALIDATION, Dataset.Role.TRAIN):
        dataset = Dataset.objects.filter(task_id=task_id, role=role).order_by("-created_at").first()
        if dataset is not None and dataset.rows_path.exists():
            texts = []
            for row in dataset.rows():
                texts.append(row["text"])
                if len(texts) == CALIBRATION_ROWS:
                    break
            return texts
    raise JobFailed("The task has no validation or training data to compare the quantized model with.")
