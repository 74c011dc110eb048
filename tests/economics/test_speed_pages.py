"""Wherever the student's speed-up over its teacher is shown (the ROI page, the stakeholder report, the tier
table), its spread over rounds is shown next to it, and a ratio of two separate jobs carries its warning."""

import html
import re

import pytest
from django.urls import reverse

from tests.economics.test_speed_evidence import _timed_side_by_side
from webapp.economics.services import assumptions_from, scenario_save

pytestmark = pytest.mark.django_db

MANUAL = {"tau_rule": "manual", "manual_tau": 0.8}  # the fixture's validation set is too small to certify


def text(response) -> str:
    """The page's words, tags dropped (and the space they left before punctuation)."""
    words = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))
    return re.sub(r" ([,.)])", r"\1", words)


def _report(web, user, task, student, member) -> str:
    values = {"tau_rule": "manual", "manual_tau": 0.8, "teacher_pricing": "self_hosted"}
    scenario = scenario_save(
        task=task, student=student, user=member, name="Base", assumptions=assumptions_from(values, task=task)
    )
    return text(web(user).get(reverse("scenario-detail", args=[scenario.pk])))


def test_the_roi_page_shows_the_side_by_side_speed_up_with_its_rounds_range(web, viewer, task, roi_student, teacher,
                                                                            dataset):  # fmt: skip
    side = _timed_side_by_side(roi_student, teacher, dataset)

    form = {"student": roi_student.pk, "teacher_pricing": "self_hosted"} | MANUAL
    page = text(web(viewer).get(f"/tasks/{task.pk}/roi/", form))

    assert "Speed-up over the teacher: 6.0× lower latency (rounds 5.2–7.4×), 6.6× the throughput (rounds 6.1–7.5×)" in (
        page
    )
    assert f"median of 5 interleaved rounds, measured: evaluate job {side.job_id}, student and teacher timed side" in (
        page
    )
    assert "of the teacher's cost per request (rounds " in page
    assert "timed in different jobs" not in page


def test_the_roi_page_warns_when_the_ratio_mixes_two_jobs(web, viewer, task, roi_student):
    page = text(web(viewer).get(f"/tasks/{task.pk}/roi/"))

    assert "Speed-up over the teacher: 6.0× lower latency, 6.7× the throughput" in page
    assert re.search(
        r"Warning: teacher and student timed in different jobs \(#\d+ on \d{4}-\d\d-\d\d, #\d+ on \d{4}-\d\d-\d\d\): "
        r"ratio less reliable",
        page,
    )


def test_the_report_gives_the_spread_and_the_separate_jobs_warning(web, viewer, member, task, roi_student, teacher,
                                                                   dataset):  # fmt: skip
    separate = _report(web, viewer, task, roi_student, member)
    assert "Student speed-up over the teacher 6.0× lower latency, 6.7× the throughput measured" in separate
    assert "Warning: teacher and student timed in different jobs (#" in separate

    _timed_side_by_side(roi_student, teacher, dataset)
    paired = _report(web, viewer, task, roi_student, member)
    assert "6.0× lower latency (rounds 5.2–7.4×), 6.6× the throughput (rounds 6.1–7.5×) measured median of 5 " in (
        paired
    )
    assert "timed in different jobs" not in paired
    assert "Student cost per request, share of the teacher's" in paired


def test_a_report_saved_before_side_by_side_timing_still_renders(web, viewer, member, task, roi_student):
    values = {"tau_rule": "manual", "manual_tau": 0.8}
    scenario = scenario_save(
        task=task, student=roi_student, user=member, name="Old", assumptions=assumptions_from(values, task=task)
    )
    figures = scenario.figures
    del figures["evidence"]["speedup"], figures["costs"]["student_to_teacher_cost_range"]
    type(scenario).objects.filter(pk=scenario.pk).update(figures=figures)  # as an older version stored it

    page = text(web(viewer).get(reverse("scenario-detail", args=[scenario.pk])))

    assert "Student throughput (batch 32)" in page and "speed-up" not in page


def test_the_tier_table_shows_a_students_speed_up_and_its_range(web, viewer, task, roi_student, teacher, dataset):
    before = text(web(viewer).get(reverse("evaluation-overview", args=[task.pk])))
    _timed_side_by_side(roi_student, teacher, dataset)
    after = text(web(viewer).get(reverse("evaluation-overview", args=[task.pk])))

    assert "faster than its teacher" not in before  # old-shape timings: latencies only, no ratio of two jobs
    assert "6.0× faster than its teacher (rounds 5.2–7.4×)" in after
