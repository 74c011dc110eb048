"""What each job kind is asked to do: a frozen, typed spec per kind.

A spec is built and checked once, in the webapp service that starts the job (where the user can still
fix a mistake); the web form, the API and the sweep all go through it, and `spec.to_params()` is what
`Job.params` stores. The worker rebuilds it with `spec_from_params`, which refuses unknown, missing or
mistyped parameters, so a misspelt key is a form error or a 400 at enqueue, never a KeyError at run time.

Checks here are the ones that need no database (ranges, choices); whether a teacher belongs to the task
is the service's business."""

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, Union

# One source for the bounds the form, the API and the service enforce.
EPOCHS = (1, 200)
BATCH_SIZE = (1, 4096)
LEARNING_RATE = (1e-7, 0.5)
PATIENCE = (1, 50)
MAX_LENGTH = (8, 8192)
STUDENT_LAYERS = (1, 48)
KD_TEMPERATURE = (0.1, 50.0)
COVERAGE = (0.5, 0.999)
MAX_SWEEP_SIZES = 8

FINETUNE_LEARNING_RATE = 5e-5
# Students re-learn how their fewer layers fit together: a larger step than fine-tuning's 5e-5
# (the BANKING77 benchmark trains them at 3e-4, batch 64).
STUDENT_LEARNING_RATE = 2e-4

CONSTRUCTIONS = ("truncated", "pretrained", "scratch")
LAYER_STRATEGIES = ("bottom", "spread")
QUANTIZE_METHODS = ("int8_weight_only", "int8_dynamic")


class SpecError(ValueError):
    """A job's parameters are wrong: `field` names the parameter when one is to blame."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _within(name: str, value: float | None, bounds: tuple[float, float], what: str) -> None:
    low, high = bounds
    if value is not None and not low <= value <= high:
        raise SpecError(f"{what} must be between {low:g} and {high:g} (got {value:g}).", field=name)


def _one_of(name: str, value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise SpecError(f"Unknown {what} '{value}': choose one of {', '.join(choices)}.", field=name)


@dataclass(frozen=True)
class TrainingOptions:
    """What a user may set for a training job; defaults suit a small encoder on a CPU or one GPU."""

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = FINETUNE_LEARNING_RATE
    patience: int = 3
    max_length: int | None = None  # None: the teacher's
    seed: int = 0
    evals_per_epoch: int | None = None  # None: the training loop's default
    checkpoint_every_steps: int | None = None

    def __post_init__(self) -> None:
        _within("epochs", self.epochs, EPOCHS, "Epochs")
        _within("batch_size", self.batch_size, BATCH_SIZE, "The batch size")
        _within("learning_rate", self.learning_rate, LEARNING_RATE, "The learning rate")
        _within("patience", self.patience, PATIENCE, "Patience")
        _within("max_length", self.max_length, MAX_LENGTH, "max_length")
        if self.evals_per_epoch is not None and self.evals_per_epoch < 1:
            raise SpecError("evals_per_epoch must be at least 1.", field="evals_per_epoch")
        if self.checkpoint_every_steps is not None and self.checkpoint_every_steps < 1:
            raise SpecError("checkpoint_every_steps must be at least 1.", field="checkpoint_every_steps")

    def train_config_kwargs(self) -> dict[str, Any]:
        """The TrainConfig fields this sets (max_length is the tokenizer's business, not the loop's)."""
        keys = ("epochs", "batch_size", "learning_rate", "patience", "seed", "evals_per_epoch")
        kwargs = {key: getattr(self, key) for key in keys if getattr(self, key) is not None}
        if self.checkpoint_every_steps is not None:
            kwargs["checkpoint_every_steps"] = self.checkpoint_every_steps
        return kwargs


@dataclass(frozen=True)
class StudentOptions:
    """How a student is built and how much it listens to the teacher."""

    construction: str = "truncated"
    layers: int = 2
    layer_strategy: str = "bottom"
    hidden_size: int | None = None  # scratch students only; None: the teacher's
    student_ref: str = ""  # pretrained students only
    temperature: float = 2.0
    alpha: float = 0.5

    def __post_init__(self) -> None:
        _one_of("construction", self.construction, CONSTRUCTIONS, "student construction")
        _one_of("layer_strategy", self.layer_strategy, LAYER_STRATEGIES, "layer strategy")
        _within("layers", self.layers, STUDENT_LAYERS, "A student's layer count")
        _within("temperature", self.temperature, KD_TEMPERATURE, "The KD temperature")
        _within("alpha", self.alpha, (0.0, 1.0), "α")
        if self.hidden_size is not None and self.hidden_size < 8:
            raise SpecError("hidden_size must be at least 8.", field="hidden_size")
        if self.construction == "pretrained" and not self.student_ref.strip():
            raise SpecError("A pretrained student needs a model: give student_ref.", field="student_ref")


@dataclass(frozen=True)
class JobSpec:
    """Base of every spec: `kind` names the Job.Kind it describes, `queue` where it runs."""

    kind: ClassVar[str]
    queue: ClassVar[str]

    def to_params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ProfileSpec(JobSpec):
    kind: ClassVar[str] = "profile_dataset"
    queue: ClassVar[str] = "default"  # tokenizing needs no accelerator
    dataset_id: int
    teacher_id: int
    max_length: int

    def __post_init__(self) -> None:
        _within("max_length", self.max_length, MAX_LENGTH, "max_length")


@dataclass(frozen=True)
class FinetuneSpec(JobSpec):
    kind: ClassVar[str] = "finetune_teacher"
    queue: ClassVar[str] = "gpu"
    teacher_id: int
    train_dataset_id: int
    validation_dataset_id: int | None = None
    training: TrainingOptions = field(default_factory=TrainingOptions)


@dataclass(frozen=True)
class TeacherGate:
    """The teacher's measured quality against the task's bar when the job was asked for. Distilling from
    a teacher below the bar (or never measured) needs the user's explicit confirmation, kept here."""

    score: float | None  # None: never measured
    source: str  # e.g. "validation accuracy of fine-tune job 12", or "" when unmeasured
    bar: float
    confirmed_below_bar: bool = False

    @property
    def passes(self) -> bool:
        return self.score is not None and self.score >= self.bar


