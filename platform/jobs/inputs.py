"""Job inputs on disk: uploads stored under random names in MEDIA_ROOT, hashed as they are written.

The ticket binds the SHA-256 of each input; the worker hashes the file again before it reads a
pixel, so a file swapped on disk after the decision is refused.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from core.errors import ApplicationError
from provenance.media import sha256_file

INPUTS_DIR = "job-inputs"
OUTPUTS_DIR = "outputs"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredInput:
    """One input file as stored: its path relative to MEDIA_ROOT and its SHA-256."""

    relative_path: str
    sha256: str
    size: int

    @property
    def path(self) -> Path:
        return media_path(self.relative_path)


def media_path(relative_path: str) -> Path:
    """Absolute path of a MEDIA_ROOT-relative path, refusing anything that escapes MEDIA_ROOT."""
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative_path).resolve()
    if root not in path.parents:
        raise ApplicationError("That file is not in the media store.", code="invalid_path")
    return path


def input_store(source, *, suffix: str, max_bytes: int) -> StoredInput:
    """Copy an upload (Django UploadedFile, bytes, or a path) into MEDIA_ROOT under a random name.

    Raises ApplicationError (code "input_too_large") past `max_bytes`; nothing is left behind then.
    """
    relative = f"{INPUTS_DIR}/{secrets.token_hex(16)}{suffix}"
    path = media_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in _chunks(source):
                size += len(chunk)
                if size > max_bytes:
                    raise ApplicationError(
                        f"The file is larger than {max_bytes // 2**20} MiB.", code="input_too_large"
                    )
                digest.update(chunk)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise ApplicationError("The file is empty.", code="empty_input")
    return StoredInput(relative_path=relative, sha256=digest.hexdigest(), size=size)


def input_remove(relative_path: str) -> None:
    """Delete a stored input quietly (a denied request keeps no upload)."""
    if relative_path:
        media_path(relative_path).unlink(missing_ok=True)


def inputs_remove_on_commit(relative_paths: list[str]) -> None:
    """Delete stored inputs once the caller's transaction commits (at once outside one): a job
    that ended keeps only its inputs' hashes, and a rollback never loses a file still needed."""
    paths = [path for path in relative_paths if path]
    if paths:
        transaction.on_commit(lambda: [input_remove(path) for path in paths])


def file_sha256(relative_path: str) -> str:
    """SHA-256 of a stored file, read in chunks."""
    return sha256_file(media_path(relative_path))


def job_output_dir(job_id: int) -> Path:
    """The job's own output folder. Anything in it without a registry record is a leftover of
    an interrupted attempt (a SIGKILLed worker cannot clean up), so a new attempt empties it."""
    return media_path(f"{OUTPUTS_DIR}/{job_id}")


def _chunks(source):
    if isinstance(source, bytes | bytearray):
        yield bytes(source)
        return
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk
        return
    if hasattr(source, "chunks"):  # Django UploadedFile
        source.seek(0)
        yield from source.chunks(_CHUNK)
        return
    while chunk := source.read(_CHUNK):  # any binary file object
        yield chunk
