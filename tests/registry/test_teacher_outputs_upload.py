"""A teacher given as uploaded outputs: registered from the Teachers tab or the API, refused with a
message naming the problem (nothing stored) when the file is wrong, and only usable where no weights
are needed."""

import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from domain.specs import StudentOptions, TrainingOptions
from tests.factories import upload
from tests.registry.test_teacher_web import alerts
from webapp.distillation.services import distil_students, finetune_start
from webapp.jobs.services import profile_job_start
from webapp.registry.models import Teacher
from webapp.registry.services import teacher_upload_outputs

pytestmark = pytest.mark.django_db

GOOD = "\n".join(
    json.dumps(row)
    for row in [
        {"text": "book a flight to paris", "label": "travel", "probs": {"banking": 0.1, "travel": 0.9}},
        {"text": "what is my balance", "label": "banking", "probs": {"banking": 0.8, "travel": 0.2}},
        {"text": "cheap hotels in rome", "label": "travel", "probs": {"banking": 0.6, "travel": 0.4}},
    ]
).encode()


def post_outputs(client, task, content: bytes, name: str = "gpt teacher"):
    url = reverse("teacher-outputs-upload", kwargs={"task_id": task.pk})
    return client.post(
        url, {"name": name, "file": upload("outputs.jsonl", content), "cost_mode": "api", "gpu_count": 1}
    )


def test_a_member_uploads_outputs_and_gets_a_teacher_with_a_task_head(web, member, task, dataset, settings):
    response = post_outputs(web(member), task, GOOD)

    assert response.status_code == 302, alerts(response)
    teacher = Teacher.objects.get(task=task)
    assert teacher.is_precomputed and teacher.has_task_head
    assert teacher.metrics == {"rows": 3, "uploaded_kind": "probs", "agreement_with_labels": pytest.approx(2 / 3)}
    assert (Path(settings.DATA_DIR) / teacher.outputs_dir / "logits.safetensors").exists()
    page = web(member).get(reverse("teacher-list", kwargs={"task_id": task.pk})).content.decode()
    assert "Precomputed outputs (uploaded): 3 texts (probs)" in page
    assert "agrees with the file&#x27;s labels on 66.7%" in page or "agrees with the file's labels on 66.7%" in page


def test_a_bad_file_is_refused_on_the_page_and_nothing_is_stored(web, member, task, dataset, settings):
    bad = GOOD + b'\n{"text": "x", "probs": [0.5]}'

    response = post_outputs(web(member), task, bad)

    assert response.status_code == 400
    assert "outputs.jsonl, line 4: 'probs' has 1 values but the task has 2 labels" in alerts(response)
    assert not Teacher.objects.exists()
    assert not (Path(settings.DATA_DIR) / "teacher_outputs" / "uploaded" / str(task.pk)).exists()


def test_a_viewer_cannot_upload_outputs(web, viewer, task, dataset):
    assert post_outputs(web(viewer), task, GOOD).status_code == 403
    assert not Teacher.objects.exists()


def test_an_outsider_gets_a_404(web, outsider, task, dataset):
    assert post_outputs(web(outsider), task, GOOD).status_code == 404


@pytest.fixture
def uploaded_teacher(task, member, dataset) -> Teacher:
    return teacher_upload_outputs(
        task=task, user=member, name="uploaded", file=upload("o.jsonl", GOOD), filename="o.jsonl"
    )


def test_jobs_that_need_weights_refuse_an_uploaded_teacher(task, member, dataset, uploaded_teacher):
    options = TrainingOptions(epochs=1)
    with pytest.raises(ValidationError, match="no weights to fine-tune"):
        finetune_start(
            task=task, teacher=uploaded_teacher, train=dataset, validation=None, user=member, options=options
        )
    with pytest.raises(ValidationError, match="no tokenizer"):
        profile_job_start(task=task, dataset=dataset, teacher=uploaded_teacher, user=member)
    with pytest.raises(ValidationError, match="construction 'pretrained'"):
        distil_students(
            confirm_below_bar=True,
            task=task,
            teacher=uploaded_teacher,
            train=dataset,
            validation=None,
            user=member,
            student=StudentOptions(construction="truncated", layers=1),
            options=options,
        )


def test_a_pretrained_student_can_be_distilled_from_it(task, member, dataset, uploaded_teacher):
    job = distil_students(
        confirm_below_bar=True,
        task=task,
        teacher=uploaded_teacher,
        train=dataset,
        validation=None,
        user=member,
        student=StudentOptions(construction="pretrained", student_ref="minilm-l6-offline"),
        options=TrainingOptions(epochs=1),
    )

    assert job.params["teacher_id"] == uploaded_teacher.pk and job.params["student"]["construction"] == "pretrained"
