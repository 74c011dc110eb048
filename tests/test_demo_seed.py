"""`manage.py seed_demo`: safe to run on every start, prints a login that works, and every page showing
its data says the data is synthetic."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from webapp.accounts.models import Membership, Team
from webapp.registry.models import Dataset, Task, Teacher

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", "--no-jobs", stdout=out)  # the demo's jobs: tests/e2e/test_demo_pipeline.py
    return out.getvalue()


@pytest.fixture
def demo_var(tmp_path, monkeypatch):
    monkeypatch.setenv("DISTILLERY_VAR", str(tmp_path))
    monkeypatch.delenv("DISTILLERY_DEMO_PASSWORD", raising=False)
    return tmp_path


def test_it_seeds_the_demo_once_however_often_it_runs(demo_var):
    first, second = seed(), seed()

    assert first == second  # the same login both times
    assert get_user_model().objects.filter(username="admin").count() == 1
    # The admin, and the demo member whose approval request the admin can decide.
    assert Team.objects.get().name == "Demo team" and Membership.objects.count() == 2
    task = Task.objects.get()
    assert sorted(task.datasets.values_list("role", "synthetic")) == [
        ("test", True),
        ("train", True),
        ("validation", True),
    ]
    assert Dataset.objects.count() == 3 and Teacher.objects.filter(task=task).count() == 1
    assert (demo_var / "demo-login.txt").stat().st_mode & 0o777 == 0o600


def test_it_prints_a_login_that_works(demo_var, client):
    username, password = re.fullmatch(r"Demo login: (\S+) / (\S+)\n", seed()).groups()

    assert client.login(username=username, password=password)
    assert (demo_var / "demo-login.txt").read_text().strip() == password


def test_it_marks_synthetic_data_on_every_page_that_shows_it(demo_var, web):
    seed()
    client = web(get_user_model().objects.get(username="admin"))
    task = Task.objects.get()

    data_tab = client.get(reverse("dataset-list", kwargs={"task_id": task.pk})).content.decode()
    assert data_tab.count('<span class="badge synthetic">Synthetic data</span>') == 3
    for dataset in Dataset.objects.all():
        page = client.get(reverse("dataset-detail", kwargs={"dataset_id": dataset.pk})).content.decode()
        assert '<span class="badge synthetic">Synthetic data</span>' in page, dataset
