"""The demo a new user sees on first `make run`, produced by real jobs on a real worker: a fine-tuned teacher,
a student sweep, an int8 variant, evaluations in and out of distribution, a saved scenario with a share link,
and an approval request the demo admin can decide."""

import io
import time

import pytest
from django.core.management import call_command

from webapp.approvals.models import ApprovalRequest
from webapp.demo.models import DemoRun
from webapp.economics.models import Scenario, ShareLink
from webapp.evaluation.models import Evaluation
from webapp.registry.models import Dataset, Student, Teacher

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DEMO_MINUTES = 20  # a generous bound for a loaded 2-core CI machine; it takes a few minutes alone


def _wait_for_demo(live_stack) -> DemoRun:
    deadline = time.monotonic() + DEMO_MINUTES * 60
    while time.monotonic() < deadline:
        run = DemoRun.objects.select_related("job").get()
        if run.finished_at is not None or run.failed:
            return run
        time.sleep(2)
    raise AssertionError(f"The demo did not finish in {DEMO_MINUTES} minutes: {run.message}\n{live_stack.logs()}")


def test_make_run_produces_the_whole_demo_with_real_jobs(live_stack, tmp_path, monkeypatch, web):
    monkeypatch.setenv("DISTILLERY_VAR", str(tmp_path))
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    run = _wait_for_demo(live_stack)
    assert not run.failed, run.message
    task = run.task
    teacher = Teacher.objects.get(task=task, origin=Teacher.Origin.FINE_TUNED)
    students = (
        Student.objects.filter(task=task, teacher=teacher)
        .exclude(construction=Student.Construction.QUANTIZED)
        .order_by("layers")
    )
    assert [s.layers for s in students] == [1, 2]
    best = max(students, key=lambda s: (s.metrics["val_accuracy"], s.layers))  # the demo follows the evidence
    assert Student.objects.filter(parent=best, construction=Student.Construction.QUANTIZED).exists()
    ood = Dataset.objects.get(task=task, role=Dataset.Role.OOD)
    assert ood.synthetic
    for model in (teacher, *students):
        field = "teacher" if isinstance(model, Teacher) else "student"
        roles = set(Evaluation.objects.filter(**{field: model}).values_list("dataset_role", flat=True))
        assert {"validation", "test", "ood"} <= roles, (model, roles)
    scenario = Scenario.objects.get(task=task)
    assert ShareLink.objects.filter(scenario=scenario).exists()
    request = ApprovalRequest.objects.get(scenario=scenario)
    assert request.state == "pending" and request.requested_by.username == "sam-demo-member"

    # A second `make run` reuses everything; the admin can open the request and decide it.
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    assert Scenario.objects.count() == 1 and ApprovalRequest.objects.count() == 1
    page = web(run.admin).get(f"/approval-requests/{request.pk}/").content.decode()
    assert 'id="decision-form"' in page and "Demo task." in page
