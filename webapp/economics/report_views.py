"""Saved scenarios and their stakeholder report: the list of a task's scenarios, 2-4 side by side, one report
(for every team member, viewers included), its self-contained HTML and PDF exports, and share links that open
the same report read-only without an account. Views translate the request and call selectors and services."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from plotly.offline import get_plotlyjs

from webapp.economics import charts
from webapp.economics.labels import MODE_LABELS, RULE_LABELS
from webapp.economics.models import Scenario, ShareLink
from webapp.economics.pdf import PdfUnavailable, html_to_pdf
from webapp.economics.report import VERDICT_TITLES, months_text, report_context, usd
from webapp.economics.selectors import (
    evidence_records,
    scenario_for_share_token,
    scenario_get_for_user,
    scenarios_of_task,
    scenarios_to_compare,
    share_link_get_for_user,
    share_links_of,
)
from webapp.economics.services import MAX_SHARE_DAYS, share_link_create, share_link_revoke
from webapp.registry.selectors import task_get_for_user
from webapp.ui.context import task_context

TAB = "roi"  # the task tab these pages belong to
COMPARE_MIN, COMPARE_MAX = 2, 4
NEW_LINK_COOKIE = "new_share_link"  # carries a link just made to the report that shows it once
NEW_LINK_SECONDS = 300


# --- the team's pages --------------------------------------------------------------------------------------


@login_required
@require_GET
def scenario_list(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    context = task_context(request, task, TAB) | {
        "scenarios": scenarios_of_task(task).select_related("created_by"),
        "verdicts": VERDICT_TITLES,
        "compare_min": COMPARE_MIN,
        "compare_max": COMPARE_MAX,
    }
    return render(request, "economics/scenario_list.html", context)


@login_required
@require_GET
def scenario_detail(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = scenario_get_for_user(user=request.user, scenario_id=scenario_id)
    made = _new_link_once(request, scenario)
    if made is None:
        return _report_page(request, scenario)
    link, token = made
    url = request.build_absolute_uri(reverse("shared-report", args=[token]))
    response = _report_page(request, scenario, new_link=url, new_link_row=link)
    response.delete_cookie(NEW_LINK_COOKIE, path=_report_path(scenario))  # shown once: a reload shows it no more
    response["Cache-Control"] = "no-store"  # the token must not stay in a cache
    return response


@login_required
@require_GET
def scenario_compare(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    context = task_context(request, task, TAB) | {
        "all_scenarios": scenarios_of_task(task),
        "compare_min": COMPARE_MIN,
        "compare_max": COMPARE_MAX,
    }
    raw = request.GET.getlist("ids")
    if not raw:  # nothing picked yet: the page offers the choice
        return render(request, "economics/scenario_compare.html", context)
    try:
        ids = [int(value) for value in raw]
    except ValueError:
        return _compare_error(request, context, "Scenario ids are whole numbers, e.g. ?ids=3&ids=4.")
    if not COMPARE_MIN <= len(set(ids)) <= COMPARE_MAX:
        return _compare_error(request, context, f"Pick {COMPARE_MIN} to {COMPARE_MAX} different scenarios to compare.")
    scenarios = scenarios_to_compare(user=request.user, task=task, ids=ids)
    columns = [_compare_column(s, index) for index, s in enumerate(scenarios)]
    labels = list(columns[0]["rows"])
    context["columns"] = columns
    # One row per figure across the scenarios; rows whose values differ are the ones to look at.
    context["table"] = [
        (label, values, len(set(values)) > 1) for label in labels for values in [[c["rows"][label] for c in columns]]
    ]
    context["chosen"] = {s.pk for s in scenarios}
    return render(request, "economics/scenario_compare.html", context)


@login_required
@require_GET
def scenario_export_html(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = scenario_get_for_user(user=request.user, scenario_id=scenario_id)
    return _html_download(scenario)


@login_required
@require_GET
def scenario_export_pdf(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = scenario_get_for_user(user=request.user, scenario_id=scenario_id)
    return _pdf_download(request, scenario)


@login_required
@require_POST
def share_link_create_view(request: HttpRequest, scenario_id: int) -> HttpResponse:
    """Members make a link, then are redirected to the report, which shows it once (POST/redirect/GET: reloading
    the page does not make another link). The token is never stored: it rides to the report in a short-lived,
    signed cookie for that page alone, which the report deletes as it shows it."""
    scenario = scenario_get_for_user(user=request.user, scenario_id=scenario_id)
    try:
        days = int(request.POST.get("days", "14"))
    except ValueError:
        return _report_page(request, scenario, share_error="Give the number of days as a whole number.", status=400)
    try:
        link, token = share_link_create(scenario=scenario, user=request.user, days=days)
    except ValidationError as exc:
        return _report_page(request, scenario, share_error=" ".join(exc.messages), status=400)
    response = redirect(reverse("scenario-detail", args=[scenario.pk]) + "#new-link")
    response.set_signed_cookie(
        NEW_LINK_COOKIE, f"{link.pk}:{token}", salt=NEW_LINK_COOKIE, max_age=NEW_LINK_SECONDS,
        path=_report_path(scenario), secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax",
    )  # fmt: skip
    return response


@login_required
@require_POST
def share_link_revoke_view(request: HttpRequest, link_id: int) -> HttpResponse:
    link = share_link_get_for_user(user=request.user, link_id=link_id)
    share_link_revoke(link=link, user=request.user)
    messages.success(request, "Share link revoked: it no longer opens the report.")
    return redirect("scenario-detail", scenario_id=link.scenario_id)


# --- the public, read-only share link ------------------------------------------------------------------------


@never_cache
@require_GET
def shared_report(request: HttpRequest, token: str) -> HttpResponse:
    scenario = scenario_for_share_token(token)
    context = report_context(scenario, evidence_records(scenario)) | {"shared": True, "token": token}
    return _private(render(request, "economics/report.html", context))


@never_cache
@require_GET
def shared_report_html(request: HttpRequest, token: str) -> HttpResponse:
    return _private(_html_download(scenario_for_share_token(token)))


@never_cache
@require_GET
def shared_report_pdf(request: HttpRequest, token: str) -> HttpResponse:
    return _private(_pdf_download(request, scenario_for_share_token(token)))


# --- helpers -----------------------------------------------------------------------------------------------


def _report_path(scenario: Scenario) -> str:
    return reverse("scenario-detail", args=[scenario.pk])


def _new_link_once(request: HttpRequest, scenario: Scenario) -> tuple[ShareLink, str] | None:
    """The link just made for this report and its token, if the maker's browser carries them (see
    share_link_create_view); None otherwise, or if the cookie is stale, tampered with or about another link."""
    value = request.get_signed_cookie(NEW_LINK_COOKIE, default=None, salt=NEW_LINK_COOKIE, max_age=NEW_LINK_SECONDS)
    link_id, _, token = (value or "").partition(":")
    if not link_id.isdigit() or not token:
        return None
    link = share_links_of(scenario).filter(pk=int(link_id), token_sha256=ShareLink.digest(token)).first()
    return (link, token) if link is not None else None


def _report_page(request: HttpRequest, scenario: Scenario, *, status: int = 200, **extra: Any) -> HttpResponse:
    context = task_context(request, scenario.task, TAB)
    context |= report_context(scenario, evidence_records(scenario))
    context |= {
        "app_links": True,
        "share_links": share_links_of(scenario),
        "max_share_days": MAX_SHARE_DAYS,
        **extra,
    }
    return render(request, "economics/report.html", context, status=status)


def export_html(scenario: Scenario) -> str:
    """The report as one HTML file with plotly.js and the styles inlined: it opens offline, and the PDF is
    printed from it."""
    context = report_context(scenario, evidence_records(scenario)) | {
        "plotly_js": mark_safe(get_plotlyjs()),  # the plotly package's own bundle, not user data
    }
    return render_to_string("economics/report_export.html", context)


def _filename(scenario: Scenario, extension: str) -> str:
    return f"{slugify(scenario.name) or 'scenario'}-v{scenario.version}-report.{extension}"


def _html_download(scenario: Scenario) -> HttpResponse:
    response = HttpResponse(export_html(scenario), content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(scenario, "html")}"'
    return response


def _pdf_download(request: HttpRequest, scenario: Scenario) -> HttpResponse:
    try:
        pdf = html_to_pdf(export_html(scenario))
    except PdfUnavailable as exc:
        return render(request, "503.html", {"detail": str(exc), "unavailable": "PDF printer"}, status=503)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(scenario, "pdf")}"'
    return response


def _private(response: HttpResponse) -> HttpResponse:
    """A shared report is for the people given the link: not for search engines, and the token (in the URL)
    is never sent on as a Referer."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _compare_error(request: HttpRequest, context: dict[str, Any], message: str) -> HttpResponse:
    return render(request, "economics/scenario_compare.html", context | {"error": message}, status=400)


