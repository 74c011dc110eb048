"""Routing from evidence: how much traffic a student can keep behind a confidence threshold τ, and how well the
student-first cascade answers. Pure functions over per-example predictions (no Django, no torch), shared by the
pages, the API and the benchmark.

One prediction set is a student and its teacher on the same rows of one dataset. Per row:

- the student *keeps* it when its (temperature-scaled) confidence ≥ τ, else *escalates* it to the teacher;
- it is *in scope* when its label is one of the task's labels, *out of scope* (OOS) when it has a label outside
  them (e.g. "oos"), *unlabelled* when its label is null; it is *scorable* when it is labelled (in scope or OOS);
- the cascade *handles* a scorable row when it is kept, in scope and the student's prediction is the label; or
  escalated, in scope and the teacher's own prediction is the label; or escalated and out of scope. A kept OOS
  row is always a wrong answer: the student can only answer with one of the task's labels.

Over a set of N rows, S of them scorable:

    coverage(τ)        = #kept / N                                   (every row is traffic, labelled or not)
    kept accuracy(τ)   = #(kept, in scope, student right) / #(kept, in scope)
    kept agreement(τ)  = #(kept, student = teacher) / #kept
    cascade quality(τ) = (#(kept, student handles) + #(escalated, teacher handles)) / S

so cascade quality is the coverage-weighted mix of the student on what it keeps and the *teacher's measured
predictions* on what it escalates, not an assumed teacher accuracy. The teacher's quality is the cascade that
escalates everything (coverage 0) on the same rows, which is what retention is measured against.

τ is chosen on validation (`tau_for_quality_bar`, `certify.certified_tau`, `user_tau`) and then applied to test
and every OOD set (`apply_tau`) to show whether the promise holds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

# Cascade qualities are ratios of counts: a bar equal to a quality must count as met despite float rounding.
QUALITY_TOLERANCE = 1e-12
# How many row ids an error message lists before "...".
EXAMPLES_IN_MESSAGES = 5

TauRule = Literal["quality_bar", "certified", "user"]


class RoutingInputError(ValueError):
    """Input the routing maths can't use. The message names the problem and is meant for the user as is."""


# --- prediction sets -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PredictionSet:
    """A student's and its teacher's predictions on the same rows, ordered by row id.

    `in_scope[i]` is True when `label[i]` is one of the task's labels; a row with a label outside them is out of
    scope, one whose label is None is unlabelled (it counts as traffic but is never scored)."""

    row_ids: tuple[int, ...]
    confidence: tuple[float, ...]
    prediction: tuple[str, ...]
    teacher_prediction: tuple[str, ...]
    label: tuple[str | None, ...]
    in_scope: tuple[bool, ...]

    def __post_init__(self) -> None:
        sizes = {len(field) for field in self._columns()}
        if len(sizes) != 1:
            raise RoutingInputError(f"The prediction set's columns have different lengths: {sorted(sizes)}.")
        if not self.row_ids:
            raise RoutingInputError("The prediction set is empty: there are no rows to route.")
        if len(set(self.row_ids)) != len(self.row_ids):
            raise RoutingInputError(f"Row ids repeat: {_examples(_repeated(self.row_ids))}.")
        for row, confidence in zip(self.row_ids, self.confidence, strict=True):
            _check_confidence(confidence, where=f"Row {row}")
        for row, label, in_scope in zip(self.row_ids, self.label, self.in_scope, strict=True):
            if in_scope and label is None:
                raise RoutingInputError(f"Row {row} is marked in scope but has no label.")

    def __len__(self) -> int:
        return len(self.row_ids)

    def _columns(self) -> tuple[tuple[Any, ...], ...]:
        return (self.row_ids, self.confidence, self.prediction, self.teacher_prediction, self.label, self.in_scope)


