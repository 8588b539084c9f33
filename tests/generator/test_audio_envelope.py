"""frame_count and rms_envelope: one value per video frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generator.audio import (
    SAMPLE_RATE,
    AudioClip,
    clip_from_samples,
    frame_count,
    load_audio,
    rms_envelope,
)


@pytest.mark.parametrize(
    ("duration", "fps", "expected"),
    [(1.0, 25, 25), (1.01, 25, 26), (0.1, 30, 3), (6.246625, 25, 157), (0.0, 25, 0)],
)
def test_frame_count_is_the_ceiling_of_duration_times_fps(
    duration: float, fps: float, expected: int
) -> None:
    assert frame_count(duration, fps) == expected


def test_the_envelope_has_one_value_per_video_frame(speech_wav: Path) -> None:
    clip = load_audio(speech_wav)
    for fps in (25, 30, 40, 60):
        envelope = rms_envelope(clip, fps)
        assert envelope.shape == (frame_count(clip.duration_s, fps),)
        assert envelope.dtype == np.float32


def test_the_envelope_follows_a_tone_burst() -> None:
    tone = 0.5 * np.sin(2 * np.pi * 220 * np.arange(SAMPLE_RATE) / SAMPLE_RATE)
    samples = np.concatenate([np.zeros(SAMPLE_RATE), tone, np.zeros(SAMPLE_RATE)])
    clip = AudioClip(samples=samples.astype(np.float32))
    envelope = rms_envelope(clip, 25)
    assert envelope[:25].max() == 0.0 and envelope[50:].max() == 0.0
    np.testing.assert_allclose(envelope[26:49], 0.5 / np.sqrt(2), rtol=0.02)


def test_clip_from_samples_resamples_and_downmixes() -> None:
    rate = 44_100
    t = np.arange(2 * rate) / rate
    stereo = np.stack([np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 300 * t)], axis=1) * 0.3
    clip = clip_from_samples(stereo.astype(np.float32), rate)
    assert clip.sample_rate == SAMPLE_RATE
    assert len(clip.samples) == pytest.approx(2 * SAMPLE_RATE, abs=2)
    assert clip.samples.dtype == np.float32


def test_clip_from_samples_accepts_int16_pcm() -> None:
    pcm = (np.sin(np.arange(16_000) / 5) * 8000).astype(np.int16)
    clip = clip_from_samples(pcm, SAMPLE_RATE)
    assert np.abs(clip.samples).max() <= 1.0
    assert np.sqrt(np.mean(clip.samples**2)) == pytest.approx(0.1, rel=0.1)
