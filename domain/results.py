"""What a job hands back: a typed result per kind, and the ledger of what it cost.

A handler computes and returns one of these; the runner passes it to the webapp service registered for
its type (`student_record`, `evaluation_record`, ...), the only writer of domain rows. The ledger is
recorded whatever the outcome: teacher calls and outputs cached by a job that failed later were still
paid for, and later jobs still reuse those outputs."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeviceInfo:
    """Where something ran, structured so a CPU timing can never be taken for a GPU's."""

    kind: str  # "cpu" | "cuda" | "mps"
    name: str  # e.g. "NVIDIA H200" or the CPU model
    threads: int
    dtype: str = "float32"  # the compute dtype (bf16 under autocast on a GPU)

    def describe(self) -> str:
        return f"{self.kind}: {self.name} ({self.threads} threads, {self.dtype})"


@dataclass(frozen=True)
class TeacherUsage:
    """Teacher calls a job made. For uploaded outputs nothing ran here: rows covered are counted and the
    tokens estimated from text length, flagged as estimated."""

    examples: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False

    def __add__(self, other: "TeacherUsage") -> "TeacherUsage":
        return TeacherUsage(
            self.examples + other.examples,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.estimated or other.estimated,
        )


@dataclass(frozen=True)
class CachedOutputs:
    """A teacher's logits over one dataset, written to DATA_DIR/path by this job, to be reused."""

    teacher_id: int
    dataset_id: int
    dataset_sha256: str
    max_length: int
    path: str  # relative to DATA_DIR
    examples: int
    tokens: int
    device_seconds: float


@dataclass
class Ledger:
    """Filled in while a job runs; recorded by the runner at the end, whatever the outcome."""

    usage: TeacherUsage = field(default_factory=TeacherUsage)
    cached_outputs: list[CachedOutputs] = field(default_factory=list)
    device: DeviceInfo | None = None

    def add_usage(self, usage: TeacherUsage) -> None:
        self.usage = self.usage + usage


@dataclass(frozen=True)
class Artifact:
    """A model folder under MODEL_ROOT, whole (written atomically) and fingerprinted."""

    ref: str  # "./distillery/task-1/student-job7": loads like any model ref
    sha256: str  # content digest of the folder (see domain.digests)
    size_bytes: int


@dataclass(frozen=True, kw_only=True)
class JobResult:
    message: str
    summary: dict[str, Any] = field(default_factory=dict)  # small JSON kept on Job.result


@dataclass(frozen=True, kw_only=True)
class Profiled(JobResult):
    """A dataset's token lengths under a teacher's tokenizer: nothing to record beyond the job."""


@dataclass(frozen=True, kw_only=True)
class TeacherTrained(JobResult):
    base_teacher_id: int
    name: str
    artifact: Artifact
    labels: list[str]
    max_length: int
    parameters: int
    metrics: dict[str, Any]  # validation accuracy/loss, epochs


@dataclass(frozen=True, kw_only=True)
class StudentTrained(JobResult):
    teacher_id: int
    name: str
    artifact: Artifact
    construction: str
    layers: int
    parameters: int
    labels: list[str]
    config: dict[str, Any]
    metrics: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class StudentQuantized(JobResult):
    parent_student_id: int
    name: str
    artifact: Artifact
    method: str
    metrics: dict[str, Any]


@dataclass(frozen=True)
class Calibration:
    """Temperature T and threshold τ, fitted on one validation set (None when there was none)."""

    temperature: float
    threshold: float
    coverage: float
    validation_dataset_id: int | None
    validation_sha256: str
    details: dict[str, Any] = field(default_factory=dict)  # fit diagnostics (status, NLL before/after)


@dataclass(frozen=True)
class DatasetEvidence:
    dataset_id: int
    dataset_name: str
    dataset_role: str
    dataset_sha256: str
    evidence: dict[str, Any]  # workers.ml.evidence.dataset_evidence
    predictions_path: str  # relative to DATA_DIR
    predictions_sha256: str


@dataclass(frozen=True, kw_only=True)
class ModelEvaluated(JobResult):
    teacher_id: int | None
    student_id: int | None
    artifact_sha256: str  # of the folder measured ("" for uploaded outputs: see outputs_sha256)
    calibration: Calibration
    datasets: list[DatasetEvidence]
    speed: dict[str, Any] | None  # None when there was no model to time
    device: DeviceInfo | None
