"""Per-example predictions can keep every label's probability (off by default): chosen on the evaluate form
and in the API, carried by the job's spec, written compactly beside the top-1 prediction."""

import json
from pathlib import Path

import pytest
import torch
from django.conf import settings
from django.urls import reverse

from domain.specs import EvaluateSpec, SpecError, spec_from_params
from tests.factories import upload
from webapp.jobs.models import Job
from webapp.registry.services import dataset_upload
from workers.handlers.evaluate import save_predictions
from workers.ml.evidence import prediction_rows

LOGITS = torch.tensor([[4.0, 0.0, -9.0], [0.1, 0.2, 0.3]])


def test_rows_carry_the_probability_vector_only_when_asked() -> None:
    plain = prediction_rows(LOGITS, 1.0, None)
    full = prediction_rows(LOGITS, 1.0, None, with_probabilities=True)

    assert "probs" not in plain[0]
    assert full[0]["probs"] == [0.982, 0.018, 0]  # 4 decimals; a vanishing one written as 0
    assert full[1]["probs"] == [0.3006, 0.3322, 0.3672]
    assert {k: v for k, v in full[0].items() if k != "probs"} == plain[0]
    assert sum(full[1]["probs"]) == pytest.approx(1, abs=1e-3)


def test_probabilities_are_after_temperature_scaling() -> None:
    [row] = prediction_rows(torch.tensor([[2.0, 0.0]]), 2.0, None, with_probabilities=True)

    assert row["probs"] == [0.7311, 0.2689]  # softmax([1, 0])


@pytest.mark.django_db
def test_the_predictions_file_holds_the_vector_compactly(task, dataset) -> None:
    logits = torch.tensor([[0.0, 30.0], [30.0, 0.0], [0.0, 30.0]])
    rows = prediction_rows(logits, 1.0, None, with_probabilities=True)

    path, _ = save_predictions(1, task.pk, dataset, ["banking", "travel"], rows)

    lines = (Path(settings.DATA_DIR) / path).read_text().splitlines()
    first = json.loads(lines[0])
    assert (first["prediction"], first["probs"]) == ("travel", [0, 1.0])
    assert '"probs": [0, 1.0]' in lines[0]


def test_the_spec_keeps_the_choice_and_older_jobs_default_to_off() -> None:
    spec = EvaluateSpec(dataset_ids=(1,), student_id=2, save_probabilities=True)

    assert spec_from_params("evaluate", spec.to_params()) == spec
    assert spec_from_params("evaluate", {"dataset_ids": [1], "student_id": 2}).save_probabilities is False
    with pytest.raises(SpecError, match="save_probabilities must be true or false"):
        spec_from_params("evaluate", {"dataset_ids": [1], "student_id": 2, "save_probabilities": "yes"})


@pytest.mark.django_db
def test_the_form_starts_jobs_that_keep_probabilities_only_when_ticked(web, member, task, teacher, dataset) -> None:
    teacher.labels = ["banking", "travel"]
    teacher.save(update_fields=["labels"])
    test_csv = b"text,label\nfly,travel\npay,banking\n"
    test_set = dataset_upload(task=task, user=member, file=upload("t.csv", test_csv), filename="t.csv", role="test")
    form = {"models": [f"teacher:{teacher.pk}"], "datasets": [test_set.pk], "coverage": 0.9}
    url = reverse("evaluation-start", args=[task.pk])

    web(member).post(url, form)
    web(member).post(url, form | {"save_probabilities": "on"})

    assert [j.params["save_probabilities"] for j in Job.objects.filter(kind="evaluate").order_by("pk")] == [
        False,
        True,
    ]
    assert "Keep every label" in web(member).get(reverse("evaluation-overview", args=[task.pk])).content.decode()


@pytest.mark.django_db
def test_the_api_takes_the_setting_and_refuses_a_non_boolean(api, member, task, student, dataset) -> None:
    url = reverse("api-task-evaluations", args=[task.pk])

    started = api(member).post(
        url, {"students": [student.pk], "datasets": [dataset.pk], "save_probabilities": True}, format="json"
    )
    refused = api(member).post(
        url, {"students": [student.pk], "datasets": [dataset.pk], "save_probabilities": "maybe"}, format="json"
    )

    assert started.status_code == 201, started.json()
    assert Job.objects.get(pk=started.json()[0]["id"]).params["save_probabilities"] is True
    assert refused.status_code == 400 and "save_probabilities" in refused.json()


@pytest.mark.django_db
def test_an_evaluate_job_run_here_writes_the_vectors_it_was_asked_for(member, task, dataset) -> None:
    from webapp.evaluation.models import Evaluation
    from webapp.evaluation.selectors import prediction_rows as stored_rows
    from webapp.evaluation.services import evaluate_start
    from webapp.registry.services import teacher_upload_outputs
    from workers.runner import run_job

    outputs = "".join(
        json.dumps({"text": row["text"], "probs": [0.1, 0.9] if row["label"] == "travel" else [0.7, 0.3]}) + "\n"
        for row in dataset.rows()
    ).encode()
    teacher = teacher_upload_outputs(task=task, user=member, name="api", file=upload("o.jsonl", outputs),
                                     filename="o.jsonl")  # fmt: skip
    job = evaluate_start(task=task, user=member, model=teacher, datasets=[dataset], save_probabilities=True)

    run_job(job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    evaluation = Evaluation.objects.get(job=job)
    assert evaluation.metrics["probability_labels"] == ["banking", "travel"]
    rows = list(stored_rows(evaluation))
    assert [row["probs"] for row in rows] == [[0.1, 0.9], [0.7, 0.3], [0.1, 0.9]]
