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
from webapp.registry.archiving import require_not_archived
from webapp.registry.dataset_stats import compute_stats
from webapp.registry.models import Dataset, LabelChange, Task, Teacher
from webapp.registry.parsing import DatasetFormatError, ParsedDataset, ParsedRow, parse_dataset, unsafe_character
from webapp.registry.precomputed import parse_teacher_outputs, save_outputs
from webapp.registry.selectors import label_change_blocker

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
        labels.update(task.current_label(label) for label, _ in stats.get("label_counts", []))
    return labels


@transaction.atomic
def task_labels_rename(*, task: Task, user: AbstractBaseUser, sources: Iterable[str], target: str) -> LabelChange:
    """Rename one label, or merge several (into a new name or one of them). The task's label set changes and
    every later read of its datasets maps the old names to the new one; stored files are not rewritten (their
    sha256 stays true). Refused once a model was trained or evaluated on the current names (see
    label_change_blocker). Recorded on the task's label history."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    task = Task.objects.select_for_update().get(pk=task.pk)
    blocker = label_change_blocker(task=task)
    if blocker:
        raise ValidationError(blocker)
    chosen = list(dict.fromkeys(s for s in sources if s))
    target = target.strip()
    if not chosen:
        raise ValidationError({"sources": "Choose the label(s) to rename or merge."})
    unknown = [s for s in chosen if s not in task.labels]
    if unknown:
        raise ValidationError({"sources": f"Not in this task's label set: {', '.join(unknown)}."})
    if not target:
        raise ValidationError({"target": "Give the new name."})
    problem = unsafe_character(target)
    if problem or len(target) > 200:
        raise ValidationError(
            {"target": f"The new name {problem}" if problem else "Keep the name under 200 characters."}
        )
    if chosen == [target]:
        raise ValidationError({"target": f"'{target}' is already its name."})
    merged = len(chosen) > 1 or target in task.labels
    # The target takes the place of the first label it replaces; the rest leave the set.
    position = min(task.labels.index(label) for label in [*chosen, target] if label in task.labels)
    remaining = [label for label in task.labels if label not in chosen and label != target]
    remaining.insert(min(position, len(remaining)), target)
    task.labels = remaining
    task.label_map = {old: (target if new in chosen else new) for old, new in task.label_map.items()} | {
        source: target for source in chosen if source != target
    }
    task.save(update_fields=["labels", "label_map"])
    rows = sum(
        count
        for stats in Dataset.objects.filter(task=task).values_list("stats", flat=True)
        for label, count in stats.get("label_counts", [])
        if task.current_label(label) == target and label != target
    )
    return LabelChange.objects.create(
        task=task,
        action=LabelChange.Action.MERGED if merged else LabelChange.Action.RENAMED,
        sources=chosen,
        target=target,
        rows=rows,
        actor=user,
        actor_name=user.get_username(),
    )


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
    confirm_new_labels: bool = False,
) -> Dataset:
    """Store an uploaded CSV/JSONL file as a new immutable dataset version, or raise ValidationError
    naming the problem. Nothing stored changes when the upload is refused. A training file whose labels
    would grow the task's label set is refused with LabelSetWouldGrow unless `confirm_new_labels`."""
    require_role(user=user, team=task.team, role=Role.MEMBER)
    require_not_archived(task)
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
            archived = ", archived: restore it from the Archived list" if duplicate.is_archived else ""
            raise ValidationError(
                f"{filename} is already stored in this task as '{duplicate}' ({duplicate.get_role_display()}"
                f"{archived}); datasets are immutable, so there is nothing new to upload."
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
            stats.update(
                _check_labels(task, role=role, rows=parsed.rows, filename=filename, confirmed=confirm_new_labels)
            )
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


class LabelSetWouldGrow(ValidationError):
    """A training upload has labels the task does not have yet: growing the set needs the user's word."""

    def __init__(self, message: str, *, new_labels: list[str]) -> None:
        super().__init__({"confirm_new_labels": message})
        self.message_text = message
        self.new_labels = new_labels


def _check_labels(
    task: Task, *, role: str, rows: list[ParsedRow], filename: str, confirmed: bool = False
) -> dict[str, Any]:
    """Fit the file's labels (under their current names) to the task's label set. The first labelled upload
    sets it; a later training file may grow it only when the user confirms the new labels (three small files
    once took a 77-label set to 80 unnoticed); validation and test data must use known labels; OOD data may
    hold labels outside it (e.g. `oos`)."""
    if role == Dataset.Role.UNLABELED:
        return {}
    first_line: dict[str, int] = {}
    for row in rows:
        if row.label is not None:
            first_line.setdefault(task.current_label(row.label), row.line)
    known = set(task.labels)
    unknown = [label for label in first_line if label not in known]
    if role == Dataset.Role.OOD:
        return {"labels_outside_task": sorted(unknown)}
    if not known:
        task.labels = sorted(first_line)
        task.save(update_fields=["labels"])
        return {}
    if unknown and role == Dataset.Role.TRAIN:
        if not confirmed:
            raise _growth_refused(task, filename, unknown, first_line)
        task.labels = sorted(known | set(unknown))
        task.save(update_fields=["labels"])
        return {"labels_added": sorted(unknown)}
    if unknown:
        shown = ", ".join(f"'{label}' (line {first_line[label]})" for label in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise ValidationError(
            f"{filename} has labels this task does not know: {shown}{more}. "
            "Fix the file, or add the labels on the task's label page first."
        )
    return {}


def _growth_refused(task: Task, filename: str, unknown: list[str], first_line: dict[str, int]) -> LabelSetWouldGrow:
    shown = ", ".join(f"'{label}' (line {first_line[label]})" for label in unknown[:10])
    more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
    reviewed = "reviewed " if task.labels_reviewed else ""
    trained = task.teachers.active().filter(labels=task.labels).exclude(labels=[]).count()
    trained += task.students.active().filter(labels=task.labels).count()
    consequence = (
        f" The {trained} model(s) trained on the current labels would no longer match the task's labels."
        if trained
        else ""
    )
    new_count = len(task.labels) + len(unknown)
    return LabelSetWouldGrow(
        f"{filename} would grow the task's {reviewed}label set from {len(task.labels)} to {new_count} labels: "
        f"new {shown}{more}.{consequence} If these are new classes, confirm adding them and upload the file "
        "again; if they are typos of existing labels, fix the file.",
        new_labels=sorted(unknown),
    )


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
