from django.apps import AppConfig


class DistillationConfig(AppConfig):
    name = "webapp.distillation"
    label = "distillation"

    def ready(self) -> None:
        from domain.results import StudentQuantized, StudentTrained, TeacherTrained
        from webapp.distillation import recording
        from webapp.jobs.recording import register_outputs_recorder, register_recorder

        register_recorder(TeacherTrained, recording.teacher_record)
        register_recorder(StudentTrained, recording.student_record)
        register_recorder(StudentQuantized, recording.student_variant_record)
        register_outputs_recorder(recording.teacher_outputs_record)
