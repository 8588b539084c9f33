"""The automatic checks on an identity-verification clip, before a person reviews it.

A face must be on screen for most of the clip (someone reading a statement into the camera, not a
photo flashed for a second), it must be the enrolled person's face, and the clip must be long
enough to read the statement and short enough to review. The picture must move (a photo held
still is not a person reading), the sound must hold speech, and the one-time code must be heard
in it. A clip that is the platform's own generated output (its watermark or C2PA manifest) is
refused, and a recording must not be longer than the time since its recorder session began.
"""

from __future__ import annotations

import math
import statistics
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from consent.clip_provenance import platform_output_failures
from consent.recordings import RecordingError, recording_constant_rate
from consent.spoken_code import AudioError, audio_samples, code_heard, heard_digits, voiced_frames
from generator.errors import GeneratorError
from generator.face_analysis import descriptor_distance, face_descriptors
from provenance.errors import ProvenanceError
from provenance.media import MediaLimits, probe, sample_video_frames, sniff_kind

CHECK_FPS = 10  # the grid clips are re-timed onto; sampling needs no more
MOTION_SIDE = 96  # px: motion is measured on thumbnails this wide (sensor noise averages out)
# A recording is re-timed onto a grid and its length rounded to frames: it may look this much
# longer than the time its recorder session has been open.
TIMING_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class ClipCheckSettings:
    sample_frames: int = 10
    min_face_fraction: float = 0.8
    match_threshold: float = 0.5
    min_seconds: float = 3.0
    max_seconds: float = 60.0
    max_bytes: int = 50 * 2**20
    # 99th percentile of the grey-level change between sampled frames (median over pairs): a
    # still photo re-encoded measures 0-1, a head moving while it reads tens.
    min_motion: float = 6.0
    min_speech_seconds: float = 1.5  # voiced time; the code alone takes about three seconds
    code: str = ""  # the one-time code that must be heard
    watermark_key: bytes = b""  # the platform's watermark key; empty skips the provenance check
    trust_anchor: bytes = b""  # the platform's C2PA root (PEM)


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
    motion: float | None = None
    has_audio: bool = False
    speech_seconds: float = 0.0
    code_heard: bool = False
    recording_seconds: float | None = None  # since the recorder session began (recordings)

    def as_json(self) -> dict:
        return asdict(self)


def clip_check(
    path: Path,
    reference_descriptor: np.ndarray | None,
    settings: ClipCheckSettings,
    *,
    recording_seconds: float | None = None,
) -> ClipCheckResult:
    """Run every check on the clip at `path`. `recording_seconds`: how long the recorder
    session that made it has been open (None for an upload, which has none)."""
    with tempfile.TemporaryDirectory() as folder:
        steady = Path(folder) / "steady.mp4"
        try:
            frames, duration = _decode(path, steady, settings)
        except _Unreadable as error:
            return ClipCheckResult(False, [error.message], [error.code])
        failures: list[tuple[str, str]] = []
        if duration < settings.min_seconds:
            failures.append(
                ("clip_too_short", f"The recording is {duration:.1f} s; read the whole statement.")
            )
        if duration > settings.max_seconds:
            failures.append(
                ("clip_too_long", f"The recording is longer than {settings.max_seconds:.0f} s.")
            )
        faces = _face_checks(frames, reference_descriptor, settings)
        failures += faces.failures
        motion = frame_motion(frames)
        if motion < settings.min_motion:
            failures.append(
                (
                    "no_motion",
                    "The picture does not move: this looks like a still image. Record yourself "
                    "reading the statement.",
                )
            )
        speech = _speech_checks(path, settings)
        failures += speech.failures
        if settings.watermark_key:
            failures += platform_output_failures(
                path,
                steady,
                CHECK_FPS,
                watermark_key=settings.watermark_key,
                trust_anchor=settings.trust_anchor,
            )
    if recording_seconds is not None and duration > recording_seconds + TIMING_TOLERANCE_S:
        failures.append(
            (
                "clip_timing",
                f"The recording is {duration:.1f} s long but the recorder was started only "
                f"{recording_seconds:.1f} s before it arrived: it was not recorded here.",
            )
        )
    return ClipCheckResult(
        passed=not failures,
        failures=[message for _, message in failures],
        failure_codes=[code for code, _ in failures],
        duration_s=round(duration, 3),
        frames_sampled=len(frames),
        frames_with_face=faces.with_face,
        face_fraction=round(faces.fraction, 3),
        match_distance=None if faces.match is None else round(faces.match, 4),
        per_frame_distances=[round(d, 4) for d in faces.distances],
        motion=round(motion, 2),
        has_audio=speech.has_audio,
        speech_seconds=round(speech.seconds, 2),
        code_heard=speech.code_heard,
        recording_seconds=None if recording_seconds is None else round(recording_seconds, 2),
    )


