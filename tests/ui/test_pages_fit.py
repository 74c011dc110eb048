"""Every page of a populated task at 1280 px in Chromium: nothing that carries key figures (tables and their
cells, stat boxes, charts, form controls and buttons) reaches past the viewport's right edge, and no page logs a
console error. A full-page screenshot of each lands in the test's tmp dir, to look at.

A table wider than its box would still "fit" the page inside `.table-wrap` (it scrolls sideways), but the
columns past the edge are what a reader misses, so cells are measured too. The only exceptions are containers
marked `data-scrolls="intentional"` (none today): a page that means a box to scroll says so in its template.

1280 px is the narrow end of the 1280-1440 px laptops the pages are made for; Pico's container is 1,200 px wide
across that whole range, so what fits at 1280 fits at 1440."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from tests.browser import PASSWORD
from tests.populated import Populated
from webapp.evaluation.models import Evaluation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTH = 1280
KEY_ELEMENTS = "table, th, td, .stat, .chart, button, [role=button], input, select, textarea, progress"

# Returns what reaches past the right edge of the viewport, or of a box that scrolls or clips it sideways
# (a table in a half-width card scrolls inside its .table-wrap: its last columns are as hidden as off-screen
# ones): [{what, right}]. Elements inside closed <details> have no box.
OVERFLOWING = """([selector, width]) => {
  const describe = (el) => {
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ');
    const id = el.id ? '#' + el.id : '';
    return `<${el.tagName.toLowerCase()}${id} class="${el.className}"> ${text.slice(0, 60)}`;
  };
  const clippingRight = (el) => {
    let right = width;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') right = Math.min(right, up.getBoundingClientRect().right);
    }
    return right;
  };
  const found = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.closest('[data-scrolls="intentional"]')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const edge = clippingRight(el);
    if (box.right > edge + 0.5) found.push({what: describe(el), right: Math.round(box.right), edge: Math.round(edge)});
  }
  if (document.documentElement.scrollWidth > width) {
    found.push({what: 'the page itself scrolls sideways', right: document.documentElement.scrollWidth});
  }
  return found;
}"""

# Charts draw after load (plotly.js, deferred): wait until each is drawn or has said it failed.
CHARTS_DRAWN = """() => [...document.querySelectorAll('.chart[data-figure]')].every(
  (el) => el.querySelector('.main-svg') || el.classList.contains('chart-failed'))"""


@dataclass
class Visit:
    name: str
    path: str


def visits(p: Populated) -> list[Visit]:
    task = p.task.pk
    evaluation = Evaluation.objects.filter(student=p.students[0], dataset=p.datasets["ood"]).get()
    return [
        Visit("tasks", reverse("task-list")),
        Visit("overview", reverse("task-detail", args=[task])),
        Visit("data", reverse("dataset-list", args=[task])),
        Visit("dataset", reverse("dataset-detail", args=[p.datasets["train"].pk])),
        Visit("labels", reverse("task-labels", args=[task])),
        Visit("teachers", reverse("teacher-list", args=[task])),
        Visit("students", reverse("student-list", args=[task])),
        Visit("evaluation", reverse("evaluation-overview", args=[task])),
        Visit("calibration", reverse("evaluation-calibration", args=[task])),
        Visit("evaluation-detail", reverse("evaluation-detail", args=[evaluation.pk])),
        Visit("roi", reverse("roi", args=[task])),
        Visit("scenarios", reverse("scenario-list", args=[task])),
        Visit("scenario-report", reverse("scenario-detail", args=[p.scenario.pk])),
        Visit("jobs", reverse("job-list", args=[task])),
        Visit("job-finetune", reverse("job-detail", args=[p.jobs["finetune"].pk])),
        Visit("job-sweep", reverse("job-detail", args=[p.jobs["sweep"].pk])),
        Visit("job-profile", reverse("job-detail", args=[p.jobs["profile"].pk])),
        Visit("job-evaluate", reverse("job-detail", args=[p.jobs["evaluate"].pk])),
        Visit("job-distil", reverse("job-detail", args=[p.jobs["distil"].pk])),
        Visit("job-running", reverse("job-detail", args=[p.jobs["running"].pk])),
        Visit("task-edit", reverse("task-edit", args=[task])),
        Visit("teams", reverse("team-list")),
        Visit("team-members", reverse("team-members", args=[p.task.team_id])),
        Visit("api-token", reverse("api-token")),
    ]


def test_every_page_of_a_populated_task_fits_1280_px_without_console_errors(
    live_stack, page: Page, admin, populated: Populated, tmp_path: Path
) -> None:
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    admin.set_password(PASSWORD)
    admin.save()
    page.set_viewport_size({"width": WIDTH, "height": 900})
    page.goto(live_stack.url + reverse("login"))
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    problems: dict[str, list[dict]] = {}
    for visit in visits(populated):
        response = page.goto(live_stack.url + visit.path)
        assert response is not None and response.status == 200, f"{visit.name}: HTTP {response and response.status}"
        page.wait_for_function(CHARTS_DRAWN)
        page.screenshot(path=str(tmp_path / f"{visit.name}.png"), full_page=True)
        overflowing = page.evaluate(OVERFLOWING, [KEY_ELEMENTS, WIDTH])
        if overflowing:
            problems[visit.name] = overflowing
        if visit.name == "job-running":
            # Before its first curve point the chart already says which line is which, and the time left is
            # withheld until the rate is measured.
            assert page.locator(".chart[data-live-metrics] .legend .traces").count() == 3
            assert page.locator("[data-field=eta]").inner_text() == "· estimating time left…"

    report = "\n".join(
        f"{name}: {len(found)} past the edge, e.g. "
        + "; ".join(f"{f['what']} (right {f['right']} > {f.get('edge', WIDTH)})" for f in found[:4])
        for name, found in problems.items()
    )
    assert not problems, f"screenshots in {tmp_path}\n{report}"
    assert not console_errors, console_errors
