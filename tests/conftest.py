"""Owner / teammate / outsider fixtures: one team with a user of each role, and an outsider who is
an admin of another team only. Objects of the other team are `foreign_*`."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import TEACHER_REF, TRAIN_CSV, evaluation_of, upload
from webapp.accounts.models import Membership, Role, Team
from webapp.jobs.models import Job
from webapp.jobs.services import profile_job_start
from webapp.registry.models import Dataset, Student, Task, Teacher
from webapp.registry.services import dataset_upload, task_create, teacher_register

User = get_user_model()


@pytest.fixture(scope="session")
def storage_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One data folder and model root for the whole run, shared with the live stack's processes."""
    root = tmp_path_factory.mktemp("storage")
    return {"data": root / "data", "models": root / "models"}


@pytest.fixture(autouse=True)
def _live_worker_idle_before_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests on the live stack end only once its worker is idle: see LiveStack.wait_until_idle. The
    database fixture is requested first so that this teardown runs before its flush."""
    if "live_stack" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    stack = request.getfixturevalue("live_stack")
    yield
    stack.wait_until_idle()


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, storage_dirs: dict[str, Path]) -> None:
    settings.DATA_DIR = storage_dirs["data"]
    settings.MODEL_ROOT = storage_dirs["models"]
    storage_dirs["models"].mkdir(parents=True, exist_ok=True)


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


@pytest.fixture
def foreign_job(foreign_task: Task, foreign_dataset: Dataset, foreign_teacher: Teacher, outsider: User) -> Job:
    return profile_job_start(task=foreign_task, dataset=foreign_dataset, teacher=foreign_teacher, user=outsider)


@pytest.fixture
def job(task: Task, dataset: Dataset, teacher: Teacher, member: User) -> Job:
    return profile_job_start(task=task, dataset=dataset, teacher=teacher, user=member)


@pytest.fixture
def web(client: Client) -> Callable[[User | None], Client]:
    """web(user) is a browser-like test client logged in as the user; web(None) is anonymous."""

    def client_for(user: User | None) -> Client:
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return client_for


# The live stack (Daphne + a real Celery worker) for end-to-end tests: see tests/live.py.
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


from tests.browser import browser, page  # noqa: E402,F401
from tests.live import live_stack  # noqa: E402,F401
from tests.populated import populated  # noqa: E402,F401
from tests.roi import roi_scenario, roi_student, self_hosted_teacher  # noqa: E402,F401


@pytest.fixture
def student(task: Task, teacher: Teacher) -> Student:
    """A student row as a distil job registers it (no artifact needed for permission tests)."""
    return Student.objects.create(
        task=task, teacher=teacher, name="2-layer student", construction=Student.Construction.TRUNCATED, layers=2,
        labels=["banking", "travel"], artifact="./distillery/none",
    )  # fmt: skip


@pytest.fixture
def evaluation(task: Task, teacher: Teacher, dataset: Dataset):
    """The teacher's evaluation on the 3-row train set: 2 of 3 right (rows: travel, banking, travel)."""
    teacher.labels = ["banking", "travel"]
    teacher.save(update_fields=["labels"])
    return evaluation_of(teacher, dataset, logits=[[0.0, 2.0], [1.5, 0.0], [1.0, 0.0]], targets=[1, 0, 1])


from tests.deployable import (  # noqa: E402,F401
    approval_request,
    approved_request,
    approver,
    deployable_scenario,
    deployable_student,
    deployment_and_key,
)
from tests.serving_process import serving  # noqa: E402,F401
