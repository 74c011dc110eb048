"""Registering a teacher through the Teachers tab: only models loadable offline, from safetensors,
inside MODEL_ROOT are accepted; anything else is refused with a message and nothing is stored."""

import html
import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import TEACHER_REF
from webapp.registry.models import Task, Teacher

pytestmark = pytest.mark.django_db


def register(client, task: Task, model_ref: str, name: str = ""):
    form = {"name": name, "model_ref": model_ref, "max_length": 128, "cost_mode": "api", "gpu_count": 1}
    return client.post(reverse("teacher-list", kwargs={"task_id": task.pk}), form)


def alerts(response) -> str:
    found = re.findall(r'role="alert">(.*?)</(?:small|div)>', response.content.decode(), flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", " ".join(found)))


def assert_refused(response, *words: str) -> None:
    assert response.status_code == 400
    assert b"Register teacher" in response.content  # the form is shown again
    message = alerts(response)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert not Teacher.objects.exists()


def test_it_registers_the_offline_preset(web, member, task):
    response = register(web(member), task, TEACHER_REF, name="MiniLM")

    assert response.status_code == 302
    assert response.url == reverse("teacher-list", kwargs={"task_id": task.pk})
    teacher = Teacher.objects.get(task=task)
    assert (teacher.name, teacher.model_ref) == ("MiniLM", TEACHER_REF)


@pytest.mark.parametrize("model_ref", ["/etc", "../../etc"])
def test_it_refuses_a_path_outside_model_root(web, member, task, model_ref):
    response = register(web(member), task, model_ref)

    assert_refused(response, f"Model path '{model_ref}' is outside MODEL_ROOT")


def test_it_refuses_a_folder_with_only_pickle_weights_naming_safetensors(web, member, task, settings):
    folder = Path(settings.MODEL_ROOT) / "legacy" / "bert-pickled"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (folder / "pytorch_model.bin").write_bytes(b"not really a pickle")

    response = register(web(member), task, "legacy/bert-pickled")

    assert_refused(response, "only pickle weights (pytorch_model.bin)", "safetensors")


def test_it_refuses_a_hub_id_that_is_not_in_the_local_cache(web, member, task):
    response = register(web(member), task, "acme/never-downloaded")

    assert_refused(response, "'acme/never-downloaded' is not available offline")
