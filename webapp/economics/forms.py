"""The Routing & ROI form: a student and the assumptions the analysis applies to its evidence. Every change
is sent to the server, which computes the figures (there is no second cost model in JavaScript)."""

from typing import Any

from django import forms

from webapp.economics.analysis import TAU_RULES
from webapp.economics.cost_model import Mode
from webapp.economics.labels import HOST_KIND_LABELS, PRICING_LABELS, RULE_LABELS
from webapp.registry.models import Student, Task
from webapp.ui.forms import ModelNameChoiceField

MODE_CHOICES = [
    (Mode.CASCADE.value, "Cascade: student first"),
    (Mode.UPFRONT_ROUTING.value, "Upfront routing (modelled)"),
]
RULE_CHOICES = [(rule, RULE_LABELS[rule]) for rule in ("certified", "quality_bar", "manual")]
HOST_KIND_CHOICES = [
    ("timed", "Same kind as it was timed on"),
    ("cpu", HOST_KIND_LABELS["cpu"]),
    ("gpu", HOST_KIND_LABELS["gpu"]),
]
assert {rule for rule, _ in RULE_CHOICES} == set(TAU_RULES)


def _number(label: str, *, minimum: float | None = 0, step: str = "any", help_text: str = "") -> forms.FloatField:
    return forms.FloatField(
        label=label,
        min_value=minimum,
        required=False,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": step}),
    )


class RoiForm(forms.Form):
    student = ModelNameChoiceField(queryset=Student.objects.none(), empty_label=None)
    # Not required: a field left out (an API-like GET, an old link) keeps its default.
    mode = forms.ChoiceField(choices=MODE_CHOICES, initial=Mode.CASCADE.value, required=False)
    tau_rule = forms.ChoiceField(
        label="How τ is chosen (on validation)", choices=RULE_CHOICES, initial="certified", required=False
    )
    manual_tau = forms.FloatField(
        label="τ (by hand)",
        min_value=0,
        max_value=1,
        initial=0.9,
        required=False,
        widget=forms.NumberInput(attrs={"type": "range", "min": "0.5", "max": "1", "step": "0.005"}),
    )
    certified_target = _number("Guaranteed agreement with the teacher on kept traffic", step="0.001")
    certified_delta = _number("Risk δ that the guarantee fails", step="0.01")
    requests_per_month = _number("Requests per month", minimum=None)
    input_tokens_per_request = _number("Input tokens per request")
    output_tokens_per_request = _number("Output tokens per request")
    teacher_pricing = forms.ChoiceField(
        choices=[(key, label[0].upper() + label[1:]) for key, label in PRICING_LABELS.items()],
        initial="api",
        required=False,
    )
    teacher_usd_per_million_input_tokens = _number("Teacher $ per 1M input tokens")
    teacher_usd_per_million_output_tokens = _number("Teacher $ per 1M output tokens")
    teacher_usd_per_host_hour = _number("Teacher host $/hour")
    teacher_host_kind = forms.ChoiceField(
        label="Teacher host kind",
        choices=HOST_KIND_CHOICES,
        initial="timed",
        required=False,
        help_text="What the teacher's $/hour buys; its speed was measured on the device its evaluation names.",
    )
    student_usd_per_host_hour = _number("Student host $/hour")
    student_host_kind = forms.ChoiceField(
        label="Student host kind",
        choices=HOST_KIND_CHOICES,
        initial="timed",
        required=False,
        help_text="What the student's $/hour buys; its speed was measured on the device its evaluation names.",
    )
    utilisation = _number("Host utilisation (0-1)", step="0.05")
    student_fixed_usd_per_month = _number("Student fixed hosting $/month")
    router_accuracy = _number("Router accuracy (upfront routing)", step="0.01")
    engineering_hours = _number("Engineering hours")
    engineering_usd_per_hour = _number("Engineering $/hour")
    filtering_labelling_usd = _number("Data filtering and labelling $")
    # Each month is a point of the cost-over-time series: 20 years is plenty.
    valid_months = forms.IntegerField(
        label="Months the student stays valid", min_value=1, max_value=240, required=False
    )
    retrain_every_months = forms.IntegerField(label="Retrain every N months", min_value=1, required=False)
    retraining_share_of_one_off = _number("Each retraining, as a share of the one-off cost", step="0.05")
    horizon_months = _number("Planning horizon (months)")

    def __init__(self, *args: Any, task: Task, students: list[Student], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["student"].queryset = Student.objects.filter(pk__in=[s.pk for s in students])  # type: ignore[attr-defined]
        self.fields["student"].initial = students[0].pk if students else None

    def assumptions(self) -> dict[str, Any]:
        """The assumptions the user set (blank fields keep their defaults)."""
        data = self.cleaned_data
        values = {k: v for k, v in data.items() if k != "student" and v not in (None, "")}
        if data.get("tau_rule") != "manual":
            values.pop("manual_tau", None)
        return values
