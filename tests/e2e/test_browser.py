"""A person in headless Chromium: log in, create a task, upload data, register the teacher, run the
profile job and watch its progress bar reach 100% live."""

import io
import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from plotly.offline import get_plotlyjs_version

from tests.browser import PASSWORD
from tests.factories import evaluation_of
from webapp.accounts.models import Membership, Role, Team
from webapp.registry.demo_data import demo_jsonl
from webapp.registry.services import dataset_upload
from webapp.ui.plotting import GRID_COLOR

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BANKING77 = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "banking77"


@pytest.fixture
def data_files(tmp_path: Path) -> dict[str, Path]:
    """BANKING77 when ../shared is there (as in CI), else the synthetic demo data."""
    if (BANKING77 / "train.jsonl").exists():
        return {"train": BANKING77 / "train.jsonl", "test": BANKING77 / "test.jsonl"}
    files = {}
    for role, seed in (("train", 1), ("test", 2)):
        files[role] = tmp_path / f"{role}.jsonl"
        files[role].write_bytes(demo_jsonl(per_intent=50, seed=seed, pool=role))
    return files


def test_a_member_creates_a_task_uploads_data_and_watches_a_job_finish(
    live_stack, django_user_model, page: Page, data_files, tmp_path
) -> None:
    user = django_user_model.objects.create_user("mia", password=PASSWORD)
    Membership.objects.create(team=Team.objects.create(name="Support"), user=user, role=Role.MEMBER)

    page.goto(live_stack.url + "/")
    page.fill("input[name=username]", "mia")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_text("No tasks yet.")).to_be_visible()

    page.click("text=Create the first task")
    page.fill("input[name=name]", "Ticket routing")
    page.fill("textarea[name=description]", "Route support tickets to intents")
    page.fill("input[name=requests_per_month]", "3000000")
    page.click("text=Save task")
    expect(page.locator("h1")).to_have_text("Data")

    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"text": "fine", "label": "a"}\n{"text": oops}\n')
    page.set_input_files("input[name=file]", str(bad))
    page.click("button:text('Upload')")
    expect(page.locator("#upload .errorlist")).to_contain_text("line 2 is not valid JSON")

    for role, path in data_files.items():
        page.select_option("select[name=role]", role)
        page.set_input_files("input[name=file]", str(path))
        page.click("button:text('Upload')")
        expect(page.locator(".stat .label").first).to_have_text("rows")
        expect(page.locator(".chart[data-figure=labels] .main-svg").first).to_be_attached()
        page.click("nav.tabs >> text=Data")

    page.click("nav.tabs >> text=Teachers")
    expect(page.locator("input[name=model_ref]")).to_have_value("minilm-l6-offline")
    page.click("text=Register teacher")
    expect(page.locator(".flash")).to_contain_text("registered")
    page.click("nav.tabs >> text=Jobs")

    page.click("text=Start profiling")
    expect(page.locator("[data-live-job] [data-field=progress_pct]")).to_have_text("100%", timeout=120_000)
    expect(page.locator("[data-live-job] [data-field=status_badge]")).to_have_text("Succeeded")
    # The page reloads once finished, to show the result rendered on the server.
    expect(page.locator(".chart[data-figure=tokens] .main-svg").first).to_be_attached(timeout=30_000)
    expect(page.get_by_text("rows truncated at 128 tokens")).to_be_visible()


