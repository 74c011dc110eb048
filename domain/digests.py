"""Content digests: a file's sha256, and a folder's, so evidence can name exactly what it measured."""

import hashlib
from pathlib import Path

# Written into the folder after its digest is taken (it records the digest), so not part of it.
METADATA_FILE = "distillery.json"
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def folder_sha256(folder: Path) -> str:
    """sha256 over each file's relative path and sha256, in path order: the same files give the same
    digest on any machine, and a changed, added or removed file changes it. The metadata file is left out."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative == METADATA_FILE:
            continue
        digest.update(f"{relative}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
