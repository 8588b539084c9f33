"""The one media sniffer: what a file is, judged by its first bytes, never by its name.

The upload checks, the probe, the manifest reader and the portal's file responses all ask here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from provenance.errors import MediaError

from .files import SNIFF_BYTES, file_head


@dataclass(frozen=True)
class Sniffed:
    kind: Literal["image", "video"]
    format: str  # png, jpeg, webp, mp4, mov, webm, mkv
    media_type: str  # the Content-Type to serve it with


_MEDIA_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
}


def _kind_and_format(head: bytes) -> tuple[Literal["image", "video"], str] | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "webp"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML header; the DocType element says which flavour of Matroska it is.
        return "video", "webm" if b"webm" in head[:SNIFF_BYTES] else "mkv"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"avif", b"mif1", b"msf1"):
            return None  # ISO-BMFF still images: not a format we accept
        return "video", "mov" if brand == b"qt  " else "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "video", "mov"  # old QuickTime files start without an ftyp box
    return None


def sniff_bytes(head: bytes) -> Sniffed | None:
    """What the first bytes of a file say it is, or None when no known signature matches."""
    found = _kind_and_format(head)
    if found is None:
        return None
    kind, fmt = found
    return Sniffed(kind, fmt, _MEDIA_TYPES[fmt])


def sniff_file(path: str | os.PathLike[str]) -> Sniffed | None:
    """`sniff_bytes` of a file's first bytes (MediaError when it cannot be read)."""
    head, _size = file_head(path)
    return sniff_bytes(head)


def sniff_kind(path: str | os.PathLike[str]) -> Literal["image", "video"]:
    """Whether `path` holds an image or a video, judged by its bytes, never by its name."""
    head, size = file_head(path)
    if size == 0:
        raise MediaError("the file is empty", code="empty_media")
    sniffed = sniff_bytes(head)
    if sniffed is None:
        raise MediaError("not a supported image or video (unknown signature)")
    return sniffed.kind
