"""The report in a real Chromium: the PDF export printed by headless Chromium after its charts have drawn, a
share link opened by someone without an account, and the HTML export opened with the network cut off."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, Route, expect

from webapp.economics.models import Scenario
from webapp.economics.services import assumptions_from, scenario_save, share_link_create

pytestmark = pytest.mark.e2e

CHARTS = 5


@pytest.fixture
def scenario(task, member, roi_student) -> Scenario:
    values = {"tau_rule": "manual", "manual_tau": 0.8, "requests_per_month": 5_000_000}
    return scenario_save(
        task=task, student=roi_student, user=member, name="Base case", assumptions=assumptions_from(values, task=task)
    )


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    assert shutil.which("pdftotext"), "pdftotext (Debian's poppler-utils, installed by scripts/install.sh) is needed"
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout


@pytest.mark.django_db
def test_the_pdf_export_opens_and_says_the_verdict_with_its_charts_drawn(web, viewer, scenario, tmp_path) -> None:
    response = web(viewer).get(reverse("scenario-export-pdf", args=[scenario.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="base-case-v1-report.pdf"'
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf, tmp_path)
    assert "Pays off" in text and "Breakeven" in text and "4.5 months" in text
    # Axis titles exist only inside the drawn charts: the page was printed after plotly.js rendered them.
    for axis in ("months from the switch", "share of traffic the student keeps (%)", "monthly savings ($/month)"):
        assert axis in text, axis


@pytest.mark.django_db(transaction=True)
def test_a_stakeholder_reads_a_shared_report_and_its_offline_export(
    live_stack, page: Page, member, scenario, tmp_path
) -> None:
    _, token = share_link_create(scenario=scenario, user=member, days=7)
    page.goto(f"{live_stack.url}/r/{token}/")  # no login
    expect(page.locator("#verdict h2")).to_have_text("Pays off")
    expect(page.locator(".chart.js-plotly-plot .main-svg").first).to_be_attached()
    expect(page.locator(".chart.js-plotly-plot")).to_have_count(CHARTS)  # plotly.js drew every chart
    expect(page.locator("#share-form")).to_have_count(0)

    with page.expect_download() as download:
        page.click("text=Download HTML")
    export = tmp_path / "report.html"
    download.value.save_as(export)

    # Offline: every request leaving the file is refused; the charts still draw from the inlined plotly.js.
    offline = page.context.browser.new_context()
    fetched: list[str] = []

    def refuse(route: Route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            fetched.append(route.request.url)
            route.abort()

    offline.route("**/*", refuse)
    opened = offline.new_page()
    opened.goto(export.as_uri())
    expect(opened.locator("#verdict h2")).to_have_text("Pays off")
    expect(opened.locator(".chart.js-plotly-plot")).to_have_count(CHARTS)
    offline.close()
    assert fetched == []
