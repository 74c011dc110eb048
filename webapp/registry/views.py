"""Task, dataset and teacher pages. Views translate HTTP to selector/service calls, nothing more."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role, role_for
from webapp.distillation.services import finetune_start
from webapp.evaluation.selectors import evaluations_by_model
from webapp.jobs.models import Job
from webapp.jobs.selectors import jobs_of_task
from webapp.jobs.services import spec_or_validation_error
from webapp.registry import charts
from webapp.registry.checklist import task_checklist
from webapp.registry.downloads import dataset_file_download, model_artifact_download
from webapp.registry.forms import (
    DatasetUploadForm,
    FinetuneForm,
    LabelRenameForm,
    LabelsForm,
    TaskForm,
    TeacherForm,
    TeacherOutputsForm,
)
from webapp.registry.glance import task_glance
from webapp.registry.models import Dataset, Task
from webapp.registry.selectors import (
    archived_tasks_of_team,
    dataset_examples_by_label,
    dataset_get_for_user,
    dataset_overlaps,
    dataset_rows_page,
    label_change_blocker,
    label_usage,
    task_get_for_user,
    tasks_of_team,
    teacher_get_for_user,
)
from webapp.registry.services import (
    LabelSetWouldGrow,
    dataset_upload,
    task_create,
    task_labels_rename,
    task_labels_set,
    task_update,
    teacher_register,
    teacher_upload_outputs,
)
from webapp.ui.context import task_context
from webapp.ui.estimates import preset_initial, training_estimate


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    team = request.team  # type: ignore[attr-defined]
    if team is None:
        return redirect("team-list")
    role = role_for(user=request.user, team=team) or 0
    context = {
        "tasks": tasks_of_team(team=team),
        "archived_tasks": archived_tasks_of_team(team=team),
        "can_edit": role >= Role.MEMBER,
    }
    return render(request, "registry/task_list.html", context)


@login_required
def task_create_view(request: HttpRequest) -> HttpResponse:
    team = request.team  # type: ignore[attr-defined]
    if team is None:
        return redirect("team-list")
    require_role(user=request.user, team=team, role=Role.MEMBER)
    form = TaskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            task = task_create(team=team, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Task {task} created. Next: upload its data.")
            return redirect("dataset-list", task_id=task.pk)
    context = {"form": form, "title": "New task"}
    return render(request, "registry/task_form.html", context, status=400 if form.errors else 200)


@login_required
def task_edit(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    require_role(user=request.user, team=task.team, role=Role.MEMBER)
    form = TaskForm(request.POST or None, instance=task)
    if request.method == "POST" and form.is_valid():
        try:
            task_update(task=task, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Task saved.")
            return redirect("task-detail", task_id=task.pk)
    context = task_context(request, task, "overview") | {"form": form, "title": f"Edit {task}"}
    return render(request, "registry/task_form.html", context, status=400 if form.errors else 200)


@login_required
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    datasets = list(task.datasets.active())
    context = task_context(request, task, "overview") | {
        "datasets": datasets,
        "roles_present": {d.role for d in datasets},
        "teachers": list(task.teachers.active()),
        "recent_jobs": jobs_of_task(task=task)[:5],
        "checklist": task_checklist(task),
        "glance": task_glance(task),
    }
    return render(request, "registry/task_detail.html", context)


@login_required
def task_labels(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    form = LabelsForm(request.POST or None, initial={"labels": "\n".join(task.labels)})
    if request.method == "POST" and form.is_valid():
        try:
            task_labels_set(task=task, user=request.user, labels=form.cleaned_data["labels"].splitlines())
        except ValidationError as exc:
            form.add_error("labels", exc)
        else:
            messages.success(request, f"Label set saved: {len(task.labels)} labels.")
            return redirect("task-labels", task_id=task.pk)
    return _labels_page(request, task, form=form)


@login_required
@require_POST
def task_labels_rename_view(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    require_role(user=request.user, team=task.team, role=Role.MEMBER)
    form = LabelRenameForm(request.POST, task=task)
    if form.is_valid():
        try:
            change = task_labels_rename(
                task=task, user=request.user, sources=form.cleaned_data["sources"], target=form.cleaned_data["target"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{change} ({change.rows} stored rows now read as '{change.target}').")
            return redirect("task-labels", task_id=task.pk)
    return _labels_page(request, task, rename_form=form)


def _labels_page(
    request: HttpRequest, task: Task, *, form: LabelsForm | None = None, rename_form: LabelRenameForm | None = None
) -> HttpResponse:
    forms = {
        "form": form or LabelsForm(initial={"labels": "\n".join(task.labels)}),
        "rename_form": rename_form or LabelRenameForm(task=task),
    }
    context = task_context(request, task, "data") | forms
    context |= {
        "usage": label_usage(task=task),
        "labelled_datasets": task.datasets.exclude(role=Dataset.Role.UNLABELED),
        "rename_blocker": label_change_blocker(task=task),
        "label_changes": task.label_changes.all()[:50],
    }
    invalid = any(f.errors for f in forms.values())
    return render(request, "registry/task_labels.html", context, status=400 if invalid else 200)


@login_required
def dataset_list(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    form = DatasetUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            dataset = dataset_upload(
                task=task,
                user=request.user,
                file=upload,
                filename=upload.name,
                role=form.cleaned_data["role"],
                name=form.cleaned_data["name"],
                text_column=form.cleaned_data["text_column"],
                label_column=form.cleaned_data["label_column"],
                confirm_new_labels=form.cleaned_data["confirm_new_labels"],
            )
        except LabelSetWouldGrow as exc:
            form.add_error("confirm_new_labels", exc.message_text)
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            added = dataset.stats.get("labels_added")
            grown = f" Added {len(added)} label(s) to the task: {', '.join(added)}." if added else ""
            messages.success(request, f"Stored {dataset} ({dataset.row_count} rows).{grown}")
            return redirect("dataset-detail", dataset_id=dataset.pk)
    elif request.method == "POST":
        require_role(user=request.user, team=task.team, role=Role.MEMBER)
    context = task_context(request, task, "data") | {
        "datasets": task.datasets.active(),
        "form": form,
        "archived_count": task.datasets.archived().count(),
    }
    return render(request, "registry/dataset_list.html", context, status=400 if form.errors else 200)


@login_required
def dataset_detail(request: HttpRequest, dataset_id: int) -> HttpResponse:
    dataset = dataset_get_for_user(user=request.user, dataset_id=dataset_id)
    stats = dataset.stats
    figures = {
        "length": charts.histogram_figure(stats["text_length"]["histogram"], title="Text length", x_title="characters")
    }
    if dataset.is_labelled:
        # Under the labels' current names (renames and merges apply to every read).
        figures["labels"] = charts.label_distribution_figure({"label_counts": dataset.label_counts()})
    context = task_context(request, dataset.task, "data") | {
        "dataset": dataset,
        "stats": stats,
        "figures": figures,
        "overlaps": dataset_overlaps(dataset),
        "versions": Dataset.objects.filter(task=dataset.task, name=dataset.name).order_by("-version"),
        "first_rows": dataset_rows_page(dataset, limit=10),
        "examples_by_label": dataset_examples_by_label(dataset) if dataset.is_labelled else [],
    }
    return render(request, "registry/dataset_detail.html", context)


@login_required
def dataset_rows(request: HttpRequest, dataset_id: int) -> HttpResponse:
    """A page of the stored rows, optionally of one label: what the data actually says."""
    dataset = dataset_get_for_user(user=request.user, dataset_id=dataset_id)
    label = request.GET.get("label") or None
    page = dataset_rows_page(dataset, offset=_whole_number(request.GET.get("offset")), label=label)
    context = task_context(request, dataset.task, "data") | {
        "dataset": dataset,
        "page": page,
        "labels": [name for name, _ in dataset.label_counts()],
    }
    return render(request, "registry/dataset_rows.html", context)


@login_required
def dataset_file(request: HttpRequest, dataset_id: int) -> FileResponse:
    """The uploaded file exactly as stored. A read: viewers may download what they may see."""
    return dataset_file_download(dataset_get_for_user(user=request.user, dataset_id=dataset_id))


@login_required
def teacher_artifact(request: HttpRequest, teacher_id: int) -> StreamingHttpResponse:
    """A fine-tuned teacher's folder as a zip (a read: viewers may download it)."""
    return model_artifact_download(teacher_get_for_user(user=request.user, teacher_id=teacher_id))