def test_a_member_fine_tunes_distils_a_sweep_and_evaluates_it_from_the_browser(
    live_stack, django_user_model, page: Page, task, teacher
) -> None:
    """Issues 3 and 4 in small: fine-tune the offline teacher, distil a 2-size sweep watching the curves, then
    evaluate all three models and read the tier table, calibration and a student's detail, all in the browser."""
    user = django_user_model.objects.create_user("noor", password=PASSWORD)
    Membership.objects.create(team=task.team, user=user, role=Role.MEMBER)
    for role, per_intent, seed in (("train", 40, 1), ("validation", 10, 3), ("test", 6, 5)):
        dataset_upload(
            task=task,
            user=user,
            file=io.BytesIO(demo_jsonl(per_intent=per_intent, seed=seed, pool=role)),
            filename=f"{role}.jsonl",
            role=role,
        )

    page.goto(live_stack.url + f"/tasks/{task.pk}/teachers/")
    page.fill("input[name=username]", "noor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    # Fine-tune: the job page shows live curves and finishes.
    page.fill("#finetune input[name=epochs]", "1")
    page.fill("#finetune input[name=batch_size]", "16")
    page.click("text=Start fine-tuning")
    curves = page.locator(".chart[data-live-metrics]")
    expect(curves).to_be_attached()
    expect(page.locator("[data-live-job] [data-field=status_badge]")).to_have_text("Succeeded", timeout=180_000)
    page.wait_for_function(
        "document.querySelector('.chart[data-live-metrics]')?.data?.some(t => t.x.some(x => x !== null))"
    )

    # Distil two sizes from the new teacher: a sweep whose children finish.
    page.click("text=Distil students from the new teacher")
    page.fill("#distil input[name=layers]", "1,2")
    page.fill("#distil input[name=epochs]", "1")
    page.fill("#distil input[name=batch_size]", "16")
    # A 1-epoch teacher is below the task's bar: the form says so, and distilling needs a confirmation.
    expect(page.locator("[data-testid=teacher-gates]")).to_contain_text("below the task's bar")
    page.click("text=Start distilling")
    expect(page.locator("#distil")).to_contain_text("Tick 'distil anyway'")
    page.check("#distil input[name=confirm_below_bar]")
    page.click("text=Start distilling")
    expect(page.locator("h1")).to_contain_text("sweep")
    expect(page.locator("[data-live-job] [data-field=status_badge]")).to_have_text("Succeeded", timeout=300_000)
    expect(page.locator("tbody[data-parent-id] tr")).to_have_count(2)

    page.click("nav.tabs >> text=Students")
    page.wait_for_url("**/students/")
    expect(page.locator("table tbody tr")).to_have_count(2)
    expect(page.get_by_text("Layer-truncated copy of the teacher").first).to_be_visible()

    # Issue 4 in small: evaluate the teacher and both students; the tier table fills in without a reload.
    page.click("nav.tabs >> text=Evaluation")
    page.wait_for_url("**/evaluation/")
    page.click("text=Start evaluating")
    expect(page.locator("tbody[data-kinds] tr")).to_have_count(3)
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#tier-table tbody tr")).to_have_count(3, timeout=300_000)
    expect(page.locator("#tier-table tbody tr[data-kind=teacher]")).to_have_count(1)
    assert page.evaluate("window.notReloaded === true"), "the page reloaded instead of updating in place"
    chart = page.locator("#chart-quality_latency")
    expect(chart).to_be_attached()
    page.wait_for_function("document.querySelector('#chart-quality_latency')?.data?.length >= 3")
    expect(page.locator("#tier-table")).to_contain_text("of teacher")

    # Calibration and a student's detail page open from there.
    page.click("text=Calibration: reliability, confidence, risk-coverage")
    page.wait_for_function("document.querySelector('#chart-reliability-0')?.data?.length > 1")
    page.go_back()
    page.locator("#tier-table tbody tr[data-kind=student] td a").first.click()
    expect(page.get_by_text("Worst classes", exact=True)).to_be_visible()


def test_the_evidence_charts_are_drawn_whole_by_the_packaged_plotly_js(
    live_stack, django_user_model, page: Page, task, teacher, student, member
) -> None:
    """Figures built by plotly.py, house template included, draw as sent: nothing is merged in the browser."""
    user = django_user_model.objects.create_user("ines", password=PASSWORD)
    Membership.objects.create(team=task.team, user=user, role=Role.VIEWER)
    rows = demo_jsonl(per_intent=2, seed=4)
    test_set = dataset_upload(task=task, user=member, file=io.BytesIO(rows), filename="t.jsonl", role="test")
    task.refresh_from_db()
    labels = teacher.labels = student.labels = task.labels
    teacher.save(update_fields=["labels"])
    student.save(update_fields=["labels"])
    targets = [labels.index(json.loads(line)["label"]) for line in rows.splitlines()]
    # The teacher is sure and right; the student splits its bets between the right label and the next one.
    confident = [[4.0 if i == t else 0.0 for i in range(len(labels))] for t in targets]
    hesitant = [[1.0 if i in (t, (t + 1) % len(labels)) else 0.0 for i in range(len(labels))] for t in targets]
    evaluation_of(teacher, test_set, logits=confident, targets=targets, speed={"latency_p50_ms": 8.0})
    evaluation_of(student, test_set, logits=hesitant, targets=targets, speed={"latency_p50_ms": 2.0})

    page.goto(live_stack.url + f"/tasks/{task.pk}/evaluation/")
    page.fill("input[name=username]", "ines")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#chart-quality_latency .main-svg").first).to_be_attached()
    assert page.evaluate("Plotly.version") == get_plotlyjs_version()
    drawn = page.evaluate(
        """() => { const l = document.querySelector('#chart-quality_latency')._fullLayout;
                   return [l.font.size, l.paper_bgcolor, l.yaxis.gridcolor, l.shapes.length]; }"""
    )
    assert drawn == [13, "rgba(0, 0, 0, 0)", GRID_COLOR, 1]  # the house template, and the quality bar

    page.click("text=Calibration: reliability, confidence, risk-coverage")
    expect(page.locator("#chart-risk-0 .main-svg").first).to_be_attached()
    expect(page.locator(".chart .plot-container")).to_have_count(3)  # reliability, confidence, risk-coverage
    expect(page.locator(".chart-failed")).to_have_count(0)
