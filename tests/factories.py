"""Small builders shared by tests."""

from django.core.files.uploadedfile import SimpleUploadedFile

TRAIN_CSV = b"text,label\nbook a flight to paris,travel\nwhat is my balance,banking\ncheap hotels in rome,travel\n"
TEACHER_REF = "minilm-l6-offline"  # an offline preset installed in the venv


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")
