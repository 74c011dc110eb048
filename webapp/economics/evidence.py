"""Gathers the measured evidence an ROI analysis stands on, for one student of a task: its per-example
predictions on validation (where τ is chosen) and on test/OOD sets (where the promise is checked), measured
speed of it and of its teacher (timed side by side in the student's own evaluation when there is one, else each
in its own job, which the evidence then says), and the compute of every job that produced the candidates. Every figure
carries its source (job or evaluation, date, device), so a page can say where each number came from."""

import dataclasses
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from webapp.economics.analysis import AnalysisError, Compute, Evidence, Measured, SetEvidence, SpeedUp
from webapp.economics.labels import device_label
from webapp.economics.routing import PredictionSet, RoutingInputError, prediction_set_from_rows
from webapp.evaluation.models import Evaluation
from webapp.evaluation.selectors import prediction_file, prediction_rows
from webapp.jobs.models import Job
from webapp.registry.models import Dataset, Student, Task, Teacher

# The jobs whose device time is the one-off training cost of distilling (evaluations are not).
PRODUCING_KINDS = (Job.Kind.FINETUNE_TEACHER, Job.Kind.DISTILL_STUDENT, Job.Kind.QUANTIZE_STUDENT)


def candidate_students(task: Task) -> list[Student]:
    """Students with a validation evaluation (routing needs its predictions), best validation accuracy first."""
    newest = validation_evaluations(task)
    students = Student.objects.filter(task=task, pk__in=newest).select_related("teacher", "parent__teacher")
    return sorted(students, key=lambda s: (-(newest[s.pk].accuracy or 0.0), s.layers, s.pk))


def validation_evaluations(task: Task) -> dict[int, Evaluation]:
    """The newest validation evaluation of each student of the task, by student id (τ is chosen on it)."""
    newest: dict[int, Evaluation] = {}
    for evaluation in Evaluation.objects.filter(
        task=task, dataset_role=Dataset.Role.VALIDATION, student__isnull=False
    ).order_by("created_at"):
        newest[evaluation.student_id] = evaluation  # the newest evaluation wins
    return newest


def routing_evidence(task: Task, student: Student) -> Evidence:
    """Raises AnalysisError naming what is missing and how to get it."""
    teacher = student.teacher or (student.parent.teacher if student.parent else None)
    if teacher is None:
        raise AnalysisError(f"'{student}' has no teacher any more: there is nothing to escalate to.")
    validation = _newest(student, Dataset.Role.VALIDATION)
    if validation is None:
        raise AnalysisError(
            f"'{student}' has no evaluation on a validation set: evaluate it (the evaluate job scores the "
            "validation set too), since τ is chosen on validation, never on test."
        )
    others = [
        e
        for e in Evaluation.objects.filter(student=student, dataset_role__in=[Dataset.Role.TEST, Dataset.Role.OOD])
        .select_related("job")
        .order_by("dataset_role", "dataset_name", "-created_at")
    ]
    newest_per_set: dict[str, Evaluation] = {}
    for evaluation in others:
        newest_per_set.setdefault(evaluation.dataset_sha256, evaluation)
    speed = speed_evidence(student, teacher)
    uploaded_in, uploaded_out = _uploaded_teacher_tokens(task, teacher)
    return Evidence(
        student=str(student),
        teacher=str(teacher),
        validation=_set_evidence(validation, task),
        others=tuple(_set_evidence(e, task) for e in newest_per_set.values()),
        student_latency_ms=speed.student_latency_ms,
        student_throughput=speed.student_throughput,
        teacher_latency_ms=speed.teacher_latency_ms,
        teacher_throughput=speed.teacher_throughput,
        speedup=speed.speedup,
        compute=tuple(_compute(task, teacher)),
        uploaded_teacher_input_tokens=uploaded_in,
        uploaded_teacher_output_tokens=uploaded_out,
        min_quality=task.quality_min,
        min_retention=task.min_retention,
    )


def evidence_ids(evidence: Evidence) -> dict[str, object]:
    """What a saved scenario pins: every evaluation and job id, with the dataset hashes they measured."""
    return {
        "validation": {
            "evaluation_id": evidence.validation.evaluation_id,
            "dataset": evidence.validation.name,
            "sha256": evidence.validation.sha256,
        },
        "others": [
            {"evaluation_id": o.evaluation_id, "dataset": o.name, "role": o.role, "sha256": o.sha256}
            for o in evidence.others
        ],
        "student_speed": evidence.student_throughput.source,
        "teacher_speed": evidence.teacher_throughput.source if evidence.teacher_throughput else None,
        "speed_side_by_side": evidence.speedup.side_by_side if evidence.speedup else None,
        "compute_jobs": [c.job_id for c in evidence.compute],
    }


