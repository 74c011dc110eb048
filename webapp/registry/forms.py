from typing import Any

from django import forms

from domain.model_refs import PRESETS
from webapp.registry.models import Dataset, Task, Teacher
from webapp.registry.services import TASK_FIELDS
from webapp.ui.forms import ModelNameChoiceField, TaskScopedTraining


class TaskForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = list(TASK_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {
            "quality_min": "Minimum quality (0-1)",
            "min_retention": "Minimum retention vs teacher (0-1)",
            "latency_slo_ms": "Latency SLO (ms)",
        }
        help_texts = {
            "quality_min": "e.g. 0.85 = the teacher must reach 85% on the metric before distilling pays.",
            "min_retention": "e.g. 0.97 = a student must keep 97% of the teacher's score.",
        }

    GROUPS = (
        ("What it is", ("name", "description")),
        ("Quality bar", ("quality_metric", "quality_min", "min_retention")),
        ("Traffic profile", ("requests_per_month", "mean_input_tokens", "mean_output_tokens", "latency_slo_ms")),
    )

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The form's fields in the groups the page shows them in."""
        return [(legend, [self[name] for name in names]) for legend, names in self.GROUPS]


class DatasetUploadForm(forms.Form):
    # The file comes last in the form: if it is over the size cap, the fields before it are kept.
    role = forms.ChoiceField(choices=Dataset.Role.choices)
    name = forms.CharField(
        max_length=120, required=False, help_text="Defaults to the file name. Same name = new version."
    )
    text_column = forms.CharField(max_length=120, initial="text")
    label_column = forms.CharField(
        max_length=120, initial="label", required=False, help_text="Ignored for unlabeled data."
    )
    # Empty files pass here so the service can say which file was empty, like every other refusal.
    file = forms.FileField(
        allow_empty_file=True,
        help_text="CSV (.csv, .tsv) with a header row, or JSONL (.jsonl, .ndjson, .json: one JSON object a line). "
        "UTF-8.",
        # The file picker offers these first; any other extension is refused by the service, by name.
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.jsonl,.ndjson,.json"}),
    )
    # Shown only once an upload was refused for growing the label set: the user ticks it knowingly.
    confirm_new_labels = forms.BooleanField(
        required=False,
        label="Add the new labels to the task's label set",
        help_text="Only for real new classes: training on a grown set makes models trained before it obsolete.",
    )


class TeacherCostFields(forms.Form):
    """What running the teacher costs: the ROI compares the student against it."""

    cost_mode = forms.ChoiceField(choices=Teacher.CostMode.choices, initial=Teacher.CostMode.API)
    price_input_per_m = forms.DecimalField(min_value=0, initial=0, label="$ / 1M input tokens", required=False)
    price_output_per_m = forms.DecimalField(min_value=0, initial=0, label="$ / 1M output tokens", required=False)
    gpu_hour_price = forms.DecimalField(min_value=0, initial=0, label="GPU $ / hour", required=False)
    gpu_count = forms.IntegerField(min_value=1, initial=1, label="GPUs")

    def service_kwargs(self) -> dict[str, object]:
        """The cleaned fields with blank prices as 0, for the service."""
        return {k: (v if v is not None else 0) for k, v in self.cleaned_data.items() if k != "file"}


class TeacherForm(TeacherCostFields):
    name = forms.CharField(max_length=120, required=False, help_text="Defaults to the model's name.")
    model_ref = forms.CharField(
        max_length=500,
        label="Model",
        initial="minilm-l6-offline",
        help_text="A preset name, a folder under MODEL_ROOT, or a Hugging Face id already in the local cache.",
    )
    max_length = forms.IntegerField(min_value=8, max_value=8192, initial=128, label="Max tokens")

    presets = PRESETS


class TeacherOutputsForm(TeacherCostFields):
    name = forms.CharField(max_length=120, required=False, help_text="Defaults to the file name.")
    file = forms.FileField(
        allow_empty_file=True,
        label="Teacher outputs (JSONL)",
        help_text='One line per text: {"text": ..., "label": ..., "probs": [...]} or "logits" instead of '
        '"probs"; a list in the task\'s label order, or an object {label: score}.',
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The Teachers tab shows this form next to the register form, whose fields have the same names:
        # its own element ids, so each label focuses its own input.
        kwargs.setdefault("auto_id", "outputs_%s")
        super().__init__(*args, **kwargs)


class LabelsForm(forms.Form):
    labels = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), help_text="One label a line.")


class LabelRenameForm(forms.Form):
    sources = forms.MultipleChoiceField(
        label="Labels",
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="One to rename it; several to merge them (Ctrl/⌘-click to pick more).",
    )
    target = forms.CharField(
        max_length=200, label="New name", help_text="A new name, or an existing label to merge into."
    )

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sources"].choices = [(label, label) for label in task.labels]  # type: ignore[attr-defined]


class FinetuneForm(TaskScopedTraining):
    teacher = ModelNameChoiceField(queryset=Teacher.objects.none(), label="Base model")

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "finetune_%s")  # its own element ids on the Teachers tab (see above)
        super().__init__(*args, task=task, **kwargs)
        teachers = task.teachers.active().exclude(backend=Teacher.Backend.PRECOMPUTED)  # no weights to tune
        self.fields["teacher"].queryset = teachers  # type: ignore[attr-defined]
        self.fields["teacher"].initial = teachers.filter(origin=Teacher.Origin.REGISTERED).first()
        self.order_fields(["teacher", "train", "validation"])
