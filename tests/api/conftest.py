"""Owner / teammate / outsider fixtures for the API tests: one team with a user of each role, and an
outsider who is a member of another team only."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from webapp.accounts.models import Membership, Role, Team
from webapp.registry.models import Dataset, Task, Teacher
from webapp.registry.services import dataset_upload, task_create, teacher_register

User = get_user_model()

TRAIN_CSV = b"text,label\nbook a flight to paris,travel\nwhat is my balance,banking\ncheap hotels in rome,travel\n"
TEACHER_REF = "minilm-l6-offline"  # an offline preset installed in the venv


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    # Uploads write files; keep them out of var/test.
    settings.DATA_DIR = tmp_path / "data"
    settings.MODEL_ROOT = tmp_path / "models"


def _user(username: str, team: Team, role: int) -> User:
    user = User.objects.create_user(username=username, password="not-used-here")
    Membership.objects.create(team=team, user=user, role=role)
    return user


@pytest.fixture
def team(db: None) -> Team:
    return Team.objects.create(name="Support")


@pytest.fixture
def other_team(db: None) -> Team:
    return Team.objects.create(name="Elsewhere")


@pytest.fixture
def viewer(team: Team) -> User:
    return _user("vera-viewer", team, Role.VIEWER)


@pytest.fixture
def member(team: Team) -> User:
    return _user("max-member", team, Role.MEMBER)


@pytest.fixture
def admin(team: Team) -> User:
    return _user("ada-admin", team, Role.ADMIN)


@pytest.fixture
def outsider(other_team: Team) -> User:
    return _user("otto-outsider", other_team, Role.ADMIN)


@pytest.fixture
def api() -> Callable[[User | None], APIClient]:
    """api(user) is a client authenticated with the user's API token; api(None) is anonymous."""

    def client_for(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION="Token " + token.key)
        return client

    return client_for


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@pytest.fixture
def task(team: Team, member: User) -> Task:
    return task_create(team=team, user=member, name="Intents", description="Route support mail")


@pytest.fixture
def dataset(task: Task, member: User) -> Dataset:
    return dataset_upload(
        task=task, user=member, file=upload("train.csv", TRAIN_CSV), filename="train.csv", role="train"
    )


@pytest.fixture
def teacher(task: Task, member: User) -> Teacher:
    return teacher_register(task=task, user=member, name="MiniLM", model_ref=TEACHER_REF)


@pytest.fixture
def foreign_task(other_team: Team, outsider: User) -> Task:
    return task_create(team=other_team, user=outsider, name="Their task")


@pytest.fixture
def foreign_dataset(foreign_task: Task, outsider: User) -> Dataset:
    return dataset_upload(
        task=foreign_task, user=outsider, file=upload("theirs.csv", TRAIN_CSV), filename="theirs.csv", role="train"
    )


@pytest.fixture
def foreign_teacher(foreign_task: Task, outsider: User) -> Teacher:
    return teacher_register(task=foreign_task, user=outsider, name="Theirs", model_ref=TEACHER_REF)
