"""Pages with several forms give each element its own id, so a label focuses its own input (the Teachers tab
repeated `id_name` across its register and upload forms: clicking "Name" in one focused the other's field)."""

import re
from collections import Counter

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def ids_and_label_targets(page: str) -> tuple[Counter[str], list[str]]:
    return Counter(re.findall(r'\sid="([^"]+)"', page)), re.findall(r'<label[^>]*\sfor="([^"]+)"', page)


@pytest.mark.parametrize(
    "view", ["teacher-list", "student-list", "evaluation-overview", "job-list", "dataset-list", "roi", "task-edit"]
)
def test_every_element_id_is_unique_and_every_label_points_at_one(web, member, task, roi_student, view):
    page = web(member).get(reverse(view, args=[task.pk])).content.decode()

    ids, targets = ids_and_label_targets(page)
    assert [id_ for id_, count in ids.items() if count > 1] == []
    assert [target for target in targets if target not in ids] == []


def test_the_teachers_tab_labels_focus_their_own_forms_fields(web, member, task, roi_student):
    page = web(member).get(reverse("teacher-list", args=[task.pk])).content.decode()

    fields = {"register": "id_name", "upload-outputs": "outputs_name", "finetune": "finetune_epochs"}
    for form_id, field in fields.items():
        form = page[page.index(f'<article id="{form_id}">') :]
        form = form[: form.index("</article>")]
        assert f'for="{field}"' in form and f'id="{field}"' in form
