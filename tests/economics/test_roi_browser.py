"""In Chromium: the Routing & ROI page's τ slider readout follows the slider."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_tau_readout_follows_the_slider(live_stack, page: Page, member, task, roi_student) -> None:
    member.set_password(PASSWORD)
    member.save()
    page.goto(live_stack.url + reverse("roi", args=[task.pk]) + f"?student={roi_student.pk}&tau_rule=manual")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    readout = page.locator("#manual-tau-value")
    expect(readout).to_have_text("0.9")
    page.locator("input[name=manual_tau]").fill("0.75")
    expect(readout).to_have_text("0.75")
