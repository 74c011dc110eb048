"""The Students tab (distil one student or a sweep) and fine-tuning a teacher from the Teachers tab."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webapp.accounts.models import Role
from webapp.accounts.selectors import require_role
from webapp.distillation.forms import DistillForm
from webapp.distillation.services import (
    distil_students,
    gate_message,
    quantize_start,
    teacher_gate,
    teacher_layer_count,
)
from webapp.evaluation.selectors import evaluations_by_model
from webapp.jobs.models import Job
from webapp.jobs.services import spec_or_validation_error
from webapp.registry.downloads import model_artifact_download
from webapp.registry.selectors import student_get_for_user, task_get_for_user
from webapp.ui.context import task_context
from webapp.ui.estimates import preset_initial, training_estimate


@login_required
def student_list(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(user=request.user, task_id=task_id)
    form = DistillForm(request.POST or None, task=task, initial=preset_initial(request, Job.Kind.DISTILL_STUDENT))
    if request.method == "POST":
        require_role(user=request.user, team=task.team, role=Role.MEMBER)
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = distil_students(
                    task=task,
                    teacher=data["teacher"],
                    train=data["train"],
                    validation=data["validation"],
                    user=request.user,
                    layer_counts=data["layers"],
                    student=spec_or_validation_error(form.student_options),
                    options=spec_or_validation_error(form.training_options),
                    confirm_below_bar=data["confirm_below_bar"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("job-detail", job_id=job.pk)
    teachers = [t for t in task.teachers.active() if t.has_task_head]
    context = task_context(request, task, "students") | {
        "students": task.students.active().select_related("teacher", "source_job").order_by("layers", "created_at"),
        "archived_count": task.students.archived().count(),
        "form": form,
        "teachers_with_head": teachers,
        "teacher_layers": {t.pk: teacher_layer_count(t) for t in teachers},
        # Each teacher's measured quality against the bar, shown next to the form before anyone distils.
        "teacher_gates": [(t, gate, gate_message(gate)) for t in teachers for gate in [teacher_gate(t)]],
        "evidence": evaluations_by_model(task),
        "estimate": training_estimate(form, Job.Kind.DISTILL_STUDENT),
    }
    return render(request, "distillation/student_list.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def quantize(request: HttpRequest, student_id: int) -> HttpResponse:
    student = student_get_for_user(user=request.user, student_id=student_id)
    try:
        job = quantize_start(student=student, user=request.user, method=request.POST.get("method", "int8_weight_only"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("student-list", task_id=student.task_id)
    return redirect("job-detail", job_id=job.pk)


@login_required
def student_artifact(request: HttpRequest, student_id: int) -> StreamingHttpResponse:
    """A student's (or int8 variant's) save_pretrained folder as a zip; a read, so viewers may download it."""
    return model_artifact_download(student_get_for_user(user=request.user, student_id=student_id))
