"""Reading files: the first bytes (for the sniffer) and a streamed SHA-256."""

from __future__ import annotations

import hashlib
import os

from provenance.errors import MediaError

# How many header bytes the magic-byte sniffer needs.
SNIFF_BYTES = 64


def file_head(path: str | os.PathLike[str]) -> tuple[bytes, int]:
    """The first SNIFF_BYTES bytes of `path` and its size; MediaError when it cannot be read."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as exc:
        raise MediaError(f"cannot read {os.fspath(path)!r}: {exc.strerror}") from exc
    return head, size


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, read in chunks; MediaError when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise MediaError(f"cannot read the file: {exc.strerror}") from exc
