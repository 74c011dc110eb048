"""The tier-benchmark table: teacher, students by size and their quantized variants, and models evaluated
elsewhere, against each dataset or benchmark; cells scored on the task's metric, with retention vs the
teacher and a colour against the task's quality bar. Built from stored rows; no queries of its own."""

from dataclasses import dataclass, field
from typing import Any

from webapp.evaluation.models import Evaluation, ExternalResult
from webapp.registry.models import Dataset, Student, Task, Teacher

ROLE_ORDER = {Dataset.Role.TEST: 0, Dataset.Role.OOD: 1, Dataset.Role.VALIDATION: 2, Dataset.Role.TRAIN: 3}
NEAR_MISS = 0.02  # within 2 points of a bar: amber rather than red


@dataclass
class Column:
    key: str
    name: str
    kind: str  # "dataset" or "external"
    role: str = ""


@dataclass
class Cell:
    score: float | None = None
    retention: float | None = None
    status: str = "none"  # good / near / bad / neutral / none
    evaluation_id: int | None = None
    note: str = ""


@dataclass
class Row:
    key: str
    name: str
    kind: str  # teacher / student / quantized / external
    detail: str
    cells: list[Cell] = field(default_factory=list)
    speed: dict[str, Any] = field(default_factory=dict)
    parameters: int | None = None
    size_bytes: int | None = None
    calibration: Evaluation | None = None  # its evaluation on the primary column, for ECE and temperature


@dataclass
class TierTable:
    metric: str
    metric_label: str
    quality_min: float
    min_retention: float
    columns: list[Column]
    rows: list[Row]
    primary: Column | None  # the column the scatter plots: the first test set
    devices: list[str] = field(default_factory=list)  # where the speeds were measured, each once

    def primary_points(self) -> list[dict[str, Any]]:
        """(latency, score) of each model measured on the primary column, for the quality-vs-latency chart."""
        if self.primary is None:
            return []
        index = self.columns.index(self.primary)
        points = []
        for row in self.rows:
            score, latency = row.cells[index].score, row.speed.get("latency_p50_ms")
            if score is not None and latency:
                points.append({"name": row.name, "kind": row.kind, "latency_ms": latency, "score": score})
        return points


# The kinds torch reports, for people (economics.labels says the same for the ROI pages).
DEVICE_KINDS = {"cpu": "CPU", "cuda": "GPU (CUDA)", "mps": "Apple GPU (MPS)"}


def device_label(speed: dict[str, Any]) -> str:
    """Where a timing was taken, for people: "cpu: AMD EPYC, 2 threads" (older rows kept a plain string)."""
    device = speed.get("device")
    if isinstance(device, dict):
        name = f": {device['name']}" if device.get("name") else ""
        kind = DEVICE_KINDS.get(device.get("kind", ""), device.get("kind") or "?")
        return f"{kind}{name}, {_threads(device.get('threads'))}"
    return f"{device}, {_threads(speed.get('threads'))}" if device else ""


def _threads(count: object) -> str:
    return f"{count} thread{'' if count == 1 else 's'}" if count is not None else "? threads"


def model_key(model: Teacher | Student) -> str:
    return f"{'teacher' if isinstance(model, Teacher) else 'student'}-{model.pk}"


def tier_table(task: Task, evaluations: list[Evaluation], externals: list[ExternalResult]) -> TierTable:
    metric = task.quality_metric
    columns = _dataset_columns(evaluations) + _external_columns(externals)
    by_model: dict[str, dict[str, Evaluation]] = {}
    models: dict[str, Teacher | Student] = {}
    speeds: dict[str, dict[str, Any]] = {}
    for evaluation in sorted(evaluations, key=lambda e: (e.created_at, e.pk), reverse=True):
        key = model_key(evaluation.model)  # type: ignore[arg-type]
        models[key] = evaluation.model  # type: ignore[assignment]
        if evaluation.speed and key not in speeds:
            speeds[key] = evaluation.speed | {"where": device_label(evaluation.speed)}  # its newest timing
        by_model.setdefault(key, {})[evaluation.dataset_sha256] = evaluation

    teacher_scores = {
        key: {sha: _score(e, metric) for sha, e in scores.items()}
        for key, scores in by_model.items()
        if key.startswith("teacher-")
    }
    primary = next((c for c in columns if c.role == Dataset.Role.TEST), columns[0] if columns else None)
    rows = []
    for key in sorted(models, key=lambda k: _model_order(models[k])):
        model = models[key]
        reference = _reference_teacher(model, teacher_scores)
        cells = []
        for column in columns:
            evaluation = by_model[key].get(column.key) if column.kind == "dataset" else None
            cells.append(_cell(task, evaluation, metric, reference, column.key, is_teacher=isinstance(model, Teacher)))
        rows.append(
            Row(
                key=key,
                name=model.name,
                kind=_kind(model),
                detail=_detail(model),
                cells=cells,
                speed=speeds.get(key, {}),
                parameters=speeds.get(key, {}).get("parameters") or getattr(model, "parameters", None),
                size_bytes=getattr(model, "size_bytes", None) or speeds.get(key, {}).get("artifact_bytes"),
                calibration=by_model[key].get(primary.key) if primary and primary.kind == "dataset" else None,
            )
        )
    rows.extend(_external_rows(externals, columns))
    return TierTable(
        metric=metric,
        metric_label=Task.Metric(metric).label,
        quality_min=task.quality_min,
        min_retention=task.min_retention,
        columns=columns,
        rows=rows,
        primary=primary,
        devices=sorted({speed["where"] for speed in speeds.values() if speed["where"]}),
    )