def _newest(student: Student, role: str) -> Evaluation | None:
    return Evaluation.objects.filter(student=student, dataset_role=role).order_by("-created_at").first()


def _set_evidence(evaluation: Evaluation, task: Task) -> SetEvidence:
    return SetEvidence(
        name=evaluation.dataset_name,
        role=evaluation.dataset_role,
        sha256=evaluation.dataset_sha256,
        evaluation_id=evaluation.pk,
        predictions=_predictions(evaluation, task),
    )


# Prediction sets read from evaluations' files, newest use last. A stored predictions file never changes (its
# sha256 is recorded with the evaluation), so a set is read, parsed and checked once per process, not on every
# slider step; its routing curve is kept on it (routing._once). The key holds the sha256 and the task's labels
# too, so a rewritten file or a relabelled task is read afresh. 32 sets of ~10,000 rows are a few tens of MB.
_SETS_KEPT = 32
_sets: OrderedDict[tuple[int, str, tuple[str, ...]], PredictionSet] = OrderedDict()
_sets_lock = threading.Lock()  # Daphne runs sync views on several threads


def prediction_sets_forget() -> None:
    """Empty the cache (bench/roi_step.py times a cold step with it)."""
    with _sets_lock:
        _sets.clear()


def _predictions(evaluation: Evaluation, task: Task) -> PredictionSet:
    key = (evaluation.pk, evaluation.predictions_sha256, tuple(task.labels))
    # A file deleted since it was read is refused as if never read: the page says to evaluate again.
    if evaluation.predictions_sha256 and prediction_file(evaluation) is not None:
        with _sets_lock:
            if key in _sets:
                _sets.move_to_end(key)
                return _sets[key]
    predictions = _read_predictions(evaluation, task)
    if evaluation.predictions_sha256:
        with _sets_lock:
            _sets[key] = predictions
            while len(_sets) > _SETS_KEPT:
                _sets.popitem(last=False)
    return predictions


def _read_predictions(evaluation: Evaluation, task: Task) -> PredictionSet:
    rows = list(prediction_rows(evaluation))
    if not rows:
        raise AnalysisError(
            f"The per-example predictions of evaluation {evaluation.pk} ('{evaluation.dataset_name}') are no "
            "longer stored: evaluate the student again."
        )
    try:
        return prediction_set_from_rows(rows, labels=list(task.labels))
    except RoutingInputError as exc:
        raise AnalysisError(
            f"The predictions of evaluation {evaluation.pk} ('{evaluation.dataset_name}') can't be routed: {exc} "
            "(was the student evaluated with a teacher to compare with?)"
        ) from exc


@dataclass(frozen=True)
class SpeedEvidence:
    student_latency_ms: Measured
    student_throughput: Measured
    teacher_latency_ms: Measured | None
    teacher_throughput: Measured | None
    speedup: SpeedUp | None


def speed_evidence(student: Student, teacher: Teacher) -> SpeedEvidence:
    """The student's and the teacher's measured speed, and the speed-up between them. Preferred: the newest
    evaluation of the student that timed this teacher beside it (both figures from one run, the ratio per round
    with its spread). Else each model's newest timing from its own job, and a warning that their ratio mixes
    two runs, possibly hours apart under different load."""
    side = (
        Evaluation.objects.filter(student=student, speed__side_by_side__teacher_id=teacher.pk)
        .select_related("job")
        .order_by("-created_at")
        .first()
    )
    if side is not None:
        pair = side.speed["side_by_side"]
        latency, throughput = pair["latency_speedup"], pair["throughput_speedup"]
        return SpeedEvidence(
            student_latency_ms=_measured(side, "latency_p50_ms", how="side by side with the teacher"),
            student_throughput=_measured(side, "throughput_b32", how="side by side with the teacher"),
            teacher_latency_ms=_measured(side, "latency_p50_ms", figures=pair["teacher"], how="beside the student"),
            teacher_throughput=_measured(side, "throughput_b32", figures=pair["teacher"], how="beside the student"),
            speedup=SpeedUp(
                latency=float(latency["median"]),
                throughput=float(throughput["median"]),
                latency_range=(float(latency["min"]), float(latency["max"])),
                throughput_range=(float(throughput["min"]), float(throughput["max"])),
                rounds=int(pair["rounds"]),
                side_by_side=True,
                source=_source(side, "student and teacher timed side by side"),
            ),
        )
    student_speed = _speed_evaluation(Q(student=student))
    if student_speed is None:
        raise AnalysisError(f"'{student}' has no measured speed: evaluate it on a worker (the job times it).")
    teacher_speed = _speed_evaluation(Q(teacher=teacher))
    speed = SpeedEvidence(
        student_latency_ms=_measured(student_speed, "latency_p50_ms"),
        student_throughput=_measured(student_speed, "throughput_b32"),
        teacher_latency_ms=_measured(teacher_speed, "latency_p50_ms") if teacher_speed else None,
        teacher_throughput=_measured(teacher_speed, "throughput_b32") if teacher_speed else None,
        speedup=None,
    )
    if teacher_speed is None or speed.teacher_latency_ms is None or speed.teacher_throughput is None:
        return speed
    warning = (
        f"teacher and student timed in different jobs (#{teacher_speed.job_id} on {_day(teacher_speed)}, "
        f"#{student_speed.job_id} on {_day(student_speed)}): ratio less reliable"
    )
    kinds = (speed.teacher_throughput.device_kind, speed.student_throughput.device_kind)
    if kinds[0] != kinds[1]:
        warning += (
            f", and on different devices (teacher {device_label(kinds[0] or '?')}, "
            f"student {device_label(kinds[1] or '?')}): not comparable"
        )
    return dataclasses.replace(
        speed,
        speedup=SpeedUp(
            latency=speed.teacher_latency_ms.value / speed.student_latency_ms.value,
            throughput=speed.student_throughput.value / speed.teacher_throughput.value,
            latency_range=None,
            throughput_range=None,
            rounds=0,
            side_by_side=False,
            source=f"teacher: {speed.teacher_throughput.source}; student: {speed.student_throughput.source}",
            warning=warning + " (evaluate the student again to time both side by side)",
        ),
    )