def prediction_set_from_rows(
    student_rows: Iterable[Mapping[str, Any]],
    *,
    labels: Iterable[str],
    teacher_rows: Iterable[Mapping[str, Any]] | None = None,
) -> PredictionSet:
    """Build a prediction set from an evaluation's per-example rows (`row`, `label`, `prediction`,
    `confidence`, as `workers/handlers/evaluate.py: save_predictions` writes them) and `labels`, the task's
    label set.

    The teacher's predictions come from `teacher_rows`, the teacher's own evaluation of the same dataset, matched
    by `row` id; the two must cover exactly the same rows with the same labels. Without `teacher_rows`, each
    student row must carry the `teacher_prediction` its evaluation stored."""
    task_labels = frozenset(labels)
    if not task_labels:
        raise RoutingInputError("The task has no labels: nothing can be in scope.")
    students = _rows_by_id(student_rows, source="The student's predictions", with_confidence=True)
    if teacher_rows is None:
        teachers = {row: _teacher_prediction_in(fields, row=row) for row, fields in students.items()}
    else:
        teachers = _teacher_predictions(
            students, _rows_by_id(teacher_rows, source="The teacher's predictions", with_confidence=False)
        )
    ordered = sorted(students)
    return PredictionSet(
        row_ids=tuple(ordered),
        confidence=tuple(float(students[row]["confidence"]) for row in ordered),
        prediction=tuple(str(students[row]["prediction"]) for row in ordered),
        teacher_prediction=tuple(teachers[row] for row in ordered),
        label=tuple(_label(students[row]) for row in ordered),
        in_scope=tuple(_label(students[row]) in task_labels for row in ordered),
    )


def _rows_by_id(
    rows: Iterable[Mapping[str, Any]], *, source: str, with_confidence: bool
) -> dict[int, Mapping[str, Any]]:
    by_id: dict[int, Mapping[str, Any]] = {}
    for position, fields in enumerate(rows, start=1):
        where = f"{source}, line {position}"
        row = fields.get("row")
        # bool is an int in Python, but never a row id.
        if not isinstance(row, int) or isinstance(row, bool):
            raise RoutingInputError(f"{where}: 'row' must be an integer row id, not {row!r}.")
        if row in by_id:
            raise RoutingInputError(f"{where}: row {row} appears twice.")
        if not isinstance(fields.get("prediction"), str):
            raise RoutingInputError(f"{where} (row {row}): 'prediction' must be a label name.")
        label = fields.get("label")
        if label is not None and not isinstance(label, str):
            raise RoutingInputError(f"{where} (row {row}): 'label' must be a label name or null, not {label!r}.")
        if with_confidence:
            _check_confidence(fields.get("confidence"), where=f"{where} (row {row})")
        by_id[row] = fields
    if not by_id:
        raise RoutingInputError(f"{source} are empty: there are no rows to route.")
    return by_id


def _teacher_predictions(
    students: Mapping[int, Mapping[str, Any]], teachers: Mapping[int, Mapping[str, Any]]
) -> dict[int, str]:
    only_student = sorted(students.keys() - teachers.keys())
    only_teacher = sorted(teachers.keys() - students.keys())
    if only_student or only_teacher:
        raise RoutingInputError(
            "The teacher's and the student's predictions are not on the same rows: "
            f"{len(only_student)} only in the student's ({_examples(only_student)}), "
            f"{len(only_teacher)} only in the teacher's ({_examples(only_teacher)}). "
            "Evaluate both on the same dataset."
        )
    for row, fields in students.items():
        if _label(fields) != _label(teachers[row]):
            raise RoutingInputError(
                f"Row {row} has label {_label(fields)!r} in the student's predictions but "
                f"{_label(teachers[row])!r} in the teacher's: they are not from the same dataset."
            )
    return {row: str(fields["prediction"]) for row, fields in teachers.items()}


def _teacher_prediction_in(fields: Mapping[str, Any], *, row: int) -> str:
    teacher = fields.get("teacher_prediction")
    if not isinstance(teacher, str):
        raise RoutingInputError(
            f"Row {row} of the student's predictions has no 'teacher_prediction': give the teacher's own "
            "predictions on the same dataset."
        )
    return teacher


def _label(fields: Mapping[str, Any]) -> str | None:
    label = fields.get("label")
    return None if label is None else str(label)


