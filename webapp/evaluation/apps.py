from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "webapp.evaluation"
    label = "evaluation"

    def ready(self) -> None:
        from domain.results import ModelEvaluated
        from webapp.evaluation.services import evaluation_record
        from webapp.jobs.recording import register_recorder

        register_recorder(ModelEvaluated, evaluation_record)
