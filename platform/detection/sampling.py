"""Read an uploaded file once, under caps, into the few frames the four checks look at.

The kind comes from the bytes (provenance.media sniffs magic numbers, never the name), the caps
are checked on headers before decoding, and a video is decoded once, sequentially, keeping only
the frames some check needs: the watermark detector's own sample positions (and its second-look
frames, converted now, decoded by the watermark model only for a faint mark), one frame per second
for PDQ (the registry keeps one hash per second of each output), and one frame for faces.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import numpy as np

from provenance.errors import MediaError
from provenance.media import MediaLimits, probe, read_image, video_frames_at
from provenance.watermark import sample_positions, second_look_positions

# PDQ costs ~10 ms a frame; a dozen frames spread over the clip find the nearest registered
# second of a copy without making long uploads slow.
MAX_FINGERPRINT_FRAMES = 12


@dataclass(frozen=True)
class SampledUpload:
    """What the checks need from an upload. Frames are (H, W, 3) uint8 RGB."""

    kind: Literal["image", "video"]
    format: str  # png, jpeg, webp, mp4, mov, webm, mkv
    width: int
    height: int
    duration_s: float
    fps: float
    frame_count: int
    watermark_frames: list[np.ndarray]
    watermark_positions: list[int]  # each watermark frame's index in the upload
    second_look_frames: list[np.ndarray]  # settled frames for a faint mark (videos only)
    second_look_positions: list[int]
    fingerprint_frames: list[np.ndarray]
    face_frame: np.ndarray


def _fingerprint_indices(frame_count: int, fps: float) -> list[int]:
    """Frames on whole seconds (where publish hashed the original), at most a dozen, spread."""
    stride = max(1, round(fps))
    seconds = list(range(0, frame_count, stride))
    if len(seconds) <= MAX_FINGERPRINT_FRAMES:
        return seconds
    picks = np.linspace(0, len(seconds) - 1, MAX_FINGERPRINT_FRAMES).round().astype(int)
    return [seconds[i] for i in picks]


def sample_upload(path: str | os.PathLike[str], limits: MediaLimits) -> SampledUpload:
    """Check `path` against `limits` and decode the frames the checks need.

    Raises MediaError (code invalid_media, empty_media, truncated_media, media_too_large,
    media_too_long, absurd_dimensions) for anything that is not a readable image or video.
    """
    info = probe(path, limits)
    if info.kind == "image":
        image = read_image(path, limits)  # (H, W, 3)
        return SampledUpload(
            kind="image",
            format=info.format,
            width=image.shape[1],
            height=image.shape[0],
            duration_s=0.0,
            fps=0.0,
            frame_count=1,
            watermark_frames=[image],
            watermark_positions=[0],
            second_look_frames=[],
            second_look_positions=[],
            fingerprint_frames=[image],
            face_frame=image,
        )

    watermark_at = sample_positions(info.frame_count, info.fps)
    second_look_at = second_look_positions(info.frame_count, info.fps)
    fingerprint_at = _fingerprint_indices(info.frame_count, info.fps)
    face_at = watermark_at[len(watermark_at) // 2]
    wanted = set(watermark_at) | set(second_look_at) | set(fingerprint_at)
    kept = video_frames_at(path, wanted)  # probed above: the file is a video within limits
    # A container may promise more frames than its decoder yields (a damaged tail): use what
    # decoded rather than fail, as long as something did.
    if not kept:
        raise MediaError("the video has no decodable frames")
    decoded = sorted(kept)
    return SampledUpload(
        kind="video",
        format=info.format,
        width=info.width,
        height=info.height,
        duration_s=info.duration_s,
        fps=info.fps,
        frame_count=info.frame_count,
        watermark_frames=[kept[i] for i in watermark_at if i in kept],
        watermark_positions=[i for i in watermark_at if i in kept],
        second_look_frames=[kept[i] for i in second_look_at if i in kept],
        second_look_positions=[i for i in second_look_at if i in kept],
        fingerprint_frames=[kept[i] for i in fingerprint_at if i in kept],
        face_frame=kept.get(face_at, kept[decoded[len(decoded) // 2]]),
    )
