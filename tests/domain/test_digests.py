"""Folder digests name exactly the files of an artifact, wherever it is, and change with any file."""

from domain.digests import METADATA_FILE, folder_sha256


def _folder(root, files):
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def test_the_same_files_give_the_same_digest_in_any_folder(tmp_path) -> None:
    files = {"model.safetensors": b"weights", "tokenizer.json": b"{}", "sub/vocab.txt": b"a\nb\n"}
    assert folder_sha256(_folder(tmp_path / "a", files)) == folder_sha256(_folder(tmp_path / "b", files))


def test_a_changed_added_or_renamed_file_changes_the_digest(tmp_path) -> None:
    base = {"model.safetensors": b"weights", "config.json": b"{}"}
    digest = folder_sha256(_folder(tmp_path / "base", base))
    assert folder_sha256(_folder(tmp_path / "changed", base | {"config.json": b"{ }"})) != digest
    assert folder_sha256(_folder(tmp_path / "added", base | {"extra.json": b"{}"})) != digest
    renamed = {"weights.safetensors": b"weights", "config.json": b"{}"}
    assert folder_sha256(_folder(tmp_path / "renamed", renamed)) != digest


def test_the_metadata_file_which_records_the_digest_is_not_part_of_it(tmp_path) -> None:
    base = {"model.safetensors": b"weights"}
    with_metadata = base | {METADATA_FILE: b'{"sha256": "..."}'}
    assert folder_sha256(_folder(tmp_path / "a", base)) == folder_sha256(_folder(tmp_path / "b", with_metadata))
