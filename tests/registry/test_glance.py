"""The overview's "At a glance" panel: on a populated task its figures are those of the stored evidence (worked
out here from the evaluation rows and the saved scenario, not by the panel's own code), each linking to its
evidence; where a piece is missing it says what to do next instead of showing a blank."""

import html
import re

import pytest
from django.urls import reverse

from tests.factories import TRAIN_CSV, upload
from webapp.economics.models import Scenario
from webapp.evaluation.models import Evaluation
from webapp.registry.services import dataset_upload

pytestmark = pytest.mark.django_db

VERDICTS = {"pays_off": "Pays off", "think_carefully": "Think carefully", "wrong_tool": "Wrong tool"}


def glance(client, task) -> dict[str, str]:
    """{"student" | figure key: the box's text, tags dropped, "href" links kept as "[text](url)"}."""
    page = client.get(reverse("task-detail", args=[task.pk])).content.decode()
    start = page.index('data-testid="glance"')
    assert start < page.index("<h2>Next steps</h2>"), "the panel comes before the checklist"
    section = page[start : page.index("</section>", start)]
    boxes = re.findall(r'<(p|div) [^>]*data-testid="glance-([a-z]+)"[^>]*>(.*?)</\1>', section, re.S)
    return {key: _text(inner) for _, key, inner in boxes}


