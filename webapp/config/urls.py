from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.cache import never_cache

from webapp.accounts import views as accounts
from webapp.config.health import DATABASE, REDIS, database_problem, redis_problem
from webapp.distillation import views as distillation
from webapp.economics import views as economics
from webapp.evaluation import views as evaluation
from webapp.jobs import views as jobs
from webapp.registry import archive_views as archive
from webapp.registry import views as registry


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and Redis both answer, else 503; each service says "ok" or what is wrong."""
    problems = {DATABASE: database_problem(), REDIS: redis_problem(settings.REDIS_URL)}
    report: dict[str, object] = {name: problem or "ok" for name, problem in problems.items()}
    report["ok"] = not any(problems.values())
    return JsonResponse(report, status=200 if report["ok"] else 503)


handler500 = "webapp.config.outages.server_error"


urlpatterns = [
    path("", accounts.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("account/api-token/", accounts.api_token, name="api-token"),
    path("teams/", accounts.team_list, name="team-list"),
    path("teams/switch/", accounts.team_switch, name="team-switch"),
    path("teams/<int:team_id>/members/", accounts.team_members, name="team-members"),
    path("teams/<int:team_id>/members/<int:membership_id>/", accounts.member_update, name="member-update"),
    path("tasks/", registry.task_list, name="task-list"),
    path("tasks/new/", registry.task_create_view, name="task-create"),
    path("tasks/<int:task_id>/", registry.task_detail, name="task-detail"),
    path("tasks/<int:task_id>/edit/", registry.task_edit, name="task-edit"),
    path("tasks/<int:task_id>/labels/", registry.task_labels, name="task-labels"),
    path("tasks/<int:task_id>/labels/rename/", registry.task_labels_rename_view, name="task-labels-rename"),
    path("tasks/<int:task_id>/data/", registry.dataset_list, name="dataset-list"),
    path("tasks/<int:task_id>/teachers/", registry.teacher_list, name="teacher-list"),
    path("tasks/<int:task_id>/teachers/fine-tune/", registry.finetune, name="teacher-finetune"),
    path(
        "tasks/<int:task_id>/teachers/upload-outputs/", registry.teacher_outputs_upload, name="teacher-outputs-upload"
    ),
    path("tasks/<int:task_id>/students/", distillation.student_list, name="student-list"),
    path("tasks/<int:task_id>/jobs/", jobs.job_list, name="job-list"),
    path("tasks/<int:task_id>/jobs/compare/", jobs.job_compare, name="job-compare"),
    path("tasks/<int:task_id>/roi/", economics.roi, name="roi"),
    path("tasks/<int:task_id>/roi/save/", economics.roi_save, name="roi-save"),
    path("tasks/<int:task_id>/evaluation/", evaluation.evaluation_overview, name="evaluation-overview"),
    path("tasks/<int:task_id>/evaluation/start/", evaluation.evaluation_start, name="evaluation-start"),
    path("tasks/<int:task_id>/evaluation/probe/", evaluation.robustness_probe, name="robustness-probe"),
    path("tasks/<int:task_id>/evaluation/import/", evaluation.external_import, name="external-import"),
    path(
        "tasks/<int:task_id>/evaluation/calibration/", evaluation.evaluation_calibration, name="evaluation-calibration"
    ),
    path("evaluations/<int:evaluation_id>/", evaluation.evaluation_detail, name="evaluation-detail"),
    path(
        "evaluations/<int:evaluation_id>/predictions.jsonl",
        evaluation.evaluation_predictions,
        name="evaluation-predictions",
    ),
    path("datasets/<int:dataset_id>/", registry.dataset_detail, name="dataset-detail"),
    path("datasets/<int:dataset_id>/rows/", registry.dataset_rows, name="dataset-rows"),
    path("datasets/<int:dataset_id>/file/", registry.dataset_file, name="dataset-file"),
    path("students/<int:student_id>/quantize/", distillation.quantize, name="student-quantize"),
    path("students/<int:student_id>/artifact.zip", distillation.student_artifact, name="student-artifact"),
    path("teachers/<int:teacher_id>/artifact.zip", registry.teacher_artifact, name="teacher-artifact"),
    path("jobs/<int:job_id>/", jobs.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/status.json", jobs.job_status, name="job-status"),
    path("jobs/<int:job_id>/metrics.json", jobs.job_metrics_view, name="job-metrics"),
    path("jobs/<int:job_id>/cancel/", jobs.job_cancel_view, name="job-cancel"),
    # Archive (soft delete) and restore: POST only, members of the object's team.
    path("tasks/<int:task_id>/archived/", archive.archived_list, name="archived-list"),
    *[
        path(f"{kind}s/<int:{kind}_id>/{action}/", view(kind), name=f"{kind}-{action}")
        for kind in ("task", "dataset", "teacher", "student")
        for action, view in (("archive", archive.archive_view), ("restore", archive.restore_view))
    ],
    path("", include("webapp.economics.urls")),  # scenarios, reports, exports, share links
    path("", include("webapp.approvals.urls")),  # gates, requests, deployments, audit log
    path("", include("webapp.approvals.monitoring_urls")),  # drift of a deployment's traffic
    path("api/", include("webapp.api.urls")),
    path("admin/", admin.site.urls),
]
