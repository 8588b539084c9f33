"""Quality, measured with dlib on rendered frames of skimage's astronaut speaking espeak-ng text.

Targets: identity kept (descriptor distance to the portrait: median <= 0.35,
max <= 0.5), lip sync (inner-mouth opening vs speech RMS envelope: r >= 0.5 within +-2
frames; quietest fifth opens <= 20% of the loudest fifth), 8-30 blinks per minute, visible
head motion (nose-tip std >= 2% of the inter-ocular distance) without jitter. The same
measures applied to a static image must fail, or they would prove nothing.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import lru_cache

import dlib
import face_recognition_models
import numpy as np
import pytest
from skimage import data

from generator.audio import load_audio, rms_envelope
from generator.config import Controls
from generator.face_analysis import analyse_portrait, descriptor_distance
from generator.pipeline import render

pytestmark = pytest.mark.slow

FPS = 25.0
# ~25 s of speech with pauses: long enough to count blinks at a natural rate.
SCRIPT = (
    "<speak>Good morning, everyone. <break time='700ms'/>"
    "Thank you for joining the call today. <break time='500ms'/>"
    "First we look at the launch schedule, then at the crew. <break time='900ms'/>"
    "The weather has been kind to us this week. <break time='600ms'/>"
    "After that, we open the floor for questions. <break time='800ms'/>"
    "Please keep them short, so that everyone gets a turn. <break time='700ms'/>"
    "Thank you, and enjoy the rest of your day.</speak>"
)


@dataclass(frozen=True)
class Measures:
    """Per-frame dlib measurements of one clip."""

    landmarks: np.ndarray  # (T, 68, 2)
    envelope: np.ndarray  # (T,) speech RMS per frame
    distances: np.ndarray  # (S,) descriptor distance to the portrait, sampled frames
    seconds: float

    @property
    def inter_ocular(self) -> np.ndarray:  # (T,)
        lm = self.landmarks
        return np.linalg.norm(lm[:, 36:42].mean(1) - lm[:, 42:48].mean(1), axis=1)

    @property
    def opening(self) -> np.ndarray:
        """(T,) inner-lip gap over inter-ocular distance."""
        lm = self.landmarks
        gaps = [
            np.linalg.norm(lm[:, a] - lm[:, b], axis=1) for a, b in ((61, 67), (62, 66), (63, 65))
        ]
        return np.mean(gaps, axis=0) / self.inter_ocular

    @property
    def eye_aspect(self) -> np.ndarray:
        """(T,) eye aspect ratio, both eyes averaged."""

        def one(eye: np.ndarray) -> np.ndarray:
            vertical = np.linalg.norm(eye[:, 1] - eye[:, 5], axis=1) + np.linalg.norm(
                eye[:, 2] - eye[:, 4], axis=1
            )
            return vertical / (2 * np.linalg.norm(eye[:, 0] - eye[:, 3], axis=1))

        return (one(self.landmarks[:, 36:42]) + one(self.landmarks[:, 42:48])) / 2

    def lip_sync(self) -> float:
        """Best Pearson r between opening and envelope at a lag within +-2 frames."""
        best = 0.0
        op, env = self.opening, self.envelope
        for lag in range(-2, 3):
            a = op[max(0, lag) : len(op) + min(0, lag)]
            b = env[max(0, -lag) : len(env) - max(0, lag)]
            if a.std() > 0 and b.std() > 0:
                best = max(best, float(np.corrcoef(a, b)[0, 1]))
        return best

    def quiet_over_loud(self) -> float:
        order = np.argsort(self.envelope)
        fifth = len(order) // 5
        loud = self.opening[order[-fifth:]].mean()
        return float(self.opening[order[:fifth]].mean() / max(loud, 1e-6))

    def blinks_per_minute(self) -> float:
        ear = self.eye_aspect
        closed = ear < 0.65 * np.median(ear)
        onsets = np.flatnonzero(closed[1:] & ~closed[:-1])
        return len(onsets) / self.seconds * 60.0

    def head_motion(self) -> float:
        """Nose-tip standard deviation over the mean inter-ocular distance."""
        nose = self.landmarks[:, 30]
        return float(np.sqrt(nose.var(axis=0).sum()) / self.inter_ocular.mean())

    def jitter(self) -> float:
        """Nose-tip RMS distance from its own 5-frame moving average, over its std."""
        nose = self.landmarks[:, 30]
        kernel = np.ones(5) / 5
        smooth = np.stack([np.convolve(nose[:, i], kernel, mode="valid") for i in range(2)], 1)
        residual = nose[2:-2] - smooth
        spread = np.sqrt(nose.var(axis=0).sum())
        return float(np.sqrt((residual**2).sum(axis=1).mean()) / max(spread, 1e-6))


@lru_cache(maxsize=1)
def _models() -> tuple:
    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(face_recognition_models.pose_predictor_model_location()),
        dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location()),
        dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location()),
    )


def measure(frames: list[np.ndarray], envelope: np.ndarray, portrait: np.ndarray) -> Measures:
    """dlib on every frame: detect once, then track the detector's box with the landmarks."""
    detector, predictor, five, recogniser = _models()
    (first,) = detector(frames[0], 0)
    points = _points(predictor(frames[0], first))
    # The detector box relative to the landmarks' bounding box, kept while tracking.
    lo, hi = points.min(0), points.max(0)
    box0 = np.array([first.left(), first.top(), first.right(), first.bottom()], float)
    rel = (box0 - np.concatenate([lo, lo])) / np.concatenate([hi - lo, hi - lo])
    landmarks, rects = [], []
    for frame in frames:
        lo, hi = points.min(0), points.max(0)
        x0, y0, x1, y1 = np.concatenate([lo, lo]) + rel * np.concatenate([hi - lo, hi - lo])
        rect = dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
        points = _points(predictor(frame, rect))
        landmarks.append(points)
        rects.append(rect)
    landmarks = np.array(landmarks)  # (T, 68, 2)
    # Descriptors on 12 evenly spaced frames plus the widest mouth and the deepest blink.
    lm = Measures(landmarks, envelope, np.zeros(0), len(frames) / FPS)
    picks = set(np.linspace(0, len(frames) - 1, 12).astype(int).tolist())
    picks |= {int(np.argmax(lm.opening)), int(np.argmin(lm.eye_aspect))}
    distances = [
        descriptor_distance(
            np.array(recogniser.compute_face_descriptor(frames[i], five(frames[i], rects[i]))),
            portrait,
        )
        for i in sorted(picks)
    ]
    return Measures(landmarks, envelope, np.array(distances), len(frames) / FPS)


