"""Probing and reading: describe an image or video under the caps, decode an image.

Dimensions and durations come from headers and are checked against `MediaLimits` before anything
is decoded; truncation is found by demuxing (no decoding) and comparing what is really there with
what the container promises.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np
from PIL import Image, ImageOps

from provenance.errors import MediaError

from .files import SNIFF_BYTES, file_head
from .limits import MediaLimits, check_dimensions, check_size
from .sniff import sniff_bytes


@dataclass(frozen=True)
class MediaInfo:
    """What `probe` learned about a file. Images have duration 0, fps 0 and one frame."""

    kind: Literal["image", "video"]
    format: str  # png, jpeg, webp, mp4, mov, webm, mkv
    width: int
    height: int
    duration_s: float
    fps: float
    frame_count: int
    has_audio: bool


def open_image(source: str | os.PathLike[str] | bytes, limits: MediaLimits) -> Image.Image:
    """Open an image lazily (header only) after the byte, kind and dimension checks."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        check_size(len(data), limits)
        sniffed = sniff_bytes(data[:SNIFF_BYTES])
        fileobj: io.BufferedIOBase | str | os.PathLike[str] = io.BytesIO(data)
    else:
        head, size = file_head(source)
        check_size(size, limits)
        sniffed = sniff_bytes(head)
        fileobj = source
    if sniffed is None or sniffed.kind != "image":
        raise MediaError("not a PNG, JPEG or WebP image")
    try:
        # PIL's own bomb guard would warn or raise its own type; ours runs first with our caps.
        image = Image.open(fileobj, formats=["PNG", "JPEG", "WEBP"])
    except Image.DecompressionBombError as exc:
        # PIL refuses past ~179 MP before we see the header: absurd by any measure.
        raise MediaError(f"absurd dimensions: {exc}", code="absurd_dimensions") from exc
    except (OSError, ValueError) as exc:
        raise MediaError(f"corrupt image: {exc}") from exc
    check_dimensions(image.width, image.height, limits)
    return image


def _video_info(container: av.container.InputContainer, fmt: str, limits: MediaLimits) -> MediaInfo:
    """Header facts plus a demux pass (no decoding) that proves the promised packets are there."""
    if not container.streams.video:
        raise MediaError("the file has no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None:  # FFmpeg found a video stream but knows no codec for it
        raise MediaError("corrupt video: its stream has no codec FFmpeg can read")
    width, height = stream.codec_context.width, stream.codec_context.height
    check_dimensions(width, height, limits)
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if not (0.5 <= fps <= 240.0):
        raise MediaError(f"absurd frame rate {fps:.3g}")
    promised_s = 0.0
    if stream.duration is not None and stream.time_base is not None:
        promised_s = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        promised_s = container.duration / av.time_base
    if promised_s > limits.max_seconds:
        raise MediaError(
            f"{promised_s:.1f} s exceeds the cap of {limits.max_seconds:.0f} s",
            code="media_too_long",
        )
    max_packets = math.ceil(limits.max_seconds * fps) + 1
    packets, last_end_s = 0, 0.0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue  # the flush packet demux() yields at the end
            packets += 1
            if packets > max_packets:
                raise MediaError(
                    f"more than {limits.max_seconds:.0f} s of frames", code="media_too_long"
                )
            if packet.pts is not None and packet.time_base is not None:
                end = packet.pts + (packet.duration or 0)
                last_end_s = max(last_end_s, float(end * packet.time_base))
    except av.FFmpegError as exc:
        raise MediaError(f"corrupt video: {exc}") from exc
    if packets == 0:
        raise MediaError("the video has no frames (corrupt or truncated)")
    # An MP4/MOV index promises an exact frame count; Matroska promises a duration.
    if stream.frames and packets < stream.frames:
        raise MediaError(
            f"truncated video: {packets} of {stream.frames} frames present", code="truncated_media"
        )
    if (
        not stream.frames
        and promised_s > 0
        and last_end_s < promised_s - max(0.5, 0.05 * promised_s)
    ):
        raise MediaError(
            f"truncated video: {last_end_s:.1f} of {promised_s:.1f} s present",
            code="truncated_media",
        )
    duration_s = promised_s if promised_s > 0 else packets / fps
    return MediaInfo(
        kind="video",
        format=fmt,
        width=width,
        height=height,
        duration_s=duration_s,
        fps=fps,
        frame_count=packets,
        has_audio=bool(container.streams.audio),
    )


def open_video(path: str | os.PathLike[str]) -> av.container.InputContainer:
    try:
        return av.open(os.fspath(path), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"corrupt video: {exc}") from exc


def probe(path: str | os.PathLike[str], limits: MediaLimits = MediaLimits()) -> MediaInfo:  # noqa: B008
    """Check a file against `limits` and describe it; MediaError for anything unusable.

    Images are fully decoded (cheap under the pixel cap) so that truncation shows here; videos are
    demuxed without decoding.
    """
    head, size = file_head(path)
    check_size(size, limits)
    sniffed = sniff_bytes(head)
    if sniffed is None:
        raise MediaError("not a supported image or video (unknown signature)")
    kind, fmt = sniffed.kind, sniffed.format
    if kind == "image":
        with open_image(path, limits) as image:
            try:
                image.load()
            except (OSError, ValueError, SyntaxError) as exc:
                raise MediaError(f"corrupt or truncated image: {exc}") from exc
            return MediaInfo("image", fmt, image.width, image.height, 0.0, 0.0, 1, False)
    with open_video(path) as container:
        return _video_info(container, fmt, limits)


def read_image(
    path_or_bytes: str | os.PathLike[str] | bytes,
    limits: MediaLimits = MediaLimits(),  # noqa: B008
) -> np.ndarray:
    """Decode a PNG, JPEG or WebP into (H, W, 3) uint8 RGB, upright per its EXIF orientation."""
    with open_image(path_or_bytes, limits) as image:
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = upright.convert("RGB")
        except (OSError, ValueError, SyntaxError) as exc:
            raise MediaError(f"corrupt or truncated image: {exc}") from exc
    return np.asarray(rgb, dtype=np.uint8).copy()  # (H, W, 3)