def pareto_front(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Points no other point beats on both latency (lower) and score (higher), by increasing latency."""
    front: list[dict[str, Any]] = []
    for point in sorted(points, key=lambda p: (p["latency_ms"], -p["score"])):
        if not front or point["score"] > front[-1]["score"]:
            front.append(point)
    return front


def _score(evaluation: Evaluation, metric: str) -> float | None:
    return evaluation.macro_f1 if metric == Task.Metric.MACRO_F1 else evaluation.accuracy


def _cell(
    task: Task,
    evaluation: Evaluation | None,
    metric: str,
    reference: dict[str, float | None] | None,
    column_key: str,
    *,
    is_teacher: bool,
) -> Cell:
    if evaluation is None:
        return Cell()
    score = _score(evaluation, metric)
    cell = Cell(score=score, evaluation_id=evaluation.pk)
    oos = evaluation.metrics.get("out_of_scope")
    if oos:
        cell.note = f"rejects {oos['rejection_recall']:.0%} out-of-scope"
    if score is None:
        cell.status = "neutral"
        return cell
    teacher_score = (reference or {}).get(column_key)
    if not is_teacher and teacher_score:
        cell.retention = score / teacher_score
    cell.status = _status(score, cell.retention, task)
    return cell


def _status(score: float, retention: float | None, task: Task) -> str:
    meets_quality, meets_retention = score >= task.quality_min, retention is None or retention >= task.min_retention
    if meets_quality and meets_retention:
        return "good"
    near_quality = score >= task.quality_min - NEAR_MISS
    near_retention = retention is None or retention >= task.min_retention - NEAR_MISS
    return "near" if near_quality and near_retention else "bad"


def _reference_teacher(
    model: Teacher | Student, teacher_scores: dict[str, dict[str, float | None]]
) -> dict[str, float | None] | None:
    """A student is compared with the teacher it learnt from; else with the best teacher on each column."""
    if isinstance(model, Teacher):
        return None
    teacher = model.teacher or (model.parent.teacher if model.parent else None)
    if teacher is not None and model_key(teacher) in teacher_scores:
        return teacher_scores[model_key(teacher)]
    best: dict[str, float | None] = {}
    for scores in teacher_scores.values():
        for column, score in scores.items():
            if score is not None and (best.get(column) is None or score > (best[column] or 0)):
                best[column] = score
    return best


def _dataset_columns(evaluations: list[Evaluation]) -> list[Column]:
    """A column per evaluated dataset, test sets first. The validation set is left out: every evaluate job
    scores it (T, τ and routing are tuned there), so it is not evidence of how a model generalises."""
    columns: dict[str, Column] = {}
    for evaluation in evaluations:
        if evaluation.dataset_role == Dataset.Role.VALIDATION:
            continue
        columns.setdefault(
            evaluation.dataset_sha256,
            Column(
                key=evaluation.dataset_sha256,
                name=evaluation.dataset_name,
                kind="dataset",
                role=evaluation.dataset_role,
            ),
        )
    return sorted(columns.values(), key=lambda c: (ROLE_ORDER.get(c.role, 9), c.name))


def _external_columns(externals: list[ExternalResult]) -> list[Column]:
    names = sorted({e.benchmark for e in externals})
    return [Column(key=f"external:{name}", name=name, kind="external") for name in names]


def _external_rows(externals: list[ExternalResult], columns: list[Column]) -> list[Row]:
    rows: dict[str, Row] = {}
    for result in externals:
        row = rows.setdefault(
            result.model_name,
            Row(
                key=f"external-{result.model_name}",
                name=result.model_name,
                kind="external",
                detail=f"imported from {result.source_filename}",
                cells=[Cell() for _ in columns],
                parameters=result.parameters,
            ),
        )
        index = next(i for i, c in enumerate(columns) if c.key == f"external:{result.benchmark}")
        row.cells[index] = Cell(score=result.score, status="neutral", note=result.metric)
    return list(rows.values())


def _model_order(model: Teacher | Student) -> tuple[int, int, int, int]:
    """Teachers first; then students by size, each followed by its quantized variants."""
    if isinstance(model, Teacher):
        return (0, 0, 0, model.pk)
    base = model.parent if model.parent_id and model.parent else model
    return (1, base.layers, base.pk, 1 if model.parent_id else 0)


def _kind(model: Teacher | Student) -> str:
    if isinstance(model, Teacher):
        return "teacher"
    return "quantized" if model.construction == Student.Construction.QUANTIZED else "student"


def _detail(model: Teacher | Student) -> str:
    if isinstance(model, Teacher):
        return model.get_origin_display() if not model.is_precomputed else "uploaded outputs"
    if model.construction == Student.Construction.QUANTIZED:
        return f"int8 variant of {model.parent.name if model.parent else 'a student'}"
    return f"{model.layers} layer{'s' if model.layers != 1 else ''} · {model.get_construction_display().lower()}"
