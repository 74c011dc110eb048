from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from webapp.api import distillation, economics, evaluation, monitoring, views

# Names start with "api-": the web pages already use "task-detail", "job-detail" and so on.
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
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
    path("teachers/<int:teacher_id>/", views.TeacherDetailApi.as_view(), name="api-teacher-detail"),
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
    # Monitoring (issue 10): drift of a deployment's traffic, with the $ impact of each alert.
    path(
        "deployments/<int:deployment_id>/monitoring/",
        monitoring.DeploymentMonitoringApi.as_view(),
        name="api-deployment-monitoring",
    ),
]
