"""The Routing & ROI page: figures from the stored evidence, recomputed as the inputs move, saved as
scenario versions by members; viewers read; outsiders get 404."""

import html
import re

import pytest

from webapp.economics.models import Scenario

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_page_shows_the_verdict_the_traffic_kept_and_where_each_figure_comes_from(web, viewer, task, roi_student):
    response = web(viewer).get(f"/tasks/{task.pk}/roi/")
    page = text(response)
    assert response.status_code == 200
    assert "2-layer student" in page and re.search(r"Breaks even in [\d.]+ months|Never breaks even", page)
    assert "of traffic the student answers" in page and "Does the promise hold on other data?" in page
    assert "measured:" in page and "evaluate job" in page  # every measured figure names its source
    assert "Save scenario" not in page  # a viewer reads, a member saves


def test_moving_tau_recomputes_on_the_server(web, member, task, roi_student):
    client = web(member)
    base = {"student": roi_student.pk, "tau_rule": "manual", "requests_per_month": 2_000_000}
    low = client.get(f"/tasks/{task.pk}/roi/", base | {"manual_tau": 0.55}, HTTP_HX_REQUEST="true")
    high = client.get(f"/tasks/{task.pk}/roi/", base | {"manual_tau": 0.99}, HTTP_HX_REQUEST="true")
    assert low.status_code == high.status_code == 200
    assert "<html" not in low.content.decode()  # the results fragment only
    share = re.compile(r'data-testid="share">([\d.]+)%')
    assert float(share.search(low.content.decode())[1]) > float(share.search(high.content.decode())[1])


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("requests_per_month", "0", "Requests per month must be more than 0"),
        ("certified_delta", "1.5", "strictly between 0 and 1"),
    ],
)
def test_bad_assumptions_are_explained_not_a_500(web, member, task, roi_student, field, value, words):
    response = web(member).get(f"/tasks/{task.pk}/roi/", {"student": roi_student.pk, field: value})
    assert response.status_code == 200 and "No figures for these inputs" in text(response)
    assert words in text(response) and f"{field}:" not in text(response)  # the label, not the internal name


def test_a_member_saves_what_the_page_shows_as_versions(web, member, task, roi_student):
    form = {"student": roi_student.pk, "tau_rule": "manual", "manual_tau": 0.8, "name": "Base case"}
    first = web(member).post(f"/tasks/{task.pk}/roi/save/", form)
    second = web(member).post(f"/tasks/{task.pk}/roi/save/", form)
    versions = list(Scenario.objects.filter(task=task, name="Base case").values_list("version", flat=True))
    assert first.status_code == second.status_code == 302 and sorted(versions) == [1, 2]
    assert Scenario.objects.get(version=1).figures["tau"] == 0.8


def test_a_viewer_cannot_save_and_an_outsider_sees_nothing(web, viewer, outsider, task, roi_student):
    assert web(viewer).post(f"/tasks/{task.pk}/roi/save/", {"student": roi_student.pk, "name": "x"}).status_code == 403
    assert not Scenario.objects.exists()
    assert web(outsider).get(f"/tasks/{task.pk}/roi/").status_code == 404


def test_a_first_visit_falls_back_from_a_refused_certified_tau_and_says_why(web, member, task, roi_student):
    page = text(web(member).get(f"/tasks/{task.pk}/roi/"))
    assert "No certified τ" in page and "Showing the" in page
    assert "Breaks even in" in page or "Never breaks even" in page


def test_without_validation_evidence_the_page_says_what_to_do(web, member, task):
    page = text(web(member).get(f"/tasks/{task.pk}/roi/"))
    assert "No student has the evidence routing needs yet" in page


def test_the_tab_continues_from_the_newest_saved_scenario(web, member, task, roi_student):
    from webapp.economics.services import assumptions_from, scenario_save

    client = web(member)
    assert client.get(f"/tasks/{task.pk}/roi/").status_code == 200  # nothing saved yet: the defaults
    assumptions = assumptions_from(
        {"requests_per_month": 7_654_321, "tau_rule": "manual", "manual_tau": 0.8}, task=task
    )
    saved = scenario_save(task=task, student=roi_student, user=member, name="Pilot", assumptions=assumptions)
    response = client.get(f"/tasks/{task.pk}/roi/")
    assert response.status_code == 302
    assert f"student={roi_student.pk}" in response["Location"] and f"from_scenario={saved.pk}" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="resumed-from"' in page and "Pilot v1" in page
    assert 'name="requests_per_month" value="7654321"' in page and 'name="manual_tau" value="0.8"' in page
    # Asked for a student explicitly (as the slider's requests and the "defaults" link do): no redirect.
    assert client.get(f"/tasks/{task.pk}/roi/", {"student": roi_student.pk}).status_code == 200
