"""Scenario pages, the stakeholder report, its exports and share links: who sees what, what the report says,
and that a share link is a hashed, expiring, revocable, read-only way in."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from plotly.offline import get_plotlyjs, get_plotlyjs_version

from webapp.economics.models import Scenario, ShareLink
from webapp.economics.services import assumptions_from, scenario_save, share_link_create

pytestmark = pytest.mark.django_db

# 5M requests a month at τ = 0.8: about $890/month saved against a $4,000 one-off, breakeven ~4.5 months.
PAYS_OFF = {"tau_rule": "manual", "manual_tau": 0.8, "requests_per_month": 5_000_000}


def _save(task, student, user, name, **assumptions):
    values = PAYS_OFF | assumptions
    return scenario_save(
        task=task, student=student, user=user, name=name, assumptions=assumptions_from(values, task=task)
    )


@pytest.fixture
def scenario(task, member, roi_student) -> Scenario:
    return _save(task, roi_student, member, "Base case")


def _token_from(html: str) -> str:
    match = re.search(r'value="https?://[^"]+/r/([A-Za-z0-9_-]+)/"', html)
    assert match, "the new link is shown on the page"
    return match.group(1)


# --- the report ------------------------------------------------------------------------------------------------


def test_a_viewer_of_the_team_reads_the_report_in_plain_words_with_its_evidence(web, viewer, scenario) -> None:
    response = web(viewer).get(reverse("scenario-detail", args=[scenario.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert scenario.verdict == "pays_off" and "Pays off" in html
    assert "4.5 months" in html  # breakeven
    assert "The student answers 70.0% of requests itself" in html
    assert "No guarantee" in html  # 400 validation rows can't certify 99% agreement: the report says so
    assert "No out-of-distribution set was evaluated" in html
    # The evidence behind the numbers: evaluation ids, dataset hashes (short), speed sources, the jobs' compute.
    validation = scenario.figures["evidence"]["validation"]
    assert f"evaluation {validation['evaluation_id']}" in html and validation["sha256"][:12] in html
    assert scenario.figures["evidence"]["student_throughput"]["source"] in html
    assert all(f"job {job_id} (" in html for job_id in scenario.evidence["compute_jobs"])
    # Every number is marked measured, entered or computed; assumptions say who entered them.
    for kind in ("measured", "entered", "computed"):
        assert f'class="kind kind-{kind}"' in html
    assert "saved with version 1 by max-member on" in html
    assert (
        '<th scope="row">Requests per month</th><td>5,000,000</td><td><span class="source">entered by max-member'
        in html
    )
    # A viewer reads; making links is for members.
    assert 'id="share-form"' not in html


@pytest.mark.parametrize(
    "assumptions, says",
    [
        ({"mode": "upfront_routing"}, "The router is modelled, not measured"),
        ({"student_fixed_usd_per_month": 1_000_000}, "Never pays off"),  # hosting eats every saving
    ],
)
def test_the_report_reads_for_upfront_routing_and_for_a_student_that_never_pays_off(
    web, viewer, member, task, roi_student, assumptions, says
) -> None:
    scenario = _save(task, roi_student, member, "Variant", **assumptions)
    for name in ("scenario-detail", "scenario-export-html"):
        response = web(viewer).get(reverse(name, args=[scenario.pk]))
        assert response.status_code == 200 and says in response.content.decode(), name


def test_user_text_is_escaped_on_the_page_and_in_the_export(web, member, task, roi_student) -> None:
    scenario = _save(task, roi_student, member, "<script>alert('x')</script>")
    client = web(member)
    for name in ("scenario-detail", "scenario-export-html"):
        html = client.get(reverse(name, args=[scenario.pk])).content.decode()
        assert "<script>alert(" not in html and "&lt;script&gt;alert(" in html


def test_an_outsider_gets_404_for_the_report_its_exports_and_its_share_endpoints(
    web, outsider, scenario, member, settings
) -> None:
    settings.CHROMIUM = "/nonexistent/chromium"  # a 404 must come before any attempt to print
    link, _ = share_link_create(scenario=scenario, user=member, days=7)
    client = web(outsider)
    for name in ("scenario-detail", "scenario-export-html", "scenario-export-pdf"):
        assert client.get(reverse(name, args=[scenario.pk])).status_code == 404, name
    assert client.post(reverse("share-link-create", args=[scenario.pk]), {"days": 7}).status_code == 404
    assert client.post(reverse("share-link-revoke", args=[link.pk])).status_code == 404
    assert client.get(reverse("scenario-list", args=[scenario.task_id])).status_code == 404
    compare = reverse("scenario-compare", args=[scenario.task_id])
    assert client.get(compare, {"ids": [scenario.pk, scenario.pk + 1]}).status_code == 404
    link.refresh_from_db()
    assert link.state == "active" and ShareLink.objects.count() == 1


def test_someone_not_logged_in_is_sent_to_log_in(web, scenario) -> None:
    response = web(None).get(reverse("scenario-detail", args=[scenario.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_scenario_list_shows_every_version(web, viewer, member, task, roi_student, scenario) -> None:
    second = _save(task, roi_student, member, "Base case", requests_per_month=10_000)
    html = web(viewer).get(reverse("scenario-list", args=[task.pk])).content.decode()
    assert f'data-scenario="{scenario.pk}"' in html and f'data-scenario="{second.pk}"' in html
    rows = html[html.index(f'data-scenario="{second.pk}"') :]
    assert "v2" in rows and "Wrong tool" in rows and "Pays off" in rows[rows.index(f'data-scenario="{scenario.pk}"') :]


# --- exports ---------------------------------------------------------------------------------------------------


def test_the_html_export_is_one_file_with_plotly_embedded_and_nothing_fetched(web, viewer, scenario) -> None:
    response = web(viewer).get(reverse("scenario-export-html", args=[scenario.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert response["Content-Disposition"] == 'attachment; filename="base-case-v1-report.html"'
    html = response.content.decode()
    assert html.count(get_plotlyjs()) == 1 and "Plotly.newPlot" in html  # the package's plotly.js, inlined once
    html = html.replace(get_plotlyjs(), "")  # (its own code names URLs it never loads, e.g. the Plotly logo link)
    assert not re.search(r"<script[^>]+src=", html) and "<link" not in html  # no external script or style
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "@import" not in html and not re.search(r"url\(\s*['\"]?(?:https?:)?//", html)
    assert "Pays off" in html and html.count('class="chart"') == 5
    assert "/evaluations/" not in html  # no links into the app: the file is read outside it


def test_without_chromium_the_pdf_export_says_so_with_a_503(web, viewer, scenario, settings) -> None:
    settings.CHROMIUM = "/nonexistent/chromium"
    response = web(viewer).get(reverse("scenario-export-pdf", args=[scenario.pk]))
    assert response.status_code == 503
    assert b"PDF export needs Chromium" in response.content and b"DISTILLERY_CHROMIUM" in response.content


# --- share links -----------------------------------------------------------------------------------------------


def test_a_member_makes_a_link_shown_once_that_opens_the_report_without_an_account(web, member, scenario) -> None:
    client = web(member)
    response = client.post(reverse("share-link-create", args=[scenario.pk]), {"days": "7"}, follow=True)
    assert response.redirect_chain[0][1] == 302 and response["Cache-Control"] == "no-store"
    token = _token_from(response.content.decode())
    link = ShareLink.objects.get()
    assert link.token_sha256 == ShareLink.digest(token) and link.created_by == member
    assert timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= timedelta(days=7)
    # Shown once: the report page afterwards lists the link but can't show its token again.
    assert token not in client.get(reverse("scenario-detail", args=[scenario.pk])).content.decode()

    anonymous = web(None)
    shared = anonymous.get(reverse("shared-report", args=[token]))
    assert shared.status_code == 200 and "Pays off" in shared.content.decode()
    assert shared["Referrer-Policy"] == "no-referrer" and "noindex" in shared["X-Robots-Tag"]
    html = shared.content.decode()
    assert 'id="share-form"' not in html and "Revoke" not in html and "/evaluations/" not in html  # read-only
    export = anonymous.get(reverse("shared-report-html", args=[token]))
    assert export.status_code == 200 and get_plotlyjs_version() in export.content.decode()
    assert anonymous.post(reverse("shared-report", args=[token])).status_code == 405


def test_making_a_link_redirects_so_a_reload_neither_makes_another_nor_shows_the_token_again(
    web, member, scenario
) -> None:
    client = web(member)
    report = reverse("scenario-detail", args=[scenario.pk])

    response = client.post(reverse("share-link-create", args=[scenario.pk]), {"days": "7"})

    assert response.status_code == 302 and response["Location"] == report + "#new-link"
    assert b"/r/" not in response.content  # the token is not on the POST's response
    first = client.get(report)
    token = _token_from(first.content.decode())
    assert first["Cache-Control"] == "no-store" and 'id="new-link"' in first.content.decode()
    assert ShareLink.objects.get().token_sha256 == ShareLink.digest(token)
    # Reloading the report (F5 on a GET) shows the link no more, and makes none.
    again = client.get(report).content.decode()
    assert token not in again and 'id="new-link"' not in again
    assert ShareLink.objects.count() == 1


def test_a_new_link_is_shown_on_its_own_report_only(web, member, scenario, task) -> None:
    other = _save(task, scenario.student, member, "Other")
    client = web(member)
    client.post(reverse("share-link-create", args=[scenario.pk]), {"days": "7"})

    assert 'id="new-link"' not in client.get(reverse("scenario-detail", args=[other.pk])).content.decode()
    assert 'id="new-link"' in client.get(reverse("scenario-detail", args=[scenario.pk])).content.decode()


def test_the_database_holds_only_the_hash_of_a_token(member, scenario) -> None:
    _, token = share_link_create(scenario=scenario, user=member, days=3)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM economics_sharelink")
        rows = cursor.fetchall()
    assert len(rows) == 1 and not any(token in str(value) for value in rows[0])
    assert ShareLink.digest(token) in rows[0]


def test_a_viewer_cannot_make_a_link(web, viewer, scenario) -> None:
    response = web(viewer).post(reverse("share-link-create", args=[scenario.pk]), {"days": "7"})
    assert response.status_code == 403 and not ShareLink.objects.exists()


@pytest.mark.parametrize("days", ["0", "91", "soon"])
def test_a_link_of_a_bad_length_is_refused_with_the_reason(web, member, scenario, days) -> None:
    response = web(member).post(reverse("share-link-create", args=[scenario.pk]), {"days": days})
    assert response.status_code == 400 and not ShareLink.objects.exists()
    assert b"between 1 and 90 days" in response.content or b"whole number" in response.content


def test_a_revoked_link_is_404_at_once(web, member, scenario) -> None:
    link, token = share_link_create(scenario=scenario, user=member, days=7)
    assert web(None).get(reverse("shared-report", args=[token])).status_code == 200
    response = web(member).post(reverse("share-link-revoke", args=[link.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("scenario-detail", args=[scenario.pk])
    link.refresh_from_db()
    assert link.state == "revoked"
    anonymous = web(None)
    for name in ("shared-report", "shared-report-html", "shared-report-pdf"):
        assert anonymous.get(reverse(name, args=[token])).status_code == 404, name


def test_a_viewer_cannot_revoke_a_link(web, viewer, member, scenario) -> None:
    link, _ = share_link_create(scenario=scenario, user=member, days=7)
    assert web(viewer).post(reverse("share-link-revoke", args=[link.pk])).status_code == 403
    link.refresh_from_db()
    assert link.state == "active"


def test_an_expired_or_unknown_link_is_404(web, member, scenario) -> None:
    link, token = share_link_create(scenario=scenario, user=member, days=1)
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    anonymous = web(None)
    assert anonymous.get(reverse("shared-report", args=[token])).status_code == 404
    assert anonymous.get(reverse("shared-report", args=["not-a-token"])).status_code == 404


# --- compare ---------------------------------------------------------------------------------------------------


def test_two_to_four_scenarios_are_compared_side_by_side(web, viewer, member, task, roi_student, scenario) -> None:
    others = [_save(task, roi_student, member, f"Volume {n}", requests_per_month=n) for n in (10_000, 50_000_000)]
    url = reverse("scenario-compare", args=[task.pk])
    client = web(viewer)
    response = client.get(url, {"ids": [scenario.pk, others[0].pk, others[1].pk]})
    assert response.status_code == 200
    html = response.content.decode()
    header = html[html.index('<table id="compare">') : html.index("</thead>")]
    assert header.index("Base case") < header.index("Volume 10000") < header.index("Volume 50000000")
    assert header.count("Wrong tool") == 1 and header.count("Pays off") == 2
    assert 'class="differs"' in html  # breakeven differs between them
    assert html.count('class="chart"') == 3


@pytest.mark.parametrize(
    "ids, message",
    [(["1"], b"Pick 2 to 4"), (["1", "2", "3", "4", "5"], b"Pick 2 to 4"), (["1", "x"], b"whole numbers")],
)
def test_compare_refuses_the_wrong_number_of_scenarios_with_the_reason(web, viewer, task, ids, message) -> None:
    response = web(viewer).get(reverse("scenario-compare", args=[task.pk]), {"ids": ids})
    assert response.status_code == 400 and message in response.content


def test_compare_without_a_choice_offers_one(web, viewer, scenario) -> None:
    response = web(viewer).get(reverse("scenario-compare", args=[scenario.task_id]))
    assert response.status_code == 200 and b'id="compare-form"' in response.content


def test_compare_of_a_scenario_of_another_team_is_404(web, outsider, member, task, roi_student, scenario) -> None:
    other = _save(task, roi_student, member, "Other")
    # The outsider's own task, asking for this team's scenarios: none of them exist for it.
    from webapp.registry.services import task_create

    theirs = task_create(team=outsider.memberships.get().team, user=outsider, name="Theirs")
    response = web(outsider).get(reverse("scenario-compare", args=[theirs.pk]), {"ids": [scenario.pk, other.pk]})
    assert response.status_code == 404