@dataclass(frozen=True)
class DistillSpec(JobSpec):
    kind: ClassVar[str] = "distill_student"
    queue: ClassVar[str] = "gpu"
    teacher_id: int
    train_dataset_id: int
    validation_dataset_id: int | None = None
    student: StudentOptions = field(default_factory=StudentOptions)
    training: TrainingOptions = field(default_factory=lambda: TrainingOptions(learning_rate=STUDENT_LEARNING_RATE))
    name: str = ""
    gate: TeacherGate | None = None


@dataclass(frozen=True)
class SweepSpec(JobSpec):
    """A parent job whose children are one DistillSpec per size; it runs nothing itself."""

    kind: ClassVar[str] = "sweep"
    queue: ClassVar[str] = "gpu"
    teacher_id: int
    sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.sizes) <= MAX_SWEEP_SIZES:
            raise SpecError(f"Choose between 1 and {MAX_SWEEP_SIZES} student sizes.", field="layers")


@dataclass(frozen=True)
class QuantizeSpec(JobSpec):
    kind: ClassVar[str] = "quantize_student"
    queue: ClassVar[str] = "default"
    student_id: int
    method: str = "int8_weight_only"

    def __post_init__(self) -> None:
        _one_of("method", self.method, QUANTIZE_METHODS, "quantization")


@dataclass(frozen=True)
class EvaluateSpec(JobSpec):
    """One model (exactly one of teacher_id / student_id) on datasets; T and τ fitted on validation."""

    kind: ClassVar[str] = "evaluate"
    queue: ClassVar[str] = "gpu"  # it times the model on the accelerator
    dataset_ids: tuple[int, ...]
    teacher_id: int | None = None
    student_id: int | None = None
    validation_dataset_id: int | None = None
    coverage: float = 0.95
    # Keep every label's probability per example in the predictions file, not only the top one (off by
    # default: with 77 labels it makes the file several times larger).
    save_probabilities: bool = False

    def __post_init__(self) -> None:
        if (self.teacher_id is None) == (self.student_id is None):
            raise SpecError("Evaluate exactly one model: a teacher or a student.", field="model")
        if not self.dataset_ids:
            raise SpecError("Choose at least one dataset to evaluate on.", field="datasets")
        _within("coverage", self.coverage, COVERAGE, "The coverage that picks τ")


SPECS: dict[str, type[JobSpec]] = {
    spec.kind: spec for spec in (ProfileSpec, FinetuneSpec, DistillSpec, SweepSpec, QuantizeSpec, EvaluateSpec)
}

S = TypeVar("S")


def spec_from_params(kind: str, params: dict[str, Any]) -> JobSpec:
    """Rebuild the spec a job was started with; SpecError names what does not fit."""
    spec_class = SPECS.get(kind)
    if spec_class is None:
        raise SpecError(f"Unknown job kind '{kind}'.")
    return _build(spec_class, params, path="")


def _build(cls: type[S], data: Any, *, path: str) -> S:
    if not isinstance(data, dict):
        raise SpecError(f"{path or 'The parameters'} must be an object.", field=path or None)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f" in {path}" if path else ""
        raise SpecError(
            f"Unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}{where}; "
            f"expected {', '.join(sorted(fields))}.",
            field=f"{path}.{unknown[0]}" if path else unknown[0],
        )
    hints = typing.get_type_hints(cls)
    values = {}
    for name, spec_field in fields.items():
        where = f"{path}.{name}" if path else name
        if name not in data:
            if spec_field.default is dataclasses.MISSING and spec_field.default_factory is dataclasses.MISSING:
                raise SpecError(f"Missing parameter {where}.", field=where)
            continue
        values[name] = _coerce(hints[name], data[name], where)
    return cls(**values)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [arg for arg in args if arg is not type(None)]
        return _coerce(inner, value, where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise SpecError(f"{where} must be a list.", field=where)
        return tuple(_coerce(args[0], item, where) for item in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, path=where)
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and type(value) is hint:
        return value
    raise SpecError(f"{where} must be {_type_name(hint)} (got {value!r}).", field=where)


def _type_name(hint: Any) -> str:
    return {int: "a whole number", float: "a number", str: "text", bool: "true or false"}.get(hint, str(hint))
