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


@pytest.mark.django_db
def test_the_api_reference_renders_from_our_own_static_files(web, member):
    from django.contrib.staticfiles import finders

    response = web(member).get("/api/docs/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert reverse("api-schema") in page
    # Air-gapped: no CDN, no fonts, no public validator.
    assert "http://" not in page and "https://" not in page
    assert '"validatorUrl": null' in page
    for name in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{name}"), name
    assert web(member).get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


@pytest.mark.django_db
def test_the_api_token_page_links_to_the_reference(web, member):
    page = web(member).get(reverse("api-token")).content.decode()

    assert 'href="/api/docs/"' in page
