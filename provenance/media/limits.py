"""Caps checked before anything is decoded, so a hostile file costs a header read."""

from __future__ import annotations

from dataclasses import dataclass

from provenance.errors import MediaError

# Sides beyond this are absurd for a portrait or a talking-face video whatever the pixel cap says
# (a 1 x 40,000,000 image passes a pixel cap but is an attack on the decoder, not a photo).
MAX_SIDE = 16_384
MAX_ASPECT_RATIO = 20.0


@dataclass(frozen=True)
class MediaLimits:
    """Caps applied before decoding, so a hostile file costs a header read, not a worker."""

    max_bytes: int = 200 * 2**20
    max_seconds: float = 300.0
    max_pixels: int = 40_000_000


def check_dimensions(width: int, height: int, limits: MediaLimits) -> None:
    if width <= 0 or height <= 0:
        raise MediaError(f"absurd dimensions {width}x{height}", code="absurd_dimensions")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise MediaError(
            f"absurd dimensions {width}x{height} (max side {MAX_SIDE})", code="absurd_dimensions"
        )
    if max(width, height) / min(width, height) > MAX_ASPECT_RATIO:
        raise MediaError(f"absurd aspect ratio {width}x{height}", code="absurd_dimensions")
    if width * height > limits.max_pixels:
        raise MediaError(
            f"{width}x{height} exceeds the cap of {limits.max_pixels} pixels",
            code="media_too_large",
        )


def check_size(size: int, limits: MediaLimits) -> None:
    if size == 0:
        raise MediaError("the file is empty", code="empty_media")
    if size > limits.max_bytes:
        raise MediaError(
            f"{size} bytes exceeds the cap of {limits.max_bytes} bytes", code="media_too_large"
        )
