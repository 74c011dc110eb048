"""The per-example predictions file of an evaluation as a download, for the web page and the API alike."""

from django.http import FileResponse, Http404

from webapp.evaluation.models import Evaluation
from webapp.evaluation.selectors import prediction_file


def predictions_download(evaluation: Evaluation) -> FileResponse:
    path = prediction_file(evaluation)
    if path is None:
        raise Http404("The predictions file is no longer stored.")
    name = f"predictions-evaluation-{evaluation.pk}.jsonl"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="application/jsonl")
