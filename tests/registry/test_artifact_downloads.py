"""Produced models (fine-tuned teachers, students, int8 variants) download as a zip of their save_pretrained
folder, streamed a chunk at a time, with the folder's recorded sha256 named next to the link."""

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.http import StreamingHttpResponse
from django.urls import reverse

from domain.digests import METADATA_FILE, folder_sha256
from webapp.registry.artifacts import CHUNK_BYTES
from webapp.registry.models import Student, Teacher

pytestmark = pytest.mark.django_db

WEIGHTS = os.urandom(3 * CHUNK_BYTES + 123)


def produced_folder(name: str) -> tuple[str, str]:
    """A model folder as a job writes it under MODEL_ROOT; returns its ref and content sha256."""
    ref = f"./distillery/task-1/{name}"
    folder = Path(settings.MODEL_ROOT) / ref
    shutil.rmtree(folder, ignore_errors=True)  # MODEL_ROOT is shared by the whole test run
    (folder / "nested").mkdir(parents=True, exist_ok=True)
    (folder / "model.safetensors").write_bytes(WEIGHTS)
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (folder / "nested" / "tokenizer.json").write_text('{"version": "1.0"}' * 1000)
    sha256 = folder_sha256(folder)
    (folder / METADATA_FILE).write_text(json.dumps({"sha256": sha256}))
    return ref, sha256


@pytest.fixture
def produced_student(task, teacher) -> Student:
    ref, sha256 = produced_folder("student-2l")
    return Student.objects.create(
        task=task, teacher=teacher, name="2-layer student", construction=Student.Construction.TRUNCATED, layers=2,
        labels=["banking", "travel"], artifact=ref, artifact_sha256=sha256,
    )  # fmt: skip


@pytest.fixture
def fine_tuned_teacher(task, teacher) -> Teacher:
    ref, sha256 = produced_folder("teacher-ft")
    return Teacher.objects.create(
        task=task, name="MiniLM fine-tuned", model_ref=ref, artifact_sha256=sha256, origin=Teacher.Origin.FINE_TUNED,
        labels=["banking", "travel"], base=teacher,
    )  # fmt: skip


def unzip(response) -> tuple[list[bytes], zipfile.ZipFile]:
    chunks = list(response.streaming_content)
    return chunks, zipfile.ZipFile(io.BytesIO(b"".join(chunks)))


def test_a_viewer_downloads_a_student_as_a_zip_streamed_in_chunks(web, viewer, produced_student, tmp_path):
    response = web(viewer).get(reverse("student-artifact", args=[produced_student.pk]))

    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/zip"
    sha = produced_student.artifact_sha256
    assert response["Content-Disposition"] == f'attachment; filename="2-layer-student-{sha[:12]}.zip"'
    chunks, archive = unzip(response)
    # Streamed: the weights leave in chunks of about CHUNK_BYTES, never as one buffer.
    assert len(chunks) > 3 and max(len(chunk) for chunk in chunks) <= CHUNK_BYTES + 1024
    assert sorted(archive.namelist()) == [
        "2-layer-student/config.json", "2-layer-student/distillery.json", "2-layer-student/model.safetensors",
        "2-layer-student/nested/tokenizer.json",
    ]  # fmt: skip
    assert archive.read("2-layer-student/model.safetensors") == WEIGHTS
    archive.extractall(tmp_path)
    assert folder_sha256(tmp_path / "2-layer-student") == sha == response["X-Artifact-SHA256"]


def test_the_students_tab_names_the_sha256_next_to_the_link(web, viewer, produced_student):
    page = web(viewer).get(reverse("student-list", args=[produced_student.task_id])).content.decode()

    link = reverse("student-artifact", args=[produced_student.pk])
    assert f'href="{link}"' in page
    after_link = page[page.index(link) :][:400]
    assert produced_student.artifact_sha256[:12] in after_link


def test_a_fine_tuned_teacher_downloads_and_its_tab_names_the_sha256(web, member, fine_tuned_teacher):
    response = web(member).get(reverse("teacher-artifact", args=[fine_tuned_teacher.pk]))
    page = web(member).get(reverse("teacher-list", args=[fine_tuned_teacher.task_id])).content.decode()

    _, archive = unzip(response)
    assert "minilm-fine-tuned/model.safetensors" in archive.namelist()
    assert fine_tuned_teacher.artifact_sha256[:12] in page


def test_a_registered_teacher_has_nothing_to_download(web, member, teacher):
    response = web(member).get(reverse("teacher-artifact", args=[teacher.pk]))

    assert response.status_code == 404


def test_a_file_linking_out_of_the_folder_is_refused_before_anything_is_sent(web, member, produced_student):
    folder = Path(settings.MODEL_ROOT) / produced_student.artifact
    outside = Path(settings.MODEL_ROOT).parent / "secret.txt"
    outside.write_text("not a model file")
    (folder / "leak.txt").symlink_to(outside)

    response = web(member).get(reverse("student-artifact", args=[produced_student.pk]))

    assert response.status_code == 404


def test_a_model_whose_folder_is_gone_is_a_404_not_a_500(web, member, student):
    assert web(member).get(reverse("student-artifact", args=[student.pk])).status_code == 404


def test_an_outsider_cannot_download(web, api, outsider, produced_student, fine_tuned_teacher):
    assert web(outsider).get(reverse("student-artifact", args=[produced_student.pk])).status_code == 404
    assert web(outsider).get(reverse("teacher-artifact", args=[fine_tuned_teacher.pk])).status_code == 404
    assert api(outsider).get(reverse("api-student-artifact", args=[produced_student.pk])).status_code == 404
    assert api(outsider).get(reverse("api-teacher-artifact", args=[fine_tuned_teacher.pk])).status_code == 404


def test_the_api_names_the_digest_and_the_download(api, viewer, produced_student, fine_tuned_teacher, teacher):
    client = api(viewer)

    student = client.get(reverse("api-student-detail", args=[produced_student.pk])).json()
    tuned = client.get(reverse("api-teacher-detail", args=[fine_tuned_teacher.pk])).json()
    registered = client.get(reverse("api-teacher-detail", args=[teacher.pk])).json()

    assert student["artifact_sha256"] == produced_student.artifact_sha256
    download = client.get(student["artifact_url"])
    assert download.status_code == 200, download.content
    _, archive = unzip(download)
    assert archive.read("2-layer-student/model.safetensors") == WEIGHTS
    assert tuned["artifact_url"] == reverse("api-teacher-artifact", args=[fine_tuned_teacher.pk])
    assert registered["artifact_url"] is None
