"""Writes of the approvals app: gate thresholds, requests, decisions, deployments. Role checks happen here,
every write appends to the audit log in the same transaction, and the database backs the two rules that must
never break (four eyes, append-only audit; see migration 0002)."""

import hashlib
import secrets
from dataclasses import fields
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.approvals.audit import audit_append
from webapp.approvals.evidence import EvidenceError, canonical_sha256, evidence_snapshot, gate_evidence, verify_artifact
from webapp.approvals.gates import Thresholds, evaluate_gates
from webapp.approvals.manifest import build_manifest, build_model_card
from webapp.approvals.models import ApprovalRequest, Decision, Deployment, GatePolicy, ServedDecision
from webapp.economics.models import Scenario
from webapp.registry.models import Task

KEY_PREFIX = "dsv_"


def serving_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# --- gates -----------------------------------------------------------------------------------------------------


def gate_policy_of(task: Task) -> GatePolicy:
    policy, _ = GatePolicy.objects.get_or_create(task=task)
    return policy


def thresholds_of(policy: GatePolicy) -> Thresholds:
    return Thresholds(**{f.name: getattr(policy, f.name) for f in fields(Thresholds)})


@transaction.atomic
def gate_policy_update(*, task: Task, user: AbstractBaseUser, values: dict[str, Any]) -> GatePolicy:
    """Approvers set the thresholds; requests made before keep the gates they were judged on."""
    require_role(user=user, team=task.team, role=Role.APPROVER)
    policy = GatePolicy.objects.select_for_update().get(pk=gate_policy_of(task).pk)
    names = {f.name for f in fields(Thresholds)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValidationError({name: f"Unknown gate '{name}'." for name in unknown})
    before = {name: getattr(policy, name) for name in names}
    for name, value in values.items():
        setattr(policy, name, value)
    policy.updated_by = user
    policy.full_clean(exclude=["task"])
    policy.save()
    changed = {name: [before[name], values[name]] for name in values if before[name] != values[name]}
    if changed:
        summary = "; ".join(f"{name}: {old} → {new}" for name, (old, new) in changed.items())
        audit_append(team=task.team, action="gates.updated", actor=user, task=task, obj=policy, summary=summary,
                     evidence={"changed": changed})  # fmt: skip
    return policy


# --- requests --------------------------------------------------------------------------------------------------


@transaction.atomic
def request_create(*, scenario: Scenario, user: AbstractBaseUser, note: str = "") -> ApprovalRequest:
    """Freeze the evidence behind a saved scenario and judge it against the task's gates."""
    task = scenario.task
    require_role(user=user, team=task.team, role=Role.MEMBER)
    try:
        snapshot = evidence_snapshot(scenario)
    except EvidenceError as exc:
        raise ValidationError(str(exc)) from exc
    gates = [gate.as_dict() for gate in evaluate_gates(gate_evidence(snapshot), thresholds_of(gate_policy_of(task)))]
    request = ApprovalRequest.objects.create(
        task=task,
        scenario=scenario,
        student=scenario.student,
        student_name=snapshot["student"]["name"][:200],
        tau=snapshot["tau"],
        temperature=snapshot["temperature"],
        snapshot=snapshot,
        snapshot_sha256=canonical_sha256(snapshot),
        gates=gates,
        note=note,
        requested_by=user,
    )
    failed = [gate["label"] for gate in gates if not gate["passed"]]
    audit_append(
        team=task.team, action="request.created", actor=user, task=task, obj=request,
        summary=f"Requested approval of {request.student_name} at τ {request.tau:.4f} (scenario "
        f"'{scenario.name}' v{scenario.version}); " + (f"failed gates: {', '.join(failed)}" if failed else
                                                     "all gates pass"),
        evidence=_request_evidence(request),
    )  # fmt: skip
    return request


@transaction.atomic
def request_withdraw(*, request: ApprovalRequest, user: AbstractBaseUser) -> ApprovalRequest:
    locked = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
    if locked.requested_by_id != user.pk:
        require_role(user=user, team=locked.task.team, role=Role.ADMIN)
    if locked.state != ApprovalRequest.State.PENDING:
        raise ValidationError(f"This request is already {locked.get_state_display().lower()}.")
    locked.state = ApprovalRequest.State.WITHDRAWN
    locked.save(update_fields=["state"])
    audit_append(team=locked.task.team, action="request.withdrawn", actor=user, task=locked.task, obj=locked,
                 summary=f"Withdrew request #{locked.pk}", evidence=_request_evidence(locked))  # fmt: skip
    return locked


def request_decide(
    *,
    request: ApprovalRequest,
    user: AbstractBaseUser,
    outcome: str,
    comment: str,
    overrides: dict[str, str] | None = None,
) -> Decision:
    """Approve or reject, once. Raises PermissionDenied (role, own request) or ValidationError (state, missing
    comment or override reason, artifact changed). Of two approvers acting at once exactly one wins."""
    task = request.task
    require_role(user=user, team=task.team, role=Role.APPROVER)
    if request.requested_by_id == user.pk:
        raise PermissionDenied("Nobody approves or rejects their own request: another approver must decide it.")
    comment = comment.strip()
    if not comment:
        raise ValidationError({"comment": "Say why: a decision needs a comment."})
    if outcome not in Decision.Outcome.values:
        raise ValidationError({"outcome": f"Unknown outcome '{outcome}'."})
    overrides = {key: reason.strip() for key, reason in (overrides or {}).items() if reason and reason.strip()}
    failed = {str(gate["key"]): gate for gate in request.failed_gates}
    if outcome == Decision.Outcome.APPROVED:
        missing = [str(gate["label"]) for key, gate in failed.items() if key not in overrides]
        if missing:
            raise ValidationError(
                {"overrides": f"These gates failed: {', '.join(missing)}. Approving anyway needs a written reason "
                 "for each."}
            )  # fmt: skip
        try:
            verify_artifact(request.student, request.snapshot["student"]["sha256"]) if request.student else None
        except EvidenceError as exc:
            raise ValidationError(str(exc)) from exc
        if request.student is None:
            raise ValidationError("The requested student was deleted: there is nothing to approve.")
    overrides = {key: reason for key, reason in overrides.items() if key in failed}
    try:
        with transaction.atomic():
            locked = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
            if locked.state != ApprovalRequest.State.PENDING:
                raise ValidationError(_already_decided(locked))
            decision = Decision.objects.create(
                request=locked, outcome=outcome, comment=comment, overrides=overrides, decided_by=user
            )
            locked.state = outcome
            locked.save(update_fields=["state"])
            evidence = _request_evidence(locked) | {"decision_id": decision.pk}
            audit_append(team=task.team, action=f"request.{outcome}", actor=user, task=task, obj=locked,
                         summary=f"{decision.get_outcome_display()} request #{locked.pk}: {comment}",
                         evidence=evidence)  # fmt: skip
            for key, reason in overrides.items():
                audit_append(team=task.team, action="gate.overridden", actor=user, task=task, obj=locked,
                             summary=f"Overrode the failed '{failed[key]['label']}' gate: {reason}",
                             evidence=evidence | {"gate": failed[key]})  # fmt: skip
    except IntegrityError as exc:  # the one-to-one key: another decision landed first
        request.refresh_from_db()
        raise ValidationError(_already_decided(request)) from exc
    request.refresh_from_db()
    return decision


def _already_decided(request: ApprovalRequest) -> str:
    decision = Decision.objects.filter(request=request).select_related("decided_by").first()
    if decision is None:
        return f"This request is {request.get_state_display().lower()}: there is nothing to decide."
    return (
        f"This request was already {decision.get_outcome_display().lower()} by {decision.decided_by.get_username()} "
        f"at {timezone.localtime(decision.created_at):%Y-%m-%d %H:%M}."
    )


def _request_evidence(request: ApprovalRequest) -> dict[str, Any]:
    snapshot = request.snapshot
    return {
        "request_id": request.pk,
        "snapshot_sha256": request.snapshot_sha256,
        "scenario": {k: snapshot["scenario"][k] for k in ("id", "name", "version")},
        "student_id": snapshot["student"]["id"],
        "artifact_sha256": snapshot["student"]["sha256"],
        "tau": request.tau,
        "validation_evaluation_id": snapshot["validation"]["evaluation_id"],
    }


# --- deployments -----------------------------------------------------------------------------------------------


@transaction.atomic
def deployment_create(
    *, request: ApprovalRequest, user: AbstractBaseUser, shadow_rate: float = 0.0
) -> tuple[Deployment, str]:
    """Put an approved request into service; the task's active deployment, if any, is superseded. Returns the
    deployment and its serving key, shown once and stored only hashed."""
    task = request.task
    require_role(user=user, team=task.team, role=Role.MEMBER)
    locked = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
    if locked.state != ApprovalRequest.State.APPROVED:
        raise ValidationError(f"Only an approved request can be deployed; this one is {locked.get_state_display()}.")
    if Deployment.objects.filter(request=locked).exists():
        raise ValidationError(f"Request #{locked.pk} is already deployed.")
    if not 0 <= shadow_rate <= 1:
        raise ValidationError({"shadow_rate": "The shadow rate is a share between 0 and 1."})
    if locked.student is None:
        raise ValidationError("The approved student was deleted: there is nothing to deploy.")
    try:
        verify_artifact(locked.student, locked.snapshot["student"]["sha256"])
    except EvidenceError as exc:
        raise ValidationError(str(exc)) from exc
    for active in Deployment.objects.select_for_update().filter(task=task, state=Deployment.State.ACTIVE):
        _end(active, user=user, state=Deployment.State.SUPERSEDED, reason=f"superseded by request #{locked.pk}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    deployment = Deployment.objects.create(
        task=task,
        request=locked,
        student=locked.student,
        teacher_id=locked.snapshot["teacher"]["id"] if _teacher_exists(locked) else None,
        tau=locked.tau,
        temperature=locked.temperature,
        manifest={},
        manifest_sha256="",
        model_card="",
        key_sha256=serving_key_digest(key),
        shadow_rate=shadow_rate,
        created_by=user,
    )
    manifest = build_manifest(locked, locked.decision, deployment_id=deployment.pk)
    deployment.manifest = manifest
    deployment.manifest_sha256 = canonical_sha256(manifest)
    deployment.model_card = build_model_card(locked, manifest)
    deployment.save(update_fields=["manifest", "manifest_sha256", "model_card"])
    audit_append(
        team=task.team, action="deployment.created", actor=user, task=task, obj=deployment,
        summary=f"Deployed {locked.student_name} at τ {locked.tau:.4f} (T {locked.temperature:.3f}) from request "
        f"#{locked.pk}; shadow rate {shadow_rate:.0%}",
        evidence=_request_evidence(locked) | {"deployment_id": deployment.pk, "manifest_sha256":
                                              deployment.manifest_sha256},
    )  # fmt: skip
    return deployment, key


@transaction.atomic
def deployment_revoke(*, deployment: Deployment, user: AbstractBaseUser, reason: str) -> Deployment:
    """The endpoint stops answering at once (it checks the state on every request)."""
    require_role(user=user, team=deployment.task.team, role=Role.APPROVER)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the deployment is revoked."})
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    if locked.state != Deployment.State.ACTIVE:
        raise ValidationError(f"This deployment is already {locked.get_state_display().lower()}.")
    _end(locked, user=user, state=Deployment.State.REVOKED, reason=reason)
    return locked


@transaction.atomic
def deployment_shadow_update(*, deployment: Deployment, user: AbstractBaseUser, shadow_rate: float) -> Deployment:
    require_role(user=user, team=deployment.task.team, role=Role.MEMBER)
    if not 0 <= shadow_rate <= 1:
        raise ValidationError({"shadow_rate": "The shadow rate is a share between 0 and 1."})
    locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
    before = locked.shadow_rate
    locked.shadow_rate = shadow_rate
    locked.save(update_fields=["shadow_rate"])
    audit_append(team=locked.task.team, action="deployment.shadow_changed", actor=user, task=locked.task,
                 obj=locked, summary=f"Shadow rate {before:.0%} → {shadow_rate:.0%}",
                 evidence={"deployment_id": locked.pk})  # fmt: skip
    return locked


@transaction.atomic
def deployment_key_rotate(*, deployment: Deployment, user: AbstractBaseUser) -> str:
    """A new serving key; the old one stops working at once."""
    require_role(user=user, team=deployment.task.team, role=Role.APPROVER)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    Deployment.objects.filter(pk=deployment.pk).update(key_sha256=serving_key_digest(key))
    audit_append(team=deployment.task.team, action="deployment.key_rotated", actor=user, task=deployment.task,
                 obj=deployment, summary="Rotated the serving key",
                 evidence={"deployment_id": deployment.pk})  # fmt: skip
    return key


def _end(deployment: Deployment, *, user: AbstractBaseUser, state: str, reason: str) -> None:
    deployment.state = state
    deployment.ended_at = timezone.now()
    deployment.ended_by = user
    deployment.end_reason = reason
    deployment.save(update_fields=["state", "ended_at", "ended_by", "end_reason"])
    action = "deployment.revoked" if state == Deployment.State.REVOKED else "deployment.superseded"
    audit_append(team=deployment.task.team, action=action, actor=user, task=deployment.task, obj=deployment,
                 summary=f"{deployment.get_state_display()} deployment #{deployment.pk}: {reason}",
                 evidence={"deployment_id": deployment.pk, "request_id": deployment.request_id})  # fmt: skip


def _teacher_exists(request: ApprovalRequest) -> bool:
    from webapp.registry.models import Teacher

    return Teacher.objects.filter(pk=request.snapshot["teacher"]["id"], task=request.task).exists()


# --- the serving endpoint's decision log -----------------------------------------------------------------------


def served_decisions_record(*, decisions: list[ServedDecision]) -> None:
    """Store decisions a serving process made (of any deployments) in one insert. No role check: the process
    already checked each request's serving key, and the log is append-only from there."""
    ServedDecision.objects.bulk_create(decisions)
