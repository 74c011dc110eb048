from django.urls import path

from webapp.jobs.consumers import JobConsumer, TaskJobsConsumer

websocket_urlpatterns = [
    path("ws/jobs/<int:job_id>/", JobConsumer.as_asgi()),
    path("ws/tasks/<int:task_id>/jobs/", TaskJobsConsumer.as_asgi()),
]
