"""The whole sign-off story in Chromium, on a student and teacher really trained on BANKING77: a member asks
for approval of the cascade from the scenario's report, another approver approves it against the gates (a
written reason for each failed one), the member deploys it and copies the serving key; the serving process
answers traffic of held-out intents (BANKING77's out-of-scope split), the monitoring page raises a drift alert
with its monthly $ impact, and the audit log holds the whole story with its chain intact."""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.banking_tiny import TinyBanking, banking_scenario, tiny_banking  # noqa: F401
from tests.browser import log_in
from webapp.approvals.models import Deployment, ServedDecision

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
BATCH = 32


def test_request_approve_deploy_serve_and_see_drift(
    live_stack,
    serving,
    page: Page,
    browser: Browser,
    tiny_banking: TinyBanking,  # noqa: F811
    team,
    member,
    approver,
    tmp_path,
) -> None:
    scenario = banking_scenario(tiny_banking, team=team, member=member)
    log_in(page, f"{live_stack.url}/scenarios/{scenario.pk}/", member)
    page.click("#request-approval-form button")
    expect(page.locator("#waiting")).to_be_visible()
    request_url = page.url

    approver_context = browser.new_context(viewport={"width": 1280, "height": 900})
    approver_page = approver_context.new_page()
    log_in(approver_page, request_url, approver)
    approver_page.check("input[name=outcome][value=approved]")
    approver_page.fill("textarea[name=comment]", "Pilot on BANKING77 traffic")
    for box in approver_page.locator("textarea[name^=override_]").all():
        box.fill("A tiny pilot model: accepted for the acceptance test")
    approver_page.click("#decision-form button")
    expect(approver_page.locator("#decision")).to_contain_text("Approved by april-approver")
    approver_context.close()

    page.reload()
    page.fill("input[name=shadow_rate]", "0")
    page.click("#deploy-form button")
    key = page.locator("#new-key input").input_value()
    deployment = Deployment.objects.get(request__scenario=scenario)

    # Traffic of the 27 intents the models never saw: the student should keep much less than validation's 70%.
    texts = [row["text"] for row in tiny_banking.sets["oos_test"].rows]
    tiers = []
    for start in range(0, len(texts), BATCH):
        reply = serving.predict(deployment.pk, {"texts": texts[start : start + BATCH]}, key=key)
        assert reply.status == 200, reply
        tiers += [answer["tier"] for answer in reply.body["predictions"]]
    assert ServedDecision.objects.filter(deployment=deployment).count() == len(texts)
    assert tiers.count("student") / len(tiers) < 0.6

    page.goto(f"{live_stack.url}/deployments/{deployment.pk}/monitoring/")
    alert = page.locator("article.monitoring-alert[data-signal=coverage]")
    expect(alert).to_be_visible()
    expect(alert.locator(".impact")).to_contain_text("$")
    page.screenshot(path=str(tmp_path / "monitoring.png"), full_page=True)

    page.goto(f"{live_stack.url}/tasks/{deployment.task_id}/audit/")
    expect(page.locator("#chain-status")).to_contain_text("Chain intact")
    for action in ("request.created", "request.approved", "deployment.created", "monitoring.alert"):
        expect(page.locator(f"tr[data-action='{action}']").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "audit.png"), full_page=True)