def _whole_number(value: str | None) -> int:
    """A page offset from the query string; anything that is not a whole number means the first page."""
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


@login_required
def teacher_list(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    form = TeacherForm(request.POST or None)
    if request.method == "POST":
        require_role(user=request.user, team=task.team, role=Role.MEMBER)
        if form.is_valid():
            try:
                teacher = teacher_register(task=task, user=request.user, **form.service_kwargs())
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Teacher {teacher} registered. Next: profile a dataset or fine-tune it.")
                return redirect("teacher-list", task_id=task.pk)
    return teacher_page(request, task, form=form)


@login_required
@require_POST
def teacher_outputs_upload(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    require_role(user=request.user, team=task.team, role=Role.MEMBER)
    form = TeacherOutputsForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            teacher = teacher_upload_outputs(
                task=task, user=request.user, file=upload, filename=upload.name, **form.service_kwargs()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Teacher {teacher} registered from {teacher.metrics['rows']} uploaded outputs.")
            return redirect("teacher-list", task_id=task.pk)
    return teacher_page(request, task, outputs_form=form)


def teacher_page(
    request: HttpRequest,
    task: Task,
    *,
    form: TeacherForm | None = None,
    finetune_form: FinetuneForm | None = None,
    outputs_form: TeacherOutputsForm | None = None,
) -> HttpResponse:
    """The Teachers tab: registered, fine-tuned and uploaded teachers, and the forms that add them."""
    forms = {
        "form": form or TeacherForm(),
        "finetune_form": finetune_form
        or FinetuneForm(task=task, initial=preset_initial(request, Job.Kind.FINETUNE_TEACHER)),
        "outputs_form": outputs_form or TeacherOutputsForm(),
    }
    context = task_context(request, task, "teachers") | forms
    context["teachers"] = task.teachers.active().select_related("base", "source_job")
    context["evidence"] = evaluations_by_model(task)
    context["estimate"] = training_estimate(forms["finetune_form"], Job.Kind.FINETUNE_TEACHER)
    invalid = any(f.errors for f in forms.values())
    return render(request, "registry/teacher_list.html", context, status=400 if invalid else 200)


@login_required
@require_POST
def finetune(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    require_role(user=request.user, team=task.team, role=Role.MEMBER)
    form = FinetuneForm(request.POST, task=task)
    if form.is_valid():
        data = form.cleaned_data
        try:
            job = finetune_start(
                task=task,
                teacher=data["teacher"],
                train=data["train"],
                validation=data["validation"],
                user=request.user,
                options=spec_or_validation_error(form.training_options),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("job-detail", job_id=job.pk)
    return teacher_page(request, task, finetune_form=form)
