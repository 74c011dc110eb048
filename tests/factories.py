"""Small builders shared by tests."""

from django.core.files.uploadedfile import SimpleUploadedFile

TRAIN_CSV = b"text,label\nbook a flight to paris,travel\nwhat is my balance,banking\ncheap hotels in rome,travel\n"
TEACHER_REF = "minilm-l6-offline"  # an offline preset installed in the venv


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def evaluation_of(model, dataset, *, logits, targets, temperature=1.0, speed=None, teacher_logits=None):
    """An Evaluation row exactly as an evaluate job records it: the evidence computed by the real evidence
    code from the given logits (rows of the dataset, in order), the predictions file written by the job's
    own writer, and the row written by the real recording service (for a finished evaluate job)."""
    import torch

    from domain.results import Calibration, DatasetEvidence, DeviceInfo, ModelEvaluated
    from webapp.evaluation.models import Evaluation
    from webapp.evaluation.services import evaluation_record
    from webapp.jobs.models import Job
    from webapp.registry.models import Teacher
    from workers.handlers.evaluate import save_predictions
    from workers.ml.evidence import Calibration as Fitted
    from workers.ml.evidence import dataset_evidence, prediction_rows

    logits, targets = torch.tensor(logits, dtype=torch.float32), torch.tensor(targets)
    teacher = torch.tensor(teacher_logits, dtype=torch.float32) if teacher_logits is not None else None
    labels = list(model.labels)
    fitted = Fitted(temperature=temperature, threshold=0.5, coverage=0.95, fitted_on=10)
    evidence = dataset_evidence(logits, targets, labels, fitted, teacher_logits=teacher)
    is_teacher = isinstance(model, Teacher)
    job = Job.objects.create(
        task=model.task,
        kind=Job.Kind.EVALUATE,
        title=f"Evaluate {model.name} on {dataset}",
        status=Job.Status.SUCCEEDED,
        params={"dataset_ids": [dataset.pk], "teacher_id" if is_teacher else "student_id": model.pk},
    )
    rows = prediction_rows(logits, temperature, teacher)
    path, sha256 = save_predictions(job.pk, model.task_id, dataset, labels, rows)
    device = DeviceInfo(kind="cpu", name="test", threads=1)
    result = ModelEvaluated(
        message="",
        teacher_id=model.pk if is_teacher else None,
        student_id=None if is_teacher else model.pk,
        artifact_sha256="",
        calibration=Calibration(
            temperature=temperature, threshold=0.5, coverage=0.95, validation_dataset_id=None, validation_sha256=""
        ),
        datasets=[
            DatasetEvidence(
                dataset_id=dataset.pk,
                dataset_name=str(dataset),
                dataset_role=dataset.role,
                dataset_sha256=dataset.sha256,
                evidence=evidence,
                predictions_path=path,
                predictions_sha256=sha256,
            )
        ],
        speed=speed | {"device": {"kind": "cpu", "name": "test", "threads": 1, "dtype": "float32"}} if speed else None,
        device=device,
    )
    (evaluation_id,) = evaluation_record(job, result)["evaluation_ids"]
    return Evaluation.objects.get(pk=evaluation_id)
