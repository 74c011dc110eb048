"""The monitoring page's one form: decisions logged elsewhere, uploaded as a file."""

from django import forms

from webapp.approvals.decision_files import MAX_BYTES, OPTIONAL, REQUIRED


class DecisionUploadForm(forms.Form):
    file = forms.FileField(
        label="Decisions file (CSV or JSONL)",
        help_text=(
            f"Columns {', '.join(REQUIRED)} (required) and {', '.join(OPTIONAL)} (optional); tier is 'student' or "
            f"'teacher'; up to {MAX_BYTES // 1024 // 1024} MB. All rows are stored, or none."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.jsonl,.ndjson,.json"}),
    )
