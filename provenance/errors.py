"""The provenance library's one exception hierarchy (stable `code`, one-line `message`)."""

from __future__ import annotations


class ProvenanceError(Exception):
    """Base class for every error this library raises on purpose."""

    code = "provenance_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class MediaError(ProvenanceError):
    """Corrupt, truncated, zero-length or non-media input, or over a size/duration/pixel cap."""

    code = "invalid_media"


class WatermarkError(ProvenanceError):
    """The watermark could not be embedded, or the expected payload is not in the frames."""

    code = "watermark_failed"


class SigningError(ProvenanceError):
    """The C2PA manifest could not be built or signed."""

    code = "signing_failed"
