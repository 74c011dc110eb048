"""The job page shows what the job's kind produces: training curves only for jobs that train."""

import pytest
from django.urls import reverse

from webapp.jobs.models import Job

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "has_curves"), [("evaluate", False), ("profile_dataset", False), ("distill_student", True)]
)
def test_only_training_jobs_show_training_curves(web, member, task, kind, has_curves) -> None:
    job = Job.objects.create(task=task, kind=kind, params={})
    page = web(member).get(reverse("job-detail", args=[job.pk])).content.decode()
    assert ("data-live-metrics" in page) is has_curves
