"""The overview's next steps: the path from data to a decided approval, each step marked done or to do with a
drawn mark (no emoji: Debian's Chromium has no emoji font, and ✅ and ⬜ both rendered as the same empty box)."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

STEPS = [
    "Upload training data", "Review the label set", "Register a teacher", "Profile a dataset",
    "Fine-tune the teacher", "Distil students", "Evaluate them", "Decide", "Approve",
]  # fmt: skip


def steps(client, task) -> dict[str, str]:
    """{link text: "done" | "todo"} of the overview's checklist, in order."""
    page = client.get(reverse("task-detail", args=[task.pk])).content.decode()
    checklist = page[page.index('<ol class="checklist">') : page.index("</ol>", page.index('<ol class="checklist">'))]
    assert not set("✅⬜✓○") & set(checklist)
    return dict(
        (text, state)
        for state, text in re.findall(r'<li class="(done|todo)">.*?<a href="[^"]*">([^<]+)</a>', checklist)
    )


def test_a_new_task_lists_every_step_from_data_to_approval_all_to_do(web, member, task):
    assert steps(web(member), task) == dict.fromkeys(STEPS, "todo")


def test_a_task_with_a_decided_approval_request_has_done_each_step_it_took(web, member, task, approved_request):
    page = web(member).get(reverse("task-detail", args=[task.pk])).content.decode()
    done = {text for text, state in steps(web(member), task).items() if state == "done"}

    # roi_student's fixture: data, a teacher with a head, a student evaluated on test, a scenario, a decision.
    assert done == {"Upload training data", "Register a teacher", "Fine-tune the teacher", "Distil students",
                    "Evaluate them", "Decide", "Approve"}  # fmt: skip
    assert "1 decided" in page and "1 student evaluation on test sets" in page
    assert f'href="{reverse("approvals", args=[task.pk])}"' in page