def _compare_column(scenario: Scenario, index: int) -> dict[str, Any]:
    f = scenario.figures
    mode = f["modes"][f["mode"]]
    certificate = f["certificate"]
    return {
        "scenario": scenario,
        "verdict": VERDICT_TITLES.get(scenario.verdict, scenario.verdict),
        "verdict_key": scenario.verdict,
        "rows": {
            "Breakeven": months_text(scenario.breakeven_months),
            "Monthly savings": usd(scenario.monthly_savings_usd),
            "Monthly cost (distilled)": usd(mode["monthly_usd"]),
            "Keep-teacher monthly cost": usd(f["modes"]["keep_teacher"]["monthly_usd"]),
            "Cost reduction": "—" if mode["cost_reduction"] is None else f"{mode['cost_reduction']:.2f}×",
            "One-off cost": usd(f["one_off"]["total_usd"]),
            "Student": scenario.student_name,
            "Mode": MODE_LABELS.get(f["mode"], f["mode"]),
            "τ rule": RULE_LABELS.get(f["tau_rule"], f["tau_rule"]),
            "τ": f"{f['tau']:.3f}",
            "Traffic to the student": f"{f['share']:.1%}",
            "Cascade quality (validation)": _pct(f["validation"]["cascade_quality"]),
            "Certified": (
                f"τ {certificate['tau']:.3f}, keeps ≥ {certificate['coverage_lower_bound']:.1%}"
                if certificate["tau"] is not None
                else "no certified τ"
            ),
            "Requests per month": f"{f['assumptions']['requests_per_month']:,.0f}",
            "Saved": f"{scenario.created_at:%Y-%m-%d} by "
            + (scenario.created_by.get_username() if scenario.created_by else "a deleted user"),
        },
        "chart": charts.cumulative_cost_figure(f),
        "chart_id": f"compare-{index}-cumulative",
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"
