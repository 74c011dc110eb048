"""Stored files as downloads, for the web pages and the API alike: a dataset's file exactly as uploaded, and
a produced model's folder as a zip."""

from pathlib import PurePath

from django.http import FileResponse, Http404, StreamingHttpResponse
from django.utils.text import slugify

from webapp.registry.artifacts import ArtifactUnavailable, artifact_files, zip_stream
from webapp.registry.models import Dataset, Student, Teacher

# By the name the user uploaded it under; the bytes are what was uploaded (UTF-8, checked on upload).
CONTENT_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".tsv": "text/tab-separated-values; charset=utf-8",
    ".json": "application/jsonl; charset=utf-8",  # stored only if it held one object a line
    ".jsonl": "application/jsonl; charset=utf-8",
    ".ndjson": "application/x-ndjson; charset=utf-8",
}


def dataset_file_download(dataset: Dataset) -> FileResponse:
    """The uploaded file as stored (same bytes, same sha256), under its original name, as an attachment:
    a browser never renders it as a page."""
    path = dataset.original_path
    if not path.is_file():
        raise Http404("The stored file of this dataset is missing.")
    suffix = PurePath(dataset.original_filename).suffix.lower()
    default = "text/csv; charset=utf-8" if dataset.file_format == "csv" else "application/jsonl; charset=utf-8"
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=dataset.original_filename or f"{dataset.name}.{dataset.file_format}",
        content_type=CONTENT_TYPES.get(suffix, default),
    )
    response["X-Content-SHA256"] = dataset.sha256
    return response


def model_artifact_download(model: Teacher | Student) -> StreamingHttpResponse:
    """A produced model's save_pretrained folder as a zip, streamed; its recorded content sha256 (the one
    the pages name, and distillery.json inside the zip records) travels in X-Artifact-SHA256."""
    try:
        files = artifact_files(model)
    except ArtifactUnavailable as exc:
        raise Http404(str(exc)) from exc
    top = slugify(model.name) or f"model-{model.pk}"
    name = f"{top}-{model.artifact_sha256[:12]}.zip" if model.artifact_sha256 else f"{top}.zip"
    response = StreamingHttpResponse(zip_stream(files, top=top), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Artifact-SHA256"] = model.artifact_sha256
    return response
