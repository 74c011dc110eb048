"""Writes for tasks, datasets and teachers. Each checks the caller's role on the server."""

import hashlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from domain.model_refs import ModelSourceError, resolve_model_ref
from webapp.accounts.models import Role, Team
from webapp.accounts.selectors import require_role
from webapp.registry.dataset_stats import compute_stats
from webapp.registry.models import Dataset, Task, Teacher
from webapp.registry.parsing import DatasetFormatError, ParsedDataset, ParsedRow, parse_dataset
from webapp.registry.precomputed import parse_teacher_outputs, save_outputs

TASK_FIELDS = (
    "name",
    "description",
    "quality_metric",
    "quality_min",
    "min_retention",
    "requests_per_month",
    "mean_input_tokens",
    "mean_output_tokens",
    "latency_slo_ms",
)


def task_create(*, team: Team, user: AbstractBaseUser, **fields: Any) -> Task:
    require_role(user=user, team=team, role=Role.MEMBER)
    task = Task(team=team, created_by=user, **{k: v for k, v in fields.items() if k in TASK_FIELDS})
    task.name = task.name.strip()
    if Task.objects.filter(team=team, name__iexact=task.name).exists():
        raise ValidationError({"name": f"{team} already has a task named '{task.name}'."})
    task.full_clean(exclude=["team", "created_by"])
    task.save()
    return task


def task_update(*, task: Task, user: AbstractBaseUser, **fields: Any) -> Task:
    require_role(user=user, team=task.team, role=Role.MEMBER)
    for key, value in fields.items():
        if key in TASK_FIELDS:
            setattr(task, key, value)
    task.full_clean(exclude=["team", "created_by"])
    task.save()
    return task


