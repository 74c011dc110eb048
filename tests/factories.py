"""Small builders shared by tests."""

from django.core.files.uploadedfile import SimpleUploadedFile

TRAIN_CSV = b"text,label\nbook a flight to paris,travel\nwhat is my balance,banking\ncheap hotels in rome,travel\n"
TEACHER_REF = "minilm-l6-offline"  # an offline preset installed in the venv


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def evaluation_of(model, dataset, *, logits, targets, temperature=1.0, speed=None):
    """An Evaluation row as the evaluate job stores it: its evidence computed by the real evidence code
    from the given logits (rows of the dataset, in order), its predictions file written under DATA_DIR."""
    import json
    from pathlib import Path

    import torch
    from django.conf import settings

    from webapp.evaluation.models import Evaluation
    from webapp.registry.models import Teacher
    from webapp.registry.selectors import dataset_rows
    from workers.ml.evidence import Calibration, dataset_evidence, prediction_rows

    logits, targets = torch.tensor(logits, dtype=torch.float32), torch.tensor(targets)
    labels = list(model.labels)
    evidence = dataset_evidence(
        logits, targets, labels, Calibration(temperature=temperature, threshold=0.5, coverage=0.95, fitted_on=10)
    )
    relative = Path("evaluations") / f"test-{model.pk}-{dataset.pk}.jsonl"
    path = Path(settings.DATA_DIR) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for source, row in zip(dataset_rows(dataset), prediction_rows(logits, temperature, None), strict=True):
            named = {"text": source["text"], "label": source["label"], "prediction": labels[row["prediction"]]}
            out.write(json.dumps(named | {"confidence": row["confidence"]}) + "\n")
    if speed:
        model.metrics = model.metrics | {"speed": speed}
        model.save(update_fields=["metrics"])
    is_teacher = isinstance(model, Teacher)
    return Evaluation.objects.create(
        task=model.task,
        teacher=model if is_teacher else None,
        student=None if is_teacher else model,
        dataset=dataset,
        dataset_name=str(dataset),
        dataset_role=dataset.role,
        dataset_sha256=dataset.sha256,
        examples=evidence["examples"],
        in_scope_examples=evidence["in_scope_examples"],
        accuracy=evidence["accuracy"],
        macro_f1=evidence["macro_f1"],
        ece_before=(evidence.get("before_scaling") or {}).get("ece"),
        ece_after=(evidence.get("after_scaling") or {}).get("ece"),
        temperature=temperature,
        threshold=0.5,
        metrics=evidence,
        predictions_path=str(relative),
    )
