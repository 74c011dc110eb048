from typing import Any

from django import forms

from domain.naming import shorten
from webapp.registry.models import Dataset, Student, Task, Teacher
from webapp.ui.forms import DatasetChoiceField, dataset_choice_label


class DatasetsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Dataset) -> str:  # type: ignore[override]
        return dataset_choice_label(obj)


class EvaluateForm(forms.Form):
    models = forms.MultipleChoiceField(
        label="Models", widget=forms.CheckboxSelectMultiple, help_text="One evaluate job per model."
    )
    datasets = DatasetsField(
        queryset=Dataset.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Test sets, out-of-distribution sets, robustness probes.",
    )
    coverage = forms.FloatField(
        min_value=0.5,
        max_value=0.999,
        initial=0.95,
        label="Coverage that picks τ",
        help_text="τ keeps this share of the validation set on the model; rejection of out-of-scope rows is "
        "measured at that τ.",
    )
    save_probabilities = forms.BooleanField(
        required=False,
        initial=False,
        label="Keep every label's probability per example",
        help_text="Adds a 'probs' list (the task's label order, 4 decimals) to each row of the predictions file, "
        "besides the top prediction: a few hundred bytes a row with many labels.",
    )

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task = task
        teachers = [t for t in task.teachers.active() if t.has_task_head]
        students = list(task.students.active().select_related("parent"))
        self.fields["models"].choices = [(f"teacher:{t.pk}", f"Teacher · {shorten(t.name)}") for t in teachers] + [
            (f"student:{s.pk}", f"Student · {shorten(s.name)}") for s in students
        ]
        self.fields["models"].initial = [value for value, _ in self.fields["models"].choices]
        evaluable = task.datasets.active().exclude(role__in=[Dataset.Role.TRAIN, Dataset.Role.UNLABELED])
        self.fields["datasets"].queryset = evaluable  # type: ignore[attr-defined]
        self.fields["datasets"].initial = list(evaluable.exclude(role=Dataset.Role.VALIDATION))

    def chosen_models(self) -> list[Teacher | Student]:
        chosen: list[Teacher | Student] = []
        for value in self.cleaned_data["models"]:
            kind, pk = value.split(":")
            queryset = self.task.teachers if kind == "teacher" else self.task.students
            chosen.append(queryset.get(pk=int(pk)))
        return chosen


class ExternalResultsForm(forms.Form):
    file = forms.FileField(
        allow_empty_file=True,
        label="Results file",
        help_text="lm-evaluation-harness results JSON, or a CSV with columns model, benchmark, score[, params].",
    )
    model_name = forms.CharField(
        max_length=200, required=False, help_text="For a harness JSON whose model name can't be read from it."
    )


class ProbeForm(forms.Form):
    dataset = DatasetChoiceField(queryset=Dataset.objects.none(), label="From test set")

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tests = task.datasets.active().filter(role=Dataset.Role.TEST)
        self.fields["dataset"].queryset = tests  # type: ignore[attr-defined]
        self.fields["dataset"].initial = tests.order_by("-created_at").first()
