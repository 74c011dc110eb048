"""Defects a new user found on the Routing & ROI page and in the stakeholder report."""

import html
import re

import pytest

from webapp.economics.services import assumptions_from, scenario_compute, scenario_save

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_a_gpu_price_on_a_cpu_timing_is_flagged_on_the_page_and_in_the_report(
    web, member, task, roi_student, self_hosted_teacher
):
    values = {"tau_rule": "manual", "manual_tau": 0.8}
    figures = scenario_compute(task=task, student=roi_student, assumptions=assumptions_from(values, task=task))
    assert figures["assumptions"]["teacher_pricing"] == "self_hosted"
    assert "measured on CPU, priced as a GPU host" in figures["costs"]["teacher_warning"]
    page = text(web(member).get(f"/tasks/{task.pk}/roi/", {"student": roi_student.pk} | values))
    assert "measured on CPU, priced as a GPU host" in page
    scenario = scenario_save(
        task=task, student=roi_student, user=member, name="GPU", assumptions=assumptions_from(values, task=task)
    )
    report = text(web(member).get(f"/scenarios/{scenario.pk}/"))
    assert "measured on CPU, priced as a GPU host" in report


def test_an_api_priced_teacher_has_no_device_warning(task, roi_student):
    values = {"tau_rule": "manual", "manual_tau": 0.8}
    figures = scenario_compute(task=task, student=roi_student, assumptions=assumptions_from(values, task=task))
    assert figures["costs"]["teacher_warning"] == ""


@pytest.mark.parametrize("mode", ["cascade", "upfront_routing"])
def test_each_mode_in_the_table_uses_its_own_share(task, roi_student, mode):
    from webapp.economics.analysis import _serving
    from webapp.economics.cost_model import Mode, mode_cost
    from webapp.economics.evidence import routing_evidence

    values = {"tau_rule": "manual", "manual_tau": 0.8, "router_accuracy": 0.9}
    other = "upfront_routing" if mode == "cascade" else "cascade"
    here = scenario_compute(
        task=task, student=roi_student, assumptions=assumptions_from(values | {"mode": mode}, task=task)
    )
    there = scenario_compute(
        task=task, student=roi_student, assumptions=assumptions_from(values | {"mode": other}, task=task)
    )
    # The table does not depend on which mode is chosen, and each row is its own mode's headline.
    assert here["modes"]["cascade"] == there["modes"]["cascade"]
    assert here["modes"]["upfront_routing"] == there["modes"]["upfront_routing"]
    assert here["shares"][mode] == here["share"] and here["shares"] == there["shares"]
    assert here["shares"]["cascade"] == here["validation"]["coverage"]
    assert here["shares"]["cascade"] != here["shares"]["upfront_routing"]
    evidence = routing_evidence(task, roi_student)
    a = assumptions_from(values | {"mode": mode}, task=task)
    for name, share in here["shares"].items():
        expected = mode_cost(_serving(evidence, a, share, mode=Mode(name))[0], Mode(name))
        assert here["modes"][name]["monthly_usd"] == pytest.approx(expected.monthly_usd)


def _input_value(page: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert tag, name
    value = re.search(r'value="([^"]*)"', tag[0])
    return value[1] if value else None


def test_a_partial_link_shows_the_assumptions_the_figures_use(web, member, task, roi_student):
    query = {"student": roi_student.pk, "tau_rule": "manual", "manual_tau": 0.9, "engineering_hours": ""}
    page = web(member).get(f"/tasks/{task.pk}/roi/", query).content.decode()
    figures = scenario_compute(
        task=task,
        student=roi_student,
        assumptions=assumptions_from({"tau_rule": "manual", "manual_tau": 0.9}, task=task),
    )
    used = figures["assumptions"]
    for name in ("requests_per_month", "input_tokens_per_request", "engineering_hours", "utilisation",
                 "valid_months", "teacher_usd_per_million_input_tokens", "student_usd_per_host_hour"):  # fmt: skip
        shown = _input_value(page, name)
        assert shown is not None and float(shown) == pytest.approx(used[name]), name
    assert 'value="manual" selected' in page or re.search(r'<option value="manual"[^>]*selected', page)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(6.71e-06, "$0.00000671"), (0.0955, "$0.0955"), (12345.4, "$12,345"), (-0.0955, "-$0.0955"), (0, "$0")],
)
def test_small_amounts_keep_their_significant_digits(value, shown):
    from webapp.economics.report import usd

    assert usd(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(6.71e-06, "$6.71 per million requests"), (0.0012, "$1.20 per 1,000 requests"), (0.05, "$0.0500 per request")],
)
def test_per_request_costs_read_at_a_readable_scale(value, shown):
    from webapp.economics.report import per_request

    assert per_request(value) == shown


def test_tiny_costs_are_readable_on_the_page_and_in_the_report(web, member, task, roi_student):
    values = {"tau_rule": "manual", "manual_tau": 0.8, "requests_per_month": 10}
    page = text(web(member).get(f"/tasks/{task.pk}/roi/", {"student": roi_student.pk} | values))
    scenario = scenario_save(
        task=task, student=roi_student, user=member, name="Tiny", assumptions=assumptions_from(values, task=task)
    )
    report = text(web(member).get(f"/scenarios/{scenario.pk}/"))
    for shown in (page, report):
        assert not re.search(r"\$[\d.]+e-\d", shown) and "$0.0000 " not in shown
        assert "per million requests" in shown or "per 1,000 requests" in shown
    assert not re.search(r"Monthly savings\s+-?\$0\s", report)


def test_a_refused_input_is_named_by_its_label_next_to_its_field(web, member, task, roi_student):
    response = web(member).get(f"/tasks/{task.pk}/roi/", {"student": roi_student.pk, "requests_per_month": "0"})
    page = response.content.decode()
    assert "requests_per_month:" not in text(response)
    assert "Requests per month must be more than 0" in text(response)
    # The message sits with the field (its include renders the field's errors).
    field = page[page.index('name="requests_per_month"') :]
    assert "Requests per month must be more than 0" in field[: field.index("</label>") if "</label>" in field else 2000]
