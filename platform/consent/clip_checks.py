"""The automatic checks on an identity-verification clip, before a person reviews it.

A face must be on screen for most of the clip (someone reading a statement into the camera, not a
photo flashed for a second), it must be the enrolled person's face, and the clip must be long
enough to read the statement and short enough to review.
"""

from __future__ import annotations

import math
import statistics
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from consent.recordings import RecordingError, recording_constant_rate
from generator.errors import GeneratorError
from generator.face_analysis import descriptor_distance, face_descriptors
from provenance.errors import ProvenanceError
from provenance.media import MediaLimits, probe, sample_video_frames, sniff_kind

CHECK_FPS = 10  # the grid clips are re-timed onto; sampling needs no more


@dataclass(frozen=True)
class ClipCheckSettings:
    sample_frames: int = 10
    min_face_fraction: float = 0.8
    match_threshold: float = 0.5
    min_seconds: float = 3.0
    max_seconds: float = 60.0
    max_bytes: int = 50 * 2**20


@dataclass(frozen=True)
class ClipCheckResult:
    passed: bool
    failures: list[str]  # one sentence per failed check, shown to the owner
    failure_codes: list[str]
    duration_s: float | None = None
    frames_sampled: int = 0
    frames_with_face: int = 0
    face_fraction: float = 0.0
    match_distance: float | None = None  # median over frames with a face; lower is closer
    per_frame_distances: list[float] = field(default_factory=list)

    def as_json(self) -> dict:
        return asdict(self)


def clip_check(
    path: Path, reference_descriptor: np.ndarray | None, settings: ClipCheckSettings
) -> ClipCheckResult:
    """Run the face, match and length checks on the clip at `path`."""
    failures: list[tuple[str, str]] = []
    limits = MediaLimits(max_bytes=settings.max_bytes, max_seconds=settings.max_seconds + 2)
    try:
        kind = sniff_kind(path)
        if kind != "video":
            raise ProvenanceError("the file is a still image, not a video", code="not_video")
        with tempfile.TemporaryDirectory() as folder:
            steady = Path(folder) / "steady.mp4"
            recording_constant_rate(path, steady, fps=CHECK_FPS, max_seconds=settings.max_seconds)
            info = probe(steady, limits)
            frames = sample_video_frames(steady, settings.sample_frames, limits)  # (H, W, 3)
    except RecordingError as error:
        return ClipCheckResult(
            False, [f"The recording could not be read ({error})."], ["clip_unreadable"]
        )
    except ProvenanceError as error:
        code = "clip_too_long" if error.code == "media_too_long" else "clip_unreadable"
        message = (
            f"The recording is longer than {settings.max_seconds:.0f} s."
            if code == "clip_too_long"
            else f"The recording could not be read ({error.message})."
        )
        return ClipCheckResult(False, [message], [code])

    duration = info.duration_s
    if duration < settings.min_seconds:
        failures.append(
            ("clip_too_short", f"The recording is {duration:.1f} s; read the whole statement.")
        )
    if duration > settings.max_seconds:
        failures.append(
            ("clip_too_long", f"The recording is longer than {settings.max_seconds:.0f} s.")
        )

    with_face = 0
    distances: list[float] = []
    # Stop once too many frames lack a face for the fraction to reach the minimum: a faceless
    # frame costs the CNN detector (seconds on CPU), a face costs the fast HOG detector.
    allowed_misses = math.floor(len(frames) * (1 - settings.min_face_fraction) + 1e-9)
    misses = 0
    for frame in frames:
        try:
            found = face_descriptors(frame)
        except GeneratorError:
            found = []
        if not found:
            misses += 1
            if misses > allowed_misses:
                break
            continue
        with_face += 1
        if reference_descriptor is not None:
            # Several faces in one frame: the closest one is the candidate for the owner.
            distances.append(min(descriptor_distance(d, reference_descriptor) for d in found))
    fraction = with_face / len(frames) if frames else 0.0
    if with_face == 0:
        failures.append(("no_face", "No face was found in the recording."))
    elif fraction < settings.min_face_fraction:
        failures.append(
            (
                "face_not_steady",
                f"A face was visible in only {fraction:.0%} of the recording; "
                f"keep your face in view (at least {settings.min_face_fraction:.0%}).",
            )
        )
    match = statistics.median(distances) if distances else None
    if reference_descriptor is None:
        failures.append(("no_reference", "Enrol a reference portrait first."))
    elif match is not None and match > settings.match_threshold:
        failures.append(
            ("face_mismatch", "The face in the recording does not match your reference portrait.")
        )
    return ClipCheckResult(
        passed=not failures,
        failures=[message for _, message in failures],
        failure_codes=[code for code, _ in failures],
        duration_s=round(duration, 3),
        frames_sampled=len(frames),
        frames_with_face=with_face,
        face_fraction=round(fraction, 3),
        match_distance=None if match is None else round(match, 4),
        per_frame_distances=[round(d, 4) for d in distances],
    )
