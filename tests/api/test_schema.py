import pytest
from django.core.management import call_command
from django.urls import reverse


@pytest.mark.django_db
def test_the_schema_is_served(api, member):
    response = api(member).get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/tasks/{task_id}/datasets/", "/api/jobs/{job_id}/cancel/", "/api/teams/"} <= set(paths)


def test_the_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn: an endpoint whose shape drf-spectacular had to guess fails here, not in a client.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
