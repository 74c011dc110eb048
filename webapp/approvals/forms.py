"""Forms of the approvals pages: gate thresholds, a request, a decision (with a reason per failed gate), a
deployment, a revocation."""

from typing import Any

from django import forms

from webapp.approvals.models import ApprovalRequest, GatePolicy
from webapp.economics.models import Scenario
from webapp.registry.models import Task


class GatePolicyForm(forms.ModelForm):
    class Meta:
        model = GatePolicy
        fields = [
            "teacher_quality_min",
            "student_retention_min",
            "ood_gap_max_points",
            "ece_after_max",
            "worst_class_recall_min",
            "require_certificate",
            "breakeven_max_months",
        ]
        labels = {
            "teacher_quality_min": "Teacher test accuracy at least",
            "student_retention_min": "Student retention at least",
            "ood_gap_max_points": "OOD gap at most (points)",
            "ece_after_max": "ECE after scaling at most",
            "worst_class_recall_min": "Worst-class recall at least",
            "require_certificate": "The certified τ must hold on current validation data",
            "breakeven_max_months": "Breakeven at most (months)",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="gates_%s", **kwargs)
        shares = ("teacher_quality_min", "student_retention_min", "ece_after_max", "worst_class_recall_min")
        for name in shares:
            self.fields[name].widget.attrs.update(min=0, max=1, step="any")
        for name in ("ood_gap_max_points", "breakeven_max_months"):
            self.fields[name].widget.attrs.update(min=0, step="any")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("teacher_quality_min", "student_retention_min", "ece_after_max", "worst_class_recall_min"):
            value = data.get(name)
            if value is not None and not 0 <= value <= 1:
                self.add_error(name, "A share between 0 and 1 (e.g. 0.85 for 85%).")
        for name in ("ood_gap_max_points", "breakeven_max_months"):
            value = data.get(name)
            if value is not None and value < 0:
                self.add_error(name, "Can't be negative.")
        return data


class RequestForm(forms.Form):
    scenario = forms.ModelChoiceField(queryset=Scenario.objects.none(), help_text="The saved scenario to approve.")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Note to approvers")

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="request_%s", **kwargs)
        field = self.fields["scenario"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Scenario.objects.filter(task=task, student__isnull=False).order_by("name", "-version")
        field.label_from_instance = lambda s: f"{s.name} v{s.version} — {s.student_name}"  # type: ignore[method-assign]


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("approved", "Approve"), ("rejected", "Reject")], widget=forms.RadioSelect)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Why: kept in the audit log.")

    def __init__(self, *args: Any, request: ApprovalRequest, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="decision_%s", **kwargs)
        self.failed = request.failed_gates
        for gate in self.failed:
            self.fields[f"override_{gate['key']}"] = forms.CharField(
                required=False,
                label=f"Reason to override '{gate['label']}' ({gate['value']}, needs {gate['threshold']})",
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def overrides(self) -> dict[str, str]:
        return {str(gate["key"]): self.cleaned_data.get(f"override_{gate['key']}", "") for gate in self.failed}


class DeployForm(forms.Form):
    shadow_rate = forms.FloatField(
        min_value=0, max_value=1, initial=0.05, label="Shadow rate",
        help_text="Share of kept traffic also sent to the teacher, to measure agreement in production.",
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="deploy_%s", **kwargs)
        self.fields["shadow_rate"].widget.attrs.update(step="any")


class RevokeForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Kept in the audit log.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, auto_id="revoke_%s", **kwargs)
