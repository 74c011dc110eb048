"""Reads of the serving process: which deployment a serving key opens, and what serving it needs.

Read on every request (batched with the requests arriving at the same time): the state decides 410 at once
after a revocation, and a rotated key stops matching. What the models are comes from the manifest, the JSON
the approval froze, not from rows that may have changed since."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.approvals.models import Deployment
from webapp.registry.models import Student

DEFAULT_MAX_LENGTH = 128  # what the evaluate job uses for a student whose config names none


@dataclass(frozen=True)
class TeacherSpec:
    model_ref: str  # a preset, a path under MODEL_ROOT or a cached hub id (domain.model_refs)
    sha256: str  # the folder's fingerprint when the teacher was fine-tuned here; "" for a registered model
    max_length: int


@dataclass(frozen=True)
class ServingDeployment:
    id: int
    active: bool
    state_label: str  # "Revoked", "Superseded"
    tau: float
    temperature: float
    shadow_rate: float
    labels: tuple[str, ...]
    student: Student  # its files are checked against student_sha256 before they are loaded
    student_sha256: str
    quantized: bool
    student_max_length: int
    # None: no teacher this process can run (uploaded outputs only, or none): escalated rows go back to the
    # caller marked `escalate`.
    teacher: TeacherSpec | None

    @property
    def runtime_key(self) -> tuple[int, str]:
        """The models of a deployment are loaded once per process, for the approved artifact."""
        return (self.id, self.student_sha256)


def deployments_by_key_digest(digests: list[str]) -> dict[str, ServingDeployment]:
    """The deployments whose serving key has one of these sha256 digests, by digest (one query)."""
    rows = Deployment.objects.filter(key_sha256__in=set(digests)).select_related("student", "teacher")
    return {row.key_sha256: _serving(row) for row in rows}


def _serving(row: Deployment) -> ServingDeployment:
    manifest = row.manifest
    student = manifest["student"]
    fallback = manifest.get("fallback_teacher") or {}
    teacher = None
    if fallback.get("model_ref") and not fallback.get("precomputed"):
        teacher = TeacherSpec(
            model_ref=fallback["model_ref"],
            sha256=fallback.get("sha256") or "",
            max_length=row.teacher.max_length if row.teacher is not None else DEFAULT_MAX_LENGTH,
        )
    return ServingDeployment(
        id=row.pk,
        active=row.state == Deployment.State.ACTIVE,
        state_label=row.get_state_display(),
        tau=row.tau,
        temperature=row.temperature,
        shadow_rate=row.shadow_rate,
        labels=tuple(manifest["task"]["labels"]),
        student=row.student,
        student_sha256=student["sha256"],
        quantized=student["construction"] == Student.Construction.QUANTIZED,
        student_max_length=int(row.student.config.get("max_length") or DEFAULT_MAX_LENGTH),
        teacher=teacher,
    )
