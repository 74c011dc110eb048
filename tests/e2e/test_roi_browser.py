"""In Chromium: a member moves the τ slider on the Routing & ROI page and sees the traffic kept and the
breakeven change, computed on the server, with the charts redrawn."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser import PASSWORD
from webapp.accounts.models import Membership

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_moving_the_tau_slider_changes_the_share_and_the_breakeven(live_stack, page: Page, member, task, roi_student):
    member.set_password(PASSWORD)
    member.save()
    assert Membership.objects.filter(user=member, team=task.team).exists()
    page.goto(f"{live_stack.url}/tasks/{task.pk}/roi/")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Routing & ROI")
    expect(page.locator("#roi-results .chart .main-svg").first).to_be_attached()

    page.select_option("select[name=tau_rule]", "manual")
    slider = page.locator("input[name=manual_tau]")
    slider.fill("0.55")
    expect(page.locator("[data-testid=share]")).not_to_have_text("")
    low_share = page.locator("[data-testid=share]").inner_text()
    low_verdict = page.locator("[data-testid=verdict] header").inner_text()

    slider.fill("0.995")
    expect(page.locator("[data-testid=share]")).not_to_have_text(low_share, timeout=15_000)
    high_share = page.locator("[data-testid=share]").inner_text()
    assert float(high_share.rstrip("%")) < float(low_share.rstrip("%"))
    expect(page.locator("[data-testid=verdict] header")).not_to_have_text(low_verdict)
    expect(page.locator("#roi-results .chart .main-svg").first).to_be_attached()  # charts drawn again
    assert "manual_tau=0.995" in page.url  # the URL keeps what is shown, to share or reload
