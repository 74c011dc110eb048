"""The monitoring page and its JSON API: team-scoped (an outsider's 404), readable by viewers, writable by
members; the alert banner carries its monthly $ impact; uploads and re-certification through the browser."""

import io

import pytest
from django.urls import reverse

from tests.approvals.served import record_decisions, validation_confidences
from webapp.approvals.models import ApprovalRequest, ServedDecision


@pytest.fixture
def deployment(deployment_and_key):
    return deployment_and_key[0]


def page_url(deployment) -> str:
    return reverse("deployment-monitoring", args=[deployment.pk])


def upload(content: str, name: str = "decisions.csv") -> io.BytesIO:
    file = io.BytesIO(content.encode())
    file.name = name
    return file


def test_a_viewer_reads_the_page_with_its_alert_banner_and_charts(deployment, viewer, web):
    record_decisions(deployment, [c * 0.8 for c in validation_confidences(deployment)])
    response = web(viewer).get(page_url(deployment))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="monitoring-alert" role="alert" data-signal="coverage"' in html
    assert "a month</span>" in html and "scenario &#x27;Deploy case&#x27; v1" in html
    for key in ("monitoring-coverage", "monitoring-confidence", "monitoring-accuracy"):
        assert f'data-figure="{key}"' in html
    assert "Signals" in html and "Upload decisions" in html
    assert "needs the member role" in html  # a viewer sees no upload form
    assert "Request approval with this τ" not in html


def test_the_periodic_refresh_gets_the_results_alone(deployment, viewer, web):
    response = web(viewer).get(page_url(deployment), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<h1>" not in response.content.decode() and "No decisions yet" in response.content.decode()


def test_an_outsider_gets_404_everywhere(deployment, outsider, web, api):
    client = web(outsider)
    assert client.get(page_url(deployment)).status_code == 404
    assert client.post(reverse("deployment-monitoring-upload", args=[deployment.pk])).status_code == 404
    assert client.post(reverse("deployment-recertify", args=[deployment.pk])).status_code == 404
    assert api(outsider).get(reverse("api-deployment-monitoring", args=[deployment.pk])).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(deployment, web):
    assert web(None).get(page_url(deployment)).status_code == 302


def test_a_viewer_cannot_upload_or_request(deployment, viewer, web):
    client = web(viewer)
    good = upload("confidence,prediction,tier\n0.9,travel,student\n")
    assert client.post(reverse("deployment-monitoring-upload", args=[deployment.pk]), {"file": good}).status_code == 403
    assert client.post(reverse("deployment-recertify", args=[deployment.pk])).status_code == 403
    assert not ServedDecision.objects.exists()


def test_a_member_uploads_decisions(deployment, member, web):
    content = "confidence,prediction,tier,label\n" + "0.9,travel,student,travel\n" * 60
    response = web(member).post(
        reverse("deployment-monitoring-upload", args=[deployment.pk]), {"file": upload(content)}, follow=True
    )
    assert response.status_code == 200
    assert "Stored 60 decisions from decisions.csv" in response.content.decode()
    assert ServedDecision.objects.filter(deployment=deployment, source="upload").count() == 60


def test_a_bad_upload_is_explained_on_the_page_and_nothing_is_stored(deployment, member, web):
    content = "confidence,prediction,tier\n0.9,travel,student\n1.7,travel,student\n"
    response = web(member).post(
        reverse("deployment-monitoring-upload", args=[deployment.pk]), {"file": upload(content)}
    )
    assert response.status_code == 400
    assert (
        "decisions.csv line 3: confidence &#x27;1.7&#x27; is not a probability in [0, 1]" in response.content.decode()
    )
    assert not ServedDecision.objects.exists()


def test_a_member_requests_the_recertified_tau_from_the_page(deployment, member, web):
    record_decisions(
        deployment, validation_confidences(deployment) * 2, shadow_every=1, teacher_agrees=lambda i, c: c >= 0.7
    )
    client = web(member)
    assert "Request approval with this τ" in client.get(page_url(deployment)).content.decode()
    response = client.post(reverse("deployment-recertify", args=[deployment.pk]), follow=True)
    assert response.status_code == 200
    pending = ApprovalRequest.objects.get(state=ApprovalRequest.State.PENDING)
    assert f"Requested approval #{pending.pk}" in response.content.decode()
    assert pending.scenario.version == 2


def test_without_enough_samples_the_page_says_how_many_are_needed(deployment, member, web):
    html = web(member).get(page_url(deployment)).content.decode()
    assert "Too few production samples to re-certify" in html and "at least 299" in html
    response = web(member).post(reverse("deployment-recertify", args=[deployment.pk]), follow=True)
    assert "No request was made" in response.content.decode()


def test_the_api_returns_the_page_payload(deployment, viewer, api):
    record_decisions(deployment, [c * 0.8 for c in validation_confidences(deployment)])
    response = api(viewer).get(reverse("api-deployment-monitoring", args=[deployment.pk]))
    assert response.status_code == 200
    body = response.json()
    assert [s["key"] for s in body["signals"]][:3] == ["coverage", "psi", "ks"]
    coverage = next(a for a in body["alerts"] if a["signal"] == "coverage")
    assert coverage["monthly_usd"] > 0 and coverage["monthly_usd_text"].startswith("+$")
    assert body["period"]["decisions"] == len(validation_confidences(deployment))
    assert body["recertification"]["min_rows"] == 299
    assert body["cost_basis"]["scenario"] == "'Deploy case' v1"


def test_the_api_needs_a_token(deployment, api):
    assert api(None).get(reverse("api-deployment-monitoring", args=[deployment.pk])).status_code in (401, 403)
