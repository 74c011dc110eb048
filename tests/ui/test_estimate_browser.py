"""In Chromium: the distil form's duration estimate follows its fields, and "quick first try" fills them in."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_estimate_follows_the_sizes_and_epochs_and_the_quick_try_fills_them(
    live_stack, page: Page, member, task, roi_student
) -> None:
    log_in(page, live_stack.url + reverse("student-list", args=[task.pk]), member)
    estimate = page.locator("[data-estimate-text]")
    expect(estimate).to_contain_text("for 3 students: 3 rows × 10 epochs")  # the default sweep, 1,2,3 layers

    page.fill("#distil input[name=layers]", "2")
    page.fill("#distil input[name=epochs]", "4")
    expect(estimate).to_contain_text("Up to about 1 min: 3 rows × 4 epochs")

    page.fill("#distil input[name=layers]", "1,2,3")
    page.click("[data-testid=quick-preset]")
    expect(page.locator("#distil input[name=layers]")).to_have_value("2")
    expect(page.locator("#distil input[name=epochs]")).to_have_value("1")
    expect(estimate).to_contain_text("3 rows × 1 epoch")
    assert "preset=quick" not in page.url  # filled in place, nothing else on the form lost