def _text(fragment: str) -> str:
    link = re.compile(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', re.S)
    fragment = link.sub(lambda m: f"[{re.sub(r'<[^>]+>', '', m[2]).strip()}]({m[1]})", fragment)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_on_a_populated_task_each_figure_is_the_stored_evidence_and_links_to_it(web, member, populated):
    p = populated
    boxes = glance(web(member), p.task)
    scenario = p.certified  # the newest saved scenario
    assert p.certified.created_at > p.scenario.created_at

    # The student: the newest scenario's, and the panel says that rule picked it.
    student = scenario.student
    assert f"[{student.name}]({reverse('student-list', args=[p.task.pk])})" in boxes["student"]
    assert "most recent saved scenario, 'Certified pilot' v1" in boxes["student"]

    # Retention and speed-up: its test evaluation against the teacher's on the same set.
    mine = Evaluation.objects.get(student=student, dataset=p.datasets["test"])
    teachers = Evaluation.objects.get(teacher=p.teacher, dataset=p.datasets["test"])
    evidence = reverse("evaluation-detail", args=[mine.pk])
    assert boxes["retention"].startswith(f"[{mine.accuracy / teachers.accuracy:.1%}]({evidence})")
    assert f"{mine.accuracy:.1%} vs the teacher's {teachers.accuracy:.1%} on 'test v1'" in boxes["retention"]
    side = mine.speed.get("side_by_side")
    if side:  # timed beside the teacher: the median per-round ratio, with its range
        assert side["teacher_id"] == p.teacher.pk
        ratio = side["latency_speedup"]
        assert boxes["speedup"].startswith(f"[{ratio['median']:.1f}×]({evidence})")
        assert f"median of {side['rounds']} interleaved rounds (range {ratio['min']:.1f}–" in boxes["speedup"]
    else:
        speedup = teachers.speed["latency_p50_ms"] / mine.speed["latency_p50_ms"]
        assert boxes["speedup"].startswith(f"[{speedup:.1f}×]({evidence})")
        assert "p50 latency 2.4 ms vs 11.8 ms, timed in separate jobs" in boxes["speedup"]

    # Traffic at the certified τ, breakeven and verdict: the saved scenario's, linking to its report.
    certificate = scenario.figures["certificate"]
    report = reverse("scenario-detail", args=[scenario.pk])
    assert boxes["traffic"].startswith(f"[{certificate['point']['coverage']:.1%}]({report}#guarantee)")
    assert f"τ {certificate['tau']:.3f} certifies accuracy ≥ 90%" in boxes["traffic"]
    assert boxes["breakeven"].startswith(f"[{scenario.breakeven_months:.1f} months]({report}#verdict)")
    assert f"saves ${scenario.monthly_savings_usd:,.0f} a month" in boxes["breakeven"]
    assert boxes["verdict"].startswith(f"[{VERDICTS[scenario.verdict]}]({report}#verdict)")

    # Nobody asked for sign-off yet: the panel says so and where to ask.
    approvals = reverse("approvals", args=[p.task.pk])
    assert boxes["approval"] == f"Approval Not requested yet — [request sign-off]({approvals}#request-form)"


def test_without_a_scenario_the_student_keeping_most_of_its_teachers_accuracy_is_shown(web, member, populated):
    Scenario.objects.filter(task=populated.task).delete()
    test = populated.datasets["test"]
    teacher_accuracy = Evaluation.objects.get(teacher=populated.teacher, dataset=test).accuracy
    retention = {
        e.student.name: e.accuracy / teacher_accuracy
        for e in Evaluation.objects.filter(student__isnull=False, dataset=test)
    }
    first, second = sorted(retention.values(), reverse=True)[:2]
    assert first > second, "a tie for the best would make this test ambiguous"
    best = max(retention, key=retention.__getitem__)

    boxes = glance(web(member), populated.task)

    assert f"[{best}]" in boxes["student"] and "best retention of its teacher's test accuracy" in boxes["student"]
    assert "of the 3 students evaluated on test" in boxes["student"]
    assert boxes["retention"].startswith(f"[{retention[best]:.1%}]")
    roi = reverse("roi", args=[populated.task.pk])
    assert boxes["traffic"].endswith(f"No saved scenario yet — [certify a τ on Routing & ROI]({roi})")
    assert boxes["breakeven"].endswith(f"No saved scenario yet — [work out the ROI]({roi})")


def test_a_scenario_without_a_certified_tau_says_what_would_certify_one(web, member, populated):
    populated.certified.delete()  # the hand-set τ of "Base case" is left: 116 validation rows can't certify

    boxes = glance(web(member), populated.task)

    data = reverse("dataset-list", args=[populated.task.pk])
    assert f"No certified τ: needs ≥ 299 validation rows, has 116 — [add validation data]({data})" in boxes["traffic"]
    share = populated.scenario.figures["share"]
    assert f"it keeps {share:.1%} at its τ 0.800, uncertified" in boxes["traffic"]


def test_a_new_task_says_what_to_do_next_in_every_box(web, member, task):
    boxes = glance(web(member), task)

    distil = reverse("student-list", args=[task.pk]) + "#distil"
    roi = reverse("roi", args=[task.pk])
    assert boxes == {
        "student": f"No student yet — [distil a student]({distil})",
        "retention": f"Retention of the teacher's test accuracy No student yet — [distil a student]({distil})",
        "speedup": f"Speed-up over the teacher No student yet — [distil a student]({distil})",
        "traffic": f"Traffic kept at the certified τ No saved scenario yet — [certify a τ on Routing & ROI]({roi})",
        "breakeven": f"Breakeven No saved scenario yet — [work out the ROI]({roi})",
        "verdict": f"Verdict No saved scenario yet — [save a scenario]({roi})",
        "approval": f"Approval Not requested yet — [save a scenario to request sign-off]({roi})",
    }


def test_a_student_not_yet_evaluated_on_test_asks_for_an_evaluation(web, member, task, student):
    boxes = glance(web(member), task)
    assert boxes["student"] == f"No test set yet — [upload one]({reverse('dataset-list', args=[task.pk])})"

    dataset_upload(task=task, user=member, file=upload("test.csv", TRAIN_CSV), filename="test.csv", role="test")
    boxes = glance(web(member), task)

    evaluate = reverse("evaluation-overview", args=[task.pk])
    assert boxes["student"] == f"No evaluation on test yet — [evaluate a student]({evaluate})"
    assert boxes["retention"].endswith(f"No evaluation on test yet — [evaluate a student]({evaluate})")


@pytest.mark.parametrize(
    ("fixture", "state", "page"),
    [
        ("approval_request", "Waiting for sign-off", "approval-request"),
        ("approved_request", "Approved", "approval-request"),
        ("deployment_and_key", "Deployed", "deployment-detail"),
    ],
)
def test_the_approval_box_shows_the_state_of_sign_off_and_links_to_it(request, web, member, task, fixture, state, page):
    made = request.getfixturevalue(fixture)
    target = made[0] if isinstance(made, tuple) else made

    boxes = glance(web(member), task)

    assert boxes["approval"].startswith(f"[{state}]({reverse(page, args=[target.pk])})")
    if fixture == "approved_request":
        assert "not deployed yet" in boxes["approval"]
