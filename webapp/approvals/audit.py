"""The append-only, hash-chained audit log: one chain per team.

Each entry's hash is the sha256 of its canonical JSON (every field but the hash itself, keys sorted), which
includes the previous entry's hash: editing, deleting or reordering any line changes a hash that a later line
recorded, and `chain_verify` names the first line where the chain breaks. Appends are serialised per team by
locking the team's row, so two appends at once can't both claim the same place in the chain."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from webapp.accounts.models import Team
from webapp.approvals.models import AuditEntry
from webapp.registry.models import Task

GENESIS = "0" * 64

# Every action the log knows, with how a page reads it.
ACTIONS = {
    "gates.updated": "Gate thresholds changed",
    "request.created": "Approval requested",
    "request.withdrawn": "Request withdrawn",
    "request.approved": "Request approved",
    "request.rejected": "Request rejected",
    "gate.overridden": "Failed gate overridden",
    "deployment.created": "Deployed",
    "deployment.superseded": "Deployment superseded",
    "deployment.revoked": "Deployment revoked",
    "deployment.shadow_changed": "Shadow rate changed",
    "deployment.key_rotated": "Serving key rotated",
    "tau.changed": "τ changed",
    "monitoring.alert": "Monitoring alert raised",
    "monitoring.samples_uploaded": "Decisions uploaded",
}


def entry_digest(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    """What an entry's hash covers: all it says, and the hash of the line before."""
    return {
        "team": entry.team_id,
        "seq": entry.seq,
        "created_at": entry.created_at.isoformat(),
        "action": entry.action,
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "task_id": entry.task_id,
        "task_name": entry.task_name,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "summary": entry.summary,
        "evidence": entry.evidence,
        "prev_hash": entry.prev_hash,
    }


def audit_append(
    *,
    team: Team,
    action: str,
    actor: AbstractBaseUser | None,
    summary: str,
    obj: Any = None,
    task: Task | None = None,
    evidence: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one line to the team's chain (inside the caller's transaction, if any: a rolled-back action
    leaves no line)."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}.")
    with transaction.atomic():
        Team.objects.select_for_update().filter(pk=team.pk).first()  # one appender per team at a time
        last = AuditEntry.objects.filter(team=team).order_by("-seq").only("seq", "entry_hash").first()
        entry = AuditEntry(
            team=team,
            seq=(last.seq + 1) if last else 1,
            created_at=timezone.now(),
            action=action,
            actor_id=actor.pk if actor is not None else None,
            actor_name=actor.get_username() if actor is not None else "system",
            task_id=task.pk if task is not None else None,
            task_name=task.name if task is not None else "",
            object_type=type(obj).__name__.lower() if obj is not None else "",
            object_id=getattr(obj, "pk", None),
            summary=summary,
            evidence=json.loads(json.dumps(evidence or {}, default=str)),
            prev_hash=last.entry_hash if last else GENESIS,
        )
        entry.entry_hash = entry_digest(hashed_fields(entry))
        entry.save()
        return entry


@dataclass(frozen=True)
class ChainReport:
    """The result of re-hashing a chain: intact, or the first line where it breaks and why."""

    entries: int
    intact: bool
    broken_at: int | None = None
    problem: str = ""
    head: str = GENESIS


def chain_verify(entries: Iterable[AuditEntry]) -> ChainReport:
    """Re-hash every line in order; `entries` must be one team's whole chain (ordered by seq)."""
    previous, count, expected_seq = GENESIS, 0, 1
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            return ChainReport(count, False, entry.seq, f"line {expected_seq} is missing (the next is {entry.seq})")
        if entry.prev_hash != previous:
            return ChainReport(count, False, entry.seq, "it does not point at the line before it")
        if entry_digest(hashed_fields(entry)) != entry.entry_hash:
            return ChainReport(count, False, entry.seq, "its content no longer matches its hash (it was edited)")
        previous, expected_seq = entry.entry_hash, expected_seq + 1
    return ChainReport(count, True, head=previous)


def team_chain(team: Team) -> Iterable[AuditEntry]:
    return AuditEntry.objects.filter(team=team).order_by("seq").iterator(chunk_size=2000)
