from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "webapp.demo"
    label = "demo"

    def ready(self) -> None:
        from webapp.demo import pipeline
        from webapp.jobs.recording import job_recorded

        # Each demo job that ends moves the demo one step on (after its transaction commits).
        job_recorded.connect(pipeline.on_job_recorded, dispatch_uid="demo-pipeline")