def task_labels_set(*, task: Task, user: AbstractBaseUser, labels: Iterable[str]) -> Task:
    """The reviewed label set. Labels used by stored validation/test data can't be dropped."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    cleaned = list(dict.fromkeys(label.strip() for label in labels if label.strip()))
    if not cleaned:
        raise ValidationError("A task needs at least one label.")
    used = _labels_in_datasets(task, roles=(Dataset.Role.TRAIN, Dataset.Role.VALIDATION, Dataset.Role.TEST))
    missing = sorted(used - set(cleaned))
    if missing:
        raise ValidationError(f"These labels are used by stored datasets and must stay: {', '.join(missing)}.")
    task.labels = cleaned
    task.labels_reviewed = True
    task.save(update_fields=["labels", "labels_reviewed"])
    return task


def _labels_in_datasets(task: Task, *, roles: Iterable[str]) -> set[str]:
    labels: set[str] = set()
    for stats in Dataset.objects.filter(task=task, role__in=list(roles)).values_list("stats", flat=True):
        labels.update(label for label, _ in stats.get("label_counts", []))
    return labels


# --- datasets ---------------------------------------------------------------------------------


def dataset_upload(
    *,
    task: Task,
    user: AbstractBaseUser,
    file: IO[bytes],
    filename: str,
    role: str,
    name: str = "",
    text_column: str = "text",
    label_column: str = "label",
    synthetic: bool = False,
) -> Dataset:
    """Store an uploaded CSV/JSONL file as a new immutable dataset version, or raise ValidationError
    naming the problem. Nothing stored changes when the upload is refused."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    if role not in Dataset.Role.values:
        raise ValidationError(f"Unknown role '{role}'; choose one of {', '.join(Dataset.Role.values)}.")
    if getattr(file, "over_cap", False) or (getattr(file, "size", 0) or 0) > settings.MAX_UPLOAD_BYTES:
        raise ValidationError(_too_large_message(filename, getattr(file, "size", 0)))
    labelled = role != Dataset.Role.UNLABELED
    name = (name or Path(filename).stem).strip()[:120]

    staging = Path(tempfile.mkdtemp(prefix="upload-", dir=_ensure_dir(settings.DATA_DIR / "tmp")))
    try:
        original = staging / "original"
        sha256, size = _copy_hashing(file, original)
        if size == 0:
            raise ValidationError(f"{filename} is empty: it has no rows to store.")
        if size > settings.MAX_UPLOAD_BYTES:
            raise ValidationError(_too_large_message(filename, size))
        duplicate = Dataset.objects.filter(task=task, sha256=sha256).first()
        if duplicate is not None:
            raise ValidationError(
                f"{filename} is already stored in this task as '{duplicate}' ({duplicate.get_role_display()}); "
                "datasets are immutable, so there is nothing new to upload."
            )
        try:
            parsed = parse_dataset(
                original,
                filename=filename,
                text_column=text_column.strip() or "text",
                label_column=(label_column.strip() or "label") if labelled else None,
            )
        except DatasetFormatError as exc:
            raise ValidationError(str(exc)) from exc
        stats = compute_stats(parsed.rows)
        with transaction.atomic():
            task = Task.objects.select_for_update().get(pk=task.pk)
            stats.update(_check_labels(task, role=role, rows=parsed.rows, filename=filename))
            folder = Path("datasets") / str(task.pk) / uuid.uuid4().hex
            dataset = Dataset(
                task=task,
                name=name,
                version=_next_version(task, name),
                role=role,
                original_filename=Path(filename).name[:255],
                file_format=parsed.format,
                sha256=sha256,
                size_bytes=size,
                row_count=len(parsed.rows),
                text_column=text_column,
                label_column=label_column if labelled else "",
                stats=stats,
                synthetic=synthetic,
                storage_dir=str(folder),
                created_by=user,
            )
            _write_dataset_files(staging, parsed, settings.DATA_DIR / folder, extension=parsed.format)
            # If the row can't be stored, its files must not stay behind either.
            try:
                dataset.save()
            except IntegrityError as exc:  # the same file uploaded twice at the same moment
                shutil.rmtree(settings.DATA_DIR / folder, ignore_errors=True)
                raise ValidationError(f"{filename} is already stored in this task.") from exc
            except BaseException:
                shutil.rmtree(settings.DATA_DIR / folder, ignore_errors=True)
                raise
        return dataset
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_labels(task: Task, *, role: str, rows: list[ParsedRow], filename: str) -> dict[str, Any]:
    """Fit the file's labels to the task's label set. Train data may grow an unreviewed label set;
    validation and test data must use known labels; OOD data may hold labels outside it (e.g. `oos`)."""
    if role == Dataset.Role.UNLABELED:
        return {}
    first_line: dict[str, int] = {}
    for row in rows:
        if row.label is not None:
            first_line.setdefault(row.label, row.line)
    known = set(task.labels)
    unknown = [label for label in first_line if label not in known]
    if role == Dataset.Role.OOD:
        return {"labels_outside_task": sorted(unknown)}
    if not known or (role == Dataset.Role.TRAIN and not task.labels_reviewed):
        task.labels = sorted(known | set(first_line))
        task.save(update_fields=["labels"])
        return {}
    if unknown:
        shown = ", ".join(f"'{label}' (line {first_line[label]})" for label in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise ValidationError(
            f"{filename} has labels this task does not know: {shown}{more}. "
            "Fix the file, or add the labels on the task's label page first."
        )
    return {}


def _next_version(task: Task, name: str) -> int:
    latest = Dataset.objects.filter(task=task, name=name).aggregate(v=Max("version"))["v"]
    return (latest or 0) + 1


def _write_dataset_files(staging: Path, parsed: ParsedDataset, folder: Path, *, extension: str) -> None:
    folder.mkdir(parents=True)
    shutil.copyfile(staging / "original", folder / f"original.{extension}")
    with (folder / "rows.jsonl").open("w", encoding="utf-8") as out:
        for row in parsed.rows:
            out.write(json.dumps({"text": row.text, "label": row.label}, ensure_ascii=False) + "\n")


def _copy_hashing(source: IO[bytes], target: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    if hasattr(source, "seek"):
        source.seek(0)
    with target.open("wb") as out:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
            if size > settings.MAX_UPLOAD_BYTES:
                break
    return digest.hexdigest(), size


def _too_large_message(filename: str, size: int | None) -> str:
    cap_mb = settings.MAX_UPLOAD_BYTES // (1024 * 1024)
    actual = f" ({size / 1024 / 1024:.0f} MB)" if size else ""
    return (
        f"{filename}{actual} is over the {cap_mb} MB upload limit. Split it, or raise DISTILLERY_MAX_UPLOAD_MB "
        "if this machine can hold it."
    )


def _ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- teachers ---------------------------------------------------------------------------------


def teacher_register(
    *,
    task: Task,
    user: AbstractBaseUser,
    name: str,
    model_ref: str,
    max_length: int = 128,
    cost_mode: str = Teacher.CostMode.API,
    price_input_per_m: Decimal | float = 0,
    price_output_per_m: Decimal | float = 0,
    gpu_hour_price: Decimal | float = 0,
    gpu_count: int = 1,
) -> Teacher:
    """Register a teacher after checking that its model can be loaded offline from safetensors."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    try:
        resolved = resolve_model_ref(model_ref, model_root=Path(settings.MODEL_ROOT))
    except ModelSourceError as exc:
        raise ValidationError({"model_ref": str(exc)}) from exc
    teacher = Teacher(
        task=task,
        name=_unique_teacher_name(task, name.strip() or resolved.name),
        model_ref=resolved.ref,
        max_length=max_length,
        **_cost_fields(cost_mode, price_input_per_m, price_output_per_m, gpu_hour_price, gpu_count),
        created_by=user,
    )
    teacher.full_clean(exclude=["task", "created_by"])
    teacher.save()
    return teacher


def teacher_upload_outputs(
    *,
    task: Task,
    user: AbstractBaseUser,
    name: str,
    file: IO[bytes],
    filename: str,
    cost_mode: str = Teacher.CostMode.API,
    price_input_per_m: Decimal | float = 0,
    price_output_per_m: Decimal | float = 0,
    gpu_hour_price: Decimal | float = 0,
    gpu_count: int = 1,
) -> Teacher:
    """Register a teacher from its uploaded outputs (JSONL: text, label, probs or logits over the task's
    labels). Students distil from them as from cached logits; nothing is stored if the file is refused."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    if getattr(file, "over_cap", False) or (getattr(file, "size", 0) or 0) > settings.MAX_UPLOAD_BYTES:
        raise ValidationError(_too_large_message(filename, getattr(file, "size", 0)))
    data = file.read(settings.MAX_UPLOAD_BYTES + 1)
    if len(data) > settings.MAX_UPLOAD_BYTES:
        raise ValidationError(_too_large_message(filename, len(data)))
    task.refresh_from_db(fields=["labels"])  # a caller's copy may predate the upload that set them
    labels = list(task.labels)
    try:
        outputs = parse_teacher_outputs(data, filename=filename, labels=labels)
    except DatasetFormatError as exc:
        raise ValidationError(str(exc)) from exc
    folder = Path("teacher_outputs") / "uploaded" / str(task.pk) / uuid.uuid4().hex
    teacher = Teacher(
        task=task,
        name=_unique_teacher_name(task, name.strip() or Path(filename).stem),
        backend=Teacher.Backend.PRECOMPUTED,
        model_ref=Path(filename).name[:500],
        labels=labels,
        outputs_dir=str(folder),
        metrics={
            "rows": len(outputs.texts),
            "uploaded_kind": outputs.kind,
            "agreement_with_labels": outputs.agreement_with_labels(labels),
        },
        **_cost_fields(cost_mode, price_input_per_m, price_output_per_m, gpu_hour_price, gpu_count),
        created_by=user,
    )
    teacher.full_clean(exclude=["task", "created_by"])
    save_outputs(settings.DATA_DIR / folder, outputs, labels=labels)
    try:
        teacher.save()
    except BaseException:
        shutil.rmtree(settings.DATA_DIR / folder, ignore_errors=True)
        raise
    return teacher


def _unique_teacher_name(task: Task, name: str) -> str:
    if Teacher.objects.filter(task=task, name__iexact=name).exists():
        raise ValidationError({"name": f"This task already has a teacher named '{name}'."})
    return name[:120]


def _cost_fields(
    cost_mode: str,
    price_input_per_m: Decimal | float,
    price_output_per_m: Decimal | float,
    gpu_hour_price: Decimal | float,
    gpu_count: int,
) -> dict[str, Any]:
    return {
        "cost_mode": cost_mode,
        "price_input_per_m": Decimal(str(price_input_per_m)),
        "price_output_per_m": Decimal(str(price_output_per_m)),
        "gpu_hour_price": Decimal(str(gpu_hour_price)),
        "gpu_count": gpu_count,
    }
