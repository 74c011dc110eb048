"""In Chromium: a member requests approval of a saved scenario from its report, another approver approves it
with a written reason for each failed gate, the member deploys it and copies the serving key, and the audit
log shows the whole story with its chain intact."""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import log_in
from webapp.approvals.models import Deployment
from webapp.approvals.services import serving_key_digest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_request_approve_deploy_and_audit(live_stack, page: Page, browser: Browser, member, approver,
                                          deployable_scenario, task, tmp_path):  # fmt: skip
    log_in(page, f"{live_stack.url}/scenarios/{deployable_scenario.pk}/", member)
    page.click("#request-approval-form button")
    expect(page.locator("h1")).to_contain_text("Request #")
    expect(page.locator("#waiting")).to_contain_text("nobody decides their own request")
    page.screenshot(path=str(tmp_path / "request.png"), full_page=True)
    request_url = page.url

    approver_context = browser.new_context(viewport={"width": 1280, "height": 900})
    approver_page = approver_context.new_page()
    log_in(approver_page, request_url, approver)
    failed = approver_page.locator("tr.gate-fail")
    assert failed.count() >= 1
    approver_page.check("input[name=outcome][value=approved]")
    approver_page.fill("textarea[name=comment]", "Pilot on the routing queue")
    for box in approver_page.locator("textarea[name^=override_]").all():
        box.fill("Accepted for a two-week pilot with monitoring")
    approver_page.click("#decision-form button")
    expect(approver_page.locator("#decision")).to_contain_text("Approved by april-approver")
    approver_page.screenshot(path=str(tmp_path / "approved.png"), full_page=True)
    approver_context.close()

    page.reload()
    page.fill("input[name=shadow_rate]", "0.1")
    page.click("#deploy-form button")
    expect(page.locator("#new-key")).to_be_visible()
    key = page.locator("#new-key input").input_value()
    deployment = Deployment.objects.get(request__scenario=deployable_scenario)
    assert deployment.key_sha256 == serving_key_digest(key)
    page.screenshot(path=str(tmp_path / "deployed.png"), full_page=True)

    page.goto(f"{live_stack.url}/tasks/{task.pk}/audit/")
    expect(page.locator("#chain-status")).to_contain_text("Chain intact")
    for action in ("request.created", "request.approved", "gate.overridden", "deployment.created"):
        expect(page.locator(f"tr[data-action='{action}']").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "audit.png"), full_page=True)
    page.goto(f"{live_stack.url}/tasks/{task.pk}/approvals/")
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