def _speed_evaluation(model: Q) -> Evaluation | None:
    return Evaluation.objects.filter(model, speed__isnull=False).select_related("job").order_by("-created_at").first()


def _day(evaluation: Evaluation) -> str:
    return evaluation.created_at.date().isoformat()


def _source(evaluation: Evaluation, how: str = "") -> str:
    """'evaluate job 12, <how>, 2026-11-30, cpu: AMD EPYC (2 threads)': which job, when, on what device."""
    device = (evaluation.speed or {}).get("device") or {}
    kind = device.get("kind", "") if isinstance(device, dict) else str(device)
    where = (
        f"{device_label(kind)}: {device.get('name', '')} ({device.get('threads', '?')} threads)"
        if isinstance(device, dict)
        else device_label(kind)
    )
    return ", ".join(part for part in (f"evaluate job {evaluation.job_id}", how, _day(evaluation), where) if part)


def _measured(evaluation: Evaluation, key: str, *, figures: dict[str, Any] | None = None, how: str = "") -> Measured:
    """`key` of the evaluation's speed (or of `figures` in it: the teacher's side-by-side timing), with its source."""
    speed = evaluation.speed or {}
    device = speed.get("device") or {}
    kind = device.get("kind", "") if isinstance(device, dict) else str(device)
    return Measured(
        value=float((speed if figures is None else figures)[key]),
        source=_source(evaluation, how),
        device_kind=kind,
    )


def _compute(task: Task, teacher: Teacher) -> list[Compute]:
    """Device time of the jobs that produced the candidates: the teacher's fine-tune, every distil and
    quantize job of this teacher's students (a sweep's children included; failed ones were paid too)."""
    student_jobs = (
        Student.objects.filter(task=task)
        .filter(Q(teacher=teacher) | Q(parent__teacher=teacher))
        .values_list("source_job_id", flat=True)
    )
    producing = Job.objects.filter(task=task, kind__in=PRODUCING_KINDS).filter(
        Q(pk__in=[j for j in student_jobs if j]) | Q(pk=teacher.source_job_id or 0)
        | Q(kind=Job.Kind.DISTILL_STUDENT, params__teacher_id=teacher.pk)
    )  # fmt: skip
    return [
        Compute(
            job_id=job.pk,
            what=job.get_kind_display(),
            device_kind=(job.device or {}).get("kind") or (job.device_kind.split(":")[0].split(" ")[0] or "cpu"),
            device_seconds=job.device_seconds,
            when=(job.finished_at or job.started_at or job.created_at).date().isoformat(),
        )
        for job in producing.order_by("pk")
        if job.device_seconds > 0
    ]


def _uploaded_teacher_tokens(task: Task, teacher: Teacher) -> tuple[float, float]:
    """Teacher outputs uploaded from elsewhere were paid once, at its API price: the estimated tokens of the
    training rows they covered (every student distilled from the same upload reused them)."""
    if not teacher.is_precomputed:
        return 0.0, 0.0
    jobs = Job.objects.filter(task=task, kind=Job.Kind.DISTILL_STUDENT, params__teacher_id=teacher.pk)
    rows = list(jobs.values_list("teacher_input_tokens", "teacher_output_tokens"))
    return float(max((r[0] for r in rows), default=0)), float(max((r[1] for r in rows), default=0))
