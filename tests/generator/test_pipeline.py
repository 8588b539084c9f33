"""Pipeline: offline and streaming frames from portrait + speech, seeded, on the given canvas."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from generator.audio import SAMPLE_RATE, AudioClip, frame_count, load_audio
from generator.config import Controls, RenderConfig
from generator.errors import GeneratorError
from generator.face_analysis import analyse_portrait
from generator.motion import MotionModel
from generator.pipeline import render, stream
from generator.renderer import FaceRenderer
from generator.viseme import VisemePredictor


@pytest.fixture(scope="module")
def analysis():
    return analyse_portrait(data.astronaut())


@pytest.fixture(scope="module")
def speech(speech_wav) -> AudioClip:
    clip = load_audio(speech_wav)
    return AudioClip(clip.samples[: 2 * SAMPLE_RATE])  # the first 2 s: enough, and quick


class AlternatingCanvases:
    """Stands in for provenance's marked appearance: a few canvases, one per frame in turn."""

    def __init__(self, canvases: list[np.ndarray]) -> None:
        self.canvases = canvases

    def for_frame(self, index: int) -> np.ndarray:
        return self.canvases[index % len(self.canvases)]


def test_it_yields_one_512_rgb_frame_per_video_frame_of_the_audio(analysis, speech):
    frames = list(render(analysis, speech))
    assert len(frames) == frame_count(speech.duration_s, 25.0) == 50
    assert all(f.shape == (512, 512, 3) and f.dtype == np.uint8 for f in frames)


def test_the_frame_rate_is_configurable(analysis, speech):
    frames = list(render(analysis, speech, config=RenderConfig(fps=30.0)))
    assert len(frames) == frame_count(speech.duration_s, 30.0)


def test_the_same_seed_gives_the_same_frames(analysis, speech):
    first = list(render(analysis, speech, Controls(seed=11)))
    second = list(render(analysis, speech, Controls(seed=11)))
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_another_seed_gives_other_frames(analysis, speech):
    first = list(render(analysis, speech, Controls(seed=11)))
    second = list(render(analysis, speech, Controls(seed=12)))
    assert (
        np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(first, second, strict=True)])
        > 0.5
    )


def test_streaming_gives_the_offline_frames(analysis, speech):
    offline = list(render(analysis, speech, Controls(seed=3)))
    chunks = [speech.samples[i : i + 640] for i in range(0, len(speech.samples), 640)]
    online = list(stream(analysis, chunks, Controls(seed=3)))
    assert len(online) == len(offline)
    differences = [np.abs(a.astype(int) - b).mean() for a, b in zip(online, offline, strict=True)]
    assert max(differences) < 0.5


def test_streaming_yields_the_first_frame_before_the_audio_ends(analysis, speech):
    delivered = []

    def chunks():
        for i in range(0, len(speech.samples), 640):
            delivered.append(i)
            yield speech.samples[i : i + 640]

    frames = stream(analysis, chunks())
    next(frames)
    assert len(delivered) <= 4  # 40 ms chunks: the frame plus the model's 60 ms look-ahead
    frames.close()


def test_silence_keeps_the_mouth_closed_while_the_head_moves(analysis, silent_wav):
    frames = list(render(analysis, load_audio(silent_wav)))
    assert len(frames) == 75
    lips = analysis.landmarks[60:68]
    (x0, y0), (x1, y1) = lips.min(0).astype(int) - 4, lips.max(0).astype(int) + 4
    dark = [np.mean(f[y0:y1, x0:x1].max(axis=2) < 70) for f in frames]
    assert max(dark) < 0.02  # no cavity: the lips stay together
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 1.0


def test_every_frame_is_made_from_the_appearance_canvas(analysis, speech):
    """Provenance marks the aligned canvas once; the renderer must warp that marked canvas."""
    marked = []
    for offset in (6, -6):
        canvas = analysis.aligned.astype(int)
        canvas[:80, :80] += offset  # a background corner the head never pulls on
        marked.append(np.clip(canvas, 0, 255).astype(np.uint8))
    frames = list(render(analysis, speech, appearance=AlternatingCanvases(marked)))
    for index, frame in enumerate(frames[:6]):
        assert np.array_equal(frame[:40, :40], marked[index % 2][:40, :40])


def test_it_rejects_bad_controls_before_any_frame(analysis, speech):
    with pytest.raises(GeneratorError, match="emotion must be one of"):
        render(analysis, speech, Controls(emotion="ecstatic"))


def test_it_rejects_a_wrong_sized_appearance_canvas(analysis, speech):
    small = AlternatingCanvases([np.zeros((256, 256, 3), np.uint8)])
    with pytest.raises(GeneratorError, match="appearance canvas must be"):
        next(render(analysis, speech, appearance=small))


def test_emotion_changes_the_face(analysis, speech):
    neutral = next(render(analysis, speech, Controls(emotion="neutral")))
    happy = next(render(analysis, speech, Controls(emotion="happy")))
    mouth = np.s_[280:360, 180:340]
    assert np.abs(neutral[mouth].astype(int) - happy[mouth]).mean() > 2.0


def test_it_rejects_empty_audio(analysis):
    with pytest.raises(GeneratorError, match="audio is empty"):
        render(analysis, AudioClip(np.zeros(0, np.float32)))


def test_the_two_stage_pipeline_gives_exactly_the_sequential_frames(analysis, speech):
    """Offline mode warps frame t on a worker thread; order and pixels must not change."""
    mouth = VisemePredictor.load().predict(speech, 25.0)
    motion, renderer = MotionModel(Controls(seed=5), 25.0), FaceRenderer(analysis)
    sequential = [renderer.render(motion.step(row), analysis.aligned) for row in mouth]
    pipelined = list(render(analysis, speech, Controls(seed=5)))
    assert all(np.array_equal(a, b) for a, b in zip(sequential, pipelined, strict=True))


def test_opencv_runs_one_thread_during_an_offline_render_and_is_restored_after(analysis, speech):
    """The pipeline's two threads are its parallelism; OpenCV's pool is given back after."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        frames = render(analysis, speech)
        next(frames)
        assert cv2.getNumThreads() == 1
        frames.close()  # an abandoned render gives the setting back too
        assert cv2.getNumThreads() == 2
        list(render(analysis, speech))
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(previous)
