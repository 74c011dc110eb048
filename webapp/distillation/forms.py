from typing import Any

from django import forms

from domain import specs
from webapp.registry.models import Student, Task, Teacher
from webapp.ui.forms import ModelNameChoiceField, TaskScopedTraining


def parse_layers(value: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in value.replace(" ", "").split(",") if part})
    except ValueError as exc:
        raise forms.ValidationError("Give layer counts as numbers separated by commas, e.g. 1,2,3.") from exc
    if not sizes or min(sizes) < 1:
        raise forms.ValidationError("Each student needs at least one layer.")
    return sizes


class DistillForm(TaskScopedTraining):
    teacher = ModelNameChoiceField(queryset=Teacher.objects.none(), help_text="A teacher fine-tuned on this task.")
    construction = forms.ChoiceField(
        choices=[c for c in Student.Construction.choices if c[0] != Student.Construction.QUANTIZED],
        initial=Student.Construction.TRUNCATED,
    )
    layers = forms.CharField(
        initial="1,2,3", help_text="One size distils one student; several (e.g. 1,2,3) start a sweep, one job each."
    )
    layer_strategy = forms.ChoiceField(
        choices=[("bottom", "Bottom layers"), ("spread", "Evenly spread layers")],
        initial="bottom",
        help_text="Which teacher layers a truncated student starts from.",
    )
    student_ref = forms.CharField(
        required=False,
        label="Pretrained student model",
        help_text="For 'another pretrained model': a preset, a folder under MODEL_ROOT or a cached hub id. "
        "KD matches logits over the labels, so its tokenizer may differ from the teacher's.",
    )
    temperature = forms.FloatField(
        min_value=specs.KD_TEMPERATURE[0], max_value=specs.KD_TEMPERATURE[1], initial=2.0, label="Temperature T"
    )
    alpha = forms.FloatField(min_value=0, max_value=1, initial=0.5, label="α (weight of the soft-label loss)")
    confirm_below_bar = forms.BooleanField(
        required=False,
        label="Distil anyway from a teacher below the task's bar",
        help_text="Students learn the teacher's mistakes: distil from a teacher that meets the bar when you can.",
    )

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        super().__init__(*args, task=task, **kwargs)
        teachers = [t.pk for t in task.teachers.active() if t.has_task_head]
        queryset = task.teachers.filter(pk__in=teachers).order_by("-created_at")
        self.fields["teacher"].queryset = queryset  # type: ignore[attr-defined]
        self.fields["teacher"].initial = queryset.first()
        # Students re-learn how their fewer layers fit together: a larger step than fine-tuning's 5e-5
        # (the BANKING77 benchmark trains them at 3e-4, batch 64).
        self.fields["learning_rate"].initial = specs.STUDENT_LEARNING_RATE
        self.order_fields(["teacher", "train", "validation", "construction", "layers"])

    def clean_layers(self) -> list[int]:
        return parse_layers(self.cleaned_data["layers"])

    def student_options(self) -> specs.StudentOptions:
        data = self.cleaned_data
        return specs.StudentOptions(
            construction=data["construction"],
            layers=data["layers"][0],
            layer_strategy=data["layer_strategy"],
            student_ref=data["student_ref"],
            temperature=data["temperature"],
            alpha=data["alpha"],
        )
