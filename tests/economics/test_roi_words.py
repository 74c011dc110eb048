"""The Routing & ROI page and the stakeholder report speak plainly and truthfully: no internal names, only the
inputs the chosen pricing used, every input's origin (defaults said to be defaults), narrative derived from the
measured numbers, and an explicit host kind for self-hosted prices."""

import html
import json
import re

import pytest
from django.urls import reverse

from tests.factories import evaluation_of
from tests.roi import LABELS, _rows, _upload
from webapp.economics.labels import INTERNAL_NAMES
from webapp.economics.report import report_charts
from webapp.economics.services import assumptions_from, scenario_compute, scenario_save

pytestmark = pytest.mark.django_db

BY_HAND = {"tau_rule": "manual", "manual_tau": 0.8}


def visible(response) -> str:
    """What a reader sees: the page without its scripts, styles and tags."""
    content = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content)).split())


def internal_names_in(text: str) -> set[str]:
    return {name for name in INTERNAL_NAMES if re.search(rf"(?<![\w/.-]){re.escape(name)}(?![\w/.-])", text)}


def roi_page(client, task, student, **values):
    return client.get(reverse("roi", args=[task.pk]), {"student": student.pk} | values)


def save(task, student, user, name="Scenario", **values):
    return scenario_save(
        task=task, student=student, user=user, name=name, assumptions=assumptions_from(values, task=task)
    )


def report(client, scenario) -> str:
    return visible(client.get(reverse("scenario-detail", args=[scenario.pk])))


@pytest.fixture
def confidently_wrong_ood(task, member, roi_student):
    """An out-of-distribution set the student is sure about and gets wrong: every row above any τ, none right."""
    rows = _rows(200, 9)
    dataset = _upload(task, member, rows, "shifted.jsonl", "ood")
    targets = [LABELS.index(r["label"]) for r in rows]
    wrong = [[0.0, 8.0] if t == 0 else [8.0, 0.0] for t in targets]
    right = [[8.0, 0.0] if t == 0 else [0.0, 8.0] for t in targets]
    evaluation_of(roi_student, dataset, logits=wrong, targets=targets, teacher_logits=right)
    return dataset


# --- 1. no internal names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["cascade", "upfront_routing"])
def test_no_internal_name_is_shown_on_the_roi_page_or_in_the_report(web, member, populated, mode):
    task, student = populated.task, populated.students[0]
    client = web(member)
    values = BY_HAND | {"mode": mode, "tau_rule": "quality_bar"}
    page = visible(roi_page(client, task, student, **values))
    assert "Breaks even in" in page or "Never breaks even" in page
    scenario = save(task, student, member, **values)
    shown = report(client, scenario)
    assert "Assumptions" in shown
    assert internal_names_in(page) == set()
    assert internal_names_in(shown) == set()
    # The charts' legends, titles and labels are read too.
    for chart in report_charts(scenario.figures):
        words = " ".join(re.findall(r'"(?:name|text)": "([^"]*)"', json.dumps(chart.figure, default=str)))
        assert internal_names_in(words) == set(), chart.id


def test_a_self_hosted_teachers_report_shows_no_internal_names(web, member, task, roi_student, self_hosted_teacher):
    scenario = save(task, roi_student, member, **BY_HAND)
    shown = report(web(member), scenario)
    assert "self-hosted at its measured throughput" in shown
    assert internal_names_in(shown) == set()
    page = visible(roi_page(web(member), task, roi_student, **BY_HAND))
    assert internal_names_in(page) == set()


def test_the_check_for_internal_names_finds_them():
    assert internal_names_in("Serving mode keep_teacher, pricing self_hosted, rule quality_bar, on cuda") == {
        "keep_teacher",
        "self_hosted",
        "quality_bar",
        "cuda",
    }
    assert internal_names_in("price it per token (an API); upfront routing; out-of-distribution") == set()


# --- 2. only the inputs the pricing used -------------------------------------------------------------------------


def test_a_self_hosted_teacher_lists_no_token_prices_nor_tokens(web, member, task, roi_student, self_hosted_teacher):
    scenario = save(task, roi_student, member, **BY_HAND)
    shown = report(web(member), scenario)
    assumptions = shown[shown.index("Assumptions") :]
    for label in ("Teacher $ per 1M input tokens", "Teacher $ per 1M output tokens", "Input tokens per request"):
        assert label not in assumptions, label
    assert "Teacher $ per host-hour" in assumptions and "Teacher host kind" in assumptions
    page = roi_page(web(member), task, roi_student, **BY_HAND)
    results = visible(page)
    assert "per 1M input tokens" not in results[results.index("What it costs") :]
    # The form keeps them (switching back to an API needs them) but in the group its CSS hides for this pricing.
    form = page.content.decode()
    for name in ("teacher_usd_per_million_input_tokens", "input_tokens_per_request"):
        before = form[: form.index(f'name="{name}"')]
        assert before.rindex('<div class="grid" data-pricing="api">') > before.rindex("</div>"), name


