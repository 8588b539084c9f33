"""The generator's one exception hierarchy.

Every error carries a stable machine-readable `code` and a one-line human `message`; the
platform maps them to form errors, JSON `{"error": {"code", "message"}}` and CLI exit codes.
"""

from __future__ import annotations


class GeneratorError(Exception):
    """Base class: bad input or a failure the caller can explain to a person."""

    code = "generator_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ImageError(GeneratorError):
    """The portrait is unreadable, not an image, or over the pixel cap."""

    code = "invalid_image"


class FaceError(GeneratorError):
    """The portrait has no usable face: none, several, too small or too far turned."""

    code = "face_not_usable"


class AudioError(GeneratorError):
    """The speech clip is unreadable, not audio, empty or over the length cap."""

    code = "invalid_audio"
