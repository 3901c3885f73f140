"""Saving a file to the default storage so that no reader ever sees part of it.

Django's FileSystemStorage writes a plain file in place, chunk by chunk, under its final name. A
reader that finds the name meanwhile reads it half written: a download of an evidence package
being built (served with the package's content hash as a strong ETag, so a client would keep the
truncated copy), or another worker storing the same bytes, which would take the half file for a
damaged one. FileSystemStorage moves a file that has a path on disk instead of copying it, so a
scratch file in the destination's own folder arrives by one rename: whole, or not at all.
Storages without local paths (object stores) publish an object only once its upload is complete,
so for them the scratch is an ordinary temporary file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from typing import BinaryIO, TypeVar, cast

from django.core.files import File
from django.core.files.storage import default_storage

Written = TypeVar("Written")
# Scratch files are hidden and marked, so a worker killed mid-write leaves a name nobody serves.
SCRATCH_PREFIX = ".saving-"
SCRATCH_SUFFIX = ".partial"


class _MovableFile(File):
    """A scratch file FileSystemStorage moves into place (it asks for `temporary_file_path`)."""

    def __init__(self, scratch: BinaryIO, path: str) -> None:
        super().__init__(scratch)
        self.path = path

    def temporary_file_path(self) -> str:
        return self.path


def storage_save_whole(name: str, write: Callable[[BinaryIO], Written]) -> tuple[str, Written]:
    """Saves what `write` writes into a scratch file under `name` (or the free name the storage
    picks when `name` is taken) as one whole file; returns that name and what `write` returned."""
    try:
        folder: str | None = os.path.dirname(default_storage.path(name))
    except NotImplementedError:
        folder = None
    if folder is not None:
        os.makedirs(folder, exist_ok=True)
    scratch_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, after the move
        dir=folder, prefix=SCRATCH_PREFIX, suffix=SCRATCH_SUFFIX, delete=False
    )
    scratch, scratch_path = cast(BinaryIO, scratch_file), scratch_file.name
    try:
        written = write(scratch)
        scratch.flush()
        scratch.seek(0)
        content = _MovableFile(scratch, scratch_path) if folder is not None else File(scratch)
        stored = default_storage.save(name, content)
    finally:
        scratch.close()
        with contextlib.suppress(FileNotFoundError):  # moved into place: nothing left to remove
            os.unlink(scratch_path)
    return stored, written