def test_an_api_priced_teacher_lists_no_host_hours_and_only_the_device_kinds_used(web, member, task, roi_student):
    scenario = save(task, roi_student, member, **BY_HAND)
    shown = report(web(member), scenario)
    assumptions = shown[shown.index("Assumptions") :]
    for label in ("Teacher $ per host-hour", "Teacher hosts", "Teacher host kind"):
        assert label not in assumptions, label
    assert "Teacher $ per 1M input tokens" in assumptions
    # The jobs ran on CPUs only: the GPU and MPS default prices priced nothing, so they are not listed.
    assert "Training $ per device-hour CPU: 0.1" in assumptions
    assert "CUDA" not in shown and "MPS" not in shown


def test_tau_by_hand_is_listed_only_when_it_chose_tau(web, member, task, roi_student):
    by_hand = report(web(member), save(task, roi_student, member, "A", **BY_HAND))
    assert "τ set by hand 0.8" in by_hand
    bar = report(web(member), save(task, roi_student, member, "B", tau_rule="quality_bar"))
    assert "τ set by hand" not in bar[bar.index("Assumptions") :]


# --- 3. provenance -----------------------------------------------------------------------------------------------


def test_defaults_nobody_entered_are_called_defaults_and_listed(web, member, task, roi_student):
    scenario = save(task, roi_student, member, **BY_HAND, requests_per_month=5_000_000)
    shown = report(web(member), scenario)
    assert "40 hours (default, not entered) at $100/hour (default, not entered)" in shown
    assert "Requests per month 5,000,000 entered by max-member" in shown
    assert "Engineering hours 40 entered" not in shown
    defaults = shown[shown.index("Defaults this report relies on") :]
    assert "Engineering hours: 40" in defaults and "Engineering $ per hour: 100" in defaults
    assert "Training $ per device-hour: CPU: 0.1" in defaults
    assert "Requests per month" not in defaults
    # What the user did enter is not called a default.
    entered = save(task, roi_student, member, "Entered", **BY_HAND, engineering_hours=80)
    shown = report(web(member), entered)
    assert "80 hours (entered by max-member) at $100/hour (default, not entered)" in shown
    assert "Engineering hours: 80" not in shown


def test_the_task_and_teacher_settings_are_named_as_the_origin(web, member, task, roi_student, self_hosted_teacher):
    shown = report(web(member), save(task, roi_student, member, **BY_HAND))
    assert "Teacher $ per host-hour 3 from the teacher's registered cost profile" in shown
    assert "Requests per month 1,000,000 from the task's settings" in shown


def test_the_roi_page_says_which_inputs_are_defaults(web, member, task, roi_student):
    page = visible(roi_page(web(member), task, roi_student, **BY_HAND, engineering_hours=10))
    assert "10 hours, entered, at $100/hour, default, not entered" in page
    defaults = page[page.index("Defaults in use, not entered by anyone") :]
    assert "Engineering $ per hour 100" in defaults and "Engineering hours" not in defaults.split(".")[0]


def test_the_training_compute_names_each_jobs_day_and_device(web, member, task, roi_student):
    scenario = save(task, roi_student, member, **BY_HAND)
    computes = scenario.figures["evidence"]["compute"]
    assert len(computes) == 2 and all(re.fullmatch(r"\d{4}-\d\d-\d\d", c["when"]) for c in computes)
    shown = report(web(member), scenario)
    page = visible(roi_page(web(member), task, roi_student, **BY_HAND))
    for c in computes:
        assert f"job {c['job_id']} ({c['what']}, ran {c['when']}): {c['device_seconds'] / 3600:.2f} hours on CPU" in (
            shown
        )
        assert f"job {c['job_id']} {c['what'].lower()}, ran {c['when']}, {c['device_seconds']:,.0f} seconds on CPU" in (
            page
        )


# --- 4. narrative derived from the data --------------------------------------------------------------------------


def test_a_confidently_wrong_ood_set_is_reported_as_unprotected(web, member, task, roi_student, confidently_wrong_ood):
    scenario = save(task, roi_student, member, **BY_HAND)
    shown = report(web(member), scenario)
    assert "The threshold does NOT protect against this shift" in shown
    assert "the student kept 100.0% of requests" in shown and "answered 0.0% of those it kept correctly" in shown
    assert "escalate" not in shown[shown.index("The threshold does NOT") : shown.index("Charts")].split("instead")[1]
    assert "usually becomes less confident" not in shown
    page = visible(roi_page(web(member), task, roi_student, **BY_HAND))
    assert "The threshold does NOT protect against this shift" in page


