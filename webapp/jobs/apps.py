from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "webapp.jobs"
    label = "jobs"

    def ready(self) -> None:
        from domain.results import Profiled
        from webapp.jobs.recording import register_recorder

        # A profile's figures live on the job itself (Job.result): there is no other row to write.
        register_recorder(Profiled, lambda job, result: None)