class _Unreadable(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _decode(path: Path, steady: Path, settings: ClipCheckSettings) -> tuple[list, float]:
    """Re-time the clip onto the check grid at `steady`; its sampled frames and duration."""
    limits = MediaLimits(max_bytes=settings.max_bytes, max_seconds=settings.max_seconds + 2)
    try:
        if sniff_kind(path) != "video":
            raise ProvenanceError("the file is a still image, not a video", code="not_video")
        recording_constant_rate(path, steady, fps=CHECK_FPS, max_seconds=settings.max_seconds)
        info = probe(steady, limits)
        frames = sample_video_frames(steady, settings.sample_frames, limits)  # (H, W, 3)
    except RecordingError as error:
        raise _Unreadable(
            "clip_unreadable", f"The recording could not be read ({error})."
        ) from None
    except ProvenanceError as error:
        if error.code == "media_too_long":
            message = f"The recording is longer than {settings.max_seconds:.0f} s."
            raise _Unreadable("clip_too_long", message) from None
        message = f"The recording could not be read ({error.message})."
        raise _Unreadable("clip_unreadable", message) from None
    return frames, info.duration_s


@dataclass(frozen=True)
class _Faces:
    failures: list[tuple[str, str]]
    with_face: int
    fraction: float
    match: float | None
    distances: list[float]


def _face_checks(
    frames: list[np.ndarray], reference_descriptor: np.ndarray | None, settings: ClipCheckSettings
) -> _Faces:
    failures: list[tuple[str, str]] = []
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
    return _Faces(failures, with_face, fraction, match, distances)


def frame_motion(frames: list[np.ndarray]) -> float:
    """How much the picture changes between consecutive sampled frames: the 99th percentile of
    the absolute grey-level difference of small thumbnails, median over the pairs (one cut in
    an otherwise still clip does not count as motion)."""
    if len(frames) < 2:
        return 0.0
    thumbs = []
    for frame in frames:
        height = max(1, round(MOTION_SIDE * frame.shape[0] / frame.shape[1]))
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        thumbs.append(cv2.resize(grey, (MOTION_SIDE, height), interpolation=cv2.INTER_AREA))
    changes = [
        float(np.percentile(np.abs(a.astype(np.int16) - b.astype(np.int16)), 99))
        for a, b in zip(thumbs, thumbs[1:], strict=False)
    ]
    return statistics.median(changes)


@dataclass(frozen=True)
class _Speech:
    failures: list[tuple[str, str]]
    has_audio: bool
    seconds: float
    code_heard: bool


def _speech_checks(path: Path, settings: ClipCheckSettings) -> _Speech:
    try:
        samples = audio_samples(path, max_seconds=settings.max_seconds)
    except AudioError as error:
        message = f"The recording's sound could not be read ({error})."
        return _Speech([("audio_unreadable", message)], True, 0.0, False)
    if samples is None:
        message = "The recording has no sound. Turn your microphone on and read the statement."
        return _Speech([("no_audio", message)], False, 0.0, False)
    voiced, frame_seconds = voiced_frames(samples)
    seconds = float(voiced.sum()) * frame_seconds
    if seconds < settings.min_speech_seconds:
        message = "No speech was heard in the recording. Read the statement aloud."
        return _Speech([("no_speech", message)], True, seconds, False)
    heard = code_heard(heard_digits(samples, voiced, frame_seconds), settings.code)
    if not heard:
        message = "The one-time code was not heard. Read it aloud, digit by digit, at the end."
        return _Speech([("code_not_spoken", message)], True, seconds, False)
    return _Speech([], True, seconds, True)
