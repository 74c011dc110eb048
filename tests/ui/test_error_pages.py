"""The error pages say what happened in the app's own layout: a 404 names the address, a 403 the role it
needs, a 405 the method and the page with the form; the 500 page renders without the database."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views import defaults

pytestmark = pytest.mark.django_db


def test_a_403_says_which_role_is_needed(web, viewer, task):
    response = web(viewer).post(reverse("evaluation-start", args=[task.pk]), {})

    assert response.status_code == 403
    page = response.content.decode()
    assert '<p data-testid="reason">This needs the Member role in Support.</p>' in page
    assert "Distillery" in page and 'class="topbar' in page  # the app's layout, not a bare line


def test_a_404_names_the_address_in_the_apps_layout(web, member):
    response = web(member).get("/tasks/999999/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1>Not found</h1>" in page and "/tasks/999999/" in page and 'class="topbar' in page


def test_opening_a_forms_address_says_to_post_and_links_to_the_form(web, member, task):
    response = web(member).get(reverse("evaluation-start", args=[task.pk]))

    assert response.status_code == 405 and response["Allow"] == "POST"
    page = response.content.decode()
    assert "answers POST requests" in page
    assert f'href="{reverse("evaluation-overview", args=[task.pk])}"' in page


def test_the_api_keeps_its_plain_405(api, member, task):
    response = api(member).put(f"/api/tasks/{task.pk}/datasets/")

    assert response.status_code == 405 and response["Content-Type"].startswith("application/json")


def test_the_500_page_renders_without_touching_the_database(django_assert_num_queries):
    request = RequestFactory().get("/tasks/1/")
    with django_assert_num_queries(0):
        response = defaults.server_error(request)

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page and "/static/css/app.css" in page
