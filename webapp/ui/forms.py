"""Form fields shared by the apps' forms: dataset choices, and the training options every training job takes
(bounds and defaults from the job specs, so the form, the API and the service agree)."""

from typing import Any

from django import forms

from domain import specs
from domain.naming import shorten
from webapp.registry.models import Dataset, Task


def dataset_choice_label(dataset: Dataset) -> str:
    synthetic = " — synthetic data" if dataset.synthetic else ""
    return f"{dataset} ({dataset.get_role_display()}, {dataset.row_count} rows){synthetic}"


class ModelNameChoiceField(forms.ModelChoiceField):
    """A teacher or student dropdown: short names, so a choice is not cut off in a third of a form's width."""

    def label_from_instance(self, obj: Any) -> str:
        return shorten(obj.name)


class DatasetChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Dataset) -> str:  # type: ignore[override]
        return dataset_choice_label(obj)


TRAINING_KEYS = ("epochs", "batch_size", "learning_rate", "patience")


class TrainingFields(forms.Form):
    # Bounds and defaults come from the job specs: the form, the API and the service agree.
    epochs = forms.IntegerField(min_value=specs.EPOCHS[0], max_value=specs.EPOCHS[1], initial=10)
    batch_size = forms.IntegerField(min_value=specs.BATCH_SIZE[0], max_value=specs.BATCH_SIZE[1], initial=32)
    learning_rate = forms.FloatField(
        min_value=specs.LEARNING_RATE[0],
        max_value=specs.LEARNING_RATE[1],
        initial=specs.FINETUNE_LEARNING_RATE,
        label="Learning rate",
    )
    patience = forms.IntegerField(
        min_value=specs.PATIENCE[0],
        max_value=specs.PATIENCE[1],
        initial=3,
        help_text="Evaluations without improvement before stopping early.",
    )

    def training_options(self) -> specs.TrainingOptions:
        return specs.TrainingOptions(**{key: self.cleaned_data[key] for key in TRAINING_KEYS})


class TaskScopedTraining(TrainingFields):
    """Training options plus this task's training and validation sets, newest first."""

    train = DatasetChoiceField(queryset=Dataset.objects.none(), label="Training set")
    validation = DatasetChoiceField(
        queryset=Dataset.objects.none(),
        required=False,
        label="Validation set",
        help_text="Optional: without one, a stratified 10% of the training set is held out.",
    )

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        trains = task.datasets.active().filter(role=Dataset.Role.TRAIN)
        validations = task.datasets.active().filter(role=Dataset.Role.VALIDATION)
        self.fields["train"].queryset = trains  # type: ignore[attr-defined]
        self.fields["validation"].queryset = validations  # type: ignore[attr-defined]
        self.fields["train"].initial = trains.order_by("-created_at").first()
        self.fields["validation"].initial = validations.order_by("-created_at").first()
