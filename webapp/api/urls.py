from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from webapp.api import approvals, archive, distillation, economics, evaluation, monitoring, views

# Names start with "api-": the web pages already use "task-detail", "job-detail" and so on.
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("teams/", views.TeamListApi.as_view(), name="api-team-list"),
    path("tasks/", views.TaskListCreateApi.as_view(), name="api-task-list"),
    path("tasks/<int:task_id>/", views.TaskDetailApi.as_view(), name="api-task-detail"),
    path("tasks/<int:task_id>/datasets/", views.TaskDatasetListUploadApi.as_view(), name="api-task-datasets"),
    path("tasks/<int:task_id>/teachers/", views.TaskTeacherListRegisterApi.as_view(), name="api-task-teachers"),
    path(
        "tasks/<int:task_id>/teachers/precomputed/",
        views.TaskTeacherOutputsUploadApi.as_view(),
        name="api-task-teacher-outputs",
    ),
    path("tasks/<int:task_id>/jobs/", views.TaskJobListStartApi.as_view(), name="api-task-jobs"),
    path("tasks/<int:task_id>/fine-tune/", distillation.TaskFinetuneApi.as_view(), name="api-task-finetune"),
    path("tasks/<int:task_id>/students/", distillation.TaskStudentListDistillApi.as_view(), name="api-task-students"),
    path("tasks/<int:task_id>/teacher-gates/", distillation.TeacherGateApi.as_view(), name="api-task-teacher-gates"),
    path(
        "tasks/<int:task_id>/evaluations/", evaluation.TaskEvaluationListStartApi.as_view(), name="api-task-evaluations"
    ),
    path(
        "tasks/<int:task_id>/external-results/",
        evaluation.TaskExternalResultsApi.as_view(),
        name="api-task-external-results",
    ),
    path("evaluations/<int:evaluation_id>/", evaluation.EvaluationDetailApi.as_view(), name="api-evaluation-detail"),
    path(
        "evaluations/<int:evaluation_id>/predictions/",
        evaluation.EvaluationPredictionsApi.as_view(),
        name="api-evaluation-predictions",
    ),
    path("students/<int:student_id>/", distillation.StudentDetailApi.as_view(), name="api-student-detail"),
    path("datasets/<int:dataset_id>/", views.DatasetDetailApi.as_view(), name="api-dataset-detail"),
    path("datasets/<int:dataset_id>/rows/", views.DatasetRowsApi.as_view(), name="api-dataset-rows"),
    path("datasets/<int:dataset_id>/file/", views.DatasetFileApi.as_view(), name="api-dataset-file"),
    path("teachers/<int:teacher_id>/", views.TeacherDetailApi.as_view(), name="api-teacher-detail"),
    path(
        "teachers/<int:teacher_id>/artifact/",
        distillation.TeacherArtifactApi.as_view(),
        name="api-teacher-artifact",
    ),
    path(
        "students/<int:student_id>/artifact/",
        distillation.StudentArtifactApi.as_view(),
        name="api-student-artifact",
    ),
    # Archive (soft delete) and restore.
    *[
        path(
            f"{kind}s/<int:{kind}_id>/{action}/",
            archive.archive_endpoint(kind, restore=action == "restore"),
            name=f"api-{kind}-{action}",
        )
        for kind in ("task", "dataset", "teacher", "student")
        for action in ("archive", "restore")
    ],
    path("jobs/<int:job_id>/", views.JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<int:job_id>/cancel/", views.JobCancelApi.as_view(), name="api-job-cancel"),
    # The decision layer (issue 9): routing, ROI, scenarios and share links.
    path(
        "tasks/<int:task_id>/roi/candidates/", economics.TaskRoiCandidatesApi.as_view(), name="api-task-roi-candidates"
    ),
    path("tasks/<int:task_id>/roi/", economics.TaskRoiApi.as_view(), name="api-task-roi"),
    path("tasks/<int:task_id>/routing-curve/", economics.TaskRoutingCurveApi.as_view(), name="api-task-routing-curve"),
    path("tasks/<int:task_id>/scenarios/", economics.TaskScenarioListSaveApi.as_view(), name="api-task-scenarios"),
    path("scenarios/<int:scenario_id>/", economics.ScenarioDetailApi.as_view(), name="api-scenario-detail"),
    path(
        "scenarios/<int:scenario_id>/share-links/",
        economics.ScenarioShareLinkListCreateApi.as_view(),
        name="api-scenario-share-links",
    ),
    path("share-links/<int:link_id>/revoke/", economics.ShareLinkRevokeApi.as_view(), name="api-share-link-revoke"),
    # Sign-off (issue 10): gates, approval requests, decisions, deployments, the audit log.
    path("tasks/<int:task_id>/gates/", approvals.TaskGatesApi.as_view(), name="api-task-gates"),
    path(
        "tasks/<int:task_id>/approval-requests/",
        approvals.TaskApprovalRequestsApi.as_view(),
        name="api-task-approval-requests",
    ),
    path("approval-requests/<int:request_id>/", approvals.ApprovalRequestDetailApi.as_view(), name="api-approval"),
    path(
        "approval-requests/<int:request_id>/decision/",
        approvals.ApprovalDecisionApi.as_view(),
        name="api-approval-decision",
    ),
    path(
        "approval-requests/<int:request_id>/deploy/", approvals.ApprovalDeployApi.as_view(), name="api-approval-deploy"
    ),
    path("tasks/<int:task_id>/deployments/", approvals.TaskDeploymentsApi.as_view(), name="api-task-deployments"),
    path("deployments/<int:deployment_id>/", approvals.DeploymentDetailApi.as_view(), name="api-deployment"),
    path(
        "deployments/<int:deployment_id>/model-card/",
        approvals.DeploymentModelCardApi.as_view(),
        name="api-deployment-model-card",
    ),
    path(
        "deployments/<int:deployment_id>/revoke/", approvals.DeploymentRevokeApi.as_view(), name="api-deployment-revoke"
    ),
    path("tasks/<int:task_id>/audit/", approvals.TaskAuditApi.as_view(), name="api-task-audit"),
    # Monitoring (issue 10): drift of a deployment's traffic, with the $ impact of each alert.
    path(
        "deployments/<int:deployment_id>/monitoring/",
        monitoring.DeploymentMonitoringApi.as_view(),
        name="api-deployment-monitoring",
    ),
]
