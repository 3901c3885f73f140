"""A file saved to the default storage appears whole or not at all."""

import os

import pytest
from django.core.files.storage import default_storage

from core.storage import SCRATCH_SUFFIX, storage_save_whole

PAGE = b"<html><body><p>Iran has admitted sending drones.</p></body></html>" * 1000


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_the_file_arrives_by_one_rename_of_what_was_written(media):
    """Django's file-system storage writes a plain file under its final name chunk by chunk, where a
    download or another worker could read it half written; a scratch file's inode arriving under
    the name shows it was moved there whole."""
    written_inode = {}

    def write(scratch):
        written_inode["inode"] = os.fstat(scratch.fileno()).st_ino
        scratch.write(PAGE[: len(PAGE) // 2])
        assert not default_storage.exists("bodies/ab/page.html")  # not visible while written
        scratch.write(PAGE[len(PAGE) // 2 :])
        return len(PAGE)

    stored, size = storage_save_whole("bodies/ab/page.html", write)

    assert stored == "bodies/ab/page.html" and size == len(PAGE)
    assert os.stat(media / stored).st_ino == written_inode["inode"]
    assert (media / stored).read_bytes() == PAGE
    assert oct((media / stored).stat().st_mode & 0o777) == oct(0o644)  # not the scratch's 0600
    assert os.listdir(media / "bodies" / "ab") == ["page.html"]


def test_a_taken_name_keeps_its_file_and_the_new_one_gets_a_free_name(media):
    first, _ = storage_save_whole("bodies/ab/page.html", lambda scratch: scratch.write(b"first"))
    second, _ = storage_save_whole("bodies/ab/page.html", lambda scratch: scratch.write(b"second"))

    assert first == "bodies/ab/page.html" and second != first
    assert (media / first).read_bytes() == b"first" and (media / second).read_bytes() == b"second"
    assert not [name for name in os.listdir(media / "bodies" / "ab") if name.endswith(SCRATCH_SUFFIX)]


def test_a_failed_write_leaves_neither_the_file_nor_its_scratch(media):
    def write(scratch):
        scratch.write(b"half a package")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        storage_save_whole("packages/ab/key.wacz", write)

    assert os.listdir(media / "packages" / "ab") == []


def test_a_storage_without_local_paths_gets_the_whole_file(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }

    stored, _ = storage_save_whole("packages/ab/key.wacz", lambda scratch: scratch.write(PAGE))

    assert type(default_storage._wrapped).__name__ == "InMemoryStorage"
    with default_storage.open(stored, "rb") as saved:
        assert saved.read() == PAGE
