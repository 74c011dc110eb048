"""Writes and computations of the decision layer: analyse a student under assumptions, save a scenario
(a new version, never an edit), and make or revoke share links to its report. Role checks happen here."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.economics.analysis import AnalysisError, Assumptions, Evidence, analyse, routing_figures
from webapp.economics.cost_model import EconomicsInputError, Mode
from webapp.economics.evidence import evidence_ids, routing_evidence
from webapp.economics.labels import ASSUMPTION_LABELS
from webapp.economics.models import Scenario, ShareLink
from webapp.registry.models import Student, Task

MAX_SHARE_DAYS = 90


def assumptions_from(data: dict[str, Any], *, task: Task) -> Assumptions:
    """Assumptions from form or API fields (missing ones take the task's and teacher's defaults)."""
    known = {f.name for f in fields(Assumptions)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationError({name: f"Unknown assumption '{name}'." for name in unknown})
    values = default_assumptions(task) | data
    if "mode" in values:
        try:
            values["mode"] = Mode(values["mode"])
        except ValueError as exc:
            raise ValidationError({"mode": f"Unknown mode '{values['mode']}'."}) from exc
    return Assumptions(**values)


def default_assumptions(task: Task) -> dict[str, Any]:
    """The task's traffic and its newest fine-tuned (else registered) teacher's cost profile."""
    return {key: value for key, (value, _) in _task_defaults(task).items()}


# Where an assumption's value came from: typed by the person saving (or asking), one of the task's or teacher's
# settings, or a built-in default nobody entered.
ENTERED, DEFAULT, TASK, TEACHER = "entered", "default", "task", "teacher"


def _task_defaults(task: Task) -> dict[str, tuple[Any, str]]:
    """Each default the task and its teacher give, with where it comes from (TASK or TEACHER)."""
    defaults: dict[str, tuple[Any, str]] = {
        "requests_per_month": (float(task.requests_per_month), TASK),
        "input_tokens_per_request": (float(task.mean_input_tokens), TASK),
        "output_tokens_per_request": (float(task.mean_output_tokens), TASK),
    }
    teacher = task.teachers.order_by("-created_at").first()
    if teacher is not None:
        if teacher.cost_mode == teacher.CostMode.GPU:
            # Registered as "self-hosted GPU $/hour": the price is a GPU host's, so the host kind is GPU.
            defaults |= {
                "teacher_pricing": ("self_hosted", TEACHER),
                "teacher_hosts": (teacher.gpu_count, TEACHER),
                "teacher_host_kind": ("gpu", TEACHER),
            }
            if teacher.gpu_hour_price:
                defaults["teacher_usd_per_host_hour"] = (float(teacher.gpu_hour_price), TEACHER)
        elif teacher.price_input_per_m or teacher.price_output_per_m:
            defaults |= {
                "teacher_usd_per_million_input_tokens": (float(teacher.price_input_per_m), TEACHER),
                "teacher_usd_per_million_output_tokens": (float(teacher.price_output_per_m), TEACHER),
            }
    return defaults


def assumption_provenance(assumptions: Assumptions, *, task: Task) -> dict[str, str]:
    """Each assumption's origin: TASK or TEACHER when it is the value the task's or teacher's settings give,
    DEFAULT when it is the built-in default (nobody entered it), else ENTERED. A value typed equal to its default
    counts as the default: nobody changed it."""
    builtin = asdict(Assumptions())
    derived = _task_defaults(task)
    origins = {}
    for key, value in asdict(assumptions).items():
        if key in derived and value == derived[key][0]:
            origins[key] = derived[key][1]
        elif key not in derived and value == builtin[key]:
            origins[key] = DEFAULT
        else:
            origins[key] = ENTERED
    return origins


def scenario_compute(*, task: Task, student: Student, assumptions: Assumptions) -> dict[str, Any]:
    """Every figure for `student` under `assumptions`; ValidationError (with the reason) when there is none."""
    with _reasons():
        evidence = _evidence(task, student)
        figures = analyse(evidence, assumptions)
    provenance = assumption_provenance(assumptions, task=task)
    return figures | {"evidence_ids": evidence_ids(evidence), "provenance": provenance}


def routing_curve_compute(*, task: Task, student: Student, assumptions: Assumptions) -> dict[str, Any]:
    """The validation routing curve of `student` and the τ each rule picks (only the τ assumptions matter)."""
    with _reasons():
        evidence = _evidence(task, student)
        figures = routing_figures(evidence, assumptions)
    return figures | {"evidence_ids": evidence_ids(evidence)}


def _evidence(task: Task, student: Student) -> Evidence:
    if student.task_id != task.pk:
        raise ValidationError({"student": "The student must belong to this task."})
    return routing_evidence(task, student)


def input_error_message(exc: EconomicsInputError) -> str:
    """The refusal in the user's words: the field's label, not its internal name ("Requests per month must be
    more than 0 (got 0).")."""
    label = ASSUMPTION_LABELS.get(exc.field) or exc.field.replace("_", " ").capitalize()
    return f"{label} {exc.problem}"


@contextmanager
def _reasons() -> Iterator[None]:
    """The analysis' refusals as ValidationErrors: a bad input under its field's name, else the reason."""
    try:
        yield
    except EconomicsInputError as exc:
        raise ValidationError({exc.field: input_error_message(exc)}) from exc
    except AnalysisError as exc:
        raise ValidationError(str(exc)) from exc


@transaction.atomic
def scenario_save(
    *, task: Task, student: Student, user: AbstractBaseUser, name: str, assumptions: Assumptions, note: str = ""
) -> Scenario:
    """Save the analysis as the next version of the named scenario (saved versions never change)."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the scenario."})
    figures = scenario_compute(task=task, student=student, assumptions=assumptions)
    latest = Scenario.objects.filter(task=task, name=name).aggregate(v=Max("version"))["v"] or 0
    try:
        return Scenario.objects.create(
            task=task,
            name=name[:120],
            version=latest + 1,
            student=student,
            student_name=str(student)[:200],
            assumptions=figures["assumptions"],
            evidence=figures["evidence_ids"],
            figures=figures,
            verdict=figures["breakeven"]["verdict"],
            breakeven_months=figures["breakeven"]["months"],
            monthly_savings_usd=figures["modes"][figures["mode"]]["monthly_savings_usd"],
            note=note,
            created_by=user,
        )
    except IntegrityError as exc:  # someone saved the same version at the same moment
        raise ValidationError("This scenario was saved by someone else just now: save again.") from exc


def share_link_create(*, scenario: Scenario, user: AbstractBaseUser, days: int = 14) -> tuple[ShareLink, str]:
    """A new read-only link; returns the row and the token, which is shown once and stored only hashed."""
    require_role(user=user, team=scenario.task.team, role=Role.MEMBER)
    if not 1 <= days <= MAX_SHARE_DAYS:
        raise ValidationError({"days": f"A link lasts between 1 and {MAX_SHARE_DAYS} days."})
    token = secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        scenario=scenario,
        token_sha256=ShareLink.digest(token),
        expires_at=timezone.now() + timedelta(days=days),
        created_by=user,
    )
    return link, token


def share_link_revoke(*, link: ShareLink, user: AbstractBaseUser) -> ShareLink:
    """Revoking is immediate: the next request with the token is refused."""
    require_role(user=user, team=link.scenario.task.team, role=Role.MEMBER)
    ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    link.refresh_from_db()
    return link