def test_without_an_ood_set_the_report_claims_nothing_about_drift(web, member, task, roi_student):
    shown = report(web(member), save(task, roi_student, member, **BY_HAND))
    assert "No out-of-distribution set was evaluated" in shown
    assert "escalate to the teacher, which protects quality" not in shown


def test_the_advice_fits_a_self_hosted_teacher(web, member, task, roi_student, self_hosted_teacher):
    never = {"student_fixed_usd_per_month": 1_000_000} | BY_HAND
    scenario = save(task, roi_student, member, **never)
    assert scenario.verdict == "never"
    for shown in (report(web(member), scenario), visible(roi_page(web(member), task, roi_student, **never))):
        assert "quantizing the teacher" in shown and "a smaller or cheaper GPU" in shown
        assert "API tier" not in shown and "better prompts" not in shown


def test_an_api_teachers_advice_still_names_api_alternatives(web, member, task, roi_student):
    scenario = save(task, roi_student, member, student_fixed_usd_per_month=1_000_000, **BY_HAND)
    shown = report(web(member), scenario)
    assert "a cheaper API tier" in shown and "quantizing the teacher" not in shown


def test_upfront_routing_says_modelled_once_and_explains_its_quality(web, member, task, roi_student):
    values = BY_HAND | {"mode": "upfront_routing", "router_accuracy": 0.9}
    page = visible(roi_page(web(member), task, roi_student, **values))
    assert "Modelled, not measured: Modelled" not in page
    paragraph = page[page.index("Modelled, not measured") : page.index("What it costs")]
    assert paragraph.count("Modelled, not measured") == 1
    explained = "is modelled from the stated router accuracy of 90.0% applied to the validation predictions"
    assert explained in paragraph
    shown = report(web(member), save(task, roi_student, member, **values))
    assert explained in shown


# --- 5. the host kind --------------------------------------------------------------------------------------------


def test_the_host_kind_defaults_to_the_kind_it_was_timed_on(task, roi_student):
    figures = scenario_compute(task=task, student=roi_student, assumptions=assumptions_from(BY_HAND, task=task))
    assert figures["costs"]["student_host_kind"] == "cpu" and figures["costs"]["student_warning"] == ""
    assert figures["provenance"]["student_host_kind"] == "default"


def test_a_gpu_host_for_a_cpu_timed_student_is_flagged_stored_and_reported(web, member, task, roi_student):
    values = BY_HAND | {"student_host_kind": "gpu", "student_usd_per_host_hour": 2.5}
    page = roi_page(web(member), task, roi_student, **values)
    assert 'data-testid="student-warning"' in page.content.decode()
    assert "the student's throughput was measured on CPU, priced as a GPU host" in visible(page)
    scenario = save(task, roi_student, member, **values)
    assert scenario.assumptions["student_host_kind"] == "gpu"
    shown = report(web(member), scenario)
    assert "Student host kind GPU entered by max-member" in shown
    assert "the student's throughput was measured on CPU, priced as a GPU host" in shown


def test_a_teacher_registered_at_a_gpu_price_is_a_gpu_host_until_told_otherwise(
    web, member, task, roi_student, self_hosted_teacher
):
    flagged = scenario_compute(task=task, student=roi_student, assumptions=assumptions_from(BY_HAND, task=task))
    assert flagged["costs"]["teacher_host_kind"] == "gpu" and flagged["costs"]["teacher_warning"]
    values = BY_HAND | {"teacher_host_kind": "cpu", "teacher_usd_per_host_hour": 0.2}
    cpu = scenario_compute(task=task, student=roi_student, assumptions=assumptions_from(values, task=task))
    assert cpu["costs"]["teacher_host_kind"] == "cpu" and cpu["costs"]["teacher_warning"] == ""
    page = roi_page(web(member), task, roi_student, **values).content.decode()
    assert 'data-testid="teacher-warning"' not in page
    assert re.search(r'<select name="teacher_host_kind"[^>]*>.*<option value="cpu" selected>', page, flags=re.S)
    shown = report(web(member), save(task, roi_student, member, **values))
    assert "Teacher host kind CPU entered by max-member" in shown


def test_an_unknown_host_kind_is_refused_by_its_label(task, roi_student):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Student host kind must be one of"):
        scenario_compute(
            task=task,
            student=roi_student,
            assumptions=assumptions_from(BY_HAND | {"student_host_kind": "tpu"}, task=task),
        )
