"""Live pages in Chromium stay put: a list that shows only the newest jobs does not reload for older ones."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser import PASSWORD
from webapp.jobs.models import Job

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_overview_with_more_jobs_than_it_lists_loads_once(live_stack, page: Page, member, task) -> None:
    member.set_password(PASSWORD)
    member.save()
    for _ in range(8):  # more than the overview's five; not sent anywhere, they just exist
        Job.objects.create(task=task, kind=Job.Kind.PROFILE_DATASET, status=Job.Status.SUCCEEDED)
    page.goto(f"{live_stack.url}/tasks/{task.pk}/")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text(task.name)
    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    page.wait_for_timeout(3000)  # the socket's snapshot (all eight jobs) has long arrived by now
    assert loads == []