def _points(shape: dlib.full_object_detection) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


@pytest.fixture(scope="module")
def analysis():
    return analyse_portrait(data.astronaut())


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory):
    path = tmp_path_factory.mktemp("quality") / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-m", "-w", str(path), SCRIPT],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return load_audio(path)


@pytest.fixture(scope="module")
def rendered(analysis, long_speech) -> Measures:
    frames = list(render(analysis, long_speech, Controls(seed=0)))
    envelope = rms_envelope(long_speech, FPS)[: len(frames)]
    return measure(frames, envelope, analysis.descriptor)


@pytest.fixture(scope="module")
def static(analysis, long_speech) -> Measures:
    """The portrait itself, held still for the same clip: what a non-animator scores."""
    envelope = rms_envelope(long_speech, FPS)
    frames = [analysis.aligned] * len(envelope)
    return measure(frames, envelope, analysis.descriptor)


def test_the_clip_is_long_enough_to_count_blinks(rendered):
    assert rendered.seconds >= 15  # 8 blinks/min is then at least 2 blinks


def test_identity_is_kept_in_every_sampled_frame(rendered):
    assert np.median(rendered.distances) <= 0.35
    assert rendered.distances.max() <= 0.5


def test_the_mouth_opens_with_the_speech(rendered):
    assert rendered.lip_sync() >= 0.5


def test_the_mouth_rests_in_the_quiet_frames(rendered):
    assert rendered.quiet_over_loud() <= 0.2


def test_the_eyes_blink_at_a_natural_rate(rendered):
    assert 8 <= rendered.blinks_per_minute() <= 30


def test_the_head_moves_visibly(rendered):
    assert rendered.head_motion() >= 0.02


def test_the_head_moves_without_jitter(rendered):
    assert rendered.jitter() <= 0.25


def test_a_static_image_fails_the_motion_measures(static):
    """The checks can fail: the portrait held still misses lip sync, blinks and head motion."""
    assert static.lip_sync() < 0.5
    assert static.blinks_per_minute() < 8
    assert static.head_motion() < 0.02
    assert np.median(static.distances) <= 0.35  # ...while identity, trivially, holds


@pytest.fixture(scope="module")
def real_speech_rendered(analysis) -> Measures:
    """The astronaut speaking alsa-utils' recordings of a human voice (not a synthetic one)."""
    from generator.quality import real_voice

    voice = real_voice()
    frames = list(render(analysis, voice, Controls(seed=0)))
    envelope = rms_envelope(voice, FPS)[: len(frames)]
    return measure(frames, envelope, analysis.descriptor)


def test_a_real_voice_drives_the_mouth_in_sync(real_speech_rendered):
    assert real_speech_rendered.lip_sync() >= 0.5


def test_a_real_voice_keeps_the_identity(real_speech_rendered):
    assert real_speech_rendered.distances.max() <= 0.5
