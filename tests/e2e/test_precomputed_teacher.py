"""A teacher known only by its uploaded outputs, on a real worker: a pretrained student distils from them
(matched to the training rows by text), is quantized into an int8 variant, and a job whose training rows
the upload does not cover fails naming them."""

import pytest
from django.conf import settings
from transformers import AutoTokenizer, BertConfig, BertModel

from domain.model_refs import PRESETS
from domain.specs import StudentOptions
from tests.e2e.conftest import SMALL
from tests.e2e.helpers import upload_teacher, wait_for
from webapp.distillation.services import distil_students, quantize_start
from webapp.jobs.models import Job
from webapp.registry.models import Student
from workers.ml.quantize import load_quantized

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
Status = Job.Status


@pytest.fixture
def tiny_encoder() -> str:
    """A small pretrained-style encoder under MODEL_ROOT, reading with MiniLM's tokenizer."""
    folder = settings.MODEL_ROOT / "tiny-encoder"
    if not (folder / "config.json").exists():
        config = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
        BertModel(config).save_pretrained(folder)
        AutoTokenizer.from_pretrained(PRESETS["minilm-l6-offline"].folder()).save_pretrained(folder)
    return "./tiny-encoder"


def test_a_pretrained_student_learns_from_uploaded_outputs_and_is_quantized(
    live_stack,
    task,
    demo_data,
    member,
    tiny_encoder,
):
    train, validation = demo_data
    teacher = upload_teacher(task, member, list(train.rows()), "api-teacher")
    spec = StudentOptions(construction="pretrained", student_ref=tiny_encoder)

    job = distil_students(
        confirm_below_bar=True,
        task=task,
        teacher=teacher,
        train=train,
        validation=validation,
        user=member,
        student=spec,
        options=SMALL,
    )
    job = wait_for(job, Status.SUCCEEDED)

    # No teacher ran here: the rows its uploaded outputs covered are counted, tokens estimated and flagged so.
    assert "taken from the upload" in job.log_tail
    assert job.teacher_examples == train.row_count and job.teacher_usage_estimated and job.teacher_input_tokens > 0
    student = Student.objects.get(pk=job.result["student_id"])
    assert (student.construction, student.layers, student.teacher_id) == ("pretrained", 1, teacher.pk)

    quantize = wait_for(quantize_start(student=student, user=member), Status.SUCCEEDED)

    variant = Student.objects.get(pk=quantize.result["student_id"])
    assert variant.construction == "quantized" and variant.parent_id == student.pk
    assert 0 < variant.metrics["memory_bytes"] < variant.metrics["fp32_memory_bytes"]
    model = load_quantized(settings.MODEL_ROOT / variant.artifact)
    assert list(model.config.id2label.values()) == task.labels


def test_a_distil_job_fails_naming_training_rows_the_upload_does_not_cover(live_stack, task, demo_data, member):
    train, validation = demo_data
    rows = list(train.rows())
    teacher = upload_teacher(task, member, rows[:-3], "partial-teacher")
    spec = StudentOptions(construction="pretrained", student_ref="minilm-l6-offline")

    job = distil_students(
        confirm_below_bar=True,
        task=task,
        teacher=teacher,
        train=train,
        validation=validation,
        user=member,
        student=spec,
        options=SMALL,
    )
    job = wait_for(job, Status.FAILED)

    assert f"no uploaded outputs for 3 of the {len(rows)} rows" in job.error
    assert not Student.objects.exists()