def _check_confidence(value: object, *, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RoutingInputError(f"{where}: 'confidence' must be a number, not {value!r}.")
    if math.isnan(value):
        raise RoutingInputError(f"{where}: 'confidence' is NaN.")
    if not 0.0 <= value <= 1.0:
        raise RoutingInputError(f"{where}: 'confidence' {value!r} is not a probability in [0, 1].")


def _repeated(values: Sequence[int]) -> list[int]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


def _examples(rows: Sequence[int]) -> str:
    shown = ", ".join(str(row) for row in rows[:EXAMPLES_IN_MESSAGES])
    return f"e.g. {shown}{', ...' if len(rows) > EXAMPLES_IN_MESSAGES else ''}" if rows else "none"


# --- per-row outcomes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowOutcomes:
    """What happens to each row whichever way it is routed, as arrays (computed once per set)."""

    confidence: NDArray[np.float64]
    in_scope: NDArray[np.bool_]
    scorable: NDArray[np.bool_]  # labelled: in scope or out of scope
    student_handles: NDArray[np.bool_]  # kept: in scope and the student's prediction is the label
    teacher_handles: NDArray[np.bool_]  # escalated: in scope and the teacher is right, or out of scope
    agrees: NDArray[np.bool_]  # the student's prediction is the teacher's


_Derived = TypeVar("_Derived")


def _once(predictions: PredictionSet, name: str, build: Callable[[PredictionSet], _Derived]) -> _Derived:
    """`build(predictions)`, computed once per set and kept on it: a set never changes, and one read from an
    evaluation's file is kept across requests (economics/evidence.py), so each slider step reuses its outcomes
    and curve. Stored in the instance's __dict__, as functools.cached_property does, past the frozen setattr;
    it is not a field, so equality and hashing ignore it."""
    memo = predictions.__dict__
    if name not in memo:
        memo[name] = build(predictions)
    return memo[name]  # type: ignore[no-any-return]


def row_outcomes(predictions: PredictionSet) -> RowOutcomes:
    return _once(predictions, "_row_outcomes", _row_outcomes)


def _row_outcomes(predictions: PredictionSet) -> RowOutcomes:
    labels = predictions.label
    in_scope = np.array(predictions.in_scope, dtype=bool)
    scorable = np.array([label is not None for label in labels], dtype=bool)
    student_right = np.array([p == y for p, y in zip(predictions.prediction, labels, strict=True)], dtype=bool)
    teacher_right = np.array([t == y for t, y in zip(predictions.teacher_prediction, labels, strict=True)], dtype=bool)
    agrees = np.array(
        [p == t for p, t in zip(predictions.prediction, predictions.teacher_prediction, strict=True)], dtype=bool
    )
    outcomes = RowOutcomes(
        confidence=np.array(predictions.confidence, dtype=np.float64),
        in_scope=in_scope,
        scorable=scorable,
        student_handles=in_scope & student_right,
        teacher_handles=(in_scope & teacher_right) | (scorable & ~in_scope),
        agrees=agrees,
    )
    for array in vars(outcomes).values():
        array.flags.writeable = False  # shared by every later caller: none may change it
    return outcomes


# --- the routing curve -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutingPoint:
    """The cascade at one threshold τ (see the module docstring for the formulas). A rate is None when nothing
    it is measured on exists (e.g. kept accuracy when no kept row is labelled in scope)."""

    tau: float
    kept: int
    coverage: float
    kept_accuracy: float | None
    kept_agreement: float | None
    cascade_quality: float | None


@dataclass(frozen=True)
class RoutingCurve:
    """The cascade at every distinct confidence τ of one set, from the most conservative τ (highest; least
    coverage) to the least. `teacher_quality` is the cascade that escalates everything (the teacher's own
    quality on the same rows, out-of-scope rows handled); `teacher_accuracy` and `student_accuracy` are on the
    in-scope rows alone."""

    rows: int
    scorable_rows: int
    in_scope_rows: int
    teacher_quality: float | None
    teacher_accuracy: float | None
    student_accuracy: float | None
    points: tuple[RoutingPoint, ...]


def routing_curve(predictions: PredictionSet) -> RoutingCurve:
    """Every distinct confidence c is a threshold τ = c keeping the rows with confidence ≥ c (computed once
    per set: see `_once`)."""
    return _once(predictions, "_routing_curve", _routing_curve)


def _routing_curve(predictions: PredictionSet) -> RoutingCurve:
    """Every distinct confidence c is a threshold τ = c keeping the rows with confidence ≥ c.

    One sort by confidence (descending), then prefix sums: the kept set at τ = c is a prefix of the sorted rows
    ending at the last row with confidence c, so each column is a cumulative count read at the end of each run
    of equal confidences: O(n log n) in all."""
    outcomes = row_outcomes(predictions)
    order = np.argsort(-outcomes.confidence, kind="stable")
    confidence = outcomes.confidence[order]
    # Index of the last row of each run of equal confidences in the sorted order.
    run_ends = np.flatnonzero(np.append(confidence[1:] != confidence[:-1], True))

    def kept_count(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
        return np.cumsum(mask[order], dtype=np.int64)[run_ends]

    kept = run_ends + 1
    kept_in_scope = kept_count(outcomes.in_scope)
    kept_student_handles = kept_count(outcomes.student_handles)
    kept_agrees = kept_count(outcomes.agrees)
    escalated_teacher_handles = int(outcomes.teacher_handles.sum()) - kept_count(outcomes.teacher_handles)
    scorable = int(outcomes.scorable.sum())
    rows = len(predictions)
    points = tuple(
        RoutingPoint(
            tau=float(confidence[end]),
            kept=int(kept[i]),
            coverage=int(kept[i]) / rows,
            kept_accuracy=_ratio(int(kept_student_handles[i]), int(kept_in_scope[i])),
            kept_agreement=_ratio(int(kept_agrees[i]), int(kept[i])),
            cascade_quality=_ratio(int(kept_student_handles[i]) + int(escalated_teacher_handles[i]), scorable),
        )
        for i, end in enumerate(run_ends)
    )
    return RoutingCurve(
        rows=rows,
        scorable_rows=scorable,
        in_scope_rows=int(outcomes.in_scope.sum()),
        teacher_quality=_ratio(int(outcomes.teacher_handles.sum()), scorable),
        teacher_accuracy=_ratio(
            int((outcomes.teacher_handles & outcomes.in_scope).sum()), int(outcomes.in_scope.sum())
        ),
        student_accuracy=_ratio(int(outcomes.student_handles.sum()), int(outcomes.in_scope.sum())),
        points=points,
    )


def routing_point(predictions: PredictionSet, tau: float) -> RoutingPoint:
    """The cascade at any τ in [0, 1], computed directly from the rows (O(n)); a τ above every confidence keeps
    nothing, so the cascade is the teacher alone."""
    _check_tau(tau)
    outcomes = row_outcomes(predictions)
    kept = outcomes.confidence >= tau
    escalated = ~kept
    kept_rows = int(kept.sum())
    handled = int((kept & outcomes.student_handles).sum()) + int((escalated & outcomes.teacher_handles).sum())
    return RoutingPoint(
        tau=float(tau),
        kept=kept_rows,
        coverage=kept_rows / len(predictions),
        kept_accuracy=_ratio(int((kept & outcomes.student_handles).sum()), int((kept & outcomes.in_scope).sum())),
        kept_agreement=_ratio(int((kept & outcomes.agrees).sum()), kept_rows),
        cascade_quality=_ratio(handled, int(outcomes.scorable.sum())),
    )


def kept_quality(predictions: PredictionSet, tau: float) -> float | None:
    """The share of the labelled rows the student keeps at τ that it answers right, out-of-scope rows counted
    wrong (it can only answer with the task's labels): how well the kept traffic is served. Unlike kept accuracy
    it does not drop the out-of-scope rows a shifted set is full of. None when no labelled row is kept."""
    _check_tau(tau)
    outcomes = row_outcomes(predictions)
    kept = (outcomes.confidence >= tau) & outcomes.scorable
    return _ratio(int((kept & outcomes.student_handles).sum()), int(kept.sum()))


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _check_tau(tau: float) -> None:
    if isinstance(tau, bool) or not isinstance(tau, int | float) or not 0.0 <= tau <= 1.0:  # False for NaN too
        raise RoutingInputError(f"τ must be a confidence in [0, 1], not {tau!r}.")


def check_unit_interval(value: float, *, name: str, open_interval: bool) -> None:
    inside = 0.0 < value < 1.0 if open_interval else 0.0 <= value <= 1.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not inside:  # NaN fails both comparisons
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise RoutingInputError(f"{name} must be in {interval}, not {value!r}.")


# --- choosing τ ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TauChoice:
    """A τ picked by one rule on validation, with what validation says happens at it (`point`), or no τ
    (`tau` and `point` None) and the reason in `reason`."""

    rule: TauRule
    tau: float | None
    point: RoutingPoint | None
    reason: str

    @property
    def found(self) -> bool:
        return self.tau is not None


def tau_for_quality_bar(curve: RoutingCurve, *, min_quality: float, min_retention: float) -> TauChoice:
    """The most coverage whose cascade meets the task's bar: cascade quality ≥ `min_quality` (absolute) and
    ≥ `min_retention` × the teacher's quality on the same rows. Quality is accuracy, out-of-scope rows handled
    only when escalated (module docstring).

    The search is over every point of the curve, not a prefix: cascade quality need not fall monotonically as
    coverage grows, and the rule asks for the most coverage that meets the bar."""
    check_unit_interval(min_quality, name="The quality bar", open_interval=False)
    check_unit_interval(min_retention, name="The retention vs the teacher", open_interval=False)
    if curve.teacher_quality is None:
        return TauChoice("quality_bar", None, None, "Validation has no labelled rows, so its quality can't be scored.")
    required = max(min_quality, min_retention * curve.teacher_quality)
    bar = (
        f"the bar {min_quality:.2%} and {min_retention:.1%} of the teacher's {curve.teacher_quality:.2%} "
        f"(so ≥ {required:.2%})"
    )
    meeting = [
        p for p in curve.points if p.cascade_quality is not None and p.cascade_quality >= required - QUALITY_TOLERANCE
    ]
    if not meeting:
        best = max(curve.points, key=lambda p: (p.cascade_quality or 0.0, p.coverage))
        return TauChoice(
            "quality_bar",
            None,
            None,
            f"No τ meets {bar}: the best cascade on validation reaches {best.cascade_quality or 0.0:.2%} "
            f"at {best.coverage:.1%} coverage.",
        )
    chosen = max(meeting, key=lambda p: p.coverage)
    return TauChoice(
        "quality_bar",
        chosen.tau,
        chosen,
        f"τ = {chosen.tau:.4g} keeps {chosen.coverage:.1%} of validation traffic with cascade quality "
        f"{chosen.cascade_quality or 0.0:.2%}, meeting {bar}.",
    )


def user_tau(validation: PredictionSet, tau: float) -> TauChoice:
    """A τ set by the user (the slider), with what validation says happens at it."""
    point = routing_point(validation, tau)
    return TauChoice("user", float(tau), point, f"τ = {tau:.4g} set by hand keeps {point.coverage:.1%} of validation.")


# --- applying τ to another set ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppliedTau:
    """τ chosen on validation applied to another set (test, an OOD set): what validation predicted, what the set
    realised, and realised − predicted for each rate (None where either side is undefined)."""

    tau: float
    predicted: RoutingPoint
    realised: RoutingPoint
    coverage_gap: float
    cascade_quality_gap: float | None
    kept_accuracy_gap: float | None
    kept_agreement_gap: float | None


def apply_tau(tau: float, *, validation: PredictionSet, other: PredictionSet) -> AppliedTau:
    predicted, realised = routing_point(validation, tau), routing_point(other, tau)
    return AppliedTau(
        tau=float(tau),
        predicted=predicted,
        realised=realised,
        coverage_gap=realised.coverage - predicted.coverage,
        cascade_quality_gap=_gap(realised.cascade_quality, predicted.cascade_quality),
        kept_accuracy_gap=_gap(realised.kept_accuracy, predicted.kept_accuracy),
        kept_agreement_gap=_gap(realised.kept_agreement, predicted.kept_agreement),
    )


def _gap(realised: float | None, predicted: float | None) -> float | None:
    return None if realised is None or predicted is None else realised - predicted


# --- upfront routing (modelled) --------------------------------------------------------------------------------

UPFRONT_NOTE = (
    "Modelled, not measured: a router that sends each request to the student or the teacher before either runs, "
    "at the stated router accuracy, applied to how the student and the teacher did on these rows."
)


@dataclass(frozen=True)
class UpfrontRouting:
    """Upfront routing at a stated router accuracy: the share sent to the student and the resulting quality.
    `modelled` is always True: the router's accuracy is an assumption, not evidence."""

    router_accuracy: float
    student_share: float
    quality: float
    suitable_share: float  # measured: share of scorable rows the student handles
    teacher_if_suitable: float  # measured: teacher handles, among rows the student handles
    teacher_if_unsuitable: float  # measured: teacher handles, among rows the student doesn't
    modelled: bool = True
    note: str = UPFRONT_NOTE


def upfront_routing_model(
    *, router_accuracy: float, suitable_share: float, teacher_if_suitable: float, teacher_if_unsuitable: float
) -> UpfrontRouting:
    """A row is *suitable* for the student when the student would handle it (probability p = `suitable_share`).
    The router sends a row where it belongs (suitable → student, else → teacher) with probability a =
    `router_accuracy`, the other way otherwise. With t_s, t_u the teacher's chance of handling a suitable and an
    unsuitable row:

        share to the student  s = a·p + (1 − a)·(1 − p)
        quality               q = a·p + (1 − a)·p·t_s + a·(1 − p)·t_u

    (a suitable row sent to the student is handled; an unsuitable one sent to it is not.) A perfect router
    (a = 1) gives s = p and q = p + (1 − p)·t_u, the best any routing can do with these two models."""
    for value, name in (
        (router_accuracy, "The router accuracy"),
        (suitable_share, "The student's suitable share"),
        (teacher_if_suitable, "The teacher's quality on suitable rows"),
        (teacher_if_unsuitable, "The teacher's quality on unsuitable rows"),
    ):
        check_unit_interval(value, name=name, open_interval=False)
    a, p = router_accuracy, suitable_share
    return UpfrontRouting(
        router_accuracy=a,
        student_share=a * p + (1 - a) * (1 - p),
        quality=a * p + (1 - a) * p * teacher_if_suitable + a * (1 - p) * teacher_if_unsuitable,
        suitable_share=p,
        teacher_if_suitable=teacher_if_suitable,
        teacher_if_unsuitable=teacher_if_unsuitable,
    )


def upfront_routing(predictions: PredictionSet, *, router_accuracy: float) -> UpfrontRouting:
    """`upfront_routing_model` with p, t_s and t_u measured on the scorable rows of `predictions` (usually
    validation). A conditional rate with nothing to condition on (p = 0 or 1) is 0: its weight in q is 0."""
    outcomes = row_outcomes(predictions)
    scorable = outcomes.scorable
    if not scorable.any():
        raise RoutingInputError("Upfront routing needs labelled rows to know which rows suit the student.")
    suitable = outcomes.student_handles[scorable]
    teacher = outcomes.teacher_handles[scorable]
    return upfront_routing_model(
        router_accuracy=router_accuracy,
        suitable_share=float(suitable.mean()),
        teacher_if_suitable=_ratio(int((teacher & suitable).sum()), int(suitable.sum())) or 0.0,
        teacher_if_unsuitable=_ratio(int((teacher & ~suitable).sum()), int((~suitable).sum())) or 0.0,
    )
