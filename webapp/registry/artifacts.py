"""A produced model's folder (fine-tuned teacher, student, int8 variant) as a zip download, streamed.

The zip is written as it is sent, one chunk at a time (zipfile writes to a non-seekable stream with data
descriptors), so a large model never sits in memory or in a temporary file. Weights are stored, not
deflated: safetensors barely compress, and deflating gigabytes would only cost CPU time."""

import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings

from webapp.registry.models import Student, Teacher

CHUNK_BYTES = 1 << 20


class ArtifactUnavailable(Exception):
    """There is nothing Distillery can serve for this model; str(err) says why, in a full sentence."""


@dataclass(frozen=True)
class ArtifactFiles:
    folder: Path
    files: list[tuple[str, Path]]  # (path inside the folder, file to read), in path order


def artifact_files(model: Teacher | Student) -> ArtifactFiles:
    """The files of a model Distillery produced, under MODEL_ROOT; refuses registered models (their files
    are wherever they were registered from), uploaded outputs, and any link that leads out of the folder."""
    if isinstance(model, Teacher) and model.origin != Teacher.Origin.FINE_TUNED:
        raise ArtifactUnavailable(
            f"'{model}' was registered, not produced by Distillery: its files are where it was registered from."
        )
    ref = model.model_ref if isinstance(model, Teacher) else model.artifact
    root = Path(settings.MODEL_ROOT).resolve()
    folder = (root / ref).resolve()
    if not folder.is_relative_to(root) or not folder.is_dir():
        raise ArtifactUnavailable(f"The files of '{model}' are no longer stored under MODEL_ROOT.")
    files = []
    for directory, _, names in os.walk(folder):
        for name in names:
            path = Path(directory) / name
            real = path.resolve()
            if not real.is_relative_to(folder):
                raise ArtifactUnavailable(f"A file of '{model}' links outside its folder; it is not served.")
            if real.is_file():
                files.append((path.relative_to(folder).as_posix(), real))
    return ArtifactFiles(folder=folder, files=sorted(files))


class _Sink(io.RawIOBase):
    """A write-only, non-seekable stream whose bytes are handed out as they are written."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_stream(artifact: ArtifactFiles, *, top: str) -> Iterator[bytes]:
    """The zip's bytes, a chunk at a time; every file sits under the folder `top` inside it."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        for relative, path in artifact.files:
            info = zipfile.ZipInfo(f"{top}/{relative}", date_time=_zip_time(path))
            info.compress_type = zipfile.ZIP_STORED if relative.endswith(".safetensors") else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
                while chunk := source.read(CHUNK_BYTES):
                    target.write(chunk)
                    if data := sink.take():
                        yield data
            if data := sink.take():
                yield data
    yield sink.take()  # the central directory


def _zip_time(path: Path) -> tuple[int, int, int, int, int, int]:
    stamp = datetime.fromtimestamp(max(path.stat().st_mtime, 315532800))  # zip dates start in 1980
    return (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
