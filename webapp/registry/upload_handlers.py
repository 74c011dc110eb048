from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Streams uploads to a temp file but stops writing past MAX_UPLOAD_BYTES.

    The rest of the body is still read (so the other form fields and the CSRF token survive) but
    discarded, and the file is marked `over_cap` for the form to report: a huge upload neither
    fills the disk nor gets a 500."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0
        self.over_cap = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_BYTES:
            self.over_cap = True
            return None
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size: int) -> UploadedFile | None:
        uploaded = super().file_complete(file_size)
        if uploaded is not None:
            uploaded.size = self.received
            uploaded.over_cap = self.over_cap  # type: ignore[attr-defined]
        return uploaded
