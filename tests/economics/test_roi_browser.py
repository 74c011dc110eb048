"""In Chromium: the Routing & ROI page's τ slider readout follows the slider."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_tau_readout_follows_the_slider(live_stack, page: Page, member, task, roi_student) -> None:
    log_in(page, live_stack.url + reverse("roi", args=[task.pk]) + f"?student={roi_student.pk}&tau_rule=manual", member)
    readout = page.locator("#manual-tau-value")
    expect(readout).to_have_text("0.9")
    page.locator("input[name=manual_tau]").fill("0.75")
    expect(readout).to_have_text("0.75")


def test_the_form_shows_only_the_teacher_inputs_its_pricing_uses(live_stack, page: Page, member, task, roi_student):
    log_in(page, live_stack.url + reverse("roi", args=[task.pk]) + f"?student={roi_student.pk}&tau_rule=manual", member)
    page.locator("details.form-group summary").first.click()
    tokens, host_hour = (
        page.locator("input[name=input_tokens_per_request]"),
        page.locator("input[name=teacher_usd_per_host_hour]"),
    )
    expect(tokens).to_be_visible()
    expect(host_hour).to_be_hidden()
    page.select_option("select[name=teacher_pricing]", "self_hosted")
    expect(tokens).to_be_hidden()
    expect(page.locator("input[name=teacher_usd_per_million_input_tokens]")).to_be_hidden()
    expect(host_hour).to_be_visible()
    expect(page.locator("select[name=teacher_host_kind]")).to_be_visible()
