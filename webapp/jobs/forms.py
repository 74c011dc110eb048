from django import forms

from domain import specs
from webapp.registry.models import Dataset, Task, Teacher
from webapp.ui.forms import DatasetChoiceField


class ProfileJobForm(forms.Form):
    dataset = DatasetChoiceField(queryset=Dataset.objects.none())
    teacher = forms.ModelChoiceField(queryset=Teacher.objects.none())
    max_length = forms.IntegerField(
        min_value=specs.MAX_LENGTH[0],
        max_value=specs.MAX_LENGTH[1],
        required=False,
        help_text="Defaults to the teacher's max tokens.",
    )

    def __init__(self, *args: object, task: Task, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        datasets = task.datasets.active()
        teachers = task.teachers.active().exclude(backend=Teacher.Backend.PRECOMPUTED)
        self.fields["dataset"].queryset = datasets  # type: ignore[attr-defined]
        self.fields["teacher"].queryset = teachers  # type: ignore[attr-defined]
        # Sensible defaults: the newest training set and the first teacher.
        self.fields["dataset"].initial = (
            datasets.filter(role=Dataset.Role.TRAIN).order_by("-created_at").first() or datasets.first()
        )
        self.fields["teacher"].initial = teachers.first()
